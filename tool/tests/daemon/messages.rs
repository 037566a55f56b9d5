//! Every failure message reaches the user whole: the cause is never cut, and never written
//! only into a file the failure removes.

use std::process::Stdio;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// `-f -e NEWLOG` with a PROGRAM that cannot be executed: the message reaches the launcher's
/// stderr (not the log file, which the failed start removes), and the status is 127.
pub fn fail_foreground_with_log_reports_on_stderr() -> TestResult {
    let dir = TempDir::new("fg-log-msg");
    let new_log = dir.path("new.log");
    expect_failure(
        tool()
            .arg("-f")
            .arg("-e")
            .arg(&new_log)
            .arg("/nonexistent/prog"),
        127,
        "rawdaemon: exec /nonexistent/prog: No such file or directory",
        None,
    )?;
    ensure!(!new_log.exists(), "the failed start left its new log");
    // An existing log keeps what it had; the message still goes to the launcher.
    let old_log = dir.path("old.log");
    std::fs::write(&old_log, "before\n").map_err(|e| e.to_string())?;
    expect_failure(
        tool()
            .arg("-f")
            .arg("-o")
            .arg(&old_log)
            .arg("-e")
            .arg(&old_log)
            .args(["-c", "/nonexistent", "sleep", "1"]),
        1,
        "rawdaemon: chdir /nonexistent: No such file or directory",
        None,
    )?;
    ensure_eq!(read_text(&old_log)?, "before\n");
    Ok(())
}

/// A path of 2,400 bytes: the message shortens the path, never the cause.
pub fn fail_long_path_keeps_the_cause() -> TestResult {
    let long: String = (0..12).map(|i| format!("/{i:0>199}")).collect();
    let dir = format!("/nonexistent{long}");
    ensure!(dir.len() > 2400, "{}", dir.len());
    let out = try_run(tool().args(["-c", &dir, "sleep", "1"]).stdin(Stdio::null()))?;
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stderr_of(&out);
    ensure!(
        text.starts_with("rawdaemon: chdir /nonexistent/000"),
        "{text:?}"
    );
    ensure!(
        text.ends_with("00011: No such file or directory\n"),
        "the cause is cut: {text:?}"
    );
    ensure!(text.len() < 1024, "{} bytes", text.len());
    no_process_left()?;
    let pid_file = format!("/nonexistent{long}.pid");
    let out = try_run(
        tool()
            .args(["-p", &pid_file, "sleep", "1"])
            .stdin(Stdio::null()),
    )?;
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stderr_of(&out);
    ensure!(
        text.ends_with(".pid: No such file or directory\n"),
        "the cause is cut: {text:?}"
    );
    no_process_left()
}
