//! A no_std, no_main binary must ask for the C library itself: the libc crate links musl's
//! only for std programs. `-lc` goes to this package's bins only.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-link-arg-bins=-lc");
}
