//! The program's output routed to the system log ([`Daemon::log_output`]): its stdout and
//! stderr are pipes, read line by line by a small process beside it (or by the respawn
//! supervisor), each line sent to syslog or `/dev/kmsg`, stdout at `info` and stderr at
//! `err`.
//!
//! Sending never blocks (the syslog client sends with `MSG_DONTWAIT`), so the pipes are always
//! drained and the program is never held up for long; a line that cannot be delivered is
//! counted, and the count is reported in the log as soon as a line gets through again (or at
//! the end), never buffered.
//!
//! When the log daemon's queue is full, a line may wait for room, so that a burst is slowed
//! to the log daemon's pace rather than lost; but all the waiting together is held to a
//! budget of a tenth of the time that passes (at most [`FULL_WAIT_MS`] at once): a log daemon
//! that has stopped reading costs the program at most about 10% of its time (a first 100 ms,
//! then 100 ms per second at most), and its lines are dropped and counted meanwhile.
//!
//! The logging process and the supervisor ignore SIGPIPE and SIGXFSZ: a write that cannot be
//! done fails and its line is dropped.
//!
//! Processes: [`start`] runs in the daemon and forks the **logger** (the daemon's grandchild
//! by a double fork), which runs [`relay`] until the program's output closes and ends with
//! `_exit`; [`Lines`] and [`Delivery`] run there and in the `-R` supervisor, which reads the
//! pipes itself.
//!
//! [`Daemon::log_output`]: crate::Daemon::log_output

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Errno;

use crate::config::{LogOutput, LogTarget};
use crate::log::{Kmsg, Severity, Sink, Syslog};
use crate::message::Message;
use crate::{Runtime, sys};

/// The longest line handed on whole; a longer one is cut there (the log line then ends in
/// `...`) and the rest of it, up to its newline, is dropped.
pub(crate) const LINE_MAX: usize = 1024;

/// The longest a line waits for room in a full log daemon's queue before it is counted
/// lost, and the most waiting the budget holds (see the module).
const FULL_WAIT_MS: u64 = 100;

/// The budget grows by one part for each `BUDGET_SHARE` parts of time that pass.
const BUDGET_SHARE: u64 = 10;

/// Splits a byte stream into lines in a fixed buffer.
pub(crate) struct Lines {
    buf: [u8; LINE_MAX],
    len: usize,
    /// The rest of a line that was cut is being dropped.
    skipping: bool,
}

impl Lines {
    pub(crate) const fn new() -> Self {
        Lines {
            buf: [0; LINE_MAX],
            len: 0,
            skipping: false,
        }
    }

    /// Feeds `data`; `line` gets every complete line (without its newline), and a line that
    /// fills the buffer, cut.
    pub(crate) fn feed(&mut self, data: &[u8], line: &mut dyn FnMut(&[u8])) {
        for &b in data {
            if b == b'\n' {
                if !self.skipping {
                    line(self.text());
                }
                self.len = 0;
                self.skipping = false;
            } else if self.skipping {
            } else if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            } else {
                line(&self.buf);
                self.len = 0;
                self.skipping = true;
            }
        }
    }

    /// At end-of-file: a last line without a newline.
    pub(crate) fn finish(&mut self, line: &mut dyn FnMut(&[u8])) {
        if self.len > 0 && !self.skipping {
            line(self.text());
        }
        self.len = 0;
        self.skipping = false;
    }

    /// The line so far.
    fn text(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// A log sink and the count of lines it could not take.
pub(crate) struct Delivery<'a> {
    sink: Sink<'a>,
    dropped: u32,
    name: &'a str,
    /// How long lines may still wait for room, in nanoseconds (see the module).
    budget: u64,
    /// The monotonic time (nanoseconds) up to which the budget has been refilled.
    refilled: u64,
}

