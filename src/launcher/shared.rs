//! **The launcher's clone that copies nothing**: with [`Runtime::NoLibc`] and a start whose
//! last act is `execve` ([`Daemon::start`] with an [`Exec`](crate::Exec) and nothing that
//! keeps rawdaemon's code running after the fork: no `respawn`, no `ready_fd`, no
//! `notify_await`, no `ready_when`, no logging process), the intermediate and then the daemon
//! are made by `clone(CLONE_VM | CLONE_VFORK)` ([`sys::clone_shared`]): no address space is
//! copied, not even its page tables.
//!
//! The child of each clone goes on in the caller's frames, on its stack, exactly where a child
//! of `fork` would: the daemon's steps are the same code for both kinds of fork (one copy, into
//! which a constant configuration folds). The parent, suspended meanwhile, never returns into
//! those frames: once the intermediate has exited (after the daemon's `execve`, or its failure),
//! the launcher goes on in [`resume`], which finds what it needs in a static (the
//! configuration and the prepared descriptors, copied before the clone) and ends the process as
//! `start` does. The intermediate's own parent side only exits.
//!
//! Every signal is blocked from before the clone (no handler of the launcher may run in a
//! child that shares its memory) until the daemon has reset every disposition
//! (`sys::reset_signals`), and in the launcher until `resume` (or the refusal) puts its own
//! mask back.
//!
//! Where the clone fails (`EINVAL`: qemu-user takes `CLONE_VM` without `CLONE_THREAD` for a
//! thread it cannot make, and a sandbox's seccomp filter may do the same; or any error), the launcher
//! forks as with a C library's runtime, chosen at run time. qemu-user 7.2 drops `CLONE_VM`
//! when `CLONE_VFORK` comes with it: the clone is a plain fork there, and the parent goes on
//! in `resume` at once, on its own copy, which is as right.

use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

use rustix::io::Errno;

use crate::Runtime;
use crate::config::Daemon;
use crate::launcher::prepare::Prepared;
use crate::sys;

/// What [`resume`] needs: copies made before the clone, which the child never touches.
struct Resume {
    /// The configuration, by value (what it points to is the caller's, which the child only
    /// reads).
    cfg: Daemon<'static>,
    /// A bitwise copy of the prepared descriptors: the child's are its own after the clone (a
    /// table of its own, as after `fork`), these are the launcher's.
    prep: Prepared,
    /// The launcher's signal mask before the clone.
    mask: u64,
}

/// The one place [`Resume`] lives: static memory (`.bss`, no size in the binary), which the
/// child's use of the stack cannot reach.
struct Slot(UnsafeCell<MaybeUninit<Resume>>);

// SAFETY: written before the clone and read once after it, by the one thread of a process
// that starts a daemon (`start`'s contract); the child never touches it.
unsafe impl Sync for Slot {}

static RESUME: Slot = Slot(UnsafeCell::new(MaybeUninit::uninit()));

impl Daemon<'_> {
    /// Whether this start may make its processes without copying memory: no C library, and a
    /// daemon whose last act is `execve`, with nothing that keeps rawdaemon's code running
    /// after the fork or that makes the daemon wait for the launcher (which is suspended
    /// until the daemon has exec'd).
    #[inline]
    pub(super) fn copies_nothing(&self) -> bool {
        !self.runtime.has_libc()
            && self.exec.is_some()
            && !self.foreground
            && !self.manual_ready
            && self.respawn.is_none()
            && self.ready_fd.is_none()
            && self.notify_await.is_none()
            && self.ready_when.is_none()
            && self.log_output.is_none()
            && !self.log_files_piped()
            // Not for a daemon that changes user: from the change on, that user may stop it
            // (SIGSTOP) before its `execve`, and the launcher, in the clone's wait, could then
            // be ended by SIGKILL only; and the memory the daemon still shares with root's
            // launcher would be the user's to trace where `fs.suid_dumpable` is 1.
            && self.user.is_none()
    }
}

/// Blocks every signal, copies what the launcher needs afterwards, and clones the
/// intermediate sharing this address space. Returns `Ok` only in the intermediate (which goes
/// on in the caller's frames, every signal blocked); the launcher goes on in [`resume`]. `Err`
/// if the clone is refused: no child exists, the mask is back, and the caller forks instead.
///
/// # Safety
///
/// [`Daemon::start`]'s contract with [`Runtime::NoLibc`] (one thread, no C library), and
/// [`copies_nothing`](Daemon::copies_nothing) holds; the caller's child ends in `execve` or
/// `_exit` (the intermediate and the daemon after it), and never unwinds out of the caller.
// Out of line: inlined, it made `start` too large for the compiler to inline into its caller,
// and a constant configuration no longer folded (the smallest tool doubled). The child
// returns from it as from any call: the frame is intact, the parent never comes back to it.
#[inline(never)]
pub(super) unsafe fn clone_intermediate(cfg: &Daemon<'_>, prep: &Prepared) -> Result<(), Errno> {
    let mask = sys::block_all()?;
    // SAFETY: the slot is this thread's alone (one thread); the lifetime is only erased: the
    // references are read by `resume` while the caller's data they point to is still there
    // (the launcher never returns into its caller after the clone). The descriptors are
    // duplicated bitwise, as by a fork: the copy is read only in the launcher after the clone.
    unsafe {
        let cfg = core::mem::transmute::<Daemon<'_>, Daemon<'static>>(*cfg);
        let prep = core::ptr::read(prep);
        (*RESUME.0.get()).write(Resume { cfg, prep, mask });
    }
    let slot = RESUME.0.get() as usize;
    // SAFETY: the caller's contract; every signal is blocked; `resume` reads only the slot.
    let cloned = unsafe { sys::clone_shared(resume, slot) };
    if cloned.is_err() {
        sys::set_mask(mask);
    }
    cloned
}

/// The launcher after the intermediate, made by [`clone_intermediate`], has exited: its
/// signal mask back, then the daemon's verdict as after a fork, and the end of the process as
/// [`Daemon::start`] ends it. Runs on the static stack `sys::clone_shared` moves to (never
/// the one the children used: a daemon may still run there if the intermediate was killed),
/// reading only the static slot.
///
/// The options that keep this path from being taken are set to their defaults in the copy, so
/// that their parts of the wait fold away.
extern "C" fn resume(slot: usize, child: i32) -> ! {
    // SAFETY: `slot` is the static slot, written before the clone and read only here, once.
    let Resume { cfg, prep, mask } = unsafe { (slot as *const Resume).read() };
    sys::set_mask(mask);
    let cfg = Daemon {
        runtime: Runtime::NoLibc,
        foreground: false,
        manual_ready: false,
        respawn: None,
        ready_fd: None,
        notify_await: None,
        ready_when: None,
        log_output: None,
        log_rotation: None,
        log_timestamps: false,
        ..cfg
    };
    // SAFETY: the clone returned this positive pid.
    let child = unsafe { rustix::process::Pid::from_raw_unchecked(child) };
    match cfg.wait(prep, child, true) {
        Ok(_) => sys::exit(Runtime::NoLibc, 0),
        Err(e) => cfg.fail(&e),
    }
}
