//! Hostile pid files in a directory others can write: planted hard links and other users'
//! files are not reused, and garbage never makes `--status` or `--stop` signal anything.

use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::common::*;
use crate::{ensure, ensure_eq, expect_failure, run, sleeper, stderr_of};

/// A pid file that is a hard link to a file of root's elsewhere (planted in /tmp): writing
/// the pid would clobber that file. Refused; the file and the link stay as they were.
pub fn fail_pid_file_hard_link() -> TestResult {
    let dir = TempDir::new("hardlink");
    let precious = dir.path("precious");
    fs::write(&precious, "precious data\n").map_err(|e| e.to_string())?;
    let pid_file = dir.path("d.pid");
    fs::hard_link(&precious, &pid_file).map_err(|e| e.to_string())?;
    expect_failure(
        &mut sleeper(&pid_file),
        1,
        &format!(
            "rawdaemon: pid file {}: another user's file, or one with other hard links: not reused",
            pid_file.display()
        ),
        None,
    )?;
    ensure_eq!(read_text(&precious)?, "precious data\n");
    ensure!(
        pid_file.exists(),
        "the planted link was removed: not ours to remove"
    );
    Ok(())
}

/// A pid file owned by another user (who could rewrite it under the daemon): refused, left
/// as it was.
pub fn fail_pid_file_of_another_user() -> TestResult {
    needs_root()?;
    let dir = TempDir::new("foreign");
    let pid_file = dir.path("d.pid");
    fs::write(&pid_file, "123\n").map_err(|e| e.to_string())?;
    std::os::unix::fs::chown(&pid_file, Some(65534), Some(65534)).map_err(|e| e.to_string())?;
    expect_failure(
        &mut sleeper(&pid_file),
        1,
        &format!(
            "rawdaemon: pid file {}: another user's file, or one with other hard links: not reused",
            pid_file.display()
        ),
        None,
    )?;
    ensure_eq!(read_text(&pid_file)?, "123\n");
    ensure_eq!(
        fs::metadata(&pid_file).map_err(|e| e.to_string())?.uid(),
        65534
    );
    Ok(())
}

/// Garbage in a pid file nobody holds: `--status` says dead (1), `--stop` refuses (1), and a
/// live process whose pid is a prefix of the garbage is never signalled.
pub fn garbage_pid_files_never_signal() -> TestResult {
    let dir = TempDir::new("garbage-stop");
    let pid_file = dir.path("d.pid");
    let child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .map_err(|e| e.to_string())?;
    let stranger = Guard(child.id() as i32);
    let digits = "9".repeat(64 * 1024);
    let prefixed = format!("{}{}", stranger.0, "0".repeat(64 * 1024));
    let signed = format!("-{}\n", stranger.0);
    let spaced = format!(" {} \n", stranger.0);
    for garbage in [
        "",
        "\n",
        "abc\n",
        "0\n",
        "4294967296\n",
        &digits,
        &prefixed,
        &signed,
        &spaced,
    ] {
        fs::write(&pid_file, garbage).map_err(|e| e.to_string())?;
        let status = run(tool().arg("--status").arg("-p").arg(&pid_file));
        ensure!(
            status.status.code() == Some(1),
            "{garbage:.20?}: status {}",
            stderr_of(&status)
        );
        let stop = run(tool()
            .arg("--stop")
            .arg("-t")
            .arg("0")
            .arg("-p")
            .arg(&pid_file));
        ensure!(
            stop.status.code() == Some(1),
            "{garbage:.20?}: stop {}",
            stderr_of(&stop)
        );
        ensure!(
            stat(stranger.0).is_ok_and(|s| s.state != 'Z'),
            "{garbage:.20?}: the stranger was signalled"
        );
        ensure_eq!(read_text(&pid_file)?, garbage.to_string(), "file untouched");
    }
    Ok(())
}
