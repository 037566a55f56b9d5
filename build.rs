//! Link arguments for this package's own `rawdaemon` tool; nothing here reaches dependents.

include!("link/linker.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=link/linker.rs");
    println!("cargo::rerun-if-changed=link/no-eh-frame.ld");
    // The tool is `#![no_std]` + `#![no_main]` and links the C library for `fork`, `_exit` and
    // `sigaction` (and its `_start`, which calls our `main`). Rust only links libc for std
    // programs, and the libc crate asks for it on glibc but not on musl: ask here, for bins only.
    println!("cargo::rustc-link-arg-bins=-lc");
    // The static musl build: no unwind tables (about 6 KB of the tool); see the script.
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/link/no-eh-frame.ld");
        let arg = linker_arg(&format!("-T{script}"));
        println!("cargo::rustc-link-arg-bins={arg}");
    }
}
