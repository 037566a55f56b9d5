//! The programs under test: the `rawdaemon` tool (and which `tool-*` parts it was built with),
//! the commands most tests give it, and this binary re-executed as a library program.

use std::path::Path;
use std::process::{Command, Output};

use super::{SKIP, TestResult, run};

/// The tool under test: `RAWDAEMON_BIN` if set (a release build, another CPU's), else cargo's build.
pub fn tool() -> Command {
    Command::new(
        std::env::var_os("RAWDAEMON_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_rawdaemon").into()),
    )
}

/// The tool's optional parts, the `tool-*` cargo features, in the order `--version` names
/// those a build lacks.
pub const TOOL_FEATURES: [&str; 8] = [
    "tool-control",
    "tool-notify",
    "tool-privileges",
    "tool-ready",
    "tool-respawn",
    "tool-syslog",
    "tool-limits",
    "tool-rotate",
];

/// The `tool-*` features the tool under test was built without, from its `--version`
/// (`rawdaemon 0.1.0 (without tool-control, tool-syslog)`; nothing after the version when it
/// has them all). Asked once.
pub fn tool_lacks() -> &'static [String] {
    static LACKS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    LACKS.get_or_init(|| {
        let out = tool()
            .arg("--version")
            .output()
            .expect("rawdaemon --version");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lacks: Vec<String> = text
            .trim_end()
            .split_once(" (without ")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .map(|list| list.split(", ").map(str::to_string).collect())
            .unwrap_or_default();
        for f in &lacks {
            assert!(TOOL_FEATURES.contains(&f.as_str()), "--version: {text:?}");
        }
        lacks
    })
}

/// Skips the calling test unless the tool under test was built with every one of these
/// `tool-*` features (`cargo build --no-default-features --features libc` leaves them all
/// out, for the smallest tool).
pub fn needs_tool(features: &[&str]) -> TestResult {
    let lacks: Vec<&str> = features
        .iter()
        .copied()
        .filter(|f| tool_lacks().iter().any(|l| l == f))
        .collect();
    if lacks.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{SKIP}the tool was built without {}",
            lacks.join(", ")
        ))
    }
}

/// `rawdaemon -p PID_FILE sleep 30`, the start most tests make.
pub fn sleeper(pid_file: &Path) -> Command {
    let mut cmd = tool();
    cmd.arg("-p").arg(pid_file).args(["sleep", "30"]);
    cmd
}

/// `rawdaemon --status -p PID_FILE`.
pub fn status(pid_file: &Path) -> Output {
    run(tool().arg("--status").arg("-p").arg(pid_file))
}

/// `rawdaemon --stop -p PID_FILE EXTRA...`.
pub fn stop(pid_file: &Path, extra: &[&str]) -> Output {
    run(tool().arg("--stop").arg("-p").arg(pid_file).args(extra))
}

pub fn lib(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("own path"));
    cmd.arg("--role").args(args);
    cmd
}
