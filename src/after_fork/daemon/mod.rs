//! **The daemon's steps**, run by the daemon process (in foreground mode, by the launching
//! process itself, which has not forked): signals, the logger, chroot, chdir, umask, stdio,
//! every other descriptor closed, pid file, privileges; then readiness or `execve`.
//!
//! Created by the intermediate's fork ([`intermediate`](super::intermediate)); it may call only
//! what [`after_fork`](super) allows; it ends in `execve`, by returning [`Ready`] to the
//! application, or with `_exit` after sending its failure through the readiness channel (in
//! foreground mode the failure is returned instead).

mod capabilities;
pub(super) mod limits;
pub(super) mod privileges;
mod stdio;

use rustix::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use rustix::io::FdFlags;

use crate::config::Daemon;
use crate::error::{Detail, Error, Step};
use crate::launcher::prepare::Prepared;
use crate::ready::{self, Ready, Record};
use crate::sys;

/// The daemon's steps in order: signals, (the logger), chroot, chdir, umask, stdio, close
/// every other descriptor, pid file, privileges; then readiness or `execve`.
///
/// With a readiness channel, a failure is reported through it and the process exits; without one
/// (foreground mode) it is returned.
#[inline]
pub(crate) fn daemon(cfg: &Daemon<'_>, mut prep: Prepared) -> Result<Ready, Error> {
    // Descriptors given up here are closed with every other one by close_range.
    let forget = |fd: OwnedFd| {
        let _ = fd.into_raw_fd();
    };
    let channel = prep.channel.take().map(|(launcher_end, own)| {
        forget(launcher_end);
        own
    });
    let foreground = channel.is_none();
    // A forked daemon must never unwind into the launcher's code.
    let guard = (!foreground).then(|| super::ExitOnUnwind::arm(cfg.runtime));
    // In daemon mode the launcher notifies the service manager and reads the program's
    // readiness socket; in foreground mode this process does (through a watcher).
    let notify = prep.notify.take();
    // (With notify_await the respawn supervisor passes on what PROGRAM says later.)
    let notify = if foreground || (cfg.respawn.is_some() && cfg.notify_await.is_some()) {
        notify
    } else {
        notify.map(forget);
        None
    };
    // In foreground mode with nobody to notify, nobody would read the channel: the program's
    // descriptor stays closed (its write fails with EBADF).
    let program_ready = prep.ready.take().and_then(|(read, write)| {
        if !foreground {
            forget(read);
            Some((None, write))
        } else if notify.is_some() {
            Some((Some(read), write))
        } else {
            forget(read);
            forget(write);
            None
        }
    });
    let ready = Ready {
        channel,
        notify,
        pid: sys::own_pid(cfg.runtime, !foreground),
        runtime: cfg.runtime,
    };
    let signals = prep.signals;
    // Foreground mode: what a failure must remove, and from where.
    let created = prep.created;
    let origin = prep.origin.take();
    let root = prep.root.take();
    let stderr_copy = prep.stderr_copy.take();
    // notify-await: the socket (respawn), the watcher's report descriptor (foreground), or
    // nothing (the launcher listens). Behind a test of the configuration itself, so that a
    // constant one without it folds this away.
    // notify-await's status file, written by whoever reads the socket (not this process).
    let status = prep.status.take();
    let awaited = match prep.awaited.take() {
        // SAFETY: one thread (the caller's contract), the caller's runtime.
        Some(fd) if cfg.notify_await.is_some() => match unsafe {
            super::notify_watcher::in_daemon(
                cfg,
                fd,
                foreground,
                (ready.notify.as_ref(), created, status.as_ref()),
            )
        } {
            Ok(fd) => fd,
            Err(e) => {
                created.remove(cfg, origin.as_ref(), e.step());
                return Err(e);
            }
        },
        _ => None,
    };
    let raw = |fd: Option<&OwnedFd>| fd.map_or(-1, AsRawFd::as_raw_fd);
    let internal = [
        raw(ready.channel.as_ref()),
        raw(origin.as_ref()),
        raw(ready.notify.as_ref()),
        raw(program_ready.as_ref().and_then(|(read, _)| read.as_ref())),
        // In foreground mode an inherited open descriptor (s6's notification-fd) stays.
        match &program_ready {
            Some((_, write)) => write.as_raw_fd(),
            None if foreground => cfg.ready_fd.unwrap_or(-1),
            None => -1,
        },
        raw(root.as_ref()),
        raw(stderr_copy.as_ref()),
        raw(awaited.as_ref()),
        raw(status.as_ref()),
    ];
    let pid = ready.pid.as_raw_nonzero().get() as u32;
    let mut pid_fd = None;
    let outcome = match steps(cfg, prep, root.as_ref(), internal, pid, &mut pid_fd) {
        Ok(()) if cfg.respawn.is_some() => {
            let mut ready = ready;
            let [pid_file, _, _] = created.ids;
            let e = super::supervisor::run(
                cfg,
                &mut ready,
                (origin.as_ref(), pid_file),
                (root.as_ref(), awaited.as_ref(), status.as_ref()),
                signals,
            );
            if ready.channel.is_some() {
                ready.abort(e)
            } else {
                Err(e)
            }
        }
        Ok(()) => finish(cfg, ready, signals, program_ready),
        Err(e) if ready.channel.is_some() => ready.abort(e),
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome {
        if let (Some(tell), true) = (&awaited, foreground && cfg.respawn.is_none()) {
            super::notify_watcher::failed(tell);
        }
        // Foreground mode: the caller prints the failure on stderr, which must be the
        // launcher's again, not a log file (that this very failure may remove) or /dev/null.
        if let Some(copy) = &stderr_copy {
            let _ = rustix::stdio::dup2_stderr(copy);
        }
        created.remove(cfg, origin.as_ref(), e.step());
        if let (Some(fd), Some(_)) = (pid_fd, cfg.user) {
            // Foreground mode after the privilege drop: the file may not be removable any
            // more, so it is at least emptied (it names no process), through the locked
            // descriptor.
            // SAFETY: the pid file's descriptor, kept open on purpose by `steps`.
            let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
            let _ = rustix::fs::ftruncate(fd, 0);
            // And notify-await's status file says nothing.
            if let Some(fd) = &status {
                let _ = rustix::fs::ftruncate(fd, 0);
            }
        }
    }
    if let Some(guard) = guard {
        guard.disarm();
    }
    outcome
}

/// Runs the steps; the pid file's descriptors stay open (the lock's for good), and the write
/// descriptor's number is put in `pid_fd`. `internal` lists the prepared descriptors that must survive the
/// closing (-1 for none).
#[inline]
fn steps(
    cfg: &Daemon<'_>,
    prep: Prepared,
    root: Option<&OwnedFd>,
    internal: [i32; 9],
    pid: u32,
    pid_fd: &mut Option<i32>,
) -> Result<(), Error> {
    sys::reset_signals(cfg.runtime, prep.signals, prep.blocked)
        .map_err(|e| Error::new(Step::Sigprocmask, e))?;
    // A supervisor (respawn mode) leaves the root directory and the user to the program, and
    // reads the program's output itself.
    let supervisor = cfg.respawn.is_some();
    // The logger starts before the root directory and the user change: it reaches the log
    // from where the launcher could.
    let log_pipes = match cfg.log_output.filter(|_| !supervisor && cfg.exec.is_some()) {
        // SAFETY: one thread (the caller's contract), the caller's runtime.
        Some(out) => Some(
            unsafe { super::logger::start(cfg.runtime, out, pid, cfg.name, &prep.devnull) }
                .map_err(|e| Error::new(Step::Logger, e))?,
        ),
        None => None,
    };
    // Log files that rotate or stamp their lines: through their own logger, likewise.
    let file_pipes = if cfg.log_files_piped() && !supervisor && cfg.exec.is_some() {
        let files = [prep.stdout.as_ref(), prep.stderr.as_ref()];
        // SAFETY: as for the logger above.
        Some(unsafe { super::logger::start_files(cfg, files, &prep.devnull) }?)
    } else {
        None
    };
    if !supervisor {
        // After both loggers started (they keep the default score, not PROGRAM's), while
        // /proc is in reach (before chroot); under -R, PROGRAM's process does it.
        limits::oom_score_adj(cfg)?;
    }
    match (root, supervisor) {
        (Some(dir), false) => enter_root(dir, cfg.chdir)?,
        (Some(_), true) => {
            // The directory is one inside the new root: the supervisor goes to `/`.
            rustix::process::chdir(c"/").map_err(|e| Error::new(Step::Chdir, e))?;
        }
        (None, _) => {
            if let Some(dir) = cfg.chdir {
                rustix::process::chdir(dir).map_err(|e| Error::new(Step::Chdir, e))?;
            }
        }
    }
    if let Some(mask) = cfg.umask.filter(|&mask| prep.umask != Some(mask)) {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    }
    stdio::redirect(cfg, &prep)?;
    if let Some((out, err)) = log_pipes {
        rustix::stdio::dup2_stdout(&out)
            .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(1)))?;
        rustix::stdio::dup2_stderr(&err)
            .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(2)))?;
    }
    if let Some([out, err]) = file_pipes {
        if let Some(out) = &out {
            rustix::stdio::dup2_stdout(out)
                .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(1)))?;
        }
        if let Some(err) = err
            .as_ref()
            .or(out.as_ref().filter(|_| cfg.same_output_file()))
        {
            rustix::stdio::dup2_stderr(err)
                .map_err(|e| Error::with_detail(Step::Dup2, e, Detail::Fd(2)))?;
        }
    }
    // From here on the prepared descriptors are closed by number, so Drop must not close them
    // again (the numbers could be reused by then).
    let _ = prep.devnull.into_raw_fd();
    let _ = prep.stdout.map(IntoRawFd::into_raw_fd);
    let _ = prep.stderr.map(IntoRawFd::into_raw_fd);
    let created_pid_file = prep.created.pid_file;
    let pid_file = prep.pid_file;
    let pid_lock = prep.pid_lock;
    let [a, b, c, d, e, f, g, h, i] = internal;
    let internal = [
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        i,
        pid_file.as_ref().map_or(-1, AsRawFd::as_raw_fd),
        pid_lock.as_ref().map_or(-1, AsRawFd::as_raw_fd),
    ];
    super::fds::close_all_except(cfg.keep_fds, &internal)
        .map_err(|e| Error::new(Step::CloseRange, e))?;
    if let Some(lock) = pid_lock {
        if cfg.exec.is_some() && !supervisor {
            // The program inherits the lock's read-only descriptor: the lock lives exactly as
            // long as it, and the program cannot change what the file says.
            rustix::io::fcntl_setfd(&lock, FdFlags::empty())
                .map_err(|e| Error::new(Step::PidFileWrite, e))?;
        }
        // Never closed: the lock lasts as long as the daemon (or the program).
        let _ = lock.into_raw_fd();
    }
    if let Some(fd) = pid_file {
        // Close-on-exec: the program never gets a descriptor that can write the file. Never
        // closed before that: a failure after the privilege drop empties the file through it.
        let fd = fd.into_raw_fd();
        *pid_fd = Some(fd);
        // SAFETY: just leaked above, open for good.
        let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
        // A file size limit (`ulimit -f`) below the pid's line fails the start with EFBIG
        // instead of killing the daemon by SIGXFSZ: ignored for this write only (every signal
        // is at its default here, `reset_signals` saw to it).
        sys::raw_sigaction_ignore(sys::SIGXFSZ);
        let written = crate::pidfile::write_pid(fd, pid, created_pid_file);
        sys::raw_sigaction_default(sys::SIGXFSZ);
        written.map_err(|e| Error::new(Step::PidFileWrite, e))?;
        if !cfg.foreground {
            // The session the start created: the one `--stop` may end whole.
            if let Ok(sid) = rustix::process::getsid(None) {
                crate::pidfile::record_session(fd, sid.as_raw_nonzero().get() as u32);
            }
        }
    }
    if !supervisor {
        // The limits and capabilities around the drop to the user (if any).
        limits::around_drop(cfg, cfg.user)?;
    }
    if cfg.exec.is_none() {
        // No `execve` closes the write descriptor: the application (unprivileged now, with a
        // user) keeps only the lock's read-only one, and cannot change the file either.
        if let Some(fd) = pid_fd.take() {
            sys::close_quietly(fd);
        }
    }
    Ok(())
}

