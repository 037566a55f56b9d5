//! The pid file: one daemon per file (a second start, 64 at once), a stale or garbage file
//! reused, a restart after the daemon was killed, and a symbolic link, FIFO or directory in its
//! place refused.

use std::fs;
use std::process::Stdio;

use crate::common::*;
use crate::{ensure, ensure_eq};

pub fn tool_second_instance_is_refused() -> TestResult {
    let dir = TempDir::new("second");
    let pid_file = dir.path("d.pid");
    let first = run(&mut sleeper(&pid_file));
    ensure!(first.status.success(), "{}", describe(&first));
    let daemon = the_daemon()?;
    let before = fs::read(&pid_file).map_err(|e| e.to_string())?;
    let second = run(&mut sleeper(&pid_file));
    ensure_eq!(second.status.code(), Some(1), "{}", describe(&second));
    // The pid is named once /proc shows it holding the lock; the smallest build, without
    // that scan, names none rather than one it cannot prove.
    let holder = if tool_lacks().iter().any(|f| f == "tool-control") {
        "another process".to_string()
    } else {
        format!("running pid {}", daemon.0)
    };
    ensure_eq!(
        stderr_of(&second),
        format!(
            "rawdaemon: pid file {}: locked by {holder}\n",
            pid_file.display()
        )
    );
    ensure_eq!(
        fs::read(&pid_file).map_err(|e| e.to_string())?,
        before,
        "live pid file untouched"
    );
    ensure_eq!(children(), vec![daemon.0], "only the first daemon runs");
    Ok(())
}

/// 64 launchers started at once with one pid file: exactly one daemon, 63 clean refusals,
/// and the pid file names the one.
pub fn tool_64_simultaneous_starts() -> TestResult {
    let dir = TempDir::new("race");
    let pid_file = dir.path("d.pid");
    let launchers: Vec<_> = (0..64)
        .map(|_| {
            sleeper(&pid_file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut started = 0;
    for launcher in launchers {
        let out = launcher.wait_with_output().map_err(|e| e.to_string())?;
        match out.status.code() {
            Some(0) => started += 1,
            Some(1) => {
                let err = stderr_of(&out);
                ensure!(
                    err.starts_with(&format!(
                        "rawdaemon: pid file {}: locked by ",
                        pid_file.display()
                    )),
                    "unexpected refusal: {err:?}"
                );
            }
            _ => return Err(describe(&out)),
        }
    }
    ensure_eq!(started, 1, "launchers that succeeded");
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    Ok(())
}

pub fn tool_stale_pid_file_is_reused() -> TestResult {
    let dir = TempDir::new("stale");
    let pid_file = dir.path("d.pid");
    // A long stale content: the new pid must replace it entirely.
    fs::write(&pid_file, "123456789\ngarbage\n").map_err(|e| e.to_string())?;
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0));
    Ok(())
}

pub fn tool_restarts_after_sigkill() -> TestResult {
    let dir = TempDir::new("restart");
    let pid_file = dir.path("d.pid");
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let first = the_daemon()?;
    let first_pid = first.0;
    drop(first); // SIGKILL and reap
    let out = run(&mut sleeper(&pid_file));
    ensure!(out.status.success(), "{}", describe(&out));
    let second = the_daemon()?;
    ensure!(second.0 != first_pid, "a new daemon");
    ensure_eq!(read_pid(&pid_file)?, second.0);
    Ok(())
}

/// Garbage in a pid file never crashes anything: unlocked, it is replaced by the new pid;
/// locked by a live holder that wrote garbage, the refusal names no pid.
pub fn garbage_pid_files() -> TestResult {
    let dir = TempDir::new("garbage");
    let pid_file = dir.path("d.pid");
    let digits = "9".repeat(64 * 1024);
    for garbage in [
        "",
        "\n",
        "-42\n",
        "abc\n",
        "0\n",
        "4294967296\n",
        digits.as_str(),
    ] {
        fs::write(&pid_file, garbage).map_err(|e| e.to_string())?;
        let out = run(&mut sleeper(&pid_file));
        ensure!(out.status.success(), "{garbage:.20?}: {}", describe(&out));
        let daemon = the_daemon()?;
        ensure_eq!(
            read_text(&pid_file)?,
            format!("{}\n", daemon.0),
            "{garbage:.20?}"
        );
    }
    // A holder that keeps garbage in the file (this test's own lock).
    fs::write(&pid_file, &digits).map_err(|e| e.to_string())?;
    let file = fs::File::open(&pid_file).map_err(|e| e.to_string())?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    ensure_eq!(locked, 0);
    // The refusal names the process that really holds the lock (this one), not the garbage;
    // the smallest build, without the /proc scan, names none.
    let holder = if tool_lacks().iter().any(|f| f == "tool-control") {
        "another process".to_string()
    } else {
        format!("running pid {}", std::process::id())
    };
    expect_failure(
        &mut sleeper(&pid_file),
        1,
        &format!(
            "rawdaemon: pid file {}: locked by {holder}",
            pid_file.display(),
        ),
        None,
    )?;
    ensure_eq!(
        read_text(&pid_file)?,
        digits,
        "a locked file is not touched"
    );
    Ok(())
}

pub fn fail_pid_file_is_symlink() -> TestResult {
    let dir = TempDir::new("symlink");
    let target = dir.path("target");
    fs::write(&target, "precious\n").map_err(|e| e.to_string())?;
    let link = dir.path("d.pid");
    std::os::unix::fs::symlink(&target, &link).map_err(|e| e.to_string())?;
    let out = run(tool().arg("-p").arg(&link).args(["sleep", "30"]));
    ensure_eq!(out.status.code(), Some(1), "{}", describe(&out));
    ensure_eq!(
        stderr_of(&out),
        format!(
            "rawdaemon: pid file {}: Too many levels of symbolic links\n",
            link.display()
        )
    );
    no_process_left()?;
    ensure_eq!(read_text(&target)?, "precious\n");
    Ok(())
}

pub fn fail_pid_file_is_fifo() -> TestResult {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("d.pid");
    // SAFETY: a NUL-terminated path.
    let r = unsafe { libc::mkfifo(cstring(&fifo).as_ptr(), 0o644) };
    ensure_eq!(r, 0, "mkfifo");
    expect_failure(
        tool().arg("-p").arg(&fifo).args(["sleep", "30"]),
        1,
        &format!("rawdaemon: pid file {}: not a regular file", fifo.display()),
        None,
    )?;
    ensure!(fifo.exists(), "the FIFO was removed");
    Ok(())
}

pub fn fail_pid_file_is_directory() -> TestResult {
    let dir = TempDir::new("piddir");
    let pid_dir = dir.path("d.pid");
    fs::create_dir(&pid_dir).map_err(|e| e.to_string())?;
    expect_failure(
        &mut sleeper(&pid_dir),
        1,
        &format!("rawdaemon: pid file {}: Is a directory", pid_dir.display()),
        None,
    )?;
    ensure!(pid_dir.is_dir(), "the directory was removed");
    Ok(())
}
