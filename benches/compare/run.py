#!/usr/bin/env python3
"""Peer comparison: lune-ffi vs LuaJIT's interpreter (jit.off, LuaJIT's FFI) vs Node + Koffi.

Builds benches/compare/bench.c into one shared library and the `lune-ffi` release
binary, installs what is missing (apt luajit, npm ci), then runs ROUNDS interleaved
rounds (round r: for every op, lune-ffi then LuaJIT then Node, one fresh process each)
and prints a markdown table of the medians in ns per operation, with the ratios
lune-ffi / LuaJIT and lune-ffi / Koffi, then the median of the per-round ratios to the
better peer (steadier on a shared machine: a burst of load hits one round of all three).
Not run by .ci/run: it needs the network (first run) and about two minutes of a quiet
machine.

    python3 benches/compare/run.py [--rounds 5] [--ms 100] [--ops add,fma,...] [--raw FILE]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# (op, label) in table order. Every script runs exactly these ops.
OPS = [
    ("floor", "*floor: a native builtin called through a local*"),
    ("add", "`int add(int,int)`"),
    ("fma", "`double fma(double,double,double)`"),
    ("mixed10", "10 mixed arguments"),
    ("vec3", "`Vec3 scale(Vec3, float)`, 12-byte struct in and out"),
    ("big", "`Big make(int64)`, 24-byte struct return"),
    ("strlen", "`strlen` of a 64-byte string"),
    ("cstring", "`const char *` return read as a string"),
    ("structnew", "struct value made and dropped (1,000,000 in a loop)"),
    ("async", "async call, 10,000 in flight from tasks (total / 10,000)"),
    ("callback", "C → script callback, per call"),
    ("f32read", "`f32` element read"),
    ("fieldread", "struct field read"),
    ("f32bulk", "*`f32` read, bulk path (see README)*"),
]
RUNTIMES = ["lune-ffi", "luajit", "koffi"]
# Rows a peer has no counterpart for: LuaJIT has no async calls; Koffi has no GC-owned
# struct value in C memory (koffi.alloc needs koffi.free).
SKIP = {("luajit", "async"), ("koffi", "structnew")}
# Rows whose peak resident size is reported too.
RSS_OPS = ["structnew", "async"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("+ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kw)


def prepare(target_dir, profile):
    out = os.path.join(target_dir, "compare")
    os.makedirs(out, exist_ok=True)
    lib = os.path.join(out, "libbench.so")
    sh(["gcc", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-o", lib,
        os.path.join(HERE, "bench.c")])

    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    sh(["cargo", "build", "--profile", profile, "--bin", "lune-ffi"], cwd=ROOT, env=env)
    lune = os.path.join(target_dir, profile, "lune-ffi")

    if shutil.which("luajit") is None:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        sh(sudo + ["apt-get", "install", "-y", "luajit"])
    if not os.path.isdir(os.path.join(HERE, "node_modules", "koffi")):
        sh(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE)
    return lib, lune


def versions(lune):
    def out(cmd, **kw):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, **kw)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "lune-ffi": out(["git", "-C", ROOT, "log", "-1", "--format=%h %s"]),
        "luajit": out(["luajit", "-v"]),
        "node": out(["node", "--version"]),
        "koffi": out(["node", "-p", "require('koffi').version"], cwd=HERE),
        "gcc": out(["gcc", "--version"]),
        "lune-ffi Luau native codegen": "off (LUNE_LUAU_JIT)" if os.environ.get(
            "LUNE_LUAU_JIT", "").lower() in ("0", "false", "off") else "on (default, as in Lune)",
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "kernel": out(["uname", "-srm"]),
    }


def command(runtime, lune, lib, op, ms):
    if runtime == "lune-ffi":
        return [lune, os.path.join(HERE, "lune.luau"), lib, op, str(ms)]
    if runtime == "luajit":
        return ["luajit", os.path.join(HERE, "luajit.lua"), lib, op, str(ms)]
    return ["node", os.path.join(HERE, "node.cjs"), lib, op, str(ms)]


def run_one(runtime, lune, lib, op, ms):
    cmd = command(runtime, lune, lib, op, ms)
    r = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True)
    lines = [l.split() for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    if r.returncode != 0 or len(lines) != 1 or lines[0][1:3] != [runtime, op]:
        sys.exit(f"{' '.join(cmd)} failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    _, _, _, cpu, wall, n = lines[0]
    # PEAKRSS <runtime> <op> <KiB before the timed loop> <KiB after>
    rss = [l.split() for l in r.stdout.splitlines() if l.startswith("PEAKRSS ")]
    peak = (int(rss[0][3]), int(rss[0][4])) if rss else None
    return float(cpu), float(wall), int(n), peak


def fmt(x):
    if x is None:
        return "—"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def table(results, which):
    """which: 0 = CPU time, 1 = wall time."""
    rows = [
        "| operation | lune-ffi | LuaJIT interpreter | Node + Koffi | lune-ffi / LuaJIT "
        "| lune-ffi / Koffi | lune-ffi / best peer |",
        "|---|---|---|---|---|---|---|",
    ]
    for op, label in OPS:
        med = {}
        for rt in RUNTIMES:
            vals = [v[which] for v in results.get((rt, op), [])]
            med[rt] = statistics.median(vals) if vals else None
        if all(m is None for m in med.values()):
            continue
        best = min(m for m in med.values() if m is not None)
        cells = [f"**{fmt(med[rt])}**" if med[rt] == best else fmt(med[rt]) for rt in RUNTIMES]
        ratio = lambda a, b: f"{a / b:.2f}" if a is not None and b else "—"
        # Both peers here lack a JIT call path (LuaJIT runs with jit.off).
        peers = [med[rt] for rt in RUNTIMES[1:] if med[rt] is not None]
        rows.append(f"| {label} | {' | '.join(cells)} | {ratio(med['lune-ffi'], med['luajit'])} "
                    f"| {ratio(med['lune-ffi'], med['koffi'])} "
                    f"| {ratio(med['lune-ffi'], min(peers) if peers else None)} |")
    return "\n".join(rows)


def paired_table(results):
    """Per round, lune-ffi's CPU time over the better peer's in the same round; the median
    and range of those ratios. A burst of load on a shared machine hits one round of all
    runtimes alike, so a ratio within a round moves less than a median of each."""
    rows = [
        "| operation | median of per-round ratios | lowest | highest |",
        "|---|---|---|---|",
    ]
    for op, label in OPS:
        ours = [v[0] for v in results.get(("lune-ffi", op), [])]
        peers = [[v[0] for v in results.get((rt, op), [])] for rt in RUNTIMES[1:]]
        peers = [p for p in peers if len(p) == len(ours)]
        if not ours or not peers:
            continue
        ratios = [ours[i] / min(p[i] for p in peers) for i in range(len(ours))]
        rows.append(f"| {label} | {statistics.median(ratios):.2f} | {min(ratios):.2f} "
                    f"| {max(ratios):.2f} |")
    return "\n".join(rows)


def rss_table(peaks):
    rows = [
        "| operation | runtime | peak RSS before the loop (MiB) | peak RSS after (MiB) | growth (MiB) |",
        "|---|---|---|---|---|",
    ]
    for op, label in OPS:
        if op not in RSS_OPS:
            continue
        for rt in RUNTIMES:
            vals = peaks.get((rt, op))
            if not vals:
                continue
            before = statistics.median(v[0] for v in vals) / 1024
            after = statistics.median(v[1] for v in vals) / 1024
            rows.append(f"| {label} | {rt} | {before:.1f} | {after:.1f} | {after - before:.1f} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ms", type=int, default=100, help="target length of one timed loop")
    ap.add_argument("--ops", default=",".join(op for op, _ in OPS))
    ap.add_argument("--raw", help="also write every RESULT line to this file")
    ap.add_argument("--profile", default="release",
                    help="cargo profile of the lune-ffi binary (profiling: release with symbols)")
    args = ap.parse_args()
    ops = args.ops.split(",")
    unknown = set(ops) - {op for op, _ in OPS}
    if unknown:
        sys.exit(f"unknown ops: {', '.join(sorted(unknown))}")

    target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    lib, lune = prepare(os.path.abspath(target_dir), args.profile)
    info = versions(lune)

    results = {}
    peaks = {}
    raw = []
    for r in range(1, args.rounds + 1):
        log(f"round {r}/{args.rounds}")
        for op in ops:
            for rt in RUNTIMES:
                if (rt, op) in SKIP:
                    continue
                cpu, wall, n, peak = run_one(rt, lune, lib, op, args.ms)
                results.setdefault((rt, op), []).append((cpu, wall))
                if peak:
                    peaks.setdefault((rt, op), []).append(peak)
                raw.append(f"round {r} {rt} {op} cpu_ns={cpu} wall_ns={wall} n={n} rss_kib={peak}")
                log(f"  {op:<10} {rt:<9} {cpu:9.2f} ns cpu {wall:9.2f} ns wall  n={n}")
    if args.raw:
        with open(args.raw, "w") as f:
            f.write("\n".join(raw) + "\n")

    print(f"Medians of {args.rounds} interleaved rounds, ns per operation (process CPU time; "
          "lower is better, best in bold).\n")
    print(table(results, 0))
    print("\nSame runs, wall-clock time:\n")
    print(table(results, 1))
    print("\nlune-ffi over the better peer, round by round (CPU time):\n")
    print(paired_table(results))
    print("\nPeak resident size (medians, VmHWM):\n")
    print(rss_table(peaks))
    print()
    for k, v in info.items():
        print(f"- {k}: {v}")


if __name__ == "__main__":
    main()
