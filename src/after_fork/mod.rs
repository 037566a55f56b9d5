//! **After the fork**: the code of every process rawdaemon creates. Nothing outside this
//! module runs in a process that `fork` made, except the leaf helpers these files call, which
//! keep the same rules and say so in their opening comment: `sys` (system calls), `ready` (the
//! readiness channel), `notify` (the service manager's socket), `message` and `log` (text and
//! log lines), `pidfile` (writing the pid), `path` (the supervisor reopens and removes files
//! safely), `procfs`, `service` and `lines` (`/proc`), `decimal`, `strerror`, `probe` (the
//! readiness checks the supervisor polls), `listen` (the `LISTEN_PID` entry filled before
//! `execve`), and the plain data of `config` and `credentials`.
//!
//! Who forks whom (the launcher's code is in [`launcher`](crate::launcher)):
//!
//! | process      | created by                  | module                    | ends with                                   |
//! |--------------|-----------------------------|---------------------------|---------------------------------------------|
//! | launcher     | the caller (`rawdaemon`, or the application) | [`launcher`](crate::launcher) | exit 0 once ready, or the error; returns in `detach` |
//! | intermediate | launcher: `fork` (no C library and a daemon that only execs: `clone(CLONE_VM\|CLONE_VFORK)`, see [`launcher::shared`](crate::launcher::shared)) | [`intermediate`] | `_exit(0)` after its `fork` (or that clone) |
//! | daemon       | intermediate: `fork` or that clone (foreground mode: none, the launcher itself) | [`daemon`] | `execve` of PROGRAM, return of [`Ready`](crate::Ready) to the application, or `_exit` after its failure is sent |
//! | supervisor   | the daemon becomes it (`-R`) | [`supervisor`]           | `_exit` when PROGRAM's runs are over        |
//! | PROGRAM      | supervisor: `fork`, each run | `supervisor::program` then [`exec`] | `execve`                          |
//! | logger       | daemon: `fork` (`--syslog`, `--kmsg`, log rotation and time stamps: [`logfile`]) | [`logger`] | `_exit` at end of PROGRAM's output |
//! | watcher      | daemon: `fork` (foreground mode, `ready_fd` and `NOTIFY_SOCKET`) | [`watcher`] | `_exit` once it has relayed readiness |
//! | notify watcher | daemon: `fork` before its steps (foreground mode, `notify_await`, no `respawn`) | [`notify_watcher`] | `_exit` once PROGRAM has exited (or failed to become ready) |
//! | notify holder | launcher: `fork` (double) after `READY=1` (daemon mode, `notify_await`) | [`notify_holder`] | `_exit` once the daemon has exited |
//!
//! The rules, which every file here keeps (the library's lints enforce the last two):
//! - only async-signal-safe work: rustix system calls and `sys` on descriptors
//!   prepared before the fork and on stack or static data;
//! - no allocation, no locks, no `core::fmt`;
//! - no panics: no `unwrap`, `expect`, `panic!` or unchecked indexing (`clippy::unwrap_used`,
//!   `expect_used`, `panic`, `indexing_slicing` are denied crate-wide). What is left are
//!   rustix's own assertions that a descriptor is not -1, which ours never are; should one fire
//!   in a program built with unwinding, each entry here holds an [`ExitOnUnwind`], so the forked
//!   process ends instead of unwinding into the application's code;
//! - a failure is sent through the readiness channel as an [`Error`](crate::Error) and the
//!   process ends with `_exit` (in foreground mode it is returned instead).

pub(crate) mod daemon;
mod exec;
mod fds;
pub(crate) mod intermediate;
pub(crate) mod logfile;
pub(crate) mod logger;
pub(crate) mod notify_holder;
mod notify_watcher;
mod supervisor;
mod watcher;

use crate::Runtime;
use crate::sys;

/// The exit status of a forked process that panicked (`EX_SOFTWARE`).
const PANICKED: i32 = 70;

/// Held by each entry of a forked process: if a panic unwinds through it, the process ends
/// with `_exit` instead of returning into code that belongs to the launcher. [`disarm`]
/// it where the process leaves the entry normally.
///
/// [`disarm`]: ExitOnUnwind::disarm
#[must_use]
pub(crate) struct ExitOnUnwind(Runtime);

impl ExitOnUnwind {
    /// Armed for a process of `runtime`.
    #[inline]
    pub(crate) const fn arm(runtime: Runtime) -> Self {
        Self(runtime)
    }

    /// The entry is left normally: nothing to do.
    #[inline]
    pub(crate) fn disarm(self) {
        core::mem::forget(self);
    }
}

impl Drop for ExitOnUnwind {
    /// Runs only while a panic unwinds (normal paths call [`disarm`](Self::disarm)).
    fn drop(&mut self) {
        sys::exit(self.0, PANICKED)
    }
}

#[cfg(all(test, feature = "libc"))]
mod tests {
    use super::*;

    /// Forks; the child runs `child` and exits 0 if it returns; the parent returns the child's
    /// exit status.
    fn exit_status_of(child: fn()) -> i32 {
        // SAFETY: the child only unwinds a payload that needs no allocation and exits; no lock
        // another thread of the test runner holds is taken on that path.
        match unsafe { libc::fork() } {
            0 => {
                child();
                // SAFETY: always safe.
                unsafe { libc::_exit(0) }
            }
            pid => {
                assert!(pid > 0, "fork failed");
                let mut status = 0;
                // SAFETY: a child of ours, and a valid pointer.
                assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
                assert!(libc::WIFEXITED(status), "status {status:#x}");
                libc::WEXITSTATUS(status)
            }
        }
    }

    #[test]
    fn a_panic_through_a_forked_entry_ends_the_process() {
        // What unwinding does to the guard; `resume_unwind` of a zero-sized payload calls no
        // panic hook and allocates nothing.
        let unwound = exit_status_of(|| {
            let _guard = ExitOnUnwind::arm(Runtime::Libc);
            std::panic::resume_unwind(std::boxed::Box::new(()));
        });
        assert_eq!(unwound, PANICKED);
        let disarmed = exit_status_of(|| ExitOnUnwind::arm(Runtime::Libc).disarm());
        assert_eq!(disarmed, 0);
    }
}
