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
//! done fails and its line is dropped. The logging process also ignores SIGTERM, SIGINT,
//! SIGQUIT and SIGHUP: a stop of the service (which reaches its whole session) never ends it
//! before PROGRAM's last line; it ends at end-of-file on its pipes.
//!
//! With log files that rotate or stamp their lines ([`Daemon::log_rotation`],
//! [`Daemon::log_timestamps`]), [`start_files`] starts the same logger for the files: it
//! writes each pipe's lines through a [`LogFile`].
//!
//! Processes: [`start`] runs in the daemon and forks the **logger** (the daemon's grandchild
//! by a double fork), which runs [`relay`] until the program's output closes and ends with
//! `_exit`; [`Lines`] and [`Delivery`] run there and in the `-R` supervisor, which reads the
//! pipes itself.
//!
//! [`Daemon::log_output`]: crate::Daemon::log_output
//! [`Daemon::log_rotation`]: crate::Daemon::log_rotation
//! [`Daemon::log_timestamps`]: crate::Daemon::log_timestamps

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use rustix::fs::CWD;
use rustix::io::Errno;

use super::logfile::{LogFile, Rotation, open_dirs};
use crate::config::{Daemon, LogOutput, LogTarget, output_path};
use crate::error::{Error, Step};
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
    let keep = [out_read.as_raw_fd(), err_read.as_raw_fd()];
    // SAFETY: the caller's contract.
    unsafe {
        detached(runtime, devnull, &keep, &mut || {
            let mut delivery = Delivery::new(out, pid, name);
            let mut lines = [Lines::new(), Lines::new()];
            relay([Some(&out_read), Some(&err_read)], &mut |i, data| {
                let severity = if i == 0 {
                    Severity::Info
                } else {
                    Severity::Err
                };
                let mut send = |line: &[u8]| delivery.send(severity, line);
                if let Some(lines) = lines.get_mut(i) {
                    match data {
                        Some(data) => lines.feed(data, &mut send),
                        None => lines.finish(&mut send),
                    }
                }
            });
            delivery.report_dropped();
        })
    }?;
    drop(out_read);
    drop(err_read);
    Ok((out_write, err_write))
}

/// Starts the logging process of the log files that rotate or stamp their lines
/// ([`Daemon::log_files_piped`]), and returns the write ends of its pipes for 1 and 2 (`None`
/// for an output that is not a log file; one pipe for both when they are the same file).
/// `files` are the log files (stdout's, stderr's); with rotation their directories are
/// opened here ([`open_dirs`]), from the working directory, before the root directory
/// changes. Like [`start`]'s, the logger is detached and keeps only the pipes, the files and
/// their directories; the files are its own 1 and 2.
///
/// # Errors
///
/// [`Step::LogDir`] for a directory, [`Step::Logger`] for the pipes and the fork.
///
/// # Safety
///
/// The process has one thread, and `cfg.runtime` matches the process (see [`Runtime`]).
///
/// # References
///  - [pipe(2)](https://man7.org/linux/man-pages/man2/pipe.2.html)
///  - [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
pub(super) unsafe fn start_files<'a>(
    cfg: &Daemon<'a>,
    files: [Option<&OwnedFd>; 2],
    devnull: &OwnedFd,
) -> Result<[Option<OwnedFd>; 2], Error> {
    use rustix::pipe::{PipeFlags, pipe_with};
    let failed = |e| Error::new(Step::Logger, e);
    let dirs = &mut open_dirs(cfg, CWD.as_fd())?;
    let shared = cfg.same_output_file();
    let paths = [output_path(cfg.stdout), output_path(cfg.stderr)];
    let [out_file, err_file] = files;
    let err_file = err_file.or(out_file.filter(|_| shared));
    let mut reads = [None, None];
    let mut writes = [None, None];
    for ((read, write), path) in reads.iter_mut().zip(&mut writes).zip(paths) {
        if path.is_some() {
            let (r, w) = pipe_with(PipeFlags::CLOEXEC).map_err(failed)?;
            *read = Some(r);
            *write = Some(w);
        }
        if shared {
            break;
        }
    }
    let raw = |fd: Option<&OwnedFd>| fd.map_or(-1, AsRawFd::as_raw_fd);
    let [out_read, err_read] = &reads;
    let [out_dir, err_dir] = &*dirs;
    let keep = [
        raw(out_read.as_ref()),
        raw(err_read.as_ref()),
        raw(out_file),
        raw(err_file),
        raw(out_dir.as_ref()),
        raw(err_dir.as_ref()),
    ];
    let rotation = |dir: &mut Option<OwnedFd>, path: Option<&'a core::ffi::CStr>| {
        let ((max, keep), dir) = cfg.log_rotation.zip(dir.take())?;
        let name = crate::path::last_component(path?)?;
        Some(Rotation {
            dir,
            name,
            max,
            keep,
        })
    };
    let [out_path, err_path] = paths;
    let [out_dir, err_dir] = dirs;
    // SAFETY: the caller's contract.
    unsafe {
        detached(cfg.runtime, devnull, &keep, &mut || {
            let on = |file: Option<&OwnedFd>, target| match file {
                Some(fd) => {
                    (target == 1 && rustix::stdio::dup2_stdout(fd).is_ok())
                        || (target == 2 && rustix::stdio::dup2_stderr(fd).is_ok())
                }
                None => false,
            };
            let both = shared && on(out_file, 2);
            let mut logs = [
                on(out_file, 1).then(|| LogFile::new(cfg, 1, both, rotation(out_dir, out_path))),
                on(err_file.filter(|_| !shared), 2)
                    .then(|| LogFile::new(cfg, 2, false, rotation(err_dir, err_path))),
            ];
            let [out_read, err_read] = &reads;
            relay([out_read.as_ref(), err_read.as_ref()], &mut |i, data| {
                if let Some(Some(log)) = logs.get_mut(i) {
                    match data {
                        Some(data) => log.feed(data),
                        None => log.finish(),
                    }
                }
            });
        })
    }
    .map_err(failed)?;
    Ok(writes)
}

