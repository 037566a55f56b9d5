//! The two entry points: the recipe in order, and nothing else.

use crate::child;
use crate::config::Daemon;
use crate::error::{Error, Step};
use crate::prepare::{self, Prepared};
use crate::ready::Ready;
use crate::sys::{self, Forked};

/// Where [`Daemon::detach`] returns.
#[derive(Debug)]
pub enum Detached {
    /// In the original process, once the daemon is ready (or has exec'd).
    Parent {
        /// The daemon's pid.
        pid: rustix::process::Pid,
    },
    /// In the daemon, after every step.
    Daemon(Ready),
}

impl Daemon<'_> {
    /// Daemonizes; the original process **exits** (status 0 once the daemon is ready, or 1
    /// with a one-line message on stderr naming the failed step), and only the daemon returns.
    ///
    /// The original process ends with `_exit`: flush your own buffered output first. An exec
    /// failure (see [`Exec`](crate::Exec)) exits 127 for `ENOENT` and 126 otherwise. In
    /// foreground mode this process is the daemon: it returns, or exits 1 with the message.
    ///
    /// # Safety
    ///
    /// - **No other thread runs** in the process. After `fork` only the calling thread exists
    ///   in the child, and any lock another thread held (the allocator's, stdout's) stays held
    ///   forever. The start checks `/proc/self/status` and refuses with [`Step::Threads`]
    ///   unless told not to, but the check cannot see threads started concurrently.
    /// - The [`Runtime`](crate::Runtime) matches the process: `Libc` whenever a C library is
    ///   linked.
    /// - With [`Exec`](crate::Exec), every non-null pointer in its `argv` and `envp` points to a
    ///   NUL-terminated string.
    ///
    /// # References
    ///  - [daemon(7)](https://man7.org/linux/man-pages/man7/daemon.7.html)
    #[inline]
    pub unsafe fn start(&self) -> Ready {
        // SAFETY: the caller upholds detach's contract, which is this function's.
        match unsafe { self.run(true) } {
            Ok(Detached::Daemon(ready)) => ready,
            Ok(Detached::Parent { .. }) => sys::exit(self.runtime, 0),
            Err(e) => {
                self.message(&e).write_line(sys::stderr());
                sys::exit(self.runtime, exit_code(&e))
            }
        }
    }

    /// Daemonizes and returns the outcome in both processes instead of exiting: the original
    /// gets [`Detached::Parent`] or the [`Error`] of the failed step (reported by the daemon
    /// through the readiness channel), the daemon gets [`Detached::Daemon`]. A failing daemon
    /// never returns: it reports and exits.
    ///
    /// # Safety
    ///
    /// As for [`start`](Self::start).
    #[inline]
    pub unsafe fn detach(&self) -> Result<Detached, Error> {
        // SAFETY: the caller upholds this function's contract.
        unsafe { self.run(false) }
    }

    /// [`detach`](Self::detach), or with `exit` the original process ends with status 0 as
    /// soon as the daemon is ready, without closing anything first (the exit does).
    ///
    /// # Safety
    ///
    /// As for [`start`](Self::start).
    // `#[inline]` here and on the one-call steps below it (prepare, open_rest, open_log,
    // child::daemon, steps, finish, stdio): a program calls this once, usually with a
    // constant configuration, and inlined the branches it never takes fold away (the musl
    // example went from 17,736 to 16,064 bytes).
    #[inline]
    unsafe fn run(&self, exit: bool) -> Result<Detached, Error> {
        let prep = prepare::prepare(self)?;
        if !self.foreground {
            // SAFETY: the caller guarantees one thread and the right runtime.
            match unsafe { sys::fork(self.runtime) } {
                Err(e) => return Err(self.abandon(prep, Error::new(Step::Fork, e))),
                Ok(Forked::Parent(child)) => return self.wait(prep, child, exit),
                // SAFETY: as above; returns only in the daemon.
                Ok(Forked::Child) => unsafe { child::intermediate(self.runtime, &prep) },
            }
        }
        // The one call of the daemon's steps (so that the compiler can fold a constant
        // configuration into them).
        child::daemon(self, prep).map(Detached::Daemon)
    }

    /// The original process after the fork: the daemon's verdict (and with a
    /// [`ready_fd`](Daemon::ready_fd) the program's), the service manager told, and cleanup on
    /// failure. Each option's part is behind a test of the configuration itself, so that a
    /// constant configuration without it folds it away.
    #[inline]
    fn wait(
        &self,
        mut prep: Prepared,
        child: rustix::process::Pid,
        exit: bool,
    ) -> Result<Detached, Error> {
        let Some((channel, daemon_end)) = prep.pipe.take() else {
            return Err(Error::new(Step::Pipe, rustix::io::Errno::BADF));
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
        let outcome =
            crate::parent::wait(&channel, child, !self.manual_ready, program_ready.is_some())
                .and_then(|(pid, pidfd)| match &program_ready {
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
                        let fd = self.ready_fd.unwrap_or(-1) as u32;
                        Err(Error::without_errno(Step::ReadyFd, fd))
                    }
                    _ => Ok(pid),
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
                        .ok_or(Error::without_errno(Step::NotReady, 0))?,
                })
            }
            Err(e) => {
                if e.step() == Step::ReadPipe {
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
    fn abandon(&self, prep: Prepared, e: Error) -> Error {
        prep.created.remove(self, None, e.step());
        e
    }
}

/// The exit status of a failed start: 127 and 126 for exec failures as shells use them.
pub fn exit_code(e: &Error) -> i32 {
    match (e.step(), e.errno()) {
        (Step::Exec, Some(rustix::io::Errno::NOENT)) => 127,
        (Step::Exec, _) => 126,
        _ => 1,
    }
}
