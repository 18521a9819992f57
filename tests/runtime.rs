//! Behaviour only the real runtime shows, run through the `lune-ffi` binary on the scripts
//! in `tests/runtime/`. It sandboxes scripts as Lune does (`collectgarbage("collect")` is
//! an error there): dropped arena memory is reclaimed without the script's help,
//! overwritten pointer slots do not accumulate their targets, stored pointers keep their
//! targets alive, deep callback nesting fails with one short error, worker-thread
//! callbacks run while the scheduler waits, and `print` shows lune-ffi objects. Resident
//! memory is read from /proc, so this runs on Linux.

#![cfg(all(feature = "cli", target_os = "linux"))]

use std::process::Command;

fn run(script: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lune-ffi"))
        .arg("run")
        .arg(format!("tests/runtime/{}", script))
        .arg(lune_ffi_testkit::TESTLIB)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the lune-ffi binary");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.ends_with("ok\n"),
        "{} failed ({:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script,
        out.status,
        stdout,
        stderr
    );
    print!("{}", stdout);
    stdout
}

#[test]
fn ffi_gc_finalizes_every_dropped_handle_once() {
    let out = run("gc_finalizers.luau");
    assert!(out.contains("C finalizer: 100000 opened"), "{}", out);
}

#[test]
fn ffi_gc_c_finalizers_run_when_the_state_closes() {
    let (status, stdout, stderr) = run_raw("gc_at_exit.luau", &[]);
    assert!(status.success(), "{status:?}\n{stdout}\n{stderr}");
    assert_eq!(stdout, "ok\nclosed 1 at exit\n", "{stderr}");
}

#[test]
fn memory_is_reclaimed_and_kept_in_the_real_runtime() {
    run("memory.luau");
}

#[test]
fn deep_nesting_in_the_real_runtime() {
    let out = run("nesting.luau");
    assert!(
        out.contains("callbacks nested too deep: 181 levels"),
        "{}",
        out
    );
}

#[test]
fn worker_thread_callbacks_run_while_the_script_waits() {
    let out = run("idle.luau");
    assert!(out.contains("callback latency while idle"), "{}", out);
}

#[test]
fn print_shows_ffi_objects() {
    let out = run("print.luau");
    let first = out.lines().next().unwrap_or("");
    assert!(
        first.starts_with("RawPointer(0x")
            && first.contains(" TypedPointer<i32>(0x")
            && first.contains(" StructType(size 4, alignment 4; x)"),
        "{}",
        out
    );
}

/// Issue 21 item 8: `ffi.C.printf("%d %s %.3f\n", 42, "x", 1.5)` prints `42 x 1.500`.
#[test]
fn printf_formats_its_variadic_arguments() {
    let out = run("printf.luau");
    assert_eq!(out, "42 x 1.500\nTypedValue<i64>(1)\nok\n");
}

#[test]
fn async_calls_overlap_and_yield() {
    let out = run("async.luau");
    assert!(out.contains("async: 4 x 200 ms calls in"), "{}", out);
}

#[test]
fn aligned_and_initialised_memory_is_zeroed_lazily() {
    run("lazy_zero.luau");
}

#[test]
fn freeing_an_arena_under_an_async_call_waits_for_it() {
    let out = run("async_free.luau");
    assert!(out.contains("sorted 3 times, filled 3 times"), "{}", out);
}

