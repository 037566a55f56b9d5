//! The supervisor's children: the program of the current run, and whatever earlier runs left
//! behind (re-parented to the supervisor, a child subreaper). Signals forwarded to them,
//! zombies reaped, and at the end every one killed. Runs in the supervisor.

use rustix::event::Timespec;
use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};

use crate::sys;

/// How often, at most, [`end_all`] kills the children left and reaps them, 10 ms apart: what
/// is not gone after 5 s (a process stuck in the kernel) is left to init.
const END_ROUNDS: usize = 500;

/// Waits for `program` without blocking; its status once it has ended. Every other zombie
/// (an orphan re-parented to this subreaper) is reaped on the way.
///
/// # References
///  - [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
pub(super) fn reap(program: Option<Pid>) -> Option<WaitStatus> {
    let mut ended = None;
    while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
        if Some(pid) == program {
            ended = Some(status);
        }
    }
    ended
}

/// A stop signal `sig` to the program `program`'s whole group (what it started stops with
/// it), and to every other child of `me`, such as what earlier runs left behind.
pub(super) fn stop(me: Pid, program: Pid, sig: i32) {
    forward_group(program, sig);
    each_child(me, &mut |other| {
        if other != program {
            forward(other, sig);
        }
    });
}

/// `sig` to the process group `pgid` (the program and what it started).
///
/// # References
///  - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
fn forward_group(pgid: Pid, sig: i32) {
    if let Some(sig) = Signal::from_named_raw(sig) {
        let _ = rustix::process::kill_process_group(pgid, sig);
    }
}

/// `sig` to the process `pid`.
///
/// # References
///  - [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
pub(super) fn forward(pid: Pid, sig: i32) {
    if let Some(sig) = Signal::from_named_raw(sig) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// SIGKILL to every child of this subreaper `me`, and every one reaped, round after round (an
/// orphan of a killed child becomes a child in turn) until none is left (`ECHILD`), for at
/// most [`END_ROUNDS`]. Killed by pid without a race: a child's pid is not reused before it
/// is reaped, here. Not the program's group by its id: once the program is reaped, that id
/// may be another process's.
///
/// # References
///  - [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
///  - [nanosleep(2)](https://man7.org/linux/man-pages/man2/nanosleep.2.html)
pub(super) fn end_all(me: Pid) {
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
    let Ok(proc) = sys::open_listing(c"/proc") else {
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
