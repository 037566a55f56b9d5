//! Link this package's bin as a static executable with no C library and no start files: the
//! program brings its own `_start` and the few memory functions `core` calls.
//!
//! The same link in two spellings: for the usual C compiler driver (`cc`, the native build),
//! and for a bare linker such as `rust-lld`, which cross-links the other CPUs' builds (see
//! `.ci/cross`) and adds no start files or libraries of its own.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    // The linker cargo resolved for the target, if one is configured (CARGO_TARGET_<T>_LINKER).
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = linker.rsplit('/').next().unwrap_or("");
    let bare = matches!(name, "rust-lld" | "ld.lld" | "lld" | "ld");
    let args: &[&str] = if bare {
        &[
            "-static",
            "--no-pie",
            "--no-eh-frame-hdr",
            "-z",
            "norelro",
            "-z",
            "noseparate-code",
            "-z",
            "nognustack",
            "--build-id=none",
        ]
    } else {
        &[
            "-nostartfiles",          // our own _start
            "-nostdlib",              // no libc, no libgcc
            "-static",                // no interpreter
            "-no-pie",                // a plain executable at a fixed address
            "-Wl,--no-eh-frame-hdr",  // nothing unwinds
            "-Wl,-z,norelro",         // nothing to protect: no dynamic relocations
            "-Wl,-z,noseparate-code", // no page padding between segments
            "-Wl,-z,nognustack",      // no PT_GNU_STACK header
            "-Wl,--build-id=none",
        ]
    };
    for arg in args {
        println!("cargo::rustc-link-arg-bins={arg}");
    }
}
