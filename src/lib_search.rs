//! Finding a library by name, as Python's `ctypes.util.find_library` does: `ffi.load("z")`
//! opens `libz.so.1` when no unversioned development symlink exists.
//!
//! Order: the name as given; the platform's `lib<name>.so` / `lib<name>.dylib` /
//! `<name>.dll`; then versioned names found in the loader's search path. The error lists
//! every name tried.

use std::path::{Path, PathBuf};

/// Opens the library `name`, trying the candidates in order.
pub fn open(name: &str) -> Result<(String, libloading::Library), String> {
    let mut tried: Vec<String> = Vec::new();
    for candidate in candidates(name) {
        // SAFETY: loading a library runs its initialisers; the seed documents FFI as
        // inherently unsafe and the script chose the library.
        match unsafe { libloading::Library::new(&candidate) } {
            Ok(lib) => return Ok((candidate, lib)),
            Err(e) => tried.push(format!("'{}' ({})", candidate, e)),
        }
    }
    Err(format!(
        "cannot load '{}': tried {}",
        name,
        tried.join("; ")
    ))
}

/// What `name` is tried as, in order, without duplicates.
pub fn candidates(name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    // A path names one file: nothing else to try.
    if name.contains('/') || name.contains('\\') {
        return out;
    }
    let stem = stem(name);
    let mut push = |c: String| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    if cfg!(windows) {
        push(format!("{}.dll", stem));
        push(format!("lib{}.dll", stem));
    } else if cfg!(target_vendor = "apple") {
        push(format!("lib{}.dylib", stem));
    } else {
        push(format!("lib{}.so", stem));
    }
    for v in versioned(&stem, &search_dirs()) {
        push(v);
    }
    out
}

/// `z` from `z`, `libz`, `libz.so`, `libz.dylib` or `z.dll`.
fn stem(name: &str) -> String {
    let mut s = name;
    for ext in [".so", ".dylib", ".dll"] {
        s = s.strip_suffix(ext).unwrap_or(s);
    }
    s.strip_prefix("lib").unwrap_or(s).to_string()
}

/// Versioned file names of `lib<stem>` in `dirs`, best first: the shortest (the soname,
/// `libz.so.1`, rather than `libz.so.1.2.13`), then the highest version.
fn versioned(stem: &str, dirs: &[PathBuf]) -> Vec<String> {
    let (prefix, suffix) = if cfg!(target_vendor = "apple") {
        (format!("lib{}.", stem), ".dylib")
    } else {
        (format!("lib{}.so.", stem), "")
    };
    let mut found: Vec<String> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = file.strip_prefix(&prefix) else {
                continue;
            };
            let Some(version) = rest.strip_suffix(suffix) else {
                continue;
            };
            let numeric = !version.is_empty()
                && version
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if numeric && !found.contains(&file) {
                found.push(file);
            }
        }
    }
    let key = |f: &String| -> (usize, Vec<std::cmp::Reverse<u64>>) {
        let v: Vec<std::cmp::Reverse<u64>> = f
            .split('.')
            .filter_map(|p| p.parse::<u64>().ok())
            .map(std::cmp::Reverse)
            .collect();
        (f.len(), v)
    };
    found.sort_by_key(key);
    found
}

/// The directories the dynamic loader searches: `LD_LIBRARY_PATH` / `DYLD_LIBRARY_PATH`,
/// those listed in `/etc/ld.so.conf` (and its includes), and the standard ones.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let var = if cfg!(target_vendor = "apple") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    };
    if let Some(p) = std::env::var_os(var) {
        dirs.extend(std::env::split_paths(&p));
    }
    if cfg!(target_vendor = "apple") {
        for d in ["/usr/local/lib", "/opt/homebrew/lib", "/usr/lib"] {
            dirs.push(d.into());
        }
    } else if cfg!(unix) {
        read_ld_conf(Path::new("/etc/ld.so.conf"), &mut dirs, 0);
        let arch = std::env::consts::ARCH;
        for d in [
            format!("/lib/{}-linux-gnu", arch),
            format!("/usr/lib/{}-linux-gnu", arch),
            "/lib64".into(),
            "/usr/lib64".into(),
            "/lib".into(),
            "/usr/lib".into(),
            "/usr/local/lib".into(),
        ] {
            dirs.push(d.into());
        }
    }
    dirs
}

/// Directories from an `ld.so.conf`-style file, following `include` lines with a `*`
/// glob in the file-name part.
fn read_ld_conf(path: &Path, dirs: &mut Vec<PathBuf>, depth: u32) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include").map(str::trim) {
            if depth > 4 {
                continue;
            }
            let pat = Path::new(pattern);
            let (Some(dir), Some(glob)) = (pat.parent(), pat.file_name()) else {
                continue;
            };
            let glob = glob.to_string_lossy();
            let (pre, post) = glob.split_once('*').unwrap_or((&glob, ""));
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .map(|f| f.to_string_lossy())
                        .is_some_and(|f| f.starts_with(pre) && f.ends_with(post))
                })
                .collect();
            files.sort();
            for f in files {
                read_ld_conf(&f, dirs, depth + 1);
            }
        } else if line.starts_with('/') {
            dirs.push(line.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        for n in ["z", "libz", "libz.so", "libz.dylib", "z.dll"] {
            assert_eq!(stem(n), "z", "{}", n);
        }
    }

    #[test]
    fn versioned_names_sorted_soname_first() {
        let dir = std::env::temp_dir().join(format!("lune-ffi-search-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in [
            "libdemo.so.1.2.13",
            "libdemo.so.1",
            "libdemo.so.2",
            "libdemo.so",
            "libdemo.so.x",
            "libdemox.so.1",
            "libdemo.so.1.2.13.dylib",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let found = versioned("demo", std::slice::from_ref(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        if cfg!(target_vendor = "apple") {
            return;
        }
        assert_eq!(
            found,
            ["libdemo.so.2", "libdemo.so.1", "libdemo.so.1.2.13"],
            "sonames first, highest version first"
        );
    }

    #[test]
    fn a_path_is_tried_alone() {
        assert_eq!(candidates("/x/libz.so"), ["/x/libz.so"]);
    }
}
