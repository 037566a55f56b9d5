//! **The notify holder** (daemon mode with [`notify_await`](crate::Daemon::notify_await)):
//! keeps the notification socket's abstract name bound once the launcher has exited, until
//! the daemon exits.
//!
//! The launcher reads the socket until `READY=1`, then exits. Were the socket to go with it,
//! its name would be free, and any local user could bind it and receive what the daemon
//! sends later (`STATUS=` text, and descriptors sent with `FDSTORE=1`). So the launcher seals
//! the socket ([`seal`](crate::sd_notify::seal): closed for reading, every later send to the
//! name fails) and leaves a copy of it to this small process, which only waits on a pidfd of
//! the daemon (the pid file's process: PROGRAM, or the worker a `MAINPID=` named) and exits
//! with it. It holds nothing else: no pid file, no lock, `/dev/null` as its stdio, `/` as its
//! working directory, a session of its own (no terminal's signal reaches it). It shows as
//! `rawdaemon-hold` in `/proc/PID/comm`.

use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io::Errno;

use crate::Runtime;
use crate::sys;

/// The holder's name (`/proc/PID/comm`, `ps -o comm`).
const NAME: &core::ffi::CStr = c"rawdaemon-hold";

/// Starts the holder of the sealed `socket` for as long as the process of the pidfd `main`
/// runs (`devnull`: `/dev/null`, for its stdio), detached by a double fork: the caller never
/// sees it as a child. If it cannot be started, the name goes with the caller's copy of the
/// socket (later sends are refused all the same, while nobody else has bound the name).
///
/// # Safety
///
/// The process has one thread, and `runtime` matches it (as for
/// [`Daemon::detach`](crate::Daemon::detach)).
///
/// # References
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub(crate) unsafe fn spawn(runtime: Runtime, socket: &OwnedFd, main: &OwnedFd, devnull: &OwnedFd) {
    // SAFETY: the caller's contract.
    match unsafe { sys::fork(runtime) } {
        Ok(sys::Forked::Parent(child)) => {
            while let Err(Errno::INTR) =
                rustix::process::waitpid(Some(child), rustix::process::WaitOptions::empty())
            {
            }
        }
        Ok(sys::Forked::Child) => {
            let _guard = super::ExitOnUnwind::arm(runtime);
            // SAFETY: still one thread.
            if let Ok(sys::Forked::Child) = unsafe { sys::fork(runtime) } {
                hold(socket, main, devnull);
            }
            sys::exit(runtime, 0)
        }
        Err(_) => {}
    }
}

/// The holder's work; see the module.
///
/// # References
///  - [setsid(2)](https://man7.org/linux/man-pages/man2/setsid.2.html)
///  - [PR_SET_NAME](https://man7.org/linux/man-pages/man2/PR_SET_NAME.2const.html)
fn hold(socket: &OwnedFd, main: &OwnedFd, devnull: &OwnedFd) {
    let keep = [socket.as_raw_fd(), main.as_raw_fd()];
    let _ = rustix::process::setsid();
    let _ = rustix::thread::set_name(NAME);
    let _ = rustix::process::chdir(c"/");
    // The caller's stdio (a pipe the caller's caller reads to its end, a terminal) is not
    // held open.
    if !keep.contains(&0) {
        let _ = rustix::stdio::dup2_stdin(devnull);
    }
    if !keep.contains(&1) {
        let _ = rustix::stdio::dup2_stdout(devnull);
    }
    if !keep.contains(&2) {
        let _ = rustix::stdio::dup2_stderr(devnull);
    }
    if super::fds::close_all_except(&[], &keep).is_ok() {
        wait_for_end(main);
    }
}

/// Returns once the process of `pidfd` has exited (or `poll` fails).
///
/// # References
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub(super) fn wait_for_end(pidfd: &OwnedFd) {
    loop {
        let mut gone = [PollFd::new(pidfd, PollFlags::IN)];
        match rustix::event::poll(&mut gone, None) {
            Ok(_) if gone.iter().any(|fd| !fd.revents().is_empty()) => return,
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => return,
        }
    }
}
