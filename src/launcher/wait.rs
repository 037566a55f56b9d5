//! **The launcher after its fork**: it reaps the intermediate, reads the daemon's record on
//! the readiness channel (and the program's readiness line, with `ready_fd`), tells the
//! service manager, and on a failure removes what the start created.

use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::{Pid, WaitOptions};

use crate::config::Daemon;
use crate::error::{Detail, Error, Step};
use crate::launcher::Detached;
use crate::launcher::prepare::Prepared;
use crate::ready::{RECORD_LEN, Record};
use crate::sys;

/// Reaps the intermediate child `child`, then reads the daemon's record.
///
/// With `to_eof`, it first reads on to end-of-file, so the daemon has closed its end (or
/// exec'd, or exited after a failure) before this returns. Not with manual readiness: there
/// the program's own code runs before it reports, and any process it forked meanwhile holds
/// a copy of the channel until it exits.
///
/// With `ack` (the program reports its own readiness), it opens a pidfd of the daemon when
/// the Exec record arrives, while the daemon waits for the go-ahead and so is certainly the
/// process with that pid, and returns it.
///
/// Returns the daemon's pid, or the error the daemon (or the intermediate) reported;
/// [`Step::NotReady`] if the channel closed with no record.
///
/// # References
///  - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
///  - [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
#[inline]
pub(crate) fn read_verdict(
    channel: &OwnedFd,
    child: Pid,
    to_eof: bool,
    ack: bool,
) -> Result<(u32, Option<OwnedFd>), Error> {
    // The intermediate exits right after the second fork (or after reporting its failure):
    // reaped first, it is no zombie while the daemon gets ready (which, with manual
    // readiness, takes as long as the program's initialization). ECHILD: SIGCHLD is ignored
    // and the kernel reaped it already.
    while let Err(Errno::INTR) = rustix::process::waitpid(Some(child), WaitOptions::empty()) {}
    let mut pidfd = None;
    let outcome = match read_record(channel) {
        Ok(Some(Record::Ready(pid))) if !to_eof => Ok(pid),
        Ok(Some(Record::Failed(e))) if !to_eof => Err(e),
        Ok(Some(Record::Ready(pid))) => read_record(channel).map(|_| pid),
        // After Exec, end-of-file is success and a second record is the exec's failure.
        Ok(Some(Record::Exec(pid))) => {
            if ack {
                pidfd = Pid::from_raw(pid as i32).and_then(|p| {
                    rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
                });
                crate::ready::ack(channel);
            }
            match read_record(channel) {
                Ok(Some(Record::Failed(e))) => finish(channel, e),
                Ok(_) => Ok(pid),
                Err(e) => Err(e),
            }
        }
        Ok(Some(Record::Failed(e))) => finish(channel, e),
        Ok(None) => Err(Error::without_errno(Step::NotReady, Detail::None)),
        Err(e) => Err(e),
    };
    outcome.map(|pid| (pid, pidfd))
}

/// After a failure record: wait until the failed process has closed the channel (it exits right
/// after writing), so nothing of the attempt is left running when the caller returns.
fn finish(channel: &OwnedFd, e: Error) -> Result<u32, Error> {
    while let Ok(Some(_)) = read_record(channel) {}
    Err(e)
}

/// One record, or `None` at end-of-file (a torn or unknown record counts as end-of-file).
///
/// A failed read is tried again a few times before it counts: the daemon may be running, and
/// a launcher that gives up on it cannot stop it (a reset connection reads as end-of-file
/// the next time).
fn read_record(channel: &OwnedFd) -> Result<Option<Record>, Error> {
    let mut buf = [0_u8; RECORD_LEN];
    let mut len = 0;
    let mut failures = 0;
    while len < RECORD_LEN {
        match rustix::io::read(channel, buf.get_mut(len..).unwrap_or_default()) {
            Ok(0) => return Ok(None),
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(_) if failures < READ_RETRIES => failures += 1,
            Err(e) => return Err(Error::new(Step::ReadChannel, e)),
        }
    }
    Ok(Record::decode(buf))
}

