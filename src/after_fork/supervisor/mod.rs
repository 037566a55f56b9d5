//! Respawn mode: the daemon stays as a small supervisor that starts the program as its child,
//! restarts it when it exits abnormally (with a growing delay, at most N times per period),
//! forwards signals to it, reaps every zombie, optionally copies the program's output into the
//! log files (reopened on SIGHUP), and removes the pid file when it ends.
//!
//! Still after the fork, so still only raw system calls on prepared descriptors and stack
//! data. Signals are blocked and read from a `signalfd`: no handler ever runs.

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{CWD, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions};

mod policy;

use super::logger::{Delivery, Lines};
use crate::config::{Daemon, Exec, Output, output_path};
use crate::error::{Detail, Error, Step};
use crate::log::Severity;
use crate::message::Message;
use crate::path::{FileId, Log, open_log};
use crate::ready::{self, Ready, Record};
use crate::sys;
use policy::{Next, Restarts};

/// Reads of 4 KiB per capture pipe and turn of the supervisor's loop.
const COPY_ROUNDS: usize = 16;

const fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// The signals the supervisor handles (through the signalfd): the program's end, and those it
/// forwards.
const HANDLED: u64 = bit(libc_sig::CHLD)
    | bit(libc_sig::TERM)
    | bit(libc_sig::INT)
    | bit(libc_sig::QUIT)
    | bit(libc_sig::HUP)
    | bit(libc_sig::USR1)
    | bit(libc_sig::USR2);

/// The order in which pending signals are handled: CHLD first (an exit and a TERM together
/// must see the child gone).
const ORDER: [i32; 7] = [
    libc_sig::CHLD,
    libc_sig::TERM,
    libc_sig::INT,
    libc_sig::QUIT,
    libc_sig::HUP,
    libc_sig::USR1,
    libc_sig::USR2,
];

/// The signals that stop the supervisor.
const STOPS: u64 = bit(libc_sig::TERM) | bit(libc_sig::INT) | bit(libc_sig::QUIT);

/// How often, at most, [`Supervisor::end`] kills the children left and reaps them, 10 ms
/// apart: what is not gone after 5 s (a process stuck in the kernel) is left to init.
const END_ROUNDS: usize = 500;

/// Signal numbers, the same on every Linux architecture this crate supports.
mod libc_sig {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const QUIT: i32 = 3;
    pub const USR1: i32 = 10;
    pub const USR2: i32 = 12;
    pub const TERM: i32 = 15;
    pub const CHLD: i32 = 17;
}

