//! **The launcher**: the process that calls [`Daemon::start`] or [`Daemon::detach`] (the
//! `rawdaemon` tool, or the application). It opens everything the steps need
//! ([`prepare`]), forks the intermediate (see [`after_fork`] for who forks whom), then waits
//! for the daemon's verdict ([`wait`]). In foreground mode it forks nothing and runs the
//! daemon's steps itself.

mod limits;
mod notify_await;
pub(crate) mod prepare;
mod probes;
mod rotation;
pub(crate) mod shared;
mod wait;

use crate::after_fork;
use crate::config::Daemon;
use crate::error::{Error, Step};
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
    /// - With [`Runtime::NoLibc`](crate::Runtime::NoLibc) and an [`Exec`](crate::Exec): what
    ///   the next section asks.
    ///
    /// # The start that copies nothing
    ///
    /// With [`Runtime::NoLibc`](crate::Runtime::NoLibc), an [`Exec`](crate::Exec), and nothing
    /// that keeps rawdaemon's code running after the fork or makes the daemon wait for this
    /// process (no [`respawn`](Self::respawn), [`ready_fd`](Self::ready_fd),
    /// [`notify_await`](Self::notify_await), [`ready_when`](Self::ready_when),
    /// [`log_output`](Self::log_output), rotating or time-stamped log files, no foreground
    /// mode) and no [`user`](Self::user) to change to, `start` makes the intermediate and the
    /// daemon by `clone(CLONE_VM | CLONE_VFORK)`: no memory is copied, not even the page
    /// tables. Where that clone fails (`EINVAL` from an emulator or a seccomp filter that
    /// takes `CLONE_VM` without `CLONE_THREAD` for a thread, or any other error), it forks, as
    /// [`detach`](Self::detach) always does; qemu-user 7.2 makes a plain fork of the clone
    /// itself, which works as well.
    ///
    /// - **The stack**: each child runs on this thread's stack, in the caller's own frames,
    ///   exactly where a forked child would (so it needs no more stack than after a fork, and
    ///   the daemon's steps are the same code), while this process is suspended. This process
    ///   never returns into those frames: once the intermediate has exited (right after the
    ///   daemon's `execve` or its failure, or killed), it reads the daemon's verdict and exits
    ///   on a static stack of its own, which no child uses.
    /// - **Signals to this process**: from the clone until the daemon's `execve` it waits in
    ///   the kernel with every signal blocked: SIGTERM or Ctrl-C take effect once the daemon
    ///   has exec'd (or failed), SIGKILL at once. A daemon that changes user never takes this
    ///   path, so no other user can hold it there (by stopping the daemon).
    /// - **Memory**: the children share this process's memory until the daemon's `execve`.
    ///   They make only raw system calls, on their own stack data and on what the
    ///   configuration points to, which they only read, except the
    ///   [`ListenPid`](crate::ListenPid) slot, which the daemon fills in this process's memory
    ///   too. Nothing the configuration points to may change meanwhile (no other thread: see
    ///   above).
    /// - **Signals**: every signal is blocked from before the first clone, so that no handler
    ///   of this process runs in a child, on its memory; the daemon resets every disposition,
    ///   then empties its mask, as after a fork. This process's own mask is put back before it
    ///   waits for the verdict.
    ///
    /// # References
    ///  - [daemon(7)](https://man7.org/linux/man-pages/man7/daemon.7.html)
    ///  - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
    ///  - [vfork(2)](https://man7.org/linux/man-pages/man2/vfork.2.html)
    // Always inlined into its (one) caller, so that a constant configuration folds into every
    // step (see `run`): with the clone that copies nothing, `start` outgrew what the compiler
    // inlines by itself at `opt-level = "z"`, and the smallest tool doubled.
    // Not in debug builds: nothing folds there, and inlined into the caller its locals would
    // sit in the caller's frame beside those of every other branch (the tool's `main`),
    // where unoptimized code shares no stack slots.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub unsafe fn start(&self) -> Ready {
        // SAFETY: the caller upholds detach's contract, which is this function's.
        match unsafe { self.run(true) } {
            Ok(Detached::Daemon(ready)) => ready,
            Ok(Detached::Parent { .. }) => sys::exit(self.runtime, 0),
            Err(e) => self.fail(&e),
        }
    }

    /// The end of a failed [`start`](Self::start) in the original process: the one-line
    /// message on stderr, and `_exit` with [`exit_code`]. Inlined, so that the message's parts
    /// fold with a constant configuration.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn fail(&self, e: &Error) -> ! {
        self.message(e).write_line(sys::stderr());
        sys::exit(self.runtime, exit_code(e))
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
    // after_fork::daemon, steps, finish, stdio): a program calls this once, usually with a
    // constant configuration, and inlined the branches it never takes fold away (the musl
    // example went from 17,736 to 16,064 bytes).
    #[inline]
    unsafe fn run(&self, exit: bool) -> Result<Detached, Error> {
        let mut prep = prepare::prepare(self)?;
        if !self.foreground {
            // Without a C library, a start that ends the launcher and whose daemon only execs
            // copies no memory (see `shared`); refused, it forks.
            // SAFETY: the caller guarantees one thread and the right runtime; `start` (`exit`)
            // never returns into its caller in the launcher, and the children end in `execve`
            // or `_exit`.
            let cloned = exit
                && self.copies_nothing()
                && unsafe { shared::clone_intermediate(self, &prep) }.is_ok();
            let forked = match cloned {
                true => Ok(Forked::Child),
                // SAFETY: the caller guarantees one thread and the right runtime.
                false => unsafe { sys::fork(self.runtime) },
            };
            match forked {
                Err(e) => return Err(self.abandon(prep, Error::new(Step::Fork, e))),
                Ok(Forked::Parent(child)) => return self.wait(prep, child, exit),
                Ok(Forked::Child) => {
                    // After the shared clone every signal is blocked: the daemon unblocks
                    // them once it has reset their dispositions.
                    prep.blocked |= cloned;
                    // SAFETY: as above; returns only in the daemon.
                    unsafe { after_fork::intermediate::intermediate(self.runtime, &prep, cloned) }
                }
            }
        }
        // The one call of the daemon's steps (so that the compiler can fold a constant
        // configuration into them).
        after_fork::daemon::daemon(self, prep).map(Detached::Daemon)
    }
}

/// The exit status of a failed start: 127 and 126 for exec failures as shells use them.
///
/// ```
/// use rawdaemon::{Errno, Error, Step, exit_code};
///
/// assert_eq!(exit_code(&Error::new(Step::Exec, Errno::NOENT)), 127); // not found
/// assert_eq!(exit_code(&Error::new(Step::Exec, Errno::ACCESS)), 126); // not executable
/// assert_eq!(exit_code(&Error::new(Step::Chdir, Errno::NOENT)), 1);
/// ```
pub fn exit_code(e: &Error) -> i32 {
    match (e.step(), e.errno()) {
        (Step::Exec, Some(rustix::io::Errno::NOENT)) => 127,
        (Step::Exec, _) => 126,
        _ => 1,
    }
}
