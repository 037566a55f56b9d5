//! Link this package's bin as a static executable with no C library and no start files: the
//! program brings its own `_start` and the few memory functions `core` calls.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for arg in [
        "-nostartfiles",          // our own _start
        "-nostdlib",              // no libc, no libgcc
        "-static",                // no interpreter
        "-no-pie",                // a plain executable at a fixed address
        "-Wl,--no-eh-frame-hdr",  // nothing unwinds
        "-Wl,-z,norelro",         // nothing to protect: no dynamic relocations
        "-Wl,-z,noseparate-code", // no page padding between segments
        "-Wl,-z,nognustack",      // no PT_GNU_STACK header
        "-Wl,--build-id=none",
    ] {
        println!("cargo::rustc-link-arg-bins={arg}");
    }
}