/// A pipe that carries the program's stdout or stderr to the supervisor.
struct Capture {
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

impl Capture {
    /// Appends `bytes` to the log file (the supervisor's own descriptor 1 or 2). What cannot
    /// be written (a FIFO whose reader is gone, a file at the size limit, a full disk) is
    /// dropped, never waited for: said once on stderr when the writes start failing, and
    /// counted in the log file before the first output that gets through again. `line`
    /// starts a message of the supervisor's.
    fn write_out(&mut self, bytes: &[u8], line: &dyn Fn() -> Message) {
        if self.dropped > 0 {
            let mut m = line();
            m.push_str("dropped ")
                .push_u32(self.dropped.min(u64::from(u32::MAX)) as u32)
                .push_str(" bytes of output\n");
            if write_all(self.target, m.as_bytes()).is_err() {
                self.dropped = self.dropped.saturating_add(bytes.len() as u64);
                return;
            }
            self.dropped = 0;
        }
        if let Err((left, e)) = write_all(self.target, bytes) {
            self.dropped = left as u64;
            let mut m = line();
            m.push_str(if self.target == 1 {
                "writing stdout: "
            } else {
                "writing stderr: "
            })
            .push_errno(e)
            .push_str("; output is dropped until a write succeeds");
            m.write_line(sys::stderr());
        }
    }
}

struct Supervisor<'c, 'a> {
    cfg: &'c Daemon<'a>,
    /// With [`Daemon::log_output`]: the system log, for the program's lines and the
    /// supervisor's own messages.
    log: Option<Delivery<'a>>,
    exec: Exec<'a>,
    signals: OwnedFd,
    captures: [Option<Capture>; 2],
    /// The launcher's working directory, for relative pid file and log paths.
    origin: Option<&'c OwnedFd>,
    /// The locked pid file's identity: removed only while its path still names it.
    pid_file: FileId,
    /// The [`chroot`](Daemon::chroot) directory, entered by the program only.
    root: Option<&'c OwnedFd>,
    /// The supervisor's own pid (the program's parent).
    me: Pid,
    /// The process group of the last program started (its pid): stopped as a whole.
    group: Option<Pid>,
    /// Signals 32 to 34 to reset before `execve` (see `finish`).
    reserved: u64,
}

/// Supervises the program until it ends for good: returns only if the **first** start fails,
/// with the error to report; otherwise the process exits.
pub(super) fn run(
    cfg: &Daemon<'_>,
    ready: &mut Ready,
    (origin, pid_file): (Option<&OwnedFd>, FileId),
    root: Option<&OwnedFd>,
    reserved: u64,
) -> Error {
    let Some(exec) = cfg.exec else {
        return Error::new(Step::Config, Errno::INVAL);
    };
    let mut sup = match setup(cfg, exec, origin, root, reserved) {
        Ok(sup) => sup,
        Err(e) => return e,
    };
    sup.pid_file = pid_file;
    let me = ready.pid.as_raw_nonzero().get() as u32;
    let mut child = match sup.spawn() {
        Ok(pid) => pid,
        Err(e) => {
            // The pid file names this process, which is about to exit.
            sup.remove_pid_file();
            return e;
        }
    };
    // Started: the launcher (or the service manager) hears it, and the channel closes.
    if let Some(pipe) = ready.pipe.take() {
        if let Err(e) = ready::send(&pipe, Record::Ready(me)) {
            if !ready::launcher_gone(e) {
                // The launcher will report a failed start: the program must not stay.
                let _ = child.map(|pid| rustix::process::kill_process(pid, Signal::KILL));
                sup.end(1);
            }
        }
    }
    if let Some(socket) = ready.notify.take() {
        crate::notify::ready(&socket, me);
    }
    let (max, period) = cfg.respawn.unwrap_or((0, 0));
    let mut restarts = Restarts::new(max, period, sys::monotonic_ms());
    let mut stopping = false;
    // When the next start is due, while the program is not running.
    let mut next_start: Option<u64> = None;
    loop {
        let timeout = next_start.map(|at| {
            let ms = at.saturating_sub(sys::monotonic_ms());
            Timespec {
                tv_sec: (ms / 1000) as i64,
                tv_nsec: ((ms % 1000) * 1_000_000) as i64,
            }
        });
        sup.wait(timeout.as_ref());
        // Output first: a program's last words come before the supervisor's report of its end.
        sup.copy_output();
        let pending = sup.pending();
        // A stop that arrives with the program's end (the stop signalled both) is a stop:
        // no restart is announced.
        stopping |= pending & STOPS != 0;
        for sig in ORDER.into_iter().filter(|&sig| pending & bit(sig) != 0) {
            match sig {
                libc_sig::CHLD => {
                    let Some(status) = reap(child) else { continue };
                    child = None;
                    if stopping || status.exit_status() == Some(0) {
                        sup.end(0);
                    }
                    next_start = Some(sup.after_failure(&mut restarts, Some(status)));
                }
                libc_sig::TERM | libc_sig::INT | libc_sig::QUIT => match child {
                    Some(pid) => {
                        // The whole group: what the program started stops with it; and
                        // every other child, such as what earlier runs left behind.
                        forward_group(pid, sig);
                        each_child(sup.me, &mut |other| {
                            if other != pid {
                                forward(other, sig);
                            }
                        });
                    }
                    None => sup.end(0),
                },
                _ => {
                    if sig == libc_sig::HUP {
                        sup.reopen_logs();
                    }
                    if let Some(pid) =
                        child.filter(|&pid| sig != libc_sig::HUP || sup.hup_reaches(pid))
                    {
                        forward(pid, sig);
                    }
                }
            }
        }
        sup.copy_output();
        if child.is_none() && next_start.is_some_and(|at| sys::monotonic_ms() >= at) {
            restarts.started(sys::monotonic_ms());
            match sup.spawn() {
                Ok(pid) => {
                    child = pid;
                    next_start = None;
                }
                Err(e) => {
                    sup.say_error(&e);
                    next_start = Some(sup.after_failure(&mut restarts, None));
                }
            }
        }
    }
}

/// Blocks the handled signals, opens the signalfd, becomes a child subreaper, creates the
/// capture pipes.
fn setup<'c, 'a>(
    cfg: &'c Daemon<'a>,
    exec: Exec<'a>,
    origin: Option<&'c OwnedFd>,
    root: Option<&'c OwnedFd>,
    reserved: u64,
) -> Result<Supervisor<'c, 'a>, Error> {
    let failed = |detail| move |e| Error::with_detail(Step::Respawn, e, detail);
    sys::block(HANDLED).map_err(failed(Detail::Signalfd))?;
    let signals = sys::signalfd(HANDLED).map_err(failed(Detail::Signalfd))?;
    // A log that is a FIFO whose reader is gone, or a log at the file size limit: the write
    // fails (EPIPE, EFBIG) and the output is dropped, instead of the signal killing the
    // supervisor and, with it, the program. `program` resets both before `execve`.
    sys::raw_sigaction_ignore(sys::SIGPIPE);
    sys::raw_sigaction_ignore(sys::SIGXFSZ);
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(failed(Detail::Subreaper))?;
    let mut captures = [None, None];
    let logged = cfg.log_output.is_some();
    let same = !logged && same_file(cfg);
    for (i, out) in [cfg.stdout, cfg.stderr].into_iter().enumerate() {
        if !logged && !matches!(out, Output::Append(_)) || (i == 1 && same) {
            continue;
        }
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(failed(Detail::Pipes))?;
        // Only the supervisor's end is non-blocking: the program writes as to any pipe.
        rustix::fs::fcntl_setfl(&read, OFlags::NONBLOCK).map_err(failed(Detail::Pipes))?;
        captures[i] = Some(Capture {
            read,
            write,
            target: i as i32 + 1,
            lines: Lines::new(),
            dropped: 0,
        });
    }
    Ok(Supervisor {
        cfg,
        log: cfg.log_output.map(|out| Delivery::new(out, 0, cfg.name)),
        exec,
        signals,
        captures,
        origin,
        pid_file: FileId::default(),
        root,
        me: rustix::process::getpid(),
        group: None,
        reserved,
    })
}

/// stdout and stderr append to the same file: one capture pipe serves both.
fn same_file(cfg: &Daemon<'_>) -> bool {
    matches!((cfg.stdout, cfg.stderr), (Output::Append(a), Output::Append(b)) if a == b)
}

impl Supervisor<'_, '_> {
    /// Starts the program: the child's steps, reported back through a close-on-exec pipe
    /// that sees end-of-file when `execve` succeeds, or the failed step's [`Error`].
    fn spawn(&mut self) -> Result<Option<Pid>, Error> {
        let pid = self.fork_program()?;
        if let Some(pid) = pid {
            self.group = Some(pid);
            if let Some(log) = &mut self.log {
                log.set_pid(pid.as_raw_nonzero().get() as u32);
            }
        }
        Ok(pid)
    }

