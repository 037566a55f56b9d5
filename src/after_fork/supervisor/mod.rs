//! **The `-R` supervisor** ([`Daemon::respawn`]). The daemon process becomes it once its own
//! steps are done (in place of `execve`). It forks PROGRAM for each run ([`program`]),
//! captures PROGRAM's output ([`capture`]), forwards signals to it, reaps every zombie (it is
//! a child subreaper, [`children`]), restarts PROGRAM after an abnormal end as the
//! [`policy`] allows, and ends everything on TERM, INT or QUIT.
//!
//! It ends with `_exit`: 0 once PROGRAM exits with status 0 or after a stop, 1 when the policy
//! gives up; each time after PROGRAM's last output is copied, every child is killed and
//! reaped, and the pid file is removed. It returns (to the daemon's code, which reports the
//! error) only if the **first** start fails.
//!
//! The rules of [`after_fork`](crate::after_fork) hold: it calls rustix and
//! `sys` on prepared descriptors and stack data, and the leaf helpers that keep
//! the same rules (messages, the system log through a `Delivery`, `/proc` reads, the safe
//! path walk for the log reopen and the pid file's removal); no allocation, lock or panic.
//! Signals are blocked and read from a `signalfd` ([`signals`]): no handler ever runs.
//!
//! # The run loop
//!
//! One turn: wait (`poll`) for a signal or output, or until a restart is due; copy the output;
//! handle the pending signals in a fixed order, CHLD first; copy the output again; start
//! PROGRAM if a restart is due. The output is copied, and CHLD reaps every zombie, in every
//! state; "PROGRAM exited" is PROGRAM's own end. Like s6-supervise's `actions[state][event]`,
//! each cell is one arm of [`Supervisor::step`]:
//!
//! | state \ event   | PROGRAM exited | TERM, INT, QUIT | HUP | USR1, USR2 | restart due | watchdog expired |
//! |-----------------|----------------|-----------------|-----|------------|-------------|------------------|
//! | `Running(pid)`  | status 0, or a stop signal came with the end: `Done(0)`; else the policy: `Backoff(at)`, or `Done(1)` past the limit | to PROGRAM's group and every other child: `Stopping(pid)` | logs reopened; forwarded, unless the output is captured and PROGRAM leaves HUP at its default | forwarded | — | said; SIGKILL to PROGRAM's group (its end then restarts it): `Running(pid)` |
//! | `Stopping(pid)` | `Done(0)` | forwarded again | as in `Running` | forwarded | — | — |
//! | `Backoff(at)`   | — | `Done(0)` | logs reopened | — | started: `Running(pid)`; the start failed: the policy, as for an exit | — |
//! | `Done(code)`    | the loop ends: output drained, children killed, pid file removed, `_exit(code)` | | | | | |
//!
//! A stop waits for PROGRAM's end with no deadline of its own: whoever stops the service
//! bounds it (`--stop` sends SIGKILL after its timeout, and PROGRAM dies with the supervisor).
//!
//! [`Daemon::respawn`]: crate::Daemon::respawn

mod capture;
mod children;
mod notify;
mod policy;
mod program;
mod ready_when;
mod signals;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::CWD;
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};

use crate::config::{Daemon, Exec};
use crate::error::{Detail, Error, Step};
use crate::message::Message;
use crate::path::FileId;
use crate::ready::{self, Ready, Record};
use crate::sys;
use capture::Captures;
use policy::{Next, Restarts};
use signals::{ORDER, STOPS, bit, nr};

/// Where the supervisor is (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// PROGRAM runs.
    Running(Pid),
    /// PROGRAM runs and was sent a stop: its end ends supervision.
    Stopping(Pid),
    /// PROGRAM is not running; its next start is due at this time (monotonic, ms).
    Backoff(u64),
    /// Supervision is over; the supervisor exits with this status.
    Done(i32),
}

impl State {
    /// PROGRAM, while it runs.
    fn program(self) -> Option<Pid> {
        match self {
            State::Running(pid) | State::Stopping(pid) => Some(pid),
            State::Backoff(_) | State::Done(_) => None,
        }
    }
}

