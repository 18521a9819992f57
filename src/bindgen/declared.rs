//! Which declarations belong to the named headers: the preprocessed text is declared one
//! file at a time, following its line markers, and what each target file adds is kept.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::cdecl::{MacroValue, Namespace, Ordinary};

/// The names the target files declared.
#[derive(Default)]
pub(super) struct Declared {
    pub(super) ordinary: BTreeSet<String>,
    pub(super) defines: BTreeSet<String>,
    pub(super) aliases: BTreeSet<String>,
    pub(super) records: BTreeSet<usize>,
}

impl Declared {
    /// `ns.cdef(text)`, noting what it declared when `target`.
    pub(super) fn declare(
        &mut self,
        ns: &mut Namespace,
        text: &str,
        target: bool,
    ) -> Result<(), String> {
        if !target {
            return ns.cdef(text).map_err(|e| e.to_string());
        }
        let before: HashMap<String, Ordinary> = ns
            .ordinaries()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let defines: HashMap<String, MacroValue> = ns
            .macro_constants()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let aliases: HashSet<String> = ns.alias_names().map(str::to_string).collect();
        let records = ns.record_count();
        ns.cdef(text).map_err(|e| e.to_string())?;
        for (k, v) in ns.ordinaries() {
            if before.get(k) != Some(v) {
                self.ordinary.insert(k.to_string());
            }
        }
        for (k, v) in ns.macro_constants() {
            if defines.get(k) != Some(v) {
                self.defines.insert(k.to_string());
            }
        }
        for k in ns.alias_names() {
            if !aliases.contains(k) {
                self.aliases.insert(k.to_string());
            }
        }
        self.records.extend(records..ns.record_count());
        Ok(())
    }
}

/// A line marker `# 12 "file" 1 3`: the file and its flags.
pub(super) fn line_marker(line: &str) -> Option<(&str, Vec<u32>)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("line").unwrap_or(rest).trim_start();
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 {
        return None;
    }
    let rest = rest[digits..].trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    let flags = rest[end + 1..]
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    Some((&rest[..end], flags))
}

/// Declares the preprocessor's output of `headers` one file's run of lines at a time,
/// noting what the headers' own files declare: a header named bare (`zlib.h`) is one file;
/// one named with a directory (`curl/curl.h`, `./my.h`) brings the files under its
/// directory (`curl/easy.h`).
pub(super) fn declare_preprocessed(
    ns: &mut Namespace,
    decls: &mut Declared,
    out: &str,
    headers: &[String],
) -> Result<(), String> {
    // Pass 1: the files the source (`<stdin>`) includes directly, in order.
    let mut roots = Vec::new();
    let mut stack: Vec<&str> = Vec::new();
    for line in out.lines() {
        if let Some((file, flags)) = line_marker(line) {
            if flags.contains(&1) {
                if stack.last() == Some(&"<stdin>") {
                    roots.push(file.to_string());
                }
                stack.push(file);
            } else if flags.contains(&2) {
                while stack.len() > 1 && stack.last() != Some(&file) {
                    stack.pop();
                }
                if stack.last() != Some(&file) {
                    stack.push(file);
                }
            } else if stack.is_empty() {
                stack.push(file);
            } else if let Some(top) = stack.last_mut() {
                *top = file;
            }
        }
    }
    let mut dirs = Vec::new();
    for (h, root) in headers.iter().zip(&roots) {
        if h.contains('/') || h.contains('\\') {
            if let Some(dir) = std::path::Path::new(root).parent() {
                dirs.push(dir.to_path_buf());
            }
        }
    }
    let is_target = |file: &str| {
        roots.iter().any(|r| r == file)
            || dirs
                .iter()
                .any(|d| std::path::Path::new(file).starts_with(d))
    };
    // Pass 2: runs of lines of one file, declared in order.
    let mut run = String::new();
    let mut file = String::new();
    for line in out.lines() {
        if let Some((f, _)) = line_marker(line) {
            if f != file {
                decls
                    .declare(ns, &run, is_target(&file))
                    .map_err(|e| format!("declaring what {} declares: {}", file, e))?;
                run.clear();
                file = f.to_string();
            }
            continue;
        }
        run.push_str(line);
        run.push('\n');
    }
    decls
        .declare(ns, &run, is_target(&file))
        .map_err(|e| format!("declaring what {} declares: {}", file, e))?;
    if decls.ordinary.is_empty() && decls.defines.is_empty() {
        return Err(format!(
            "{} declare nothing (the files read: {})",
            headers.join(", "),
            if roots.is_empty() {
                "none".to_string()
            } else {
                roots.join(", ")
            }
        ));
    }
    Ok(())
}

/// Luau's reserved words: not usable as names of parameters, fields or types.
pub(super) const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local",
    "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Names a type alias may not take (Luau's built-in types, and the module's own).
pub(super) const RESERVED_TYPES: &[&str] = &[
    "any", "nil", "number", "string", "boolean", "thread", "buffer", "unknown", "never",
    "userdata", "vector", "table", "typeof", "integer", "Library", "ffi", "self",
];

pub(super) fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// A table-type key: the name, or `["end"]` for a keyword.
pub(super) fn key(s: &str) -> String {
    if is_name(s) {
        s.to_string()
    } else {
        format!("[{:?}]", s)
    }
}