    /// [`spawn`](Self::spawn) itself.
    fn fork_program(&self) -> Result<Option<Pid>, Error> {
        let (status_read, status_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| Error::new(Step::Respawn, e))?;
        // SAFETY: this process has one thread; the runtime is the application's.
        match unsafe { sys::fork(self.cfg.runtime) } {
            Err(e) => Err(Error::new(Step::Fork, e)),
            Ok(sys::Forked::Child) => {
                let _guard = super::ExitOnUnwind::arm(self.cfg.runtime);
                drop(status_read);
                let e = self.program();
                let _ = rustix::io::write(&status_write, &e.to_bytes());
                sys::exit(
                    self.cfg.runtime,
                    if e.step() == Step::Exec { 127 } else { 1 },
                )
            }
            Ok(sys::Forked::Parent(pid)) => {
                drop(status_write);
                let mut buf = [0_u8; crate::error::WIRE_LEN];
                let n = rustix::io::retry_on_intr(|| rustix::io::read(&status_read, &mut buf))
                    .unwrap_or(0);
                match Error::from_bytes(buf).filter(|_| n == buf.len()) {
                    None => Ok(Some(pid)),
                    Some(e) => {
                        // Reaped here, so that no CHLD counts it as a run that ended.
                        let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
                        Err(e)
                    }
                }
            }
        }
    }

