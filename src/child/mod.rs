//! **After the fork.** Everything in this module runs in the intermediate process or in the
//! daemon, between `fork` and the return to the application (or `execve`).
//!
//! The rules, which every file here keeps:
//! - only async-signal-safe work: rustix system calls and [`sys`](crate::sys) on descriptors
//!   prepared before the fork and on stack data;
//! - no allocation, no locks, no `core::fmt`, no panics (no `unwrap`, no unchecked indexing);
//! - a failure is sent through the readiness channel as an [`Error`] and the process ends with
//!   `_exit` (in foreground mode it is returned instead).

mod fds;
mod session;
mod stdio;

use rustix::fd::{AsRawFd, IntoRawFd};
use rustix::io::FdFlags;

use crate::config::Daemon;
use crate::error::{Error, Step};
use crate::prepare::Prepared;
use crate::ready::{self, Ready, Record};
use crate::sys;

pub(crate) use session::intermediate;

/// The daemon's steps in order: signals, chdir, umask, stdio, close every other descriptor,
/// pid file; then readiness or `execve`.
///
/// With a readiness channel, a failure is reported through it and the process exits; without one
/// (foreground mode) it is returned.
#[inline]
pub(crate) fn daemon(cfg: &Daemon<'_>, mut prep: Prepared) -> Result<Ready, Error> {
    // The read end is closed with every other descriptor by close_range.
    let pipe = prep.pipe.take().map(|(read, write)| {
        let _ = read.into_raw_fd();
        write
    });
    let ready = Ready {
        pipe,
        pid: rustix::process::getpid(),
        runtime: cfg.runtime,
    };
    let signals = prep.signals;
    // Foreground mode: what a failure must remove, and from where.
    let created = prep.created;
    let origin = prep.origin.take();
    let keep = ready
        .pipe
        .as_ref()
        .or(origin.as_ref())
        .map_or(-1, AsRawFd::as_raw_fd);
    let pid = ready.pid.as_raw_nonzero().get() as u32;
    let outcome = match steps(cfg, prep, keep, pid) {
        Ok(()) => finish(cfg, ready, signals),
        Err(e) if ready.pipe.is_some() => ready.abort(e),
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome {
        created.remove(cfg, origin.as_ref(), e.step());
    }
    outcome
}

/// Runs the steps; the pid file's descriptor stays open (and locked) for good.
#[inline]
fn steps(cfg: &Daemon<'_>, prep: Prepared, channel: i32, pid: u32) -> Result<(), Error> {
    sys::reset_signals(cfg.runtime, prep.signals, prep.blocked)
        .map_err(|e| Error::new(Step::SignalMask, e))?;
    if let Some(dir) = cfg.chroot {
        rustix::process::chroot(dir).map_err(|e| Error::new(Step::Chroot, e))?;
        if cfg.chdir.is_none() {
            // The old working directory would be a way out of the new root.
            rustix::process::chdir(c"/").map_err(|e| Error::new(Step::Chroot, e))?;
        }
    }
    if let Some(dir) = cfg.chdir {
        rustix::process::chdir(dir).map_err(|e| Error::new(Step::Chdir, e))?;
    }
    if let Some(mask) = cfg.umask {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    }
    stdio::redirect(cfg, &prep)?;
    // From here on the prepared descriptors are closed by number, so Drop must not close them
    // again (the numbers could be reused by then).
    let _ = prep.devnull.into_raw_fd();
    let _ = prep.stdout.map(IntoRawFd::into_raw_fd);
    let _ = prep.stderr.map(IntoRawFd::into_raw_fd);
    let created_pid_file = prep.created.pid_file;
    let pid_file = prep.pid_file;
    let internal = [channel, pid_file.as_ref().map_or(-1, AsRawFd::as_raw_fd)];
    fds::close_all_except(cfg.keep_fds, internal).map_err(|e| Error::new(Step::CloseFds, e))?;
    if let Some(fd) = pid_file {
        if cfg.exec.is_some() {
            // The program inherits the locked descriptor: the lock lives exactly as long as it.
            rustix::io::fcntl_setfd(&fd, FdFlags::empty())
                .map_err(|e| Error::new(Step::PidFileWrite, e))?;
        }
        crate::pidfile::write_pid(&fd, pid, created_pid_file)
            .map_err(|e| Error::new(Step::PidFileWrite, e))?;
        // Never closed: the lock lasts as long as the daemon.
        let _ = fd.into_raw_fd();
    }
    if let Some(user) = cfg.user {
        user.apply()?;
    }
    Ok(())
}

/// Reports readiness (automatic mode), hands the handle back (manual mode), or executes the
/// program.
///
/// Before `execve`, the signals a C library reserves for itself (32 to 34), which its
/// `sigaction` refused to reset, are reset with the raw system call: the libc is about to be
/// replaced, and the program deserves a clean start.
#[inline]
fn finish(cfg: &Daemon<'_>, mut ready: Ready, signals: u64) -> Result<Ready, Error> {
    let pid = ready.pid.as_raw_nonzero().get() as u32;
    if let Some(exec) = cfg.exec {
        if let Some(pipe) = &ready.pipe {
            ready::send(pipe, Record::Exec(pid));
        }
        for sig in 32..=34 {
            if signals & (1 << (sig - 1)) != 0 {
                sys::raw_sigaction_default(sig);
            }
        }
        // SAFETY: `prepare` checked that both vectors are null-terminated; the caller of
        // `start`/`detach` guaranteed that their strings are valid.
        let errno = unsafe { sys::execve(exec.path, exec.argv.as_ptr(), exec.envp.as_ptr()) };
        let e = Error::new(Step::Exec, errno);
        return if ready.pipe.is_some() {
            ready.abort(e)
        } else {
            Err(e)
        };
    }
    if !cfg.manual_ready {
        if let Some(pipe) = ready.pipe.take() {
            ready::send(&pipe, Record::Ready(pid));
        }
    }
    Ok(ready)
}
