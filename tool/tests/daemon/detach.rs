//! What every daemon must be, read from /proc: re-parented to the test process (a child
//! subreaper), in a session of its own that it does not lead, no controlling terminal, umask
//! 022, `/` as its directory, no signal blocked or ignored, only 0, 1, 2 and its pid file's lock
//! open, and the lock held while it lives; and a foreground start, which makes the launcher
//! itself the daemon.

use std::path::Path;
use std::process::Stdio;

use crate::common::*;
use crate::{ensure, ensure_eq};

pub fn tool_daemon_is_detached_and_clean() -> TestResult {
    let dir = TempDir::new("clean");
    let pid_file = dir.path("d.pid");
    let out = run(dirty(&mut sleeper(&pid_file), 5));
    ensure!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        describe(&out)
    );
    let daemon = the_daemon()?;
    let pid = daemon.0;
    ensure_eq!(comm(pid), Some("sleep".to_string()), "PROGRAM runs");
    check_detached(pid)?;
    ensure_eq!(status_field(pid, "Umask")?, "0022", "default umask");
    ensure_eq!(cwd(pid)?, Path::new("/"), "default cwd");
    // The tool resets even the libc-reserved signals right before exec.
    check_signals(pid, 0)?;
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    ensure_eq!(read_text(&pid_file)?, format!("{pid}\n"));
    ensure!(
        is_locked(&pid_file)?,
        "pid file not locked while the daemon runs"
    );
    // The lock goes with PROGRAM.
    drop(daemon);
    ensure!(
        !is_locked(&pid_file)?,
        "pid file still locked after the daemon died"
    );
    Ok(())
}

pub fn tool_foreground_does_not_fork() -> TestResult {
    let dir = TempDir::new("fg");
    let pid_file = dir.path("fg.pid");
    let mut cmd = tool();
    cmd.args(["-f", "-p"])
        .arg(&pid_file)
        .args(["-c", "/tmp", "sleep", "30"]);
    let child = dirty(&mut cmd, 4)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let guard = Guard(child.id() as i32);
    let pid = read_pid(&pid_file)?;
    ensure_eq!(pid, guard.0, "the launched process itself is the daemon");
    wait_until(|| comm(pid).as_deref() == Some("sleep"));
    ensure_eq!(comm(pid), Some("sleep".to_string()));
    let s = stat(pid)?;
    // SAFETY: getsid(0) has no preconditions.
    let my_sid = unsafe { libc::getsid(0) };
    ensure_eq!(s.session, my_sid, "foreground keeps the session");
    ensure_eq!(cwd(pid)?, Path::new("/tmp"));
    ensure_eq!(status_field(pid, "Umask")?, "0022");
    check_signals(pid, 0)?;
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    Ok(())
}