/// Runs `tests/runtime/<script>` with extra arguments; (exit status, stdout, stderr).
fn run_raw(script: &str, extra: &[&str]) -> (std::process::ExitStatus, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lune-ffi"))
        .arg("run")
        .arg(format!("tests/runtime/{}", script))
        .arg(lune_ffi_testkit::TESTLIB)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run the lune-ffi binary");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 19 item 6b: C threads keep calling a callback while the script ends. Before the
/// fix the state's closing unloaded the library under them (SIGSEGV in 4 to 9 of 20 runs).
#[test]
fn callbacks_called_by_c_threads_at_exit_do_not_crash() {
    for (mode, code) in [("return", 0), ("error", 1), ("free", 0)] {
        for _ in 0..10 {
            let (status, stdout, stderr) = run_raw("exit_callback.luau", &[mode]);
            assert_eq!(
                status.code(),
                Some(code),
                "mode {mode}: {status:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
            );
            assert_eq!(stdout, "ok\n", "mode {mode}");
        }
    }
}

/// Issue 19 items 6c and 10: a callback error on a `lib:async` worker reaches only the task
/// waiting on that call (30 rounds per run, 3 runs; before the fix another task's
/// synchronous ffi call raised it in 2 of 3 runs), and as the same string a synchronous
/// call raises.
#[test]
fn async_callback_errors_reach_the_waiting_task_only() {
    for _ in 0..3 {
        let out = run("async_errors.luau");
        assert!(
            out.contains(
                "callback errors: 30 of 30 delivered to the waiting task, 0 raised elsewhere"
            ),
            "{}",
            out
        );
    }
}

/// Issue 19 item 6d: 2,000 pending `lib:async` calls under a 1.5 GB address-space limit.
/// Before: Rust's thread setup (or async-io's driver thread) failed inside the process and
/// aborted it (exit 134 or 101). With the worker pool (issue 23) they queue for its few
/// threads and all run; a call that could get no worker at all would fail with a Luau
/// error (`cannot start a worker thread`), which the script accepts too.
#[test]
fn async_calls_beyond_the_address_space_fail_cleanly() {
    for _ in 0..3 {
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 1500000 && exec \"$0\" run tests/runtime/async_limit.luau")
            .arg(env!("CARGO_BIN_EXE_lune-ffi"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run the lune-ffi binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success()
                && stdout.ends_with("ok\n")
                && (stdout.contains("2000 calls: 2000 ran, 0 failed")
                    || stdout.contains(
                        "first error: async 'usleep': cannot start a worker thread: out of address space"
                    )),
            "{:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status,
            stdout,
            stderr
        );
    }
}

/// Issue 19 item 4: the callback's error is on stderr once, with its traceback, even though
/// it travelled up through three callbacks, and the script still got it from the call.
#[test]
fn callback_errors_are_shown_when_raised_into_c() {
    let (status, stdout, stderr) = run_raw("callback_stderr.luau", &[]);
    assert!(
        status.success() && stdout == "ok\n",
        "{status:?}\n{stdout}\n{stderr}"
    );
    assert_eq!(stderr.matches("deep boom").count(), 1, "{}", stderr);
    assert_eq!(
        stderr
            .matches("[lune-ffi] a callback raised an error")
            .count(),
        1,
        "{}",
        stderr
    );
    assert!(
        stderr.contains("error in callback: tests/runtime/callback_stderr:11: deep boom\nstack traceback (callback):\n"),
        "{}",
        stderr
    );
}

/// Issue 19 item 9: the script ends and so does the process (before: it never exited after
/// a coroutine waiting in `task.wait` was resumed by hand). Killed after 20 s.
#[test]
fn hand_resumed_waiting_coroutines_let_the_process_exit() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lune-ffi"))
        .arg("run")
        .arg("tests/runtime/hand_resume.luau")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the lune-ffi binary");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the binary") {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().expect("read its output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success()
            && stdout == "async done,deferred thread,spawned waited,task async after hand resume,task waited,waited\nok\n",
        "{:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        status,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn safety_reproducers_in_the_real_runtime() {
    run("safety.luau");
}

/// Issue 23 item 3: async calls on a bounded worker pool: 10,000 concurrent calls finish
/// with the right results on a handful of threads (before: one thread each).
#[test]
fn async_calls_run_on_a_bounded_worker_pool() {
    let out = run("async_pool.luau");
    let threads: usize = out
        .split("peak ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no thread count in {}", out));
    // The pool (twice the cores, at least 4) plus the runtime's own threads.
    let pool = (2 * std::thread::available_parallelism().map_or(2, |n| n.get())).max(4);
    assert!(
        threads <= pool + 8,
        "{} threads for a pool of {}:\n{}",
        threads,
        pool,
        out
    );
}

/// Issue 24 item 1: `@lune/net` serves a page on 127.0.0.1 (a port the system picks),
/// `net.request` fetches it and the body goes through zlib's compress2, uncompress and
/// crc32 declared with `ffi.cdef`; a WebSocket echo and the URL helpers too.
#[test]
fn net_serves_and_fetches_a_page_that_zlib_compresses() {
    // A port free a moment ago: the listener is closed before the script binds it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port();
    // A server that never stops keeps the process alive: kill it after a minute, so the
    // test fails instead of hanging.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lune-ffi"))
        .arg("run")
        .arg("tests/runtime/net_zlib.luau")
        .arg(lune_ffi_testkit::TESTLIB)
        .arg(port.to_string())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the lune-ffi binary");
    let start = std::time::Instant::now();
    let mut timed_out = false;
    while child.try_wait().expect("wait for lune-ffi").is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            timed_out = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("collect lune-ffi's output");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !timed_out && output.status.success() && out.ends_with("ok\n"),
        "timed out: {timed_out}, {:?}\n{out}\n{stderr}",
        output.status
    );
    assert!(
        out.contains("fetched 2100 bytes from http://127.0.0.1:"),
        "{}",
        out
    );
}

/// Issue 24 item 1: every `@lune/*` library Lune documents is required successfully;
/// `@lune/roblox` is checked absent when the `roblox` feature is off (and present when on).
#[test]
fn every_documented_lune_library_can_be_required() {
    let off: &[&str] = if cfg!(feature = "roblox") {
        &[]
    } else {
        &["roblox"]
    };
    let (status, stdout, stderr) = run_raw("all_modules.luau", off);
    assert!(
        status.success() && stdout.ends_with("ok\n"),
        "{status:?}\n{stdout}\n{stderr}"
    );
    let required = if cfg!(feature = "roblox") {
        "required: ffi datetime fs luau net process regex roblox serde stdio task\n"
    } else {
        "required: ffi datetime fs luau net process regex serde stdio task\nfeature off: roblox\n"
    };
    assert!(stdout.starts_with(required), "{stdout}");
}