/// Forks the logging process, detached by a double fork (the program never sees it as a
/// child), with `devnull` on 0 to 2 and only the descriptors `keep` (-1 for none) open; it
/// runs `body`, then `_exit(0)`.
///
/// # Safety
///
/// The process has one thread, and `runtime` matches the process (see [`Runtime`]).
///
/// # References
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
unsafe fn detached(
    runtime: Runtime,
    devnull: &OwnedFd,
    keep: &[i32],
    body: &mut dyn FnMut(),
) -> Result<(), Errno> {
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
                // A write that cannot be done fails and its line is dropped: no signal ends
                // the logger (sends to sockets never raise SIGPIPE anyway, see `Syslog`).
                sys::raw_sigaction_ignore(sys::SIGPIPE);
                sys::raw_sigaction_ignore(sys::SIGXFSZ);
                // The logger is in PROGRAM's session and process group: a stop (`--stop`'s
                // TERM to the group, a terminal's INT, QUIT, HUP) must not end it while
                // PROGRAM still shuts down and writes; it ends at end-of-file on its pipes,
                // once PROGRAM and everything it started have exited.
                for sig in sys::STOP_SIGNALS {
                    sys::raw_sigaction_ignore(sig);
                }
                // Every other descriptor is closed by number (the caller's are never
                // dropped here: the process ends with `_exit`).
                if quiet.is_ok() && super::fds::close_all_except(&[], keep).is_ok() {
                    body();
                }
            }
            sys::exit(runtime, 0)
        }
        sys::Forked::Parent(child) => {
            let _ = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty());
        }
    }
    Ok(())
}

/// The logging process: reads the pipes until each is at end-of-file, handing `data` what
/// it reads from pipe `i` (stdout's 0, stderr's 1), and `None` at its end.
fn relay(pipes: [Option<&OwnedFd>; 2], data: &mut dyn FnMut(usize, Option<&[u8]>)) {
    let [out, err] = pipes;
    let Some(any) = out.or(err) else { return };
    let mut open = [out.is_some(), err.is_some()];
    let mut buf = [0_u8; 4096];
    while open != [false, false] {
        let flags = |o: bool| if o { PollFlags::IN } else { PollFlags::empty() };
        let [out_open, err_open] = open;
        let mut fds = [
            PollFd::new(out.unwrap_or(any), flags(out_open)),
            PollFd::new(err.unwrap_or(any), flags(err_open)),
        ];
        if let Err(e) = rustix::event::poll(&mut fds, None) {
            if e == Errno::INTR {
                continue;
            }
            return;
        }
        let ready = fds.map(|fd| fd.revents());
        for (i, ((open, fd), ready)) in open.iter_mut().zip([out, err]).zip(ready).enumerate() {
            let Some(fd) = fd.filter(|_| *open && !ready.is_empty()) else {
                continue;
            };
            match rustix::io::retry_on_intr(|| rustix::io::read(fd, &mut buf)) {
                Ok(0) | Err(_) => {
                    *open = false;
                    data(i, None);
                }
                Ok(n) => data(i, Some(buf.get(..n).unwrap_or_default())),
            }
        }
    }
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
