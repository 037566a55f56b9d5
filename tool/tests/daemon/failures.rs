//! A start that fails: the right status and one line naming the step, no process and no pid
//! file left, a log file the start created removed and an existing one kept.

use std::fs;
use std::os::unix::process::CommandExt;

use crate::common::*;
use crate::{ensure, ensure_eq};

pub fn fail_missing_chdir() -> TestResult {
    let dir = TempDir::new("chdir");
    let pid_file = dir.path("d.pid");
    let new_log = dir.path("new.log");
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-o")
            .arg(&new_log)
            .args(["-c", "/nonexistent/dir", "sleep", "30"]),
        1,
        "rawdaemon: chdir /nonexistent/dir: No such file or directory",
        Some(&pid_file),
    )?;
    ensure!(
        !new_log.exists(),
        "a log file the failed start created is left"
    );
    Ok(())
}

pub fn fail_log_is_a_directory() -> TestResult {
    let dir = TempDir::new("logdir");
    let pid_file = dir.path("d.pid");
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-e")
            .arg(&dir.0)
            .args(["sleep", "30"]),
        1,
        &format!("rawdaemon: open stderr {}: Is a directory", dir.0.display()),
        Some(&pid_file),
    )
}

/// As an unprivileged user (uid/gid 65534), a root-owned 0600 log file cannot be opened.
pub fn fail_log_unwritable_for_user() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("logperm");
    let log = dir.path("root-only.log");
    fs::write(&log, "").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&dir.0, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&log, fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    let mut cmd = tool();
    cmd.arg("-p")
        .arg(&pid_file)
        .arg("-o")
        .arg(&log)
        .args(["sleep", "30"]);
    cmd.uid(65534).gid(65534);
    expect_failure(
        &mut cmd,
        1,
        &format!(
            "rawdaemon: open stdout {}: Permission denied",
            log.display()
        ),
        Some(&pid_file),
    )
}

pub fn fail_missing_program() -> TestResult {
    let dir = TempDir::new("noprog");
    let pid_file = dir.path("d.pid");
    // A PATH of its own: a directory of the caller's PATH that this user may not search
    // (root's ~/.cargo/bin for another user) makes the search fail with EACCES, 126.
    expect_failure(
        tool()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .arg("-p")
            .arg(&pid_file)
            .arg("no-such-program-here"),
        127,
        "rawdaemon: exec no-such-program-here: No such file or directory",
        Some(&pid_file),
    )?;
    expect_failure(
        tool().arg(""),
        127,
        "rawdaemon: exec : No such file or directory",
        None,
    )?;
    expect_failure(
        tool().arg("-p").arg(&pid_file).arg("/no/such/program"),
        127,
        "rawdaemon: exec /no/such/program: No such file or directory",
        Some(&pid_file),
    )
}

/// Found but not executable: the exec in the daemon fails and travels back.
pub fn fail_exec_not_executable() -> TestResult {
    let dir = TempDir::new("noexec");
    let pid_file = dir.path("d.pid");
    let script = dir.path("script");
    fs::write(&script, "#!/bin/sh\nsleep 30\n").map_err(|e| e.to_string())?;
    let old_log = dir.path("old.log");
    fs::write(&old_log, "kept\n").map_err(|e| e.to_string())?;
    expect_failure(
        tool()
            .arg("-p")
            .arg(&pid_file)
            .arg("-e")
            .arg(&old_log)
            .arg(&script),
        126,
        &format!("rawdaemon: exec {}: Permission denied", script.display()),
        Some(&pid_file),
    )?;
    ensure_eq!(
        read_text(&old_log)?,
        "kept\n",
        "an existing log file is kept"
    );
    Ok(())
}

/// Foreground failures after chdir, with a pid file path relative to the launch directory:
/// the file this start created is removed from the right directory.
pub fn fail_foreground_leaves_no_pid_file() -> TestResult {
    let dir = TempDir::new("fgfail");
    let pid_file = dir.path("rel.pid");
    let mut cmd = tool();
    cmd.current_dir(&dir.0).args([
        "-f",
        "-p",
        "rel.pid",
        "-o",
        "rel.log",
        "-c",
        "/nonexistent",
        "sleep",
        "30",
    ]);
    expect_failure(
        &mut cmd,
        1,
        "rawdaemon: chdir /nonexistent: No such file or directory",
        Some(&pid_file),
    )?;
    ensure!(
        !dir.path("rel.log").exists(),
        "foreground left its new log file"
    );
    let script = dir.path("script");
    fs::write(&script, "#!/bin/sh\n").map_err(|e| e.to_string())?;
    let mut cmd = tool();
    cmd.current_dir(&dir.0)
        .args(["-f", "-p", "rel.pid", "-c", "/tmp"])
        .arg(&script);
    expect_failure(
        &mut cmd,
        126,
        &format!("rawdaemon: exec {}: Permission denied", script.display()),
        Some(&pid_file),
    )
}
