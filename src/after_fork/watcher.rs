//! **The watcher**: foreground mode with a [`ready_fd`](crate::Daemon::ready_fd) and a
//! service manager to notify: a small process that waits for the program's readiness line and
//! sends `READY=1` for it, since the process itself becomes the program.
//!
//! Created by the daemon with a double fork (so that it is not the program's child); it may
//! close descriptors, poll and read the program's readiness socket and send one datagram to
//! the service manager's socket; it ends with `_exit(0)` once the line came or the socket
//! closed.

use rustix::fd::{AsRawFd, OwnedFd};

use crate::{Runtime, sys};

/// Starts the watcher, detached by a double fork so that the program never sees it as a
/// child, and returns in the original process once the intermediate has been reaped. If a
/// fork fails there is no watcher: the service manager then reports its own timeout.
///
/// The watcher keeps only `read` and `socket` (and 0 to 2) open: the pid file's lock and the
/// pipe's write end must not outlive the program because of it.
///
/// # Safety
///
/// The process has one thread, and `runtime` matches the process (see [`Runtime`]).
///
/// # References
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
///  - [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
pub(super) unsafe fn spawn(runtime: Runtime, read: OwnedFd, socket: &OwnedFd, main_pid: u32) {
    // SAFETY: the caller's contract.
    match unsafe { sys::fork(runtime) } {
        Ok(sys::Forked::Parent(child)) => {
            let _ = rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty());
        }
        Ok(sys::Forked::Child) => {
            let _guard = super::ExitOnUnwind::arm(runtime);
            // SAFETY: still one thread.
            if let Ok(sys::Forked::Child) = unsafe { sys::fork(runtime) } {
                let keep = [read.as_raw_fd(), socket.as_raw_fd()];
                if super::fds::close_all_except(&[], &keep).is_ok()
                    && crate::ready::wait_line(&read, None)
                {
                    crate::notify::ready(socket, main_pid);
                }
            }
            sys::exit(runtime, 0)
        }
        Err(_) => {}
    }
}
