//! A seeded fuzzer of the public API of `@lune/ffi` (issue 19 item 11): random scripts from
//! `fuzz_api/gen.rs` run through the real `lune-ffi` binary, under an address-space limit
//! and a timeout. Every statement is wrapped in `pcall`, so a Luau error is never a
//! finding; a finding is a signal death (crash), an abort, a Rust panic or another exit
//! code than 0 or 1, a timeout (hang), a kill for memory, or a corrupted interned string.
//!
//! CI runs a short campaign (300 scripts of 60 statements, about 20 s in a debug build). A long one on request:
//! `LUNE_FFI_FUZZ_SCRIPTS=5000 LUNE_FFI_FUZZ_SEED=7 cargo test --test fuzz_api -- --nocapture`.
//! Other knobs: `LUNE_FFI_FUZZ_STMTS` (statements per script, 60), `LUNE_FFI_FUZZ_JOBS`
//! (parallel scripts, 2), `LUNE_FFI_FUZZ_TIMEOUT` (seconds per script, 10),
//! `LUNE_FFI_FUZZ_KNOWN` (`none`, or a comma list of `gen::KNOWN_ISSUES`: the constructs
//! that reached issues found while the fuzzer was written, all fixed since and all on by
//! default),
//! `LUNE_FFI_FUZZ_KEEP_GOING=1` (do not fail the test on findings; print the figures).
//! On a finding it prints the script's seed and the paths of the script and of its
//! minimized reproducer (under `target/tmp/fuzz_api/`).
//!
//! It runs on x86-64 Linux only (the host lane; the cross lanes run under emulation or
//! not at all) and needs `sh` for `ulimit`.

#![cfg(all(feature = "cli", target_os = "linux", target_arch = "x86_64"))]

#[path = "fuzz_api/gen.rs"]
mod gen;

use std::fs::{self, File};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Address-space limit per script (KiB for `ulimit -v`): 4 GiB.
const ADDRESS_SPACE_KIB: u64 = 4 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// A signal other than SIGABRT (SIGSEGV, SIGBUS, SIGILL, ...).
    Crash(i32),
    /// SIGABRT: a Rust abort (stack overflow, panic in a `extern "C"` frame) or glibc's.
    Abort,
    /// An allocation failure that aborted instead of being a Luau error.
    Oom,
    /// An exit code other than 0 or 1 (101 is a Rust panic).
    Exit(i32),
    Hang,
    /// The interned-string canary changed.
    Corrupt,
}

impl Outcome {
    fn is_finding(&self) -> bool {
        *self != Outcome::Ok
    }
}

/// Seed, outcome, script, minimized reproducer, tail of stderr.
type Finding = (u64, Outcome, PathBuf, PathBuf, String);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

struct Runner {
    bin: PathBuf,
    dir: PathBuf,
    timeout: Duration,
    ok_stmts: AtomicUsize,
    err_stmts: AtomicUsize,
    completed: AtomicUsize,
}

impl Runner {
    /// Runs one script file; returns the outcome and the tail of stderr.
    fn run(&self, script: &Path) -> (Outcome, String) {
        self.run_counted(script, true)
    }