    /// In the program's process: unblock signals, stdio onto the capture pipes, root,
    /// directory, user, then `execve`. Returns the error that stopped it.
    fn program(&self) -> Error {
        if let Err(e) = sys::raw_unblock_all() {
            return Error::new(Step::Sigprocmask, e);
        }
        for capture in self.captures.iter().flatten() {
            let r = match capture.target {
                1 => rustix::stdio::dup2_stdout(&capture.write),
                _ => rustix::stdio::dup2_stderr(&capture.write),
            };
            if let Err(e) = r {
                return Error::with_detail(Step::Dup2, e, Detail::Fd(capture.target));
            }
        }
        if self.log.is_none() && same_file(self.cfg) {
            if let Some(capture) = &self.captures[0] {
                if let Err(e) = rustix::stdio::dup2_stderr(&capture.write) {
                    return Error::with_detail(Step::Dup2, e, Detail::Fd(2));
                }
            }
        }
        // Its own process group, which the supervisor stops as a whole: what the program
        // starts ends with it.
        if let Err(e) = rustix::process::setpgid(None, None) {
            return Error::with_detail(Step::Respawn, e, Detail::ProcessGroup);
        }
        if let Some(root) = self.root {
            if let Err(e) = super::daemon::enter_root(root, self.cfg.chdir) {
                return e;
            }
        }
        if let Some(user) = self.cfg.user {
            if let Err(e) = super::daemon::privileges::drop_to(user) {
                return e;
            }
        }
        // After the drop, which clears it: if the supervisor dies (even by SIGKILL), so does
        // the program, and `--stop` never leaves it behind. A supervisor that died before
        // this call is seen as a new parent.
        if let Err(e) = rustix::process::set_parent_process_death_signal(Some(Signal::KILL)) {
            return Error::with_detail(Step::Respawn, e, Detail::ParentDeath);
        }
        if rustix::process::getppid() != Some(self.me) {
            sys::exit(self.cfg.runtime, 1);
        }
        for sig in 32..=34 {
            if self.reserved & bit(sig) != 0 {
                sys::raw_sigaction_default(sig);
            }
        }
        // Ignored by the supervisor (see `setup`); an ignored signal would stay ignored
        // across `execve`.
        sys::raw_sigaction_default(sys::SIGPIPE);
        sys::raw_sigaction_default(sys::SIGXFSZ);
        // SAFETY: `prepare` checked that both vectors are null-terminated; the caller of
        // `start`/`detach` guaranteed that their strings are valid.
        let errno = unsafe { super::exec::run(&self.exec) };
        Error::new(Step::Exec, errno)
    }

    /// Waits for a signal or output, or until `timeout`.
    fn wait(&self, timeout: Option<&Timespec>) {
        let mut fds = [
            PollFd::new(&self.signals, PollFlags::IN),
            PollFd::new(&self.signals, PollFlags::empty()),
            PollFd::new(&self.signals, PollFlags::empty()),
        ];
        for (slot, capture) in fds[1..].iter_mut().zip(&self.captures) {
            if let Some(c) = capture {
                *slot = PollFd::new(&c.read, PollFlags::IN);
            }
        }
        let _ = rustix::event::poll(&mut fds, timeout);
    }

    /// The signals waiting in the signalfd, as a set (signal `n` is bit `n - 1`).
    fn pending(&self) -> u64 {
        let mut seen = 0_u64;
        let mut buf = [0_u8; 128 * 8];
        while let Ok(n) = rustix::io::read(&self.signals, &mut buf) {
            if n == 0 {
                break;
            }
            for record in buf[..n].chunks_exact(128) {
                let signo = u32::from_ne_bytes([record[0], record[1], record[2], record[3]]);
                if (1..=64).contains(&signo) {
                    seen |= bit(signo as i32);
                }
            }
        }
        seen
    }

    /// Whether a HUP goes on to the program `pid`. While the supervisor captures its output
    /// (log files or the system log) a HUP is the supervisor's: it reopens the logs
    /// (logrotate's `postrotate kill -HUP`), and is forwarded only to a program that catches
    /// or ignores SIGHUP (`SigCgt`/`SigIgn` of its `/proc/PID/status`; the program is this
    /// process's unreaped child, so its pid names no other process), never to one it would
    /// kill. Without capture, or if the status cannot be read, it is forwarded.
    fn hup_reaches(&self, pid: Pid) -> bool {
        if self.captures.iter().all(Option::is_none) {
            return true;
        }
        crate::procfs::read_status_of(pid.as_raw_nonzero().get() as u32)
            .is_none_or(|s| (s.caught | s.ignored) & bit(libc_sig::HUP) != 0)
    }