/// How many failed reads [`read_record`] tries again.
const READ_RETRIES: usize = 3;

impl Daemon<'_> {
    /// The original process after the fork: the daemon's verdict (and with a
    /// [`ready_fd`](Daemon::ready_fd) the program's), the service manager told, and cleanup on
    /// failure. Each option's part is behind a test of the configuration itself, so that a
    /// constant configuration without it folds it away. Always inlined: besides `run`,
    /// [`shared`](super::shared)'s `resume` calls it, and a second caller must not make it a
    /// function of its own, which no constant configuration reaches.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn wait(
        &self,
        mut prep: Prepared,
        child: rustix::process::Pid,
        exit: bool,
    ) -> Result<Detached, Error> {
        let Some((channel, daemon_end)) = prep.channel.take() else {
            return Err(Error::new(Step::Socketpair, rustix::io::Errno::BADF));
        };
        // Our copies of the daemon's ends must go, or end-of-file never comes.
        drop(daemon_end);
        let program_ready = match self.ready_fd {
            Some(_) => prep.ready.take().map(|(read, write)| {
                drop(write);
                read
            }),
            None => None,
        };
        let probes = self.launcher_probes();
        // The pidfd notices the program's exit while the launcher waits for its line, its
        // READY=1 (notify-await) or its readiness checks.
        let ack = program_ready.is_some() || self.awaits_notify() || probes.is_some();
        let outcome =
            read_verdict(&channel, child, !self.manual_ready, ack).and_then(|(pid, pidfd)| {
                match &program_ready {
                    Some(line) if !crate::ready::wait_line(line, pidfd.as_ref()) => {
                        // The program closed its end, or exited (what it started may hold
                        // the descriptor still): if it still runs, it is not left
                        // behind, nor is what it started (its process group is the
                        // intermediate's pid, which stays reserved while the group has
                        // members).
                        let _ = rustix::process::kill_process_group(
                            child,
                            rustix::process::Signal::KILL,
                        );
                        if let Some(pidfd) = pidfd {
                            crate::control::kill(&pidfd);
                        }
                        let fd = self.ready_fd.unwrap_or(-1);
                        Err(Error::without_errno(Step::ReadyFd, Detail::Fd(fd)))
                    }
                    // After the line if there is one: READY=1 (--notify-await), then the
                    // readiness checks (--ready-when).
                    _ => self
                        .await_notify(&prep, child, pid, pidfd.as_ref())
                        .and_then(|pid| {
                            super::probes::probe_program(probes, child, pidfd.as_ref())
                                .map(|()| pid)
                        }),
                }
            });
        match outcome {
            Ok(pid) => {
                if let (Some(_), Some(socket)) = (self.notify_socket, &prep.notify) {
                    crate::notify::ready(socket, pid);
                }
                if exit {
                    sys::exit(self.runtime, 0);
                }
                Ok(Detached::Parent {
                    pid: rustix::process::Pid::from_raw(pid as i32)
                        .ok_or(Error::without_errno(Step::NotReady, Detail::None))?,
                })
            }
            Err(e) => {
                if e.step() == Step::ReadChannel {
                    // The daemon's fate is unknown and so may be its pid, but not its process
                    // group: the intermediate's pid, which stays reserved while the group
                    // has members.
                    let _ =
                        rustix::process::kill_process_group(child, rustix::process::Signal::KILL);
                }
                Err(self.abandon(prep, e))
            }
        }
    }

    /// The original process's cleanup after a failed start: the pid file goes if this start
    /// created it or the failed daemon had written it; every prepared descriptor closes.
    #[inline]
    pub(super) fn abandon(&self, prep: Prepared, e: Error) -> Error {
        prep.created.remove(self, None, e.step());
        e
    }
}
