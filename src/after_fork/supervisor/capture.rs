//! The program's output as the supervisor captures it: one pipe per captured stream, whose
//! write end becomes the program's stdout or stderr (see [`program`](super::program)) and
//! whose read end the supervisor drains, into the log files (its own descriptors 1 and 2,
//! reopened by path on SIGHUP) or line by line into the system log through a
//! [`Delivery`] (with its bounded waits for room in a full queue).
//!
//! Runs in the supervisor. A log file that cannot be written is never waited for: what does
//! not fit is dropped, said once on stderr and counted in the file once a write succeeds.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{CWD, Mode, OFlags};
use rustix::io::Errno;

use crate::after_fork::logger::{Delivery, Lines};
use crate::config::{Daemon, Output, output_path};
use crate::log::Severity;
use crate::message::{Message, write_all};
use crate::path::{Log, open_log};

/// Reads of 4 KiB per capture pipe and turn of the supervisor's loop.
const COPY_ROUNDS: usize = 16;

/// Turns of [`Captures::copy`] at the end: what the program wrote last (up to a few MiB: the
/// pipes hold 64 KiB each unless the program's orphans keep writing).
const LAST_ROUNDS: usize = 64;

/// A pipe that carries the program's stdout or stderr to the supervisor.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// 1 or 2: the program's descriptor, and where the supervisor writes what it reads (its
    /// own descriptor on the log file) unless the output goes to the system log.
    target: i32,
    /// With [`Daemon::log_output`]: the lines read so far.
    lines: Lines,
    /// Bytes that could not be written to the log file since the last write that worked.
    dropped: u64,
}

/// The capture pipes (stdout's, stderr's; `None` for an output left as it is), and where
/// their output goes.
pub(super) struct Captures<'a> {
    pipes: [Option<Pipe>; 2],
    /// With [`Daemon::log_output`]: the system log, for the program's lines and the
    /// supervisor's own messages.
    log: Option<Delivery<'a>>,
    /// stdout and stderr append to the same file: stdout's pipe serves both.
    shared: bool,
}

impl<'a> Captures<'a> {
    /// Creates a pipe for each output `cfg` sends to a log file (one for both if it is the
    /// same file), or for both with [`Daemon::log_output`]. Only the supervisor's end is
    /// non-blocking: the program writes as to any pipe.
    ///
    /// # References
    ///  - [pipe(2)](https://man7.org/linux/man-pages/man2/pipe.2.html)
    ///  - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
    pub(super) fn open(cfg: &Daemon<'a>) -> Result<Self, Errno> {
        let logged = cfg.log_output.is_some();
        let shared = !logged && cfg.same_output_file();
        let mut pipes = [None, None];
        let outputs = [(cfg.stdout, 1), (cfg.stderr, 2)];
        for (slot, (out, target)) in pipes.iter_mut().zip(outputs) {
            if !logged && !matches!(out, Output::Append(_)) || (target == 2 && shared) {
                continue;
            }
            let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
            rustix::fs::fcntl_setfl(&read, OFlags::NONBLOCK)?;
            *slot = Some(Pipe {
                read,
                write,
                target,
                lines: Lines::new(),
                dropped: 0,
            });
        }
        Ok(Captures {
            pipes,
            log: cfg.log_output.map(|out| Delivery::new(out, 0, cfg.name)),
            shared,
        })
    }

    /// Nothing is captured: the program writes where the supervisor's own 1 and 2 go.
    pub(super) fn is_empty(&self) -> bool {
        self.pipes.iter().all(Option::is_none)
    }

    /// The read ends, for `poll`.
    pub(super) fn read_ends(&self) -> impl Iterator<Item = Option<&OwnedFd>> {
        self.pipes.iter().map(|p| p.as_ref().map(|p| &p.read))
    }

    /// The write ends the program takes as its stdout and stderr (`None`: it keeps the
    /// supervisor's own).
    pub(super) fn program_ends(&self) -> [Option<&OwnedFd>; 2] {
        let [out, err] = &self.pipes;
        let out = out.as_ref().map(|p| &p.write);
        let err = err.as_ref().map(|p| &p.write);
        [out, err.or(out.filter(|_| self.shared))]
    }

    /// The program now running is `pid`: its lines in the system log carry it.
    pub(super) fn set_pid(&mut self, pid: u32) {
        if let Some(log) = &mut self.log {
            log.set_pid(pid);
        }
    }

    /// A message of the supervisor's own, into the system log if the output goes there.
    pub(super) fn log_own(&mut self, m: &Message) {
        if let Some(log) = &mut self.log {
            log.send(Severity::Err, m.as_bytes());
        }
    }

