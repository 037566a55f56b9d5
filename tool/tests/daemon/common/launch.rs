//! Running a launcher: to its end within a deadline, its output as text, an expected failure,
//! and the launch state it inherits (a dirty one, a private mount namespace).

use std::io::Error as IoError;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{TestResult, no_process_left};
use crate::{ensure, ensure_eq};

/// Runs a launcher to its end; one that does not end within 20 s is killed (and the test
/// then fails on its status).
pub fn run(cmd: &mut Command) -> Output {
    try_run(cmd).unwrap_or_else(|e| panic!("launcher did not start: {e}"))
}

/// As [`run`], with a launcher that could not be started as an error.
pub fn try_run(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().map_err(|e| e.to_string())
}

/// The launcher's output as text, for messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}, stdout {:?}, stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr_of(out)
    )
}

/// The launcher's stderr as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the tool, expects `code` and exactly `message` on stderr, no process left, and the
/// pid file (if any) absent.
pub fn expect_failure(
    cmd: &mut Command,
    code: i32,
    message: &str,
    pid_file: Option<&Path>,
) -> TestResult {
    let out = run(cmd);
    ensure_eq!(out.status.code(), Some(code), "{}", describe(&out));
    ensure_eq!(stderr_of(&out), format!("{message}\n"));
    ensure!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    no_process_left()?;
    if let Some(p) = pid_file {
        ensure!(!p.exists(), "pid file {} left behind", p.display());
    }
    Ok(())
}

/// Makes the launcher's start as dirty as real life: umask 077, SIGHUP and SIGPIPE ignored,
/// SIGUSR1 and SIGTERM blocked, and `extra` open descriptors that are not close-on-exec.
pub fn dirty(cmd: &mut Command, extra: usize) -> &mut Command {
    // SAFETY: only async-signal-safe libc calls run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(0o077);
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            for _ in 0..extra {
                if libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) < 0 {
                    return Err(IoError::last_os_error());
                }
            }
            Ok(())
        })
    }
}

/// In the child of `cmd`, before it executes: a private mount namespace (nothing it mounts
/// or unmounts is seen outside), then `then`.
pub fn in_private_mounts(
    cmd: &mut Command,
    then: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
) -> &mut Command {
    use std::os::unix::process::CommandExt;
    let mut then = then;
    // SAFETY: unshare and mount (and `then`'s calls, which callers keep async-signal-safe)
    // in the child only.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            then()
        })
    }
}
