//! Link arguments for this package's own `rawdaemon` tool; nothing here reaches dependents.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=link/no-eh-frame.ld");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    // The tool is `#![no_std]` + `#![no_main]` and links the C library for `fork`, `_exit` and
    // `sigaction` (and its `_start`, which calls our `main`). Rust only links libc for std
    // programs, and the libc crate asks for it on glibc but not on musl: ask here, for bins only.
    println!("cargo::rustc-link-arg-bins=-lc");
    // The static musl build: no unwind tables (about 6 KB of the tool); see the script.
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/link/no-eh-frame.ld");
        // The spelling for the C compiler driver, or for a bare linker (`.ci/cross` links
        // the aarch64 tool with rust-lld).
        let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
        let bare = matches!(
            linker.rsplit('/').next(),
            Some("rust-lld" | "ld.lld" | "lld" | "ld")
        );
        let arg = if bare { "" } else { "-Wl," };
        println!("cargo::rustc-link-arg-bins={arg}-T{script}");
    }
}
