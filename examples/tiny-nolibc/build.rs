//! Link this package's bin as a static executable with no C library and no start files: the
//! program brings its own `_start` and the few memory functions `core` calls.
//!
//! The same link in two spellings: for the usual C compiler driver (`cc`, the native build),
//! and for a bare linker such as `rust-lld`, which cross-links the other CPUs' builds (see
//! `.ci/cross`) and adds no start files or libraries of its own.

/// The code, constants and the GOT (filled in by the linker: a static executable has no
/// run-time relocations) in one read-only, executable segment behind the ELF header; writable
/// data, if any (32-bit arm has one byte of rustix's), on a page of its own at the next file
/// offset. Unwind tables go: with `panic = "abort"` nothing unwinds and nothing reads them.
const SCRIPT: &str = "\
ENTRY(_start)
PHDRS { image PT_LOAD FILEHDR PHDRS FLAGS(5); data PT_LOAD FLAGS(6); }
SECTIONS {
  . = 0x400000 + SIZEOF_HEADERS;
  .text : { *(.text .text.*) *(.rodata .rodata.* .srodata .srodata.* .data.rel.ro .data.rel.ro.*) *(.got .got.*) } :image
  . = ALIGN(0x10000) + (. & 0xffff);
  .data : { *(.data .data.* .sdata .sdata.* .bss .bss.* .sbss .sbss.* COMMON) } :data
  /DISCARD/ : { *(.eh_frame .eh_frame_hdr .ARM.exidx* .ARM.extab* .comment .note*) }
}
";

include!("../../link/linker.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../../link/linker.rs");
    let script = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("image.ld");
    std::fs::write(&script, SCRIPT).unwrap();
    let args: &[&str] = if bare_linker() {
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
            "-T",
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
            "-Wl,-T",
        ]
    };
    for arg in args {
        println!("cargo::rustc-link-arg-bins={arg}");
    }
    // The script's path, after `-T`.
    let arg = linker_arg(&script.display().to_string());
    println!("cargo::rustc-link-arg-bins={arg}");
}
