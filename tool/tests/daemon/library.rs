//! The library, through this binary re-executed in a role (see roles.rs): a clean detached
//! daemon, manual readiness (also with a worker forked first), an initialization failure or an
//! exit before ready reported to the launcher, a launcher gone before ready, no terminal to
//! acquire, the thread check, and no allocation in either process.

use std::path::Path;
use std::process::Stdio;

use crate::common::*;
use crate::{ensure, ensure_eq};

pub fn lib_daemon_is_detached_and_clean() -> TestResult {
    let dir = TempDir::new("lib");
    let pid_file = dir.path("lib.pid");
    let pid_arg = format!("pid={}", pid_file.display());
    let out = run(dirty(
        &mut lib(&["daemon", &pid_arg, "chdir=/tmp", "umask=007"]),
        5,
    ));
    ensure!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        describe(&out)
    );
    let daemon = the_daemon()?;
    let pid = daemon.0;
    check_detached(pid)?;
    ensure_eq!(status_field(pid, "Umask")?, "0007");
    ensure_eq!(status_field(pid, "Threads")?, "1");
    ensure_eq!(cwd(pid)?, Path::new("/tmp"));
    check_signals(pid, LIBC_RESERVED)?;
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    ensure_eq!(read_pid(&pid_file)?, pid);
    ensure!(is_locked(&pid_file)?, "locked");
    Ok(())
}

pub fn lib_manual_ready() -> TestResult {
    let dir = TempDir::new("manual");
    let marker = dir.path("initialized");
    let arg = format!("manual=ok:{}", marker.display());
    let out = run(&mut lib(&["daemon", &arg]));
    ensure!(out.status.success(), "{}", describe(&out));
    // The launcher returned only after the daemon's own initialization.
    ensure!(
        marker.exists(),
        "launcher exited before the daemon initialized"
    );
    let _daemon = the_daemon()?;
    Ok(())
}

pub fn lib_init_failure_reaches_launcher() -> TestResult {
    let dir = TempDir::new("initfail");
    let pid_file = dir.path("d.pid");
    let pid_arg = format!("pid={}", pid_file.display());
    // The pid file of a daemon that never became ready is removed.
    expect_failure(
        &mut lib(&["daemon", &pid_arg, "manual=fail"]),
        1,
        "libdaemon: initialization: Address already in use",
        Some(&pid_file),
    )
}

pub fn lib_exit_before_ready() -> TestResult {
    expect_failure(
        &mut lib(&["daemon", "manual=drop"]),
        1,
        "libdaemon: daemon: exited before it was ready",
        None,
    )
}

/// The launcher is killed before the daemon reports ready: the daemon's report must not kill
/// it (no SIGPIPE), and it goes on.
pub fn lib_survives_launcher_death() -> TestResult {
    let dir = TempDir::new("orphan");
    let marker = dir.path("m");
    let arg = format!("manual=ok:{}", marker.display());
    let launcher = lib(&["daemon", &arg])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = dir.path("m.started");
    ensure!(wait_until(|| started.exists()), "daemon never started");
    kill_and_reap(launcher.id() as i32);
    let after = dir.path("m.after");
    ensure!(
        wait_until(|| after.exists()),
        "daemon died reporting ready to a dead launcher"
    );
    let _daemon = the_daemon()?;
    Ok(())
}

/// Manual readiness with a worker forked before `notify`: the launcher returns at `notify`,
/// not when the worker (which inherited the channel) exits.
pub fn lib_manual_ready_with_worker() -> TestResult {
    let out = run(&mut lib(&["daemon", "manual=worker"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let children = format!("/proc/{0}/task/{0}/children", daemon.0);
    let workers: Vec<i32> = read_text(Path::new(&children))?
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    // The worker is the daemon's child: kill it and wait until the daemon has it as a zombie.
    for &w in &workers {
        // SAFETY: a signal to one pid we just read.
        unsafe { libc::kill(w, libc::SIGKILL) };
        wait_until(|| !alive(w));
    }
    ensure_eq!(
        workers.len(),
        1,
        "the worker is still running after the launcher returned"
    );
    Ok(())
}

/// The daemon opens a terminal without O_NOCTTY and still has no controlling terminal: it is
/// not a session leader.
pub fn lib_cannot_acquire_a_terminal() -> TestResult {
    let dir = TempDir::new("pty");
    let marker = dir.path("opened");
    let arg = format!("pty={}", marker.display());
    let out = run(&mut lib(&["daemon", &arg]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| marker.exists()),
        "the daemon did not open a terminal"
    );
    ensure!(
        fds(daemon.0)?.values().any(|t| t.starts_with("/dev/pts/")),
        "no terminal open in the daemon"
    );
    ensure_eq!(stat(daemon.0)?.tty_nr, 0, "controlling terminal acquired");
    Ok(())
}

pub fn lib_refuses_threads() -> TestResult {
    let dir = TempDir::new("threads");
    let pid_file = dir.path("d.pid");
    let pid_arg = format!("pid={}", pid_file.display());
    // Refused before the pid file is even created.
    expect_failure(
        &mut lib(&["daemon", "threads", &pid_arg]),
        1,
        "libdaemon: thread check: the process runs 2 threads; daemonize before starting any",
        Some(&pid_file),
    )
}

pub fn lib_makes_no_allocation() -> TestResult {
    let dir = TempDir::new("alloc");
    let report = dir.path("daemon-allocations");
    let pid_file = dir.path("d.pid");
    let out = run(&mut lib(&[
        "alloc",
        &report.display().to_string(),
        &pid_file.display().to_string(),
    ]));
    ensure!(out.status.success(), "{}", describe(&out));
    ensure_eq!(
        String::from_utf8_lossy(&out.stdout),
        "parent allocations: 0\n"
    );
    let _daemon = the_daemon()?;
    wait_until(|| report.exists());
    ensure_eq!(read_text(&report)?, "daemon allocations: 0\n");
    Ok(())
}