impl<'a> Delivery<'a> {
    /// The sink `out` describes, for lines of process `pid`; nothing is opened yet.
    pub(crate) fn new(out: LogOutput<'a>, pid: u32, name: &'a str) -> Self {
        let sink = match out.target {
            LogTarget::Syslog(path) => {
                Sink::Syslog(Syslog::new(out.tag, out.facility, pid).path(path))
            }
            LogTarget::Kmsg => Sink::Kmsg(Kmsg::new(out.tag, out.facility, pid)),
        };
        Delivery {
            sink,
            dropped: 0,
            name,
            // The first refill fills it.
            budget: 0,
            refilled: 0,
        }
    }

    /// The pid in the lines from now on (the respawn supervisor's new program).
    pub(crate) fn set_pid(&mut self, pid: u32) {
        self.sink.set_pid(pid);
    }

    /// Sends one line; first, if lines were lost, how many.
    pub(crate) fn send(&mut self, severity: Severity, line: &[u8]) {
        if !self.report_dropped() || self.try_send(severity, line).is_err() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// One send; if the log daemon's queue is full, one more after waiting for room as long
    /// as the budget allows (so a burst is slowed to the log daemon's pace rather than lost,
    /// while a log daemon that stopped reading holds the program up for at most a tenth of
    /// the time).
    fn try_send(&mut self, severity: Severity, line: &[u8]) -> Result<(), Errno> {
        let first = self.sink.send(severity, line);
        if first != Err(Errno::AGAIN) {
            return first;
        }
        let wait = self.allowance();
        let Sink::Syslog(s) = &self.sink else {
            return first;
        };
        let Some(fd) = s.fd().filter(|_| wait > 0) else {
            return first;
        };
        let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: wait as i64,
        };
        let before = sys::monotonic_nanos();
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        self.budget = self
            .budget
            .saturating_sub(sys::monotonic_nanos().saturating_sub(before));
        self.sink.send(severity, line)
    }

    /// The budget refilled for the time passed since the last refill (a tenth of it, up to
    /// [`FULL_WAIT_MS`]): how long the next line may wait, in nanoseconds.
    fn allowance(&mut self) -> u64 {
        const CAP: u64 = FULL_WAIT_MS * 1_000_000;
        let now = sys::monotonic_nanos();
        let earned = now.saturating_sub(self.refilled) / BUDGET_SHARE;
        // What a division leaves over counts at the next refill.
        self.refilled = self.refilled.saturating_add(earned * BUDGET_SHARE);
        self.budget = self.budget.saturating_add(earned).min(CAP);
        self.budget
    }

    /// Reports lines lost so far; `false` if the report itself could not be sent.
    pub(crate) fn report_dropped(&mut self) -> bool {
        if self.dropped == 0 {
            return true;
        }
        let dropped = self.dropped;
        let mut m = Message::new();
        m.push_str(self.name)
            .push_str(": ")
            .push_u32(self.dropped)
            .push_str(if self.dropped == 1 {
                " line could not be delivered to the log"
            } else {
                " lines could not be delivered to the log"
            });
        if self.try_send(Severity::Warning, m.as_bytes()).is_ok() {
            self.dropped -= dropped;
            true
        } else {
            false
        }
    }
}