    /// Copies whatever the program wrote into the log files, or sends it to the system log
    /// line by line.
    ///
    /// At most [`COPY_ROUNDS`] reads per pipe at a time: a program that writes without pause
    /// must not keep the supervisor from its signals (the rest waits in the pipe for the next
    /// turn of the loop).
    fn copy_output(&mut self) {
        let mut buf = [0_u8; 4096];
        for capture in self.captures.iter_mut().flatten() {
            for _ in 0..COPY_ROUNDS {
                let n = match rustix::io::read(&capture.read, &mut buf) {
                    Ok(n) if n > 0 => n,
                    _ => break,
                };
                match &mut self.log {
                    Some(log) => {
                        let severity = if capture.target == 1 {
                            Severity::Info
                        } else {
                            Severity::Err
                        };
                        capture
                            .lines
                            .feed(&buf[..n], &mut |line| log.send(severity, line));
                    }
                    None => capture.write_out(&buf[..n], &|| line(self.cfg, self.exec)),
                }
            }
        }
    }

    /// Opens the log files again by path (after rotation) onto the supervisor's 1 and 2, by
    /// the same rules as the first open ([`open_log`](crate::path::open_log): no symbolic
    /// link or file another user planted is written). A log that cannot be opened so keeps
    /// the file open until then (the rotated one).
    fn reopen_logs(&self) {
        if self.log.is_some() {
            return;
        }
        let user = self.cfg.user.map(crate::Credentials::uid);
        for capture in self.captures.iter().flatten() {
            let out = if capture.target == 1 {
                self.cfg.stdout
            } else {
                self.cfg.stderr
            };
            let Some(path) = output_path(out) else {
                continue;
            };
            let start = self.origin.map_or(CWD, AsFd::as_fd);
            let Ok(Log { fd, .. }) = open_log(start, path, Mode::from(0o640), user) else {
                continue;
            };
            if capture.target == 1 {
                let _ = rustix::stdio::dup2_stdout(&fd);
                if self.captures[1].is_none()
                    && matches!((self.cfg.stdout, self.cfg.stderr), (Output::Append(a), Output::Append(b)) if a == b)
                {
                    let _ = rustix::stdio::dup2_stderr(&fd);
                }
            } else {
                let _ = rustix::stdio::dup2_stderr(&fd);
            }
        }
    }

    /// After an abnormal end (`status`) or a start that failed (`None`, already reported):
    /// says so and returns when the next start is due, or gives up.
    fn after_failure(
        &mut self,
        r: &mut Restarts,
        status: Option<rustix::process::WaitStatus>,
    ) -> u64 {
        let next = r.failed(sys::monotonic_ms());
        if let Some(status) = status {
            let delay = match next {
                Next::Restart { delay, .. } => Some(delay),
                Next::GiveUp { .. } => None,
            };
            self.report_exit(status, delay);
        }
        match next {
            Next::Restart { at, .. } => at,
            Next::GiveUp { count } => self.give_up(count, self.cfg.respawn.map_or(0, |r| r.1)),
        }
    }

    /// `NAME: respawn PROGRAM: exited with status N` (or killed by signal N), and the delay.
    fn report_exit(&mut self, status: rustix::process::WaitStatus, delay: Option<u64>) {
        let mut m = self.line();
        match (status.exit_status(), status.terminating_signal()) {
            (Some(code), _) => m.push_str("exited with status ").push_u32(code as u32),
            (_, Some(sig)) => m.push_str("killed by signal ").push_u32(sig as u32),
            _ => m.push_str("ended"),
        };
        if let Some(ms) = delay {
            m.push_str("; restarting in ")
                .push_u32(ms as u32)
                .push_str(" ms");
        }
        self.say(m);
    }

    /// A message of the supervisor's own: on its stderr, and in the system log if the
    /// program's output goes there.
    fn say(&mut self, m: Message) {
        if let Some(log) = &mut self.log {
            log.send(Severity::Err, m.as_bytes());
        }
        m.write_line(sys::stderr());
    }

    /// Too many restarts: says so and ends with status 1.
    fn give_up(&mut self, restarts: u32, period: u32) -> ! {
        let mut m = self.line();
        m.push_str("exited ")
            .push_u32(restarts)
            .push_str(" times within ")
            .push_u32(period)
            .push_str(" s; giving up");
        self.say(m);
        self.end(1)
    }

    fn say_error(&mut self, e: &Error) {
        self.say(self.cfg.message(e));
    }

    fn line(&self) -> Message {
        line(self.cfg, self.exec)
    }