/// `fchdir` into the prepared root directory, `chroot(".")`, then the working directory
/// inside it (`/` by default: the old one would be a way out).
///
/// # References
///  - [chroot(2)](https://man7.org/linux/man-pages/man2/chroot.2.html)
///  - [fchdir(2)](https://man7.org/linux/man-pages/man2/fchdir.2.html)
pub(in crate::after_fork) fn enter_root(
    root: &OwnedFd,
    chdir: Option<&core::ffi::CStr>,
) -> Result<(), Error> {
    rustix::process::fchdir(root).map_err(|e| Error::new(Step::Chroot, e))?;
    rustix::process::chroot(c".").map_err(|e| Error::new(Step::Chroot, e))?;
    rustix::process::chdir(chdir.unwrap_or(c"/")).map_err(|e| Error::new(Step::Chdir, e))
}

/// The program's readiness socket in the daemon: the read end only in foreground mode with a
/// service manager to notify, the write end for the program.
type ProgramReady = (Option<OwnedFd>, OwnedFd);

/// Reports readiness (automatic mode), hands the handle back (manual mode), or executes the
/// program.
///
/// Before `execve`, the signals a C library reserves for itself (32 to 34), which its
/// `sigaction` refused to reset, are reset with the raw system call: the libc is about to be
/// replaced, and the program deserves a clean start.
#[inline]
fn finish(
    cfg: &Daemon<'_>,
    mut ready: Ready,
    signals: u64,
    program_ready: Option<ProgramReady>,
) -> Result<Ready, Error> {
    let pid = ready.pid.as_raw_nonzero().get() as u32;
    if let Some(exec) = cfg.exec {
        if let Some(channel) = &ready.channel {
            reported(cfg, ready::send(channel, Record::Exec(pid)));
            if program_ready.is_some()
                || cfg.notify_await.is_some()
                || cfg.launcher_probes().is_some()
            {
                // The launcher opens a pidfd of this process before it lets it go on.
                ready::wait_ack(channel);
            }
        }
        for sig in 32..=34 {
            if signals & (1 << (sig - 1)) != 0 {
                sys::raw_sigaction_default(sig);
            }
        }
        match (cfg.ready_fd, program_ready) {
            (Some(fd), Some((read, write))) => {
                if let (Some(read), Some(socket)) = (read, &ready.notify) {
                    // SAFETY: one thread (the caller's contract), the caller's runtime.
                    unsafe { super::watcher::spawn(cfg.runtime, read, socket, pid) };
                }
                if let Err(e) = hand_over(&write, fd) {
                    let e = Error::with_detail(Step::Dup2, e, Detail::Fd(fd));
                    return if ready.channel.is_some() {
                        ready.abort(e)
                    } else {
                        Err(e)
                    };
                }
            }
            // The program reports readiness itself on an inherited descriptor: not ready yet.
            (Some(_), None) => {}
            (None, _) => {
                // With notify_await, once the program says so (the watcher, the launcher).
                if let Some(socket) = ready.notify.as_ref().filter(|_| cfg.notify_await.is_none()) {
                    crate::notify::ready(socket, pid);
                }
            }
        }
        // SAFETY: `prepare` checked that both vectors are null-terminated; the caller of
        // `start`/`detach` guaranteed that their strings are valid.
        let errno = unsafe { super::exec::run(&exec) };
        let e = Error::new(Step::Exec, errno);
        return if ready.channel.is_some() {
            ready.abort(e)
        } else {
            Err(e)
        };
    }
    if !cfg.manual_ready {
        if let Some(channel) = ready.channel.take() {
            reported(cfg, ready::send(&channel, Record::Ready(pid)));
        }
        if let Some(socket) = ready.notify.take() {
            crate::notify::ready(&socket, pid);
        }
    }
    Ok(ready)
}

/// After the daemon's report to a launcher that waits for it: if the report could not be
/// sent, the launcher will see none and report the start failed (removing the pid file), so
/// the daemon must not go on. A launcher that is gone (`EPIPE`) waits for nothing: go on.
#[inline]
fn reported(cfg: &Daemon<'_>, sent: Result<(), rustix::io::Errno>) {
    if let Err(e) = sent {
        if !ready::launcher_gone(e) {
            sys::exit(cfg.runtime, 1);
        }
    }
}

/// `dup2` of the program's readiness socket's write end onto the program's descriptor `fd` (which the
/// preparation kept free), without close-on-exec.
///
/// # References
///  - [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
fn hand_over(write: &OwnedFd, fd: i32) -> Result<(), rustix::io::Errno> {
    // SAFETY: `fd` is a number this process does not otherwise use (every prepared descriptor
    // avoids it, every inherited one is closed); dup2 replaces it and it is never closed here.
    let mut target = unsafe { OwnedFd::from_raw_fd(fd) };
    let result = rustix::io::dup2(write, &mut target);
    let _ = target.into_raw_fd();
    result
}
