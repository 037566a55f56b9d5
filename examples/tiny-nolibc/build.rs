//! Link this package's bin as a static executable with no C library and no start files: the
//! program brings its own `_start` and the few memory functions `core` calls.
//!
//! The same link in two spellings: for the usual C compiler driver (`cc`, the native build),
//! and for a bare linker such as `rust-lld`, which cross-links the other CPUs' builds (see
//! `.ci/cross`) and adds no start files or libraries of its own.

include!("link/linker.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=link/linker.rs");
    println!("cargo::rerun-if-changed=link/image.ld");
    // A static executable with no C library, no start files and no interpreter, laid out by
    // the linker script (the same link as the rawdaemon tool's).
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/link/image.ld");
    for arg in link_args() {
        println!("cargo::rustc-link-arg-bins={arg}");
    }
    println!(
        "cargo::rustc-link-arg-bins={}",
        linker_arg(&format!("-T{script}"))
    );
}