    /// Ends supervision: the program's last output copied, the pid file removed (the lock
    /// is still held, so the path is still this daemon's), exit with `code`.
    fn end(&mut self, code: i32) -> ! {
        // What the program wrote last (up to a few MiB: the pipes hold 64 KiB each unless the
        // program's orphans keep writing).
        for _ in 0..64 {
            self.copy_output();
        }
        for capture in self.captures.iter_mut().flatten() {
            if let Some(log) = &mut self.log {
                let severity = if capture.target == 1 {
                    Severity::Info
                } else {
                    Severity::Err
                };
                capture.lines.finish(&mut |line| log.send(severity, line));
            }
        }
        if let Some(log) = &mut self.log {
            log.report_dropped();
        }
        // Whatever the program left behind goes with the supervisor: every child (what earlier
        // runs left, re-parented to this subreaper), round after round, so that what they
        // leave is re-parented here and goes too. Not the program's group by its id: once the
        // program is reaped, that id may be another process's.
        end_children(self.me);
        self.remove_pid_file();
        sys::exit(self.cfg.runtime, code)
    }

    /// Removes the pid file if its path still names the file this supervisor locked (not
    /// another instance's, put there after this one's was removed).
    fn remove_pid_file(&self) {
        if let Some(path) = self.cfg.pid_file {
            let start = self.origin.map_or(CWD, AsFd::as_fd);
            crate::path::unlink_if(start, path, self.pid_file);
        }
    }
}

/// SIGKILL to every child of this subreaper, and every one reaped, round after round (an
/// orphan of a killed child becomes a child in turn) until none is left (`ECHILD`), for at
/// most [`END_ROUNDS`]. Killed by pid without a race: a child's pid is not reused before it
/// is reaped, here.
///
/// # References
///  - [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
fn end_children(me: Pid) {
    for _ in 0..END_ROUNDS {
        each_child(me, &mut |pid| {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        });
        loop {
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return, // ECHILD: none left
            }
        }
        let _ = rustix::thread::nanosleep(&Timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        });
    }
}

/// Calls `f` with every child of process `me` (zombies too), found in `/proc/PID/stat`.
///
/// # References
///  - [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)
fn each_child(me: Pid, f: &mut dyn FnMut(Pid)) {
    let Ok(proc) = sys::open(
        c"/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let mut entries = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut dir = rustix::fs::RawDir::new(&proc, &mut entries);
    while let Some(Ok(entry)) = dir.next() {
        let Some(pid) = crate::decimal::parse_pid(entry.file_name().to_bytes()) else {
            continue;
        };
        if crate::service::parent_of(pid) == Some(me.as_raw_nonzero().get() as u32) {
            if let Some(pid) = Pid::from_raw(pid as i32) {
                f(pid);
            }
        }
    }
}

/// Waits for `child` without blocking; its status once it has ended. Every other zombie (an
/// orphan re-parented to this subreaper) is reaped on the way.
fn reap(child: Option<Pid>) -> Option<rustix::process::WaitStatus> {
    let mut ended = None;
    while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
        if Some(pid) == child {
            ended = Some(status);
        }
    }
    ended
}

/// `sig` to the process group `pgid` (the program and what it started).
fn forward_group(pgid: Pid, sig: i32) {
    if let Some(sig) = Signal::from_named_raw(sig) {
        let _ = rustix::process::kill_process_group(pgid, sig);
    }
}

fn forward(pid: Pid, sig: i32) {
    if let Some(sig) = Signal::from_named_raw(sig) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// `NAME: respawn PROGRAM: `, the start of the supervisor's messages.
fn line(cfg: &Daemon<'_>, exec: Exec<'_>) -> Message {
    let mut m = Message::new();
    m.push_str(cfg.name)
        .push_str(": respawn ")
        .push_path(exec.path.to_bytes(), 256)
        .push_str(": ");
    m
}

/// Writes all of `bytes` to descriptor `fd` (1 or 2); on an error, how many bytes were left
/// unwritten and why. SIGPIPE and SIGXFSZ are ignored (see `setup`): a FIFO without a
/// reader is `EPIPE`, the file size limit `EFBIG`.
///
/// # References
///  - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), (usize, Errno)> {
    // SAFETY: 1 and 2 stay open for the supervisor's whole life (dup2 replaces them in place).
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
    while !bytes.is_empty() {
        match rustix::io::retry_on_intr(|| rustix::io::write(fd.as_fd(), bytes)) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
            Ok(_) => return Err((bytes.len(), Errno::IO)),
            Err(e) => return Err((bytes.len(), e)),
        }
    }
    Ok(())
}
