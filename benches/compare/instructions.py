#!/usr/bin/env python3
"""Instructions per operation, lune-ffi vs LuaJIT's interpreter, counted by callgrind.

Unlike run.py's times these do not move with the machine's load: each runtime runs
count_lune.luau / count_luajit.lua for one operation N times, under `valgrind --tool=callgrind`, and
the count of an empty run ("none") is subtracted. Not run by .ci/run.

    python3 benches/compare/instructions.py [--n 100000] [--ops add,big,...]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (prepare: builds libbench.so and the lune-ffi binary)

OPS = ["add", "vec3", "big", "callback", "f32read", "fieldread", "cstring",
       "cstring_alternating", "structnew"]


def count(cmd):
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/out"] + cmd,
            cwd=run.HERE, capture_output=True, text=True)
    m = re.search(r"refs:\s+([\d,]+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"{' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return int(m.group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--profile", default="release",
                    help="cargo profile of the lune-ffi binary (profiling: release with symbols)")
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        run.sh(sudo + ["apt-get", "install", "-y", "valgrind"])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(run.ROOT, "target"))
    lib, lune = run.prepare(os.path.abspath(target), a.profile)
    cmds = {
        "lune-ffi": lambda op: [lune, "count_lune.luau", lib, op, str(a.n)],
        "luajit": lambda op: ["luajit", "count_luajit.lua", lib, op, str(a.n)],
    }
    empty = {rt: count(c("none")) for rt, c in cmds.items()}
    print(f"Instructions per operation (callgrind; {a.n} operations minus an empty run).\n")
    print("| operation | lune-ffi | LuaJIT interpreter | lune-ffi / LuaJIT |")
    print("|---|---|---|---|")
    for op in a.ops.split(","):
        per = {rt: (count(c(op)) - empty[rt]) / a.n for rt, c in cmds.items()}
        print(f"| {op} | {per['lune-ffi']:.0f} | {per['luajit']:.0f} | "
              f"{per['lune-ffi'] / per['luajit']:.2f} |")
    print(f"\n- lune-ffi: {run.versions(lune)['lune-ffi']}")


if __name__ == "__main__":
    main()
