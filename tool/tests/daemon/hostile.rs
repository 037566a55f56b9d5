//! Hostile pid files in a directory others can write: planted hard links and other users'
//! files are not reused, and garbage never makes `--status` or `--stop` signal anything.

use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::common::*;
use crate::{ensure, ensure_eq};

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

/// Garbage in a pid file: with nobody holding it, `--status` says dead (1) and `--stop`
/// refuses (1); with a process holding its lock whose pid is written there in a garbled form
/// (a prefix of more digits, a sign, 64 KiB of digits), only the strict reading stands
/// between that process and a signal: status says unknown (4), and nothing is signalled.
pub fn garbage_pid_files_never_signal() -> TestResult {
    needs_tool(&["tool-control"])?;
    let dir = TempDir::new("garbage-stop");
    let pid_file = dir.path("d.pid");
    let digits = "9".repeat(64 * 1024);
    for garbage in ["", "\n", "abc\n", "0\n", "4294967296\n", &digits] {
        fs::write(&pid_file, garbage).map_err(|e| e.to_string())?;
        let status = status(&pid_file);
        ensure!(
            status.status.code() == Some(1),
            "{garbage:.20?}: {}",
            stderr_of(&status)
        );
        let stop = stop(&pid_file, &["-t", "0"]);
        ensure!(
            stop.status.code() == Some(1),
            "{garbage:.20?}: {}",
            stderr_of(&stop)
        );
        ensure_eq!(read_text(&pid_file)?, garbage.to_string(), "file untouched");
    }
    // flock(1) holds the lock (and so does its child, the sleep): their pids, garbled.
    fs::write(&pid_file, "").map_err(|e| e.to_string())?;
    let holder = lock_holder(&pid_file)?;
    // flock(1)'s child, found in /proc.
    let child_of = |parent: i32| {
        fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
            .find(|&p| stat(p).is_ok_and(|s| s.ppid == parent))
    };
    let mut sleeper = None;
    wait_until(|| {
        sleeper = child_of(holder.0);
        sleeper.is_some()
    });
    for pid in [Some(holder.0), sleeper].into_iter().flatten() {
        for garbage in [
            format!("{pid}{}", "0".repeat(64 * 1024)),
            format!("-{pid}\n"),
            format!("{pid}0\n"),
            format!("0x{pid}\n"),
        ] {
            fs::write(&pid_file, &garbage).map_err(|e| e.to_string())?;
            let status = status(&pid_file);
            ensure!(
                status.status.code() == Some(4),
                "{garbage:.20?}: {}",
                stderr_of(&status)
            );
            let stop = stop(&pid_file, &["-t", "0"]);
            ensure!(
                stop.status.code() == Some(1),
                "{garbage:.20?}: {}",
                stderr_of(&stop)
            );
            ensure!(alive(pid), "{garbage:.20?}: {pid} was signalled");
        }
    }
    // The same pid written plainly: now it is the holder, as a control that the garbled
    // forms were refused for their form alone.
    fs::write(&pid_file, format!("{}\n", holder.0)).map_err(|e| e.to_string())?;
    let status = status(&pid_file);
    ensure_eq!(status.status.code(), Some(0), "{}", stderr_of(&status));
    drop(holder);
    reap_zombies();
    for pid in children() {
        kill_and_reap(pid);
    }
    Ok(())
}
