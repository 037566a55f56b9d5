//! The descriptors a daemon keeps: every other one closed, however many the launcher had open
//! and however high; standard descriptors closed at start; and the fallbacks when
//! `close_range` fails (a `/proc/self/fd` walk) or `/proc` is gone too (a loop up to the limit).

use std::fs;
use std::io::Error as IoError;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;

use crate::common::*;
use crate::{ensure, ensure_eq};

pub fn tool_closes_1000_fds_up_to_the_limit() -> TestResult {
    let dir = TempDir::new("fds");
    let pid_file = dir.path("d.pid");
    let mut cmd = sleeper(&pid_file);
    // SAFETY: rlimit calls and dup2 in the child only.
    unsafe {
        cmd.pre_exec(move || {
            let mut rl: libc::rlimit = std::mem::zeroed();
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl);
            rl.rlim_cur = rl.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
            // Three just below the limit, the rest low.
            for below in 1..=3 {
                if libc::dup2(0, (rl.rlim_cur - below) as i32) < 0 {
                    return Err(IoError::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = run(dirty(&mut cmd, 997));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let pid = daemon.0;
    let limit: u64 = status_limit(pid)?;
    ensure!(limit >= 1024, "the limit {limit} was raised");
    let lock_fd = fd_of(pid, &pid_file)?;
    check_fds(pid, &[(lock_fd, &pid_file.display().to_string())])?;
    check_detached(pid)?;
    Ok(())
}

/// The daemon's soft RLIMIT_NOFILE.
fn status_limit(pid: i32) -> Result<u64, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/limits")).map_err(|e| e.to_string())?;
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .ok_or("no limit")?;
    line.split_whitespace()
        .nth(3)
        .ok_or("no field")?
        .parse()
        .map_err(|e| format!("{e}"))
}

pub fn tool_with_closed_stdio_at_start() -> TestResult {
    let mut cmd = tool();
    cmd.args(["sleep", "30"]);
    // SAFETY: close in the child only.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(0);
            libc::close(2);
            Ok(())
        });
    }
    let status = cmd
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    ensure!(status.success(), "{status:?}");
    let daemon = the_daemon()?;
    check_fds(daemon.0, &[])?;
    Ok(())
}

/// 0, 1 and 2 closed at start: the pid file must not land on one of them (where the
/// daemon's dup2 would replace it).
pub fn tool_with_closed_stdio_and_pid_file() -> TestResult {
    let dir = TempDir::new("closed-pid");
    let pid_file = dir.path("d.pid");
    let mut cmd = sleeper(&pid_file);
    // SAFETY: close in the child only.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(0);
            libc::close(1);
            libc::close(2);
            Ok(())
        });
    }
    let status = cmd.status().map_err(|e| e.to_string())?;
    ensure!(status.success(), "{status:?}");
    let daemon = the_daemon()?;
    ensure_eq!(read_pid(&pid_file)?, daemon.0);
    ensure!(is_locked(&pid_file)?, "pid file not locked");
    let lock_fd = fd_of(daemon.0, &pid_file)?;
    ensure!(lock_fd > 2, "lock on standard descriptor {lock_fd}");
    check_fds(daemon.0, &[(lock_fd, &pid_file.display().to_string())])?;
    Ok(())
}

pub fn tool_close_range_enosys_falls_back_to_proc() -> TestResult {
    close_range_blocked(libc::ENOSYS)
}

pub fn tool_close_range_eperm_falls_back_to_proc() -> TestResult {
    close_range_blocked(libc::EPERM)
}

/// A seccomp filter that fails close_range with `errno`; the daemon must still end up with
/// only its own descriptors.
fn close_range_blocked(errno: i32) -> TestResult {
    let dir = TempDir::new("seccomp");
    let pid_file = dir.path("d.pid");
    let mut cmd = sleeper(&pid_file);
    // SAFETY: prctl calls in the child only.
    unsafe {
        cmd.pre_exec(move || deny_close_range(errno));
    }
    let out = run(dirty(&mut cmd, 50));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let lock_fd = fd_of(daemon.0, &pid_file)?;
    check_fds(daemon.0, &[(lock_fd, &pid_file.display().to_string())])?;
    Ok(())
}

/// Installs a seccomp filter: close_range (436 on x86_64 and every newer architecture)
/// fails with `errno`, everything else is allowed.
fn deny_close_range(errno: i32) -> std::io::Result<()> {
    const NR_CLOSE_RANGE: u32 = 436;
    let filter = [
        // A = seccomp_data.nr
        libc::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 0,
        },
        // if A == close_range goto errno else goto allow
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: NR_CLOSE_RANGE,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x0005_0000 | errno as u32,
        },
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x7fff_0000,
        },
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut _,
    };
    // SAFETY: the filter outlives the prctl call, which copies it.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                2,
                &prog as *const libc::sock_fprog,
                0,
                0,
            ) != 0
        {
            return Err(IoError::last_os_error());
        }
    }
    Ok(())
}

/// No /proc in the launcher's mount namespace and close_range failing: the daemon closes
/// descriptors with a loop up to the limit, and resets every signal blind.
pub fn tool_without_proc_falls_back_to_loop() -> TestResult {
    needs_root()?;
    let mut cmd = tool();
    cmd.args(["/bin/sleep", "30"]);
    in_private_mounts(&mut cmd, || {
        // SAFETY: umount2 in the child only.
        if unsafe { libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) } != 0 {
            return Err(IoError::last_os_error());
        }
        deny_close_range(libc::ENOSYS)
    });
    // Root without CAP_SYS_ADMIN (a default container) cannot make the namespace.
    let out = match try_run(dirty(&mut cmd, 20)) {
        Ok(out) => out,
        Err(e) => return Err(format!("skip: no private mount namespace here: {e}")),
    };
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        !Path::new(&format!("/proc/{}/root/proc/self", daemon.0)).exists(),
        "daemon still sees /proc"
    );
    check_fds(daemon.0, &[])?;
    check_signals(daemon.0, 0)?;
    check_detached(daemon.0)?;
    Ok(())
}
