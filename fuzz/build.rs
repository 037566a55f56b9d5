//! Copies, at every build, the few items the fuzz targets need that the library keeps private
//! to a module, so that `src/fuzzing.rs` cannot forward to them:
//!
//! - `src/child/logger.rs`: `LINE_MAX`, `struct Lines` and `impl Lines` (the module `logger`
//!   is private to `child`);
//! - `src/control.rs`: `fn has_words`, `fn parse_lock_id` and `fn number` (private functions).
//!
//! The text is taken from the sources as they are now (top-level items, which rustfmt ends
//! with a `}` alone on a line), so the targets fuzz the real code, not a copy that could
//! drift. A missing item fails the build: rename it here too, or, better, make it
//! `pub(crate)` and give it a wrapper in `src/fuzzing.rs`.

use std::path::Path;
use std::{env, fs};

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    println!("cargo::rerun-if-changed=build.rs");

    let logger = src.join("child/logger.rs");
    extract(
        &logger,
        &["const LINE_MAX:", "struct Lines ", "impl Lines "],
        &out.join("logger_lines.rs"),
    );
    let control = src.join("control.rs");
    extract(
        &control,
        &["fn has_words(", "fn parse_lock_id(", "fn number("],
        &out.join("control_words.rs"),
    );
}

/// Writes to `to` the top-level items of `from` that start with one of `starts` (after any
/// visibility), made `pub`.
fn extract(from: &Path, starts: &[&str], to: &Path) {
    println!("cargo::rerun-if-changed={}", from.display());
    let text = fs::read_to_string(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    let lines: Vec<&str> = text.lines().collect();
    let mut result = format!("// Extracted from {} by fuzz/build.rs.\n", from.display());
    for start in starts {
        let found = lines.iter().position(|l| {
            let l = strip_visibility(l);
            l.starts_with(start)
        });
        let Some(first) = found else {
            panic!(
                "{}: no top-level item starting with `{start}` (see fuzz/build.rs)",
                from.display()
            );
        };
        let item = if lines[first].trim_end().ends_with(';') {
            &lines[first..=first]
        } else {
            let end = lines[first..]
                .iter()
                .position(|l| *l == "}")
                .unwrap_or_else(|| panic!("{}: `{start}` has no end", from.display()));
            &lines[first..=first + end]
        };
        let head = strip_visibility(item[0]);
        let public = if head.starts_with("impl ") {
            ""
        } else {
            "pub "
        };
        result.push_str(&format!("{public}{head}\n"));
        for l in &item[1..] {
            // Methods become `pub` too, so that the targets (another crate) can call them.
            let indent = l.len() - l.trim_start().len();
            let body = l.trim_start();
            if indent == 4 && body != strip_visibility(body) {
                result.push_str(&format!("    pub {}\n", strip_visibility(body)));
            } else {
                result.push_str(&format!("{l}\n"));
            }
        }
    }
    fs::write(to, result).unwrap();
}

/// `l` without a leading `pub`, `pub(crate)` or `pub(super)`.
fn strip_visibility(l: &str) -> &str {
    for v in ["pub(crate) ", "pub(super) ", "pub "] {
        if let Some(rest) = l.strip_prefix(v) {
            return rest;
        }
    }
    l
}
