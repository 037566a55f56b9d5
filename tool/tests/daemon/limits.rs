//! The launcher under the limits and the broken descriptors a caller can hand it: a small
//! stack, a stderr whose reader is gone.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::{ensure, ensure_eq};

/// `cmd` runs with a stack limit of `kib` KiB (`ulimit -s`), and an environment of `PATH`
/// alone: the kernel puts the environment on the stack too, and the test runner's own (cargo's
/// variables, CI's) would otherwise decide how much of the limit is left for the tool.
fn small_stack(cmd: &mut Command, kib: u64) -> &mut Command {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: kib * 1024,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_STACK, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Under `ulimit -s 64` (and 48) the launcher starts a daemon with a pid file, a log and a
/// user, answers --status and stops it: its large arrays are not on the stack.
pub fn tool_under_a_small_stack_limit() -> TestResult {
    let dir = TempDir::new("stack");
    let pid_file = dir.path("d.pid");
    let log = dir.path("out.log");
    let root = needs_root().is_ok() && needs_tool(&["tool-privileges"]).is_ok();
    for kib in [64, 48] {
        let mut cmd = tool();
        cmd.arg("-p").arg(&pid_file).arg("-o").arg(&log);
        if root {
            cmd.args(["-u", "nobody"]);
        }
        cmd.args(["sleep", "30"]);
        let out = try_run(small_stack(&mut cmd, kib))?;
        ensure_eq!(out.status.code(), Some(0), "{kib} KiB: {}", describe(&out));
        let daemon = the_daemon()?;
        ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0));
        if needs_tool(&["tool-control"]).is_ok() {
            let mut status = tool();
            status.arg("--status").arg("-p").arg(&pid_file);
            let out = try_run(small_stack(&mut status, kib))?;
            ensure_eq!(out.status.code(), Some(0), "{kib} KiB: {}", describe(&out));
            let mut stop = tool();
            stop.arg("--stop").arg("-p").arg(&pid_file);
            let out = try_run(small_stack(&mut stop, kib))?;
            ensure_eq!(out.status.code(), Some(0), "{kib} KiB: {}", describe(&out));
            reap_zombies();
            ensure!(!pid_file.exists(), "{kib} KiB: the pid file is left");
        }
        drop(daemon);
    }
    Ok(())
}

/// A launcher whose stderr is a pipe with no reader: a failed start still exits with its
/// documented status (1, 127), never by SIGPIPE; a good start exits 0, and the daemon does
/// not inherit SIGPIPE ignored.
pub fn tool_with_a_broken_stderr() -> TestResult {
    use std::os::fd::{FromRawFd, OwnedFd};
    let broken = || -> Result<Stdio, String> {
        let mut ends = [0; 2];
        // SAFETY: pipe2 fills two descriptors, owned right below.
        let made = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
        ensure!(made == 0, "pipe2");
        // SAFETY: fresh descriptors from pipe2; the read end is closed at once.
        let (read, write) =
            unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        drop(read);
        Ok(Stdio::from(write))
    };
    let cases: [(&[&str], i32); 3] = [
        (&["-c", "/nonexistent", "sleep", "30"], 1),
        (&["/nonexistent/program"], 127),
        (&["--bogus-option"], 2),
    ];
    for (args, code) in cases {
        let status = tool()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(broken()?)
            .status()
            .map_err(|e| e.to_string())?;
        ensure_eq!(status.code(), Some(code), "{args:?}: {status:?}");
        no_process_left()?;
    }
    let status = tool()
        .args(["sleep", "30"])
        .stdin(Stdio::null())
        .stdout(broken()?)
        .stderr(broken()?)
        .status()
        .map_err(|e| e.to_string())?;
    ensure_eq!(status.code(), Some(0), "{status:?}");
    let daemon = the_daemon()?;
    let ignored = sigset(daemon.0, "SigIgn")? & !LIBC_RESERVED;
    ensure_eq!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE ignored in the daemon"
    );
    Ok(())
}
