//! Every `unsafe` block under `src/` says why it is sound (issue 20 item 2): the comment
//! block right above it (or above the statement it is part of) has a `SAFETY:` line, and
//! none of the placeholder texts that say nothing about the block itself is used.

use std::path::Path;

/// Comments that name no fact about their block: each was once pasted dozens of times.
const PLACEHOLDERS: &[&str] = &[
    "own `# Safety` contract",
    "SAFETY: see above",
    "SAFETY: as above",
];

/// A comment that is exactly this says nothing either (with more after it, it may).
const BARE: &str = "// SAFETY: the caller's contract.";

/// Whether `line` opens an unsafe block (not an `unsafe fn`, `impl` or `extern`).
fn opens_unsafe_block(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or("");
    let mut rest = code;
    while let Some(i) = rest.find("unsafe") {
        let before_ok = i == 0 || {
            let c = rest.as_bytes()[i - 1];
            !(c.is_ascii_alphanumeric() || c == b'_')
        };
        let after = rest[i + "unsafe".len()..].trim_start();
        if before_ok && after.starts_with('{') {
            return true;
        }
        rest = &rest[i + "unsafe".len()..];
    }
    false
}

/// Whether a code line continues onto the next (the statement goes on below it).
fn continues(line: &str) -> bool {
    let t = line.trim_end();
    ["=", "(", "=>", "&&", "||", "+", "-", "*", "?"]
        .iter()
        .any(|end| t.ends_with(end))
}

/// The comment block that documents the unsafe block opened at line `i`.
fn comment_above(lines: &[&str], i: usize) -> Vec<String> {
    let mut j = i;
    // Up through the statement the block is part of (`let x =` on the line above, ...).
    while j > 0 && continues(lines[j - 1]) && !lines[j - 1].trim_start().starts_with("//") {
        j -= 1;
    }
    let mut block = Vec::new();
    while j > 0 && lines[j - 1].trim_start().starts_with("//") {
        j -= 1;
        block.push(lines[j].trim().to_string());
    }
    block.reverse();
    block
}

#[test]
fn every_unsafe_block_says_the_fact_it_rests_on() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let all = lune_ffi_testkit::rust_files(&root);
    let mut blocks = 0;
    let mut bad = Vec::new();
    for file in &all {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        for (i, line) in lines.iter().enumerate() {
            for p in PLACEHOLDERS {
                if line.contains(p) && line.trim_start().starts_with("//") {
                    bad.push(format!(
                        "src/{}:{}: placeholder comment: {}",
                        rel,
                        i + 1,
                        line.trim()
                    ));
                }
            }
            if line.trim() == BARE {
                bad.push(format!(
                    "src/{}:{}: bare comment: {}",
                    rel,
                    i + 1,
                    line.trim()
                ));
            }
            if line.trim_start().starts_with("//") || !opens_unsafe_block(line) {
                continue;
            }
            blocks += 1;
            let comment = comment_above(&lines, i);
            if !comment.iter().any(|c| c.contains("SAFETY")) {
                bad.push(format!(
                    "src/{}:{}: unsafe block without a SAFETY comment",
                    rel,
                    i + 1
                ));
            }
        }
    }
    // The scan must see the code it checks: hundreds of blocks sit at the VM and C-memory
    // boundaries.
    assert!(
        blocks > 300,
        "only {} unsafe blocks found under src/",
        blocks
    );
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn the_scan_recognises_blocks_and_their_comments() {
    assert!(opens_unsafe_block("    let x = unsafe { f() };"));
    assert!(opens_unsafe_block("Loc::Gpr(r) => unsafe { a.read() },"));
    assert!(!opens_unsafe_block("pub unsafe fn f() {"));
    assert!(!opens_unsafe_block("unsafe impl Send for X {}"));
    assert!(!opens_unsafe_block("unsafe extern \"C\" fn g() {"));
    assert!(!opens_unsafe_block(
        "let not_unsafe = 1; // unsafe { in a comment }"
    ));
    let src = [
        "    // SAFETY: the slot holds a number.",
        "    let n =",
        "        unsafe { read(p) };",
        "    let m = unsafe { read(q) };",
    ];
    assert_eq!(
        comment_above(&src, 2),
        vec!["// SAFETY: the slot holds a number."]
    );
    assert!(comment_above(&src, 3).is_empty());
}
