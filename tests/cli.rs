//! Runs the `lune-ffi` binary on the scripts in `tests/cli/` and on every
//! `examples/*.luau`, checking output and exit codes.

#![cfg(feature = "cli")]

use std::{
    ffi::OsStr,
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_lune-ffi");

/// No script in this repository should take longer; a hang fails the test instead.
const TIMEOUT: Duration = Duration::from_secs(120);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in `cwd` with `args`, feeding `stdin`, killing it after [`TIMEOUT`].
fn run_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S], stdin: Option<&str>) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start the lune-ffi binary");

    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.as_bytes()).expect("write stdin");
        // Dropping the pipe closes it, so the script sees end of input.
    }

    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr is piped")));

    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for lune-ffi") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };

    let run = Run {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    };
    assert!(
        status.is_some(),
        "lune-ffi {:?} timed out after {TIMEOUT:?}\n{}",
        args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
        run.describe()
    );
    run
}

fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    run_in(&manifest_dir(), args, None)
}

#[test]
fn help_version_and_usage_errors() {
    let help = run(&["--help"]);
    assert_eq!(help.code, Some(0), "{}", help.describe());
    assert!(help.stdout.contains("Usage: lune-ffi run <SCRIPT>"));

    let help = run(&["run", "--help"]);
    assert_eq!(help.code, Some(0), "{}", help.describe());
    assert!(help.stdout.contains("Usage:"));

    let version = run(&["--version"]);
    assert_eq!(version.code, Some(0), "{}", version.describe());
    assert_eq!(
        version.stdout,
        format!("lune-ffi {}\n", env!("CARGO_PKG_VERSION"))
    );

    for bad in [&[][..], &["run"][..], &["--bogus"][..]] {
        let out = run(bad);
        assert_eq!(out.code, Some(2), "{bad:?}: {}", out.describe());
        assert!(out.stderr.contains("Usage:"), "{bad:?}: {}", out.describe());
    }
}

/// Issue 24 item 1: `--help` names every library the binary has, and `@lune/roblox` as
/// left out when its cargo feature is off.
#[test]
fn help_lists_the_libraries() {
    let help = run(&["--help"]);
    assert_eq!(help.code, Some(0), "{}", help.describe());
    let text = help.stdout.replace('\n', " ");
    for lib in [
        "ffi", "datetime", "fs", "luau", "net", "process", "regex", "serde", "stdio", "task",
    ] {
        assert!(
            text.contains(&format!("@lune/{lib},")) || text.contains(&format!("@lune/{lib};")),
            "{lib}: {}",
            help.stdout
        );
    }
    let roblox_off = text.contains("@lune/roblox is not built in (cargo feature `roblox`)");
    assert_eq!(roblox_off, !cfg!(feature = "roblox"), "{}", help.stdout);
    let roblox_listed = text.contains("@lune/roblox,") || text.contains("@lune/roblox;");
    assert_eq!(roblox_listed, cfg!(feature = "roblox"), "{}", help.stdout);
}

#[test]
fn process_args_reach_the_script() {
    // Both command forms, with and without the extension.
    for prefix in [&["run", "tests/cli/args.luau"][..], &["tests/cli/args"][..]] {
        let mut args = prefix.to_vec();
        args.extend(["one", "two words", "--flag"]);
        let out = run(&args);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.describe());
        assert!(out.stdout.contains("args ok"), "{}", out.describe());
    }
}

#[test]
fn process_exit_sets_the_exit_code() {
    for code in [0, 7, 255] {
        let out = run(&["tests/cli/args", "exit", &code.to_string()]);
        assert_eq!(out.code, Some(code), "{}", out.describe());
        assert!(out.stdout.contains(&format!("exiting with {code}")));
        assert!(!out.stderr.contains("unreachable"), "{}", out.describe());
    }
}

#[test]
fn relative_require_works_from_any_working_directory() {
    let from_root = run(&["run", "tests/cli/require_main.luau"]);
    assert_eq!(from_root.code, Some(0), "{}", from_root.describe());
    assert!(from_root.stdout.contains("require ok: hello, ffi!"));

    let from_cli_dir = run_in(&manifest_dir().join("tests/cli"), &["require_main"], None);
    assert_eq!(from_cli_dir.code, Some(0), "{}", from_cli_dir.describe());
    assert!(from_cli_dir.stdout.contains("require ok: hello, ffi!"));

    let absolute = manifest_dir().join("tests/cli/require_main.luau");
    let from_elsewhere = run_in(&std::env::temp_dir(), &[absolute], None);
    assert_eq!(
        from_elsewhere.code,
        Some(0),
        "{}",
        from_elsewhere.describe()
    );
}

#[test]
fn runtime_has_integer_library_ffi_and_std() {
    let out = run(&["tests/cli/runtime.luau"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("runtime ok"), "{}", out.describe());
}

#[test]
fn uncaught_error_exits_1_with_script_name_and_line() {
    let out = run(&["tests/cli/error.luau"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr
            .contains("tests/cli/error:4: boom from error.luau"),
        "{}",
        out.describe()
    );
    // Lune's stack trace format, with the caller's line too.
    assert!(
        out.stderr.contains("Script 'tests/cli/error', Line 7"),
        "{}",
        out.describe()
    );
}

#[test]
fn error_in_a_spawned_thread_exits_1() {
    let out = run(&["tests/cli/task_error"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stdout.contains("main thread done"),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("boom in a spawned task"),
        "{}",
        out.describe()
    );
}

#[test]
fn syntax_error_exits_1_with_script_name_and_line() {
    let out = run(&["tests/cli/syntax_error"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("tests/cli/syntax_error:3:"),
        "{}",
        out.describe()
    );
}

#[test]
fn missing_script_exits_1_and_says_so() {
    let out = run(&["tests/cli/no_such_script"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        out.stderr.contains("tests/cli/no_such_script"),
        "{}",
        out.describe()
    );
}

#[test]
fn script_from_stdin() {
    let out = run_in(
        &manifest_dir(),
        &["-", "x"],
        Some("print('stdin got', require('@lune/process').args[1])"),
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(out.stdout.contains("stdin got x"), "{}", out.describe());
}

/// Every `examples/*.luau` must run and exit 0.
#[test]
fn examples_run_successfully() {
    let dir = manifest_dir().join("examples");
    let mut examples: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("read examples/").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "luau"))
        .collect();
    examples.sort();
    // An empty or missing examples/ would make this test pass without running anything.
    assert!(
        !examples.is_empty(),
        "no examples/*.luau in {}",
        dir.display()
    );

    let mut failures = Vec::new();
    for path in &examples {
        let rel = path
            .strip_prefix(manifest_dir())
            .expect("example under the manifest dir");
        let started = Instant::now();
        let out = run(&[rel]);
        let verdict = if out.code == Some(0) { "ok" } else { "FAILED" };
        println!(
            "example {}: {verdict} ({:?}, {:.2?})",
            rel.display(),
            out.code,
            started.elapsed()
        );
        if out.code != Some(0) {
            failures.push(format!("{}: {}", rel.display(), out.describe()));
        }
    }
    println!("ran {} example(s)", examples.len());

    assert!(
        failures.is_empty(),
        "{} example(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