    /// `count`: add the script's statement figures (not for the minimizer's reruns).
    fn run_counted(&self, script: &Path, count: bool) -> (Outcome, String) {
        let out = script.with_extension("out");
        let err = script.with_extension("err");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v {}; exec \"$0\" run \"$1\"",
                ADDRESS_SPACE_KIB
            ))
            .arg(&self.bin)
            .arg(script)
            .stdin(Stdio::null())
            .stdout(File::create(&out).expect("create stdout file"))
            .stderr(File::create(&err).expect("create stderr file"))
            .spawn()
            .expect("spawn sh");
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait for a script") {
                break Some(s);
            }
            if start.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = fs::read(&out).unwrap_or_default();
        let stderr = String::from_utf8_lossy(&fs::read(&err).unwrap_or_default()).into_owned();
        let _ = fs::remove_file(&out);
        let _ = fs::remove_file(&err);
        let tail: String = {
            let s: Vec<&str> = stderr.lines().collect();
            s[s.len().saturating_sub(8)..].join("\n")
        };
        let stdout = String::from_utf8_lossy(&stdout);
        let outcome = match status {
            None => Outcome::Hang,
            Some(s) => match (s.code(), s.signal()) {
                (_, Some(6)) if stderr.contains("memory allocation of") => Outcome::Oom,
                (_, Some(6)) => Outcome::Abort,
                (_, Some(9)) => Outcome::Oom, // killed from outside: the OOM killer
                (_, Some(sig)) => Outcome::Crash(sig),
                (Some(0 | 1), _) if stdout.contains("FUZZ-CORRUPT") => Outcome::Corrupt,
                (Some(0 | 1), _) => {
                    // Statements that ran without error / raised, for the figures; a
                    // script that did not reach its end (an error escaping a task) adds 0.
                    let end = stdout.lines().find(|l| l.starts_with("FUZZ-END"));
                    if let Some(l) = end.filter(|_| count) {
                        let n: Vec<u64> = l
                            .split_whitespace()
                            .skip(1)
                            .filter_map(|x| x.parse().ok())
                            .collect();
                        if n.len() == 2 {
                            self.ok_stmts.fetch_add(n[0] as usize, Ordering::Relaxed);
                            self.err_stmts.fetch_add(n[1] as usize, Ordering::Relaxed);
                            self.completed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Outcome::Ok
                }
                (Some(c), _) => Outcome::Exit(c),
                (None, None) => Outcome::Exit(-1),
            },
        };
        (outcome, tail)
    }

    /// Greedy line-level delta minimization of the statements: drops chunks of lines
    /// (halving the chunk size) while the outcome stays the same.
    fn minimize(&self, script: &str, want: &Outcome, name: &str) -> String {
        let lines: Vec<&str> = script.lines().collect();
        let first = lines
            .iter()
            .position(|l| l.starts_with("-- statements:"))
            .map_or(0, |i| i + 1);
        let last = lines
            .iter()
            .rposition(|l| l.starts_with("task.wait()"))
            .unwrap_or(lines.len());
        let head = &lines[..first];
        let tail = &lines[last..];
        let mut body: Vec<&str> = lines[first..last].to_vec();
        let path = self.dir.join(format!("{}.try.luau", name));
        let started = Instant::now();
        let budget = Duration::from_secs(env_num("LUNE_FFI_FUZZ_MIN_SECONDS", 120));
        let mut chunk = body.len().div_ceil(2).max(1);
        loop {
            let mut i = 0;
            while i < body.len() && started.elapsed() < budget {
                let mut cand = body.clone();
                cand.drain(i..(i + chunk).min(body.len()));
                let text = [head, &cand[..], tail].concat().join("\n") + "\n";
                fs::write(&path, &text).expect("write a candidate");
                if self.run_counted(&path, false).0 == *want {
                    body = cand;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 || started.elapsed() >= budget {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        let _ = fs::remove_file(&path);
        [head, &body[..], tail].concat().join("\n") + "\n"
    }
}

#[test]
fn fuzz_the_public_api() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lune-ffi"));
    if !bin.exists() {
        eprintln!("fuzz_api: {} is missing; skipped", bin.display());
        return;
    }
    let scripts = env_num("LUNE_FFI_FUZZ_SCRIPTS", 300) as usize;
    let seed = env_num("LUNE_FFI_FUZZ_SEED", 19_011);
    let stmts = env_num("LUNE_FFI_FUZZ_STMTS", 60) as usize;
    let jobs = env_num("LUNE_FFI_FUZZ_JOBS", 2).max(1) as usize;
    let known: Vec<String> = match std::env::var("LUNE_FFI_FUZZ_KNOWN")
        .unwrap_or_default()
        .trim()
    {
        // Every issue the switches name is fixed (2,000 scripts with all of them on found
        // nothing), so the default reaches them all; `none` leaves them out.
        "" | "all" | "1" => gen::KNOWN_ISSUES.iter().map(|s| s.to_string()).collect(),
        "none" => Vec::new(),
        list => list
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .inspect(|s| {
                assert!(
                    gen::KNOWN_ISSUES.contains(&s.as_str()),
                    "unknown LUNE_FFI_FUZZ_KNOWN entry {}",
                    s
                )
            })
            .collect(),
    };
    let keep_going = env_num("LUNE_FFI_FUZZ_KEEP_GOING", 0) != 0;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz_api");
    fs::create_dir_all(&dir).expect("create the fuzz directory");
    let runner = Runner {
        bin,
        dir: dir.clone(),
        timeout: Duration::from_secs(env_num("LUNE_FFI_FUZZ_TIMEOUT", 10)),
        ok_stmts: AtomicUsize::new(0),
        err_stmts: AtomicUsize::new(0),
        completed: AtomicUsize::new(0),
    };
    let keep_scripts = env_num("LUNE_FFI_FUZZ_KEEP_SCRIPTS", 0) != 0;

    let next = AtomicUsize::new(0);
    let findings: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= scripts {
                    break;
                }
                let script_seed = seed.wrapping_add(i as u64);
                let text = gen::Gen::new(script_seed, known.clone()).script(stmts);
                let name = format!("seed-{}", script_seed);
                let path = dir.join(format!("{}.luau", name));
                fs::write(&path, &text).expect("write a script");
                let (outcome, tail) = runner.run(&path);
                if !outcome.is_finding() {
                    if !keep_scripts {
                        let _ = fs::remove_file(&path);
                    }
                    continue;
                }
                eprintln!(
                    "fuzz_api: seed {} -> {:?}; minimizing {}\n{}",
                    script_seed,
                    outcome,
                    path.display(),
                    tail
                );
                let min = runner.minimize(&text, &outcome, &name);
                let min_path = dir.join(format!("{}.min.luau", name));
                fs::write(&min_path, &min).expect("write the reproducer");
                eprintln!(
                    "fuzz_api: seed {} -> {:?}: reproducer {}",
                    script_seed,
                    outcome,
                    min_path.display()
                );
                findings
                    .lock()
                    .unwrap()
                    .push((script_seed, outcome, path, min_path, tail));
            });
        }
    });
    let findings = findings.into_inner().unwrap();
    eprintln!(
        "fuzz_api: {} scripts ran to their end; statements without error {}, with a Luau error {}",
        runner.completed.load(Ordering::Relaxed),
        runner.ok_stmts.load(Ordering::Relaxed),
        runner.err_stmts.load(Ordering::Relaxed),
    );
    let count = |f: fn(&Outcome) -> bool| findings.iter().filter(|x| f(&x.1)).count();
    eprintln!(
        "fuzz_api: {} scripts of {} statements from seed {} (known issues {}) in {:.1} s: \
         {} crashes, {} aborts, {} panics/other exits, {} hangs, {} OOM kills, {} corruptions",
        scripts,
        stmts,
        seed,
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(",")
        },
        started.elapsed().as_secs_f64(),
        count(|o| matches!(o, Outcome::Crash(_))),
        count(|o| matches!(o, Outcome::Abort)),
        count(|o| matches!(o, Outcome::Exit(_))),
        count(|o| matches!(o, Outcome::Hang)),
        count(|o| matches!(o, Outcome::Oom)),
        count(|o| matches!(o, Outcome::Corrupt)),
    );
    let report: Vec<String> = findings
        .iter()
        .map(|(seed, o, path, min, tail)| {
            format!(
                "seed {}: {:?}\n  script {}\n  reproducer {}\n  {}",
                seed,
                o,
                path.display(),
                min.display(),
                tail.replace('\n', "\n  ")
            )
        })
        .collect();
    if !keep_going {
        assert!(findings.is_empty(), "findings:\n{}", report.join("\n"));
    } else if !findings.is_empty() {
        eprintln!("findings:\n{}", report.join("\n"));
    }
}
