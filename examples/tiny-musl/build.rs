//! A no_std, no_main binary must ask for the C library itself: the libc crate links musl's
//! only for std programs. `-lc` goes to this package's bins only.
//!
//! The static musl build also drops the unwind tables, with this package's
//! `no-eh-frame.ld` (which says why).

include!("../../tool/link/linker.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../../tool/link/linker.rs");
    println!("cargo::rerun-if-changed=no-eh-frame.ld");
    println!("cargo::rustc-link-arg-bins=-lc");
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/no-eh-frame.ld");
        let arg = linker_arg(&format!("-T{script}"));
        println!("cargo::rustc-link-arg-bins={arg}");
    }
}
