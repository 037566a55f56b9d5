//! `--stop`, `--status` and `--signal`: the control commands, run in the launching process
//! (the tool never runs its own code after a fork: the library does). Each reports what it
//! found in the words and exit status the help text gives.

use core::ffi::CStr;

use rawdaemon::Message;
use rawdaemon::control::{Command, Detail, Error};
use rustix::io::Errno;

use crate::args::{Action, Args};
use crate::output::{stderr, stdout};

/// The control command `args` asks for, run: its exit status; `None` for a start.
pub fn run(args: &Args<'_>) -> Option<i32> {
    match (args.action, args.pid_file) {
        (Action::Stop, Some(path)) => Some(stop(path, args)),
        (Action::Status, Some(path)) => Some(status(path)),
        (Action::Signal, Some(path)) => Some(signal(path, args)),
        _ => None,
    }
}

/// `--stop`: 0 once every process of the daemon has exited and the pid file is removed, 1
/// otherwise.
fn stop(path: &CStr, args: &Args<'_>) -> i32 {
    let secs = |t: u32| core::time::Duration::from_secs(u64::from(t));
    // The steps after the first (`--retry`; by default SIGKILL and 5 s).
    let then = args.retry.map(|(signal, t)| (signal, secs(t)));
    let then = then.get(..args.retry_len).unwrap_or_default();
    match rawdaemon::control::stop_with(path, args.signal, secs(args.timeout), then) {
        Ok(stopped) => {
            if let Some(pid) = stopped.killed {
                let mut m = Message::new();
                m.push_str("rawdaemon: stop: pid ")
                    .push_u32(pid.as_raw_nonzero().get() as u32)
                    .push_str(" was still running after ")
                    .push_u32(args.timeout)
                    .push_str(" s; sent ");
                match then.first() {
                    Some((rustix::process::Signal::KILL, _)) | None => m.push_str("SIGKILL"),
                    Some((signal, _)) => m.push_str("signal ").push_u32(signal.as_raw() as u32),
                };
                m.write_line(stderr());
            }
            0
        }
        // --oknodo: nothing to stop is success (start-stop-daemon's meaning).
        Err(e) if args.oknodo && not_running(&e) => {
            report(&e, path);
            0
        }
        Err(e) => {
            report(&e, path);
            1
        }
    }
}

/// Whether a stop or signal failed because no process holds the pid file's lock.
fn not_running(e: &Error) -> bool {
    e.errno() == Errno::SRCH && e.detail() == Detail::NotRunning
}

/// `--signal` alone: 0 delivered, 3 nothing running, 4 the holder is not the daemon, 1
/// otherwise.
fn signal(path: &CStr, args: &Args<'_>) -> i32 {
    match rawdaemon::control::signal(path, args.signal) {
        Ok(_) => 0,
        Err(e) if args.oknodo && not_running(&e) => {
            report(&e, path);
            0
        }
        Err(e) => {
            report(&e, path);
            match (e.command(), e.errno(), e.detail()) {
                (Command::Signal, Errno::SRCH, Detail::NotRunning | Detail::Orphaned) => 3,
                (Command::Signal, Errno::SRCH, Detail::Unidentified) => 4,
                // A holder not proven to be the daemon's, named.
                (Command::Signal, Errno::PERM, Detail::Pid(_)) => 4,
                _ => 1,
            }
        }
    }
}

/// A control command's failure on stderr: `rawdaemon: command PID_FILE: cause`.
fn report(error: &Error, path: &CStr) {
    error
        .message("rawdaemon", Some(path.to_bytes()))
        .write_line(stderr());
}

/// With `--notify-await`: the last `STATUS=` PROGRAM sent, kept beside the pid file by the
/// running daemon `pid`, on stderr (`rawdaemon: status PIDFILE: TEXT`): stdout stays the pid alone, for scripts.
#[cfg(feature = "tool-notify")]
fn kept_status(path: &CStr, pid: rawdaemon::control::Pid) {
    let mut buf = [0_u8; rawdaemon::control::STATUS_TEXT_MAX + 1];
    if let Some(text) = rawdaemon::control::kept_status(path, pid, &mut buf) {
        let mut m = Message::new();
        m.push_str("rawdaemon: status ")
            .push_path(path.to_bytes(), 256)
            .push_str(": ")
            .push(text);
        m.write_line(stderr());
    }
}

/// `--status`: prints the pid of a running daemon; the exit status is the LSB one.
fn status(path: &CStr) -> i32 {
    let status = match rawdaemon::control::status(path) {
        Ok(s) => s,
        Err(e) => {
            report(&e, path);
            return 4;
        }
    };
    let mut m = Message::new();
    if let rawdaemon::control::Status::Running(pid) = status {
        m.push_u32(pid.as_raw_nonzero().get() as u32);
        m.write_line(stdout());
        #[cfg(feature = "tool-notify")]
        kept_status(path, pid);
        return 0;
    }
    m.push_str("rawdaemon: status ")
        .push_path(path.to_bytes(), 256);
    match status {
        rawdaemon::control::Status::Dead(pid) => {
            m.push_str(": not running; the pid file is left behind");
            if let Some(pid) = pid {
                m.push_str(" (it names pid ")
                    .push_u32(pid.as_raw_nonzero().get() as u32)
                    .push_str(")");
            }
        }
        rawdaemon::control::Status::NotRunning => {
            m.push_str(": not running");
        }
        rawdaemon::control::Status::Orphaned(pid) => {
            m.push_str(": the daemon is gone, but pid ")
                .push_u32(pid.as_raw_nonzero().get() as u32)
                .push_str(" it started still holds its lock (--stop ends it)");
        }
        rawdaemon::control::Status::Unknown(Some(pid)) => {
            m.push_str(": locked by pid ")
                .push_u32(pid.as_raw_nonzero().get() as u32)
                .push_str(", not by the pid written in it");
        }
        _ => {
            m.push_str(": locked by a process other than the pid written in it");
            if !rustix::process::geteuid().is_root() {
                m.push_str(" (or by one this user may not inspect)");
            }
        }
    }
    m.write_line(stderr());
    status.lsb_code()
}
