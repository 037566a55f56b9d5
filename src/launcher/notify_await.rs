//! [`notify_await`](Daemon::notify_await) in the launcher (daemon mode): once the program is
//! executed (and past its `ready_fd` line), the wait for its `READY=1`; its `STATUS=` lines
//! printed meanwhile (and passed on to the service manager, and kept in the status file for
//! `--status`); a `MAINPID=` worker written to the pid file.

use rustix::fd::OwnedFd;
use rustix::process::Pid;

use crate::config::Daemon;
use crate::error::Error;
use crate::launcher::prepare::Prepared;
use crate::message::Message;

impl Daemon<'_> {
    /// Whether the launcher waits for `READY=1` (daemon mode; under respawn the supervisor
    /// does). A test of the configuration itself, inlined, so that a constant configuration
    /// without it folds the wait away.
    #[inline(always)]
    pub(super) fn awaits_notify(&self) -> bool {
        self.notify_await.is_some() && self.respawn.is_none()
    }

    /// [`await_notify_now`](Self::await_notify_now) if the launcher waits for `READY=1`;
    /// else the program `pid` is the daemon.
    #[inline(always)]
    pub(super) fn await_notify(
        &self,
        prep: &Prepared,
        child: Pid,
        pid: u32,
        pidfd: Option<&OwnedFd>,
    ) -> Result<u32, Error> {
        if !self.awaits_notify() {
            return Ok(pid);
        }
        self.await_notify_now(prep, child, pid, pidfd)
    }

    /// With a notification socket, waits for the program `pid` (`pidfd`, if one could be
    /// opened) to send `READY=1`, and returns the daemon's pid: the program's, or the
    /// descendant its `MAINPID=` named (then written to the pid file). If it exits first or
    /// the time runs out, what the start created goes: the program's process group (the
    /// intermediate's pid, `child`, reserved while the group has members) and the program
    /// are killed, and the error is returned. Under [`respawn`](Daemon::respawn) the
    /// supervisor has waited already.
    fn await_notify_now(
        &self,
        prep: &Prepared,
        child: Pid,
        pid: u32,
        pidfd: Option<&OwnedFd>,
    ) -> Result<u32, Error> {
        let Some(socket) = prep.awaited.as_ref() else {
            return Ok(pid);
        };
        let upstream = prep
            .notify
            .as_ref()
            .filter(|_| self.notify_socket.is_some());
        let path = self.exec.map_or(&b""[..], |e| e.path.to_bytes());
        let mut status = |text: &[u8]| {
            let mut m = Message::new();
            m.push_str(self.name)
                .push_str(": ")
                .push_path(path, 256)
                .push_str(": ");
            // Kept for `--status`: the last one before READY=1.
            if let Some(fd) = &prep.status {
                crate::status_file::write(fd, text);
            }
            push_printable(&mut m, text);
            m.write_line(crate::sys::stderr());
            if let Some(up) = upstream {
                crate::notify::status(up, text);
            }
        };
        let timeout = u64::from(self.notify_timeout) * 1000;
        match crate::sd_notify::await_ready(socket, (pid, pidfd), timeout, true, &mut status) {
            Ok((main, _)) => {
                // Whatever followed READY=1 is read (a `BARRIER=1` is answered by closing its
                // descriptor), though nobody is told: the launcher is about to exit.
                let mut buf = [0_u8; 64];
                while crate::sys::recv_with_sender(rustix::fd::AsFd::as_fd(socket), &mut buf)
                    .is_ok()
                {}
                if main != pid {
                    if let Some(fd) = &prep.pid_file {
                        // The worker is the daemon now; the file keeps naming the session.
                        let _ = crate::pidfile::write_pid(fd, main, false);
                        crate::pidfile::record_session(fd, child.as_raw_nonzero().get() as u32);
                    }
                    if let Some(fd) = &prep.status {
                        crate::status_file::touch(fd);
                    }
                }
                Ok(main)
            }
            Err(why) => {
                crate::control::end_start(child, pidfd);
                Err(crate::sd_notify::error(why))
            }
        }
    }
}

/// `text` with each control character shown as `?`: a program's status never drives the
/// terminal.
fn push_printable(m: &mut Message, text: &[u8]) {
    for chunk in text.chunks(64) {
        let mut clean = [0_u8; 64];
        for (c, &b) in clean.iter_mut().zip(chunk) {
            *c = if b < 0x20 || b == 0x7f { b'?' } else { b };
        }
        m.push(clean.get(..chunk.len()).unwrap_or_default());
    }
}
