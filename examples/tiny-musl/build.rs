//! A no_std, no_main binary must ask for the C library itself: the libc crate links musl's
//! only for std programs. `-lc` goes to this package's bins only.
//!
//! The static musl build also drops the unwind tables (`.eh_frame`): with `panic = "abort"`
//! nothing unwinds and nothing reads them, but the precompiled `core` and the C library bring
//! theirs. The C runtime's own start and end markers stay: its start-up code refers to them.
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-link-arg-bins=-lc");
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        let script = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("no-eh-frame.ld");
        std::fs::write(
            &script,
            "SECTIONS { /DISCARD/ : { *(EXCLUDE_FILE(*crtbegin*.o *crtend*.o) .eh_frame) } }\n\
             INSERT AFTER .text;\n",
        )
        .unwrap();
        println!("cargo::rustc-link-arg-bins=-Wl,-T{}", script.display());
    }
}