/// What the supervisor reacts to (besides output, which it copies in every state).
#[derive(Clone, Copy, Debug)]
enum Event {
    /// PROGRAM was reaped with this status; `stop`: a stop signal was pending with it.
    Exited { status: WaitStatus, stop: bool },
    /// TERM, INT or QUIT.
    Stop(i32),
    /// HUP.
    Hup,
    /// USR1 or USR2, for PROGRAM.
    Forward(i32),
    /// The time of [`State::Backoff`] has come.
    Due,
    /// No `WATCHDOG=1` came from the running program in time ([`Daemon::watchdog`]).
    Watchdog,
}

/// What the supervisor holds for all of PROGRAM's runs.
struct Supervisor<'c, 'a> {
    cfg: &'c Daemon<'a>,
    exec: Exec<'a>,
    /// The handled signals, blocked, read here.
    signals: OwnedFd,
    /// PROGRAM's captured output, and the system log if it goes there.
    output: Captures<'a>,
    /// The launcher's working directory, for relative pid file and log paths.
    origin: Option<&'c OwnedFd>,
    /// The locked pid file's identity: removed only while its path still names it.
    pid_file: FileId,
    /// The [`chroot`](Daemon::chroot) directory, entered by the program only.
    root: Option<&'c OwnedFd>,
    /// [`notify_await`](Daemon::notify_await)'s socket, kept for every run.
    awaited: Option<&'c OwnedFd>,
    /// notify-await's status file (with a pid file): every run's `STATUS=` kept there.
    status: Option<&'c OwnedFd>,
    /// [`watchdog`](Daemon::watchdog)'s deadline for the running program.
    dog: notify::Watchdog,
    /// The service manager's socket, in foreground mode.
    upstream: Option<OwnedFd>,
    /// The supervisor's own pid (the program's parent).
    me: Pid,
    /// Signals 32 to 34 to reset before `execve` (see [`program`]).
    reserved: u64,
}

/// Supervises the program until it ends for good: returns only if the **first** start fails,
/// with the error to report; otherwise the process exits. (Never inlined: the supervisor's
/// buffers stay off the stack of a start without `-R`, which must fit in a small stack
/// limit.)
#[inline(never)]
pub(super) fn run(
    cfg: &Daemon<'_>,
    ready: &mut Ready,
    (origin, pid_file): (Option<&OwnedFd>, FileId),
    (root, awaited, status): (Option<&OwnedFd>, Option<&OwnedFd>, Option<&OwnedFd>),
    reserved: u64,
) -> Error {
    // The rotating logs' directories, from the launcher's view (relative paths from its
    // working directory), as the files were opened; here, before the supervisor's frame
    // takes its room on the stack (the path walk has its own large buffers).
    let origin_fd = origin.map_or(CWD, AsFd::as_fd);
    match crate::after_fork::logfile::open_dirs(cfg, origin_fd) {
        Ok(log_dirs) => supervise(
            cfg,
            ready,
            (origin, pid_file),
            (root, awaited, status),
            reserved,
            log_dirs,
        ),
        Err(e) => e,
    }
}

/// [`run`] with the rotating logs' directories.
#[inline(never)]
fn supervise(
    cfg: &Daemon<'_>,
    ready: &mut Ready,
    (origin, pid_file): (Option<&OwnedFd>, FileId),
    (root, awaited, status): (Option<&OwnedFd>, Option<&OwnedFd>, Option<&OwnedFd>),
    reserved: u64,
    log_dirs: [Option<OwnedFd>; 2],
) -> Error {
    let Some(exec) = cfg.exec else {
        return Error::new(Step::Config, Errno::INVAL);
    };
    let mut sup = match setup(
        cfg,
        exec,
        (origin, pid_file),
        (root, awaited, status),
        reserved,
        log_dirs,
    ) {
        Ok(sup) => sup,
        Err(e) => return e,
    };
    let me = ready.pid.as_raw_nonzero().get() as u32;
    let program = match sup.spawn() {
        Ok(pid) => pid,
        Err(e) => {
            // The pid file names this process, which is about to exit.
            sup.remove_pid_file();
            return e;
        }
    };
    // notify-await: started means READY=1; then the readiness checks (--ready-when), before
    // the start is reported.
    if let Err(e) = sup
        .first_ready(program, ready.notify.as_ref())
        .and_then(|()| sup.probe(program))
    {
        return e;
    }
    // Started: the launcher (or the service manager) hears it, and the channel closes.
    let launcher = ready.channel.is_some();
    if let Some(channel) = ready.channel.take() {
        if let Err(e) = ready::send(&channel, Record::Ready(me)) {
            if !ready::launcher_gone(e) {
                // The launcher will report a failed start: the program must not stay.
                let _ = rustix::process::kill_process(program, Signal::KILL);
                sup.end(1);
            }
        }
    }
    // The service manager: told now (by the launcher in daemon mode), and told what PROGRAM
    // says later.
    sup.upstream = ready.notify.take();
    if let Some(socket) = sup.upstream.as_ref().filter(|_| !launcher) {
        crate::notify::ready(socket, me);
    }
    let (max, period) = cfg.respawn.unwrap_or((0, 0));
    let mut restarts = Restarts::new(max, period, sys::monotonic_ms());
    let code = sup.supervise(State::Running(program), &mut restarts);
    sup.end(code)
}

