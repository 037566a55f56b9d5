// Included (`include!`) by the build scripts of this repository's binaries: the root package's
// and the examples'. Not a module of the crate.

/// Whether the linker cargo resolved for the target is a bare linker rather than a C compiler
/// driver, so that link arguments go without `-Wl,`: `rust-lld`, `ld`, `ld.bfd`, `ld.lld`,
/// `mold`, with or without a target prefix (`aarch64-linux-gnu-ld`). Cargo tells build scripts
/// the linker of `target.<triple>.linker` (or `CARGO_TARGET_<TRIPLE>_LINKER`) in
/// `RUSTC_LINKER`; without one (the default `cc`) it is a driver. A linker given through
/// `RUSTFLAGS=-C linker=…` is not visible here: configure it through cargo instead.
fn bare_linker() -> bool {
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_default();
    let name = linker.rsplit('/').next().unwrap_or("");
    let tool = name.rsplit('-').next().unwrap_or("");
    matches!(tool, "ld" | "lld" | "mold") || tool.starts_with("ld.")
}

/// `arg` for the linker itself, spelled for the linker cargo resolved (see [`bare_linker`]).
fn linker_arg(arg: &str) -> String {
    if bare_linker() {
        arg.to_string()
    } else {
        format!("-Wl,{arg}")
    }
}