/// Starts the logging process for a program about to be executed as `pid`, and returns the
/// write ends of its two pipes (stdout's, stderr's) for 1 and 2. The logger is detached by a
/// double fork (the program never sees it as a child) and keeps only the pipes' read ends,
/// with `devnull` on 0 to 2: it holds no lock, no readiness channel and none of the
/// launcher's descriptors, and it ends when the program's output closes (the program and
/// everything it started have exited or closed it).
///
/// # Safety
///
/// The process has one thread, and `runtime` matches the process (see [`Runtime`]).
///
/// # References
///  - [pipe(2)](https://man7.org/linux/man-pages/man2/pipe.2.html)
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
pub(super) unsafe fn start(
    runtime: Runtime,
    out: LogOutput<'_>,
    pid: u32,
    name: &str,
    devnull: &OwnedFd,
) -> Result<(OwnedFd, OwnedFd), Errno> {
    use rustix::pipe::{PipeFlags, pipe_with};
    let (out_read, out_write) = pipe_with(PipeFlags::CLOEXEC)?;
    let (err_read, err_write) = pipe_with(PipeFlags::CLOEXEC)?;
    // SAFETY: the caller's contract.
    match unsafe { sys::fork(runtime) }? {
        sys::Forked::Child => {
            let _guard = super::ExitOnUnwind::arm(runtime);
            // SAFETY: still one thread.
            if let Ok(sys::Forked::Child) = unsafe { sys::fork(runtime) } {
                // Not the launcher's terminal or pipes: whoever waits for their end must not
                // wait for the logger.
                let quiet = rustix::stdio::dup2_stdin(devnull)
                    .and_then(|()| rustix::stdio::dup2_stdout(devnull))
                    .and_then(|()| rustix::stdio::dup2_stderr(devnull));
                let keep = [out_read.as_raw_fd(), err_read.as_raw_fd()];
                // A write that cannot be done fails and its line is dropped: no signal ends
                // the logger (sends to sockets never raise SIGPIPE anyway, see `Syslog`).
                sys::raw_sigaction_ignore(sys::SIGPIPE);
                sys::raw_sigaction_ignore(sys::SIGXFSZ);
                if quiet.is_ok() && super::fds::close_all_except(&[], &keep).is_ok() {
                    // The write ends were closed with the rest, by number.
                    let _ = rustix::fd::IntoRawFd::into_raw_fd(out_write);
                    let _ = rustix::fd::IntoRawFd::into_raw_fd(err_write);
                    relay(&out_read, &err_read, &mut Delivery::new(out, pid, name));
                }
            }
            sys::exit(runtime, 0)
        }
        sys::Forked::Parent(child) => {
            let _ = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty());
        }
    }
    drop(out_read);
    drop(err_read);
    Ok((out_write, err_write))
}

/// The logging process: reads both pipes until both are at end-of-file.
fn relay(out: &OwnedFd, err: &OwnedFd, delivery: &mut Delivery<'_>) {
    let mut lines = [Lines::new(), Lines::new()];
    let mut open = [true, true];
    let mut buf = [0_u8; 4096];
    while open != [false, false] {
        let flags = |o: bool| if o { PollFlags::IN } else { PollFlags::empty() };
        let [out_open, err_open] = open;
        let mut fds = [
            PollFd::new(out, flags(out_open)),
            PollFd::new(err, flags(err_open)),
        ];
        if let Err(e) = rustix::event::poll(&mut fds, None) {
            if e == Errno::INTR {
                continue;
            }
            return;
        }
        let [out_ready, err_ready] = fds.map(|fd| fd.revents());
        let streams = [
            (out, out_ready, Severity::Info),
            (err, err_ready, Severity::Err),
        ];
        for ((open, lines), (fd, ready, severity)) in open.iter_mut().zip(&mut lines).zip(streams) {
            if !*open || ready.is_empty() {
                continue;
            }
            let mut send = |line: &[u8]| delivery.send(severity, line);
            match rustix::io::retry_on_intr(|| rustix::io::read(fd, &mut buf)) {
                Ok(0) | Err(_) => {
                    *open = false;
                    lines.finish(&mut send);
                }
                Ok(n) => lines.feed(buf.get(..n).unwrap_or_default(), &mut send),
            }
        }
    }
    delivery.report_dropped();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lines = Lines::new();
        let mut seen = Vec::new();
        for chunk in chunks {
            lines.feed(chunk, &mut |l| seen.push(l.to_vec()));
        }
        lines.finish(&mut |l| seen.push(l.to_vec()));
        seen
    }

    #[test]
    fn lines_across_chunks() {
        assert_eq!(
            split(&[b"a\nb", b"c\n", b"\nd"]),
            [&b"a"[..], b"bc", b"", b"d"]
        );
        assert_eq!(split(&[b""]), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn long_lines_are_cut_once() {
        let long = [b'x'; LINE_MAX + 500];
        let seen = split(&[&long, b"\nnext\n"]);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].len(), LINE_MAX);
        assert_eq!(seen[1], b"next");
    }
}