    /// Copies whatever the program wrote into the log files, or sends it to the system log
    /// line by line. `line` starts a message of the supervisor's.
    ///
    /// At most [`COPY_ROUNDS`] reads per pipe at a time: a program that writes without pause
    /// must not keep the supervisor from its signals (the rest waits in the pipe for the next
    /// turn of the loop).
    ///
    /// # References
    ///  - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
    pub(super) fn copy(&mut self, line: &dyn Fn() -> Message) {
        let mut buf = [0_u8; 4096];
        for pipe in self.pipes.iter_mut().flatten() {
            for _ in 0..COPY_ROUNDS {
                let data = match rustix::io::read(&pipe.read, &mut buf) {
                    Ok(n) => buf.get(..n).unwrap_or_default(),
                    Err(_) => break,
                };
                if data.is_empty() {
                    break;
                }
                match &mut self.log {
                    Some(log) => {
                        let severity = severity(pipe.target);
                        pipe.lines.feed(data, &mut |l| log.send(severity, l));
                    }
                    None => pipe.write_out(data, line),
                }
            }
        }
    }

    /// At the end: the program's last output copied, its last lines (those without a
    /// newline) sent, and the count of lines the log could not take. (Inlined into its one
    /// caller, [`Supervisor::end`](super::Supervisor::end): the tool is smaller so.)
    #[inline(always)]
    pub(super) fn drain(&mut self, line: &dyn Fn() -> Message) {
        for _ in 0..LAST_ROUNDS {
            self.copy(line);
        }
        if let Some(log) = &mut self.log {
            for pipe in self.pipes.iter_mut().flatten() {
                let severity = severity(pipe.target);
                pipe.lines.finish(&mut |l| log.send(severity, l));
            }
            log.report_dropped();
        }
    }

    /// Opens the log files again by path (after rotation) onto the supervisor's 1 and 2, by
    /// the same rules as the first open ([`open_log`]: no symbolic link or file another user
    /// planted is written), from `origin` (the launcher's working directory) for a relative
    /// path. A log that cannot be opened so keeps the file open until then (the rotated one).
    ///
    /// # References
    ///  - [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
    pub(super) fn reopen(&self, cfg: &Daemon<'_>, origin: Option<&OwnedFd>) {
        if self.log.is_some() {
            return;
        }
        let user = cfg.user.map(crate::Credentials::uid);
        for pipe in self.pipes.iter().flatten() {
            let out = if pipe.target == 1 {
                cfg.stdout
            } else {
                cfg.stderr
            };
            let Some(path) = output_path(out) else {
                continue;
            };
            let start = origin.map_or(CWD, AsFd::as_fd);
            let Ok(Log { fd, .. }) = open_log(start, path, Mode::from(0o640), user) else {
                continue;
            };
            if pipe.target == 1 {
                let _ = rustix::stdio::dup2_stdout(&fd);
                if self.shared {
                    let _ = rustix::stdio::dup2_stderr(&fd);
                }
            } else {
                let _ = rustix::stdio::dup2_stderr(&fd);
            }
        }
    }
}

impl Pipe {
    /// The supervisor's own descriptor this pipe's output is written to (1 or 2).
    fn out(&self) -> BorrowedFd<'static> {
        // SAFETY: 1 and 2 stay open for the supervisor's whole life (dup2 replaces them in
        // place).
        unsafe { BorrowedFd::borrow_raw(self.target) }
    }

    /// Appends `bytes` to the log file (the supervisor's own descriptor 1 or 2). What cannot
    /// be written (a FIFO whose reader is gone, a file at the size limit, a full disk) is
    /// dropped, never waited for: said once on stderr when the writes start failing, and
    /// counted in the log file before the first output that gets through again. `line`
    /// starts a message of the supervisor's.
    ///
    /// SIGPIPE and SIGXFSZ are ignored (see the supervisor's setup): a FIFO without a reader
    /// is `EPIPE`, the file size limit `EFBIG`.
    fn write_out(&mut self, bytes: &[u8], line: &dyn Fn() -> Message) {
        if self.dropped > 0 {
            let mut m = line();
            m.push_str("dropped ")
                .push_u32(self.dropped.min(u64::from(u32::MAX)) as u32)
                .push_str(" bytes of output\n");
            if write_all(self.out(), m.as_bytes()).is_err() {
                self.dropped = self.dropped.saturating_add(bytes.len() as u64);
                return;
            }
            self.dropped = 0;
        }
        if let Err((left, e)) = write_all(self.out(), bytes) {
            self.dropped = left as u64;
            let mut m = line();
            m.push_str(if self.target == 1 {
                "writing stdout: "
            } else {
                "writing stderr: "
            })
            .push_errno(e)
            .push_str("; output is dropped until a write succeeds");
            m.write_line(crate::sys::stderr());
        }
    }
}

/// The system log's severity for the program's `target` descriptor: `info` for stdout, `err`
/// for stderr.
fn severity(target: i32) -> Severity {
    if target == 1 {
        Severity::Info
    } else {
        Severity::Err
    }
}
