//! Checks the Luau layer's imports against the layering written at the top of
//! `src/luau/mod.rs`: every module there may use only modules listed before it, every
//! file of `src/luau` is listed, and no file imports a module's names with a glob.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn luau_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/luau")
}

/// The module paths in the order `src/luau/mod.rs` lists them under "Layers".
fn declared_order() -> Vec<String> {
    let text = std::fs::read_to_string(luau_dir().join("mod.rs")).unwrap();
    let mut order = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            if inside {
                break;
            }
            continue;
        };
        if doc.contains("Layers") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        // Each listed module is written `a::b` in backticks.
        let mut rest = doc;
        while let Some(start) = rest.find('`') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('`') else { break };
            order.push(after[..end].to_string());
            rest = &after[end + 1..];
        }
    }
    order
}

/// `vm/raw.rs` -> `vm::raw`; `callback/mod.rs` -> `callback`; `mod.rs` -> "".
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Code lines of a file: comments and the `#[cfg(test)]` module at its end left out.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

#[test]
fn luau_layer_imports_follow_the_written_layering() {
    let root = luau_dir();
    let order = declared_order();
    assert!(
        order.len() > 10,
        "no layering found in src/luau/mod.rs: {order:?}"
    );
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let all = lune_ffi_testkit::rust_files(&root);
    let mut problems = Vec::new();
    for file in &all {
        let me = module_of(&root, file);
        let text = std::fs::read_to_string(file).unwrap();
        let folder_mod = file.ends_with("mod.rs") && !me.contains("::") && !me.is_empty();
        // A folder's mod.rs that only declares its files is not a layer of its own.
        let only_decls = text
            .lines()
            .all(|l| l.trim().is_empty() || l.starts_with("pub mod ") || l.starts_with("//"));
        // Test modules (`*_tests.rs`) belong to the module they test.
        let test_file = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"));
        if me.is_empty() || (folder_mod && only_decls) || test_file {
            continue;
        }
        let Some(&my_rank) = rank.get(me.as_str()) else {
            problems.push(format!(
                "{me} ({}) is not listed in the layering",
                file.display()
            ));
            continue;
        };
        for (n, line) in code_lines(&text) {
            let t = line.trim_start();
            if t.starts_with("use ") && t.trim_end().ends_with("::*;") {
                let path = t.trim_start_matches("use ").trim_end_matches("::*;");
                let last = path.rsplit("::").next().unwrap_or("");
                // `use Enum::*` of an enum's variants is not a module glob.
                if !last.chars().next().is_some_and(|c| c.is_uppercase()) {
                    problems.push(format!(
                        "{}:{n}: glob import `{}`",
                        file.display(),
                        t.trim()
                    ));
                }
            }
            let mut rest = line;
            while let Some(at) = rest.find("crate::luau::") {
                let after = &rest[at + "crate::luau::".len()..];
                let path: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // The longest listed module that prefixes the path.
                let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
                let target = (1..=segs.len())
                    .rev()
                    .map(|k| segs[..k].join("::"))
                    .find(|m| rank.contains_key(m.as_str()));
                match target {
                    Some(t) if t == me => {}
                    Some(t) if rank[t.as_str()] < my_rank => {}
                    Some(t) => problems.push(format!(
                        "{}:{n}: {me} uses {t}, which the layering lists after it",
                        file.display()
                    )),
                    None => {
                        // A folder itself (`crate::luau::vm::{...}`) is not a module to use.
                        if !segs.is_empty() {
                            problems.push(format!(
                                "{}:{n}: `crate::luau::{path}` names no listed module",
                                file.display()
                            ))
                        }
                    }
                }
                rest = &after[path.len()..];
            }
        }
    }
    for m in &order {
        let listed_file = all.iter().any(|f| &module_of(&root, f) == m);
        if !listed_file {
            problems.push(format!("the layering lists {m}, which has no file"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} layering problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
