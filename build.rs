//! Link arguments for this package's own `rawdaemon` tool; nothing here reaches dependents.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // The tool is `#![no_std]` + `#![no_main]` and links the C library for `fork`, `_exit` and
    // `sigaction` (and its `_start`, which calls our `main`). Rust only links libc for std
    // programs, and the libc crate asks for it on glibc but not on musl: ask here, for bins only.
    println!("cargo::rustc-link-arg-bins=-lc");
}
