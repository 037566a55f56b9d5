// Included (`include!`) by a build script: the tool's and the musl example's (this file), the
// no-libc example's (a copy, which CI checks is the same). Not a module of the crate.

/// Whether the linker cargo resolved for the target is a bare linker rather than a C compiler
/// driver, so that link arguments go without `-Wl,`: `rust-lld`, `lld`, `ld`, `ld.bfd`,
/// `ld.lld`, with or without a target prefix (`aarch64-linux-gnu-ld`) or a version suffix
/// (`ld.lld-18`), as rustc itself tells them apart. Cargo tells build scripts the linker of
/// `target.<triple>.linker` (or `CARGO_TARGET_<TRIPLE>_LINKER`) in `RUSTC_LINKER`; without one
/// (the default `cc`) it is a driver. A linker given through `RUSTFLAGS=-C linker=…` is not
/// visible here: configure it through cargo instead. Cargo reruns the build script when the
/// environment variable changes, not when a configuration file does: after changing the
/// linker there, `cargo clean -p` the package.
#[allow(dead_code)] // not every build script links with no C library
fn bare_linker() -> bool {
    if let Ok(target) = std::env::var("TARGET") {
        let var = format!(
            "CARGO_TARGET_{}_LINKER",
            target.to_uppercase().replace('-', "_")
        );
        println!("cargo::rerun-if-env-changed={var}");
    }
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = linker.rsplit('/').next().unwrap_or("");
    let mut parts = name.rsplit('-');
    let mut tool = parts.next().unwrap_or("");
    if !tool.is_empty() && tool.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        tool = parts.next().unwrap_or("");
    }
    matches!(tool, "ld" | "lld") || tool.starts_with("ld.")
}

/// `arg` for the linker itself, spelled for the linker cargo resolved (see [`bare_linker`]).
fn linker_arg(arg: &str) -> String {
    if bare_linker() {
        arg.to_string()
    } else {
        format!("-Wl,{arg}")
    }
}

/// The arguments of a static link with no C library, no start files and no interpreter (a
/// plain executable at a fixed address, with no dynamic section), spelled for the linker
/// cargo resolved; the linker script goes after them.
#[allow(dead_code)]
fn link_args() -> Vec<String> {
    let linker = [
        "-static",
        "--no-pie",
        "--no-eh-frame-hdr", // nothing unwinds
        "-z",
        "norelro", // nothing to protect: no dynamic relocations
        "-z",
        "noseparate-code", // no page padding between segments
        "-z",
        "noexecstack", // a stack that is not executable (see image.ld's PT_GNU_STACK)
        "--build-id=none",
    ];
    if bare_linker() {
        return linker.iter().map(|a| a.to_string()).collect();
    }
    // Through the C compiler driver: no start files, no libc or libgcc, and each linker
    // argument after -Wl, (`-z X` as one `-Wl,-z,X`).
    let mut args = vec![
        "-nostartfiles".to_string(),
        "-nostdlib".to_string(),
        "-static".to_string(),
        "-no-pie".to_string(),
    ];
    let mut rest = linker.iter().skip(2);
    while let Some(arg) = rest.next() {
        if *arg == "-z" {
            args.push(format!("-Wl,-z,{}", rest.next().unwrap_or(&"")));
        } else {
            args.push(format!("-Wl,{arg}"));
        }
    }
    args
}