/// Blocks the handled signals, opens the signalfd, ignores SIGPIPE and SIGXFSZ, becomes a
/// child subreaper, creates the capture pipes.
///
/// # References
///  - [PR_SET_CHILD_SUBREAPER](https://man7.org/linux/man-pages/man2/prctl.2.html)
fn setup<'c, 'a>(
    cfg: &'c Daemon<'a>,
    exec: Exec<'a>,
    (origin, pid_file): (Option<&'c OwnedFd>, FileId),
    (root, awaited, status): (
        Option<&'c OwnedFd>,
        Option<&'c OwnedFd>,
        Option<&'c OwnedFd>,
    ),
    reserved: u64,
    log_dirs: [Option<OwnedFd>; 2],
) -> Result<Supervisor<'c, 'a>, Error> {
    let failed = |detail| move |e| Error::with_detail(Step::Respawn, e, detail);
    sys::block(signals::HANDLED).map_err(failed(Detail::Signalfd))?;
    let signals = sys::signalfd(signals::HANDLED).map_err(failed(Detail::Signalfd))?;
    // A log that is a FIFO whose reader is gone, or a log at the file size limit: the write
    // fails (EPIPE, EFBIG) and the output is dropped, instead of the signal killing the
    // supervisor and, with it, the program. `program` resets both before `execve`.
    sys::raw_sigaction_ignore(sys::SIGPIPE);
    sys::raw_sigaction_ignore(sys::SIGXFSZ);
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(failed(Detail::Subreaper))?;
    let output = Captures::open(cfg, log_dirs).map_err(failed(Detail::Pipes))?;
    Ok(Supervisor {
        cfg,
        exec,
        signals,
        output,
        origin,
        pid_file,
        root,
        awaited,
        status,
        dog: notify::Watchdog::default(),
        upstream: None,
        me: rustix::process::getpid(),
        reserved,
    })
}

impl Supervisor<'_, '_> {
    /// The run loop, from `state` until [`State::Done`]: its exit status.
    fn supervise(&mut self, mut state: State, restarts: &mut Restarts) -> i32 {
        loop {
            self.arm_watchdog(state);
            self.wait(match state {
                State::Backoff(at) => Some(at),
                _ => self.dog.due(),
            });
            // Output first: a program's last words come before the supervisor's report of
            // its end.
            self.copy_output();
            self.notifications(state);
            let pending = signals::pending(&self.signals);
            // A stop that arrives with the program's end (the stop signalled both) is a stop:
            // no restart is announced.
            let stop = pending & STOPS != 0;
            for sig in ORDER.into_iter().filter(|&sig| pending & bit(sig) != 0) {
                let event = match sig {
                    nr::CHLD => match children::reap(state.program()) {
                        Some(status) => Event::Exited { status, stop },
                        None => continue,
                    },
                    nr::TERM | nr::INT | nr::QUIT => Event::Stop(sig),
                    nr::HUP => Event::Hup,
                    _ => Event::Forward(sig),
                };
                state = self.step(state, event, restarts);
                if let State::Done(code) = state {
                    return code;
                }
            }
            self.copy_output();
            if let State::Backoff(at) = state {
                if sys::monotonic_ms() >= at {
                    state = self.step(state, Event::Due, restarts);
                }
            }
            if self.dog.due().is_some_and(|at| sys::monotonic_ms() >= at) {
                state = self.step(state, Event::Watchdog, restarts);
            }
        }
    }

    /// One transition: the module's table, cell by cell.
    ///
    /// Inlined at its two calls: where the event is known (a restart due) only its arms stay,
    /// which keeps the tool smaller than one shared copy.
    #[inline(always)]
    fn step(&mut self, state: State, event: Event, restarts: &mut Restarts) -> State {
        use {Event::*, State::*};
        match (state, event) {
            (Running(_), Exited { status, stop }) if stop || status.exit_status() == Some(0) => {
                Done(0)
            }
            (Running(_), Exited { status, .. }) => self.failed(restarts, Some(status)),
            (Stopping(_), Exited { .. }) => Done(0),
            (Running(pid) | Stopping(pid), Stop(sig)) => {
                children::stop(self.me, pid, sig);
                Stopping(pid)
            }
            (Backoff(_), Stop(_)) => Done(0),
            (_, Hup) => {
                self.output.reopen(self.cfg, self.origin);
                if let Some(pid) = state.program().filter(|&pid| self.hup_reaches(pid)) {
                    children::forward(pid, nr::HUP);
                }
                state
            }
            (Running(pid) | Stopping(pid), Forward(sig)) => {
                children::forward(pid, sig);
                state
            }
            (Backoff(_), Due) => self.restart(restarts),
            (Running(pid), Watchdog) => {
                self.watchdog_expired(pid);
                state
            }
            // No PROGRAM to signal, no start due, or already done.
            (Backoff(_), Exited { .. } | Forward(_))
            | (Running(_) | Stopping(_), Due)
            | (Stopping(_) | Backoff(_), Watchdog)
            | (Done(_), _) => state,
        }
    }

    /// A restart: PROGRAM started again, or its failed start reported and counted.
    fn restart(&mut self, restarts: &mut Restarts) -> State {
        restarts.started(sys::monotonic_ms());
        match self.spawn() {
            Ok(pid) => State::Running(pid),
            Err(e) => {
                self.say(self.cfg.message(&e));
                self.failed(restarts, None)
            }
        }
    }

    /// After an abnormal end (`status`) or a start that failed (`None`, already reported):
    /// says so, and what the policy says: wait until the next start, or give up.
    fn failed(&mut self, restarts: &mut Restarts, status: Option<WaitStatus>) -> State {
        let next = restarts.failed(sys::monotonic_ms());
        if let Some(status) = status {
            let delay = match next {
                Next::Restart { delay, .. } => Some(delay),
                Next::GiveUp { .. } => None,
            };
            self.report_exit(status, delay);
        }
        match next {
            Next::Restart { at, .. } => State::Backoff(at),
            Next::GiveUp { count } => {
                self.give_up(count);
                State::Done(1)
            }
        }
    }

    /// Starts the program: the child's steps, reported back through a close-on-exec pipe
    /// that sees end-of-file when `execve` succeeds, or the failed step's [`Error`].
    ///
    /// # References
    ///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
    ///  - [pipe(2)](https://man7.org/linux/man-pages/man2/pipe.2.html)
    fn spawn(&mut self) -> Result<Pid, Error> {
        let (status_read, status_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| Error::new(Step::Respawn, e))?;
        // SAFETY: this process has one thread; the runtime is the application's.
        match unsafe { sys::fork(self.cfg.runtime) } {
            Err(e) => Err(Error::new(Step::Fork, e)),
            Ok(sys::Forked::Child) => {
                drop(status_read);
                program::run(self, status_write)
            }
            Ok(sys::Forked::Parent(pid)) => {
                drop(status_write);
                let mut buf = [0_u8; crate::error::WIRE_LEN];
                let n = rustix::io::retry_on_intr(|| rustix::io::read(&status_read, &mut buf))
                    .unwrap_or(0);
                match Error::from_bytes(buf).filter(|_| n == buf.len()) {
                    None => {
                        self.output.set_pid(pid.as_raw_nonzero().get() as u32);
                        Ok(pid)
                    }
                    Some(e) => {
                        // Reaped here, so that no CHLD counts it as a run that ended.
                        let _ = rustix::process::waitpid(Some(pid), WaitOptions::empty());
                        Err(e)
                    }
                }
            }
        }
    }

    /// Waits for a signal or output, or until `deadline` (monotonic, ms).
    ///
    /// # References
    ///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
    fn wait(&self, deadline: Option<u64>) {
        let timeout = deadline.map(|at| {
            let ms = at.saturating_sub(sys::monotonic_ms());
            Timespec {
                tv_sec: (ms / 1000) as i64,
                tv_nsec: ((ms % 1000) * 1_000_000) as i64,
            }
        });
        let mut fds = [
            PollFd::new(&self.signals, PollFlags::IN),
            PollFd::new(&self.signals, PollFlags::empty()),
            PollFd::new(&self.signals, PollFlags::empty()),
            PollFd::new(self.awaited.unwrap_or(&self.signals), PollFlags::IN),
        ];
        for (slot, read) in fds.iter_mut().skip(1).zip(self.output.read_ends()) {
            if let Some(fd) = read {
                *slot = PollFd::new(fd, PollFlags::IN);
            }
        }
        let _ = rustix::event::poll(&mut fds, timeout.as_ref());
    }

    /// Whether a HUP goes on to the program `pid`. While the supervisor captures its output
    /// (log files or the system log) a HUP is the supervisor's: it reopens the logs
    /// (logrotate's `postrotate kill -HUP`), and is forwarded only to a program that catches
    /// or ignores SIGHUP (`SigCgt`/`SigIgn` of its `/proc/PID/status`; the program is this
    /// process's unreaped child, so its pid names no other process), never to one it would
    /// kill. Without capture, or if the status cannot be read, it is forwarded.
    fn hup_reaches(&self, pid: Pid) -> bool {
        if self.output.is_empty() {
            return true;
        }
        crate::procfs::read_status_of(pid.as_raw_nonzero().get() as u32)
            .is_none_or(|s| (s.caught | s.ignored) & bit(nr::HUP) != 0)
    }

    /// See [`Captures::copy`].
    fn copy_output(&mut self) {
        let (cfg, exec) = (self.cfg, self.exec);
        self.output.copy(&|| line(cfg, exec));
    }

    /// `NAME: respawn PROGRAM: exited with status N` (or killed by signal N), and the delay.
    fn report_exit(&mut self, status: WaitStatus, delay: Option<u64>) {
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

    /// Too many restarts (`count` within the period): says so.
    fn give_up(&mut self, count: u32) {
        let period = self.cfg.respawn.map_or(0, |(_, period)| period);
        let mut m = self.line();
        m.push_str("exited ")
            .push_u32(count)
            .push_str(" times within ")
            .push_u32(period)
            .push_str(" s; giving up");
        self.say(m);
    }

    /// A message of the supervisor's own: on its stderr, and in the system log if the
    /// program's output goes there.
    fn say(&mut self, m: Message) {
        self.output.log_own(&m);
        m.write_line(sys::stderr());
    }

    /// See [`line()`]. (Inlined: smaller than the call.)
    #[inline(always)]
    fn line(&self) -> Message {
        line(self.cfg, self.exec)
    }

    /// Ends supervision: the program's last output copied, every child killed and reaped,
    /// the pid file removed (the lock is still held, so the path is still this daemon's),
    /// exit with `code`.
    fn end(&mut self, code: i32) -> ! {
        let (cfg, exec) = (self.cfg, self.exec);
        self.output.drain(&|| line(cfg, exec));
        // Whatever the program left behind goes with the supervisor: every child (what
        // earlier runs left, re-parented to this subreaper), round after round, so that what
        // they leave is re-parented here and goes too.
        children::end_all(self.me);
        self.remove_pid_file();
        sys::exit(self.cfg.runtime, code)
    }

    /// Removes the pid file if its path still names the file this supervisor locked (not
    /// another instance's, put there after this one's was removed).
    fn remove_pid_file(&self) {
        if let Some(path) = self.cfg.pid_file {
            let start = self.origin.map_or(CWD, AsFd::as_fd);
            crate::path::unlink_if(start, path, self.pid_file);
            if let Some(id) = self
                .status
                .and_then(|fd| crate::path::FileId::of_fd(fd).ok())
            {
                crate::status_file::remove(start, path, id);
            }
        }
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
