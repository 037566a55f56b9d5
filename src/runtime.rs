//! [`Runtime`]: how a process forks, exits and resets its signals, as a value the application
//! chooses. Run by every process (it is the fork itself, and the exit of each child).
//!
//! A runtime is a reference to a table of four calls. The C library's table exists only in the
//! programs that name [`Runtime::Libc`]: its functions are generic, so that none of them is
//! compiled, and no C library symbol referred to, in a program that does not. A program with no
//! C library can therefore depend on this crate with the `libc` feature on (cargo unifies
//! features across a build) and still link with no C library at all.
//!
//! This crate declares the few C functions it calls itself and asks for no library to be
//! linked: a program that names `Runtime::Libc` has one already (every std program; a no_std
//! program on musl or glibc links it explicitly).

use core::fmt;

use rustix::io::Errno;
use rustix::process::Pid;

use crate::sys;

/// How the process forks, exits and resets signals: the application chooses, explicitly.
///
/// It is a value, not a cargo feature, because features unify across a dependency graph: a
/// switch one crate flips would silently change the fork of every other user in the build.
///
/// - `Runtime::Libc` (with the `libc` feature, on by default): through the C library:
///   `fork(3)` (`_Fork` on musl: no atfork handlers or global locks, which a single-threaded
///   start does not need), `_exit(2)` and `signal(2)` as the libc provides them, so that its
///   own state (cached thread id, reserved signals) stays right. **Every process that links a
///   C library must use this**: all std programs, and no_std programs linked against musl or
///   glibc.
/// - `Runtime::NoLibc`: raw system calls: `clone(SIGCHLD)`, `exit_group`, `rt_sigaction` on
///   every signal. Only for binaries with no C library at all (their own `_start`); in a
///   process with a libc it leaves the libc's state stale (on musl, `abort()` in the child
///   would kill the parent).
///   A [`Daemon::start`](crate::Daemon::start) whose daemon only executes a program copies
///   no memory at all with it: see that function's section "The start that copies nothing".
///
/// ```
/// use rawdaemon::{Daemon, Runtime};
///
/// // A std program (or a no_std one on musl or glibc): the C library's fork.
/// const WITH_LIBC: Daemon = Daemon::new(Runtime::Libc);
/// // A program with no C library at all (its own `_start`): raw system calls.
/// const WITHOUT: Daemon = Daemon::new(Runtime::NoLibc);
/// # let _ = (WITH_LIBC, WITHOUT);
/// ```
#[derive(Clone, Copy)]
pub struct Runtime(&'static Calls);

/// One runtime's calls.
pub(crate) struct Calls {
    /// The C library's: a child's own pid may be read from its cache.
    libc: bool,
    /// `fork`: the child's pid in the parent, 0 in the child, or `-errno`.
    ///
    /// Safety: one thread; the child runs only async-signal-safe code until it exits or execs.
    fork: unsafe fn() -> isize,
    /// `_exit`.
    exit: fn(i32) -> !,
    /// The disposition of one signal back to `SIG_DFL` (refused, and ignored, for signals a C
    /// library reserves for itself).
    default: fn(i32),
    /// The disposition of one signal to `SIG_IGN`.
    ignore: fn(i32),
    /// An empty signal mask.
    unblock_all: fn() -> Result<(), Errno>,
    /// The calling thread's id as the C library cached it at the fork, or 0.
    cached_tid: fn() -> i32,
}

impl Runtime {
    /// The C library's fork, `_exit` and signal calls.
    #[cfg(feature = "libc")]
    #[allow(non_upper_case_globals)]
    pub const Libc: Runtime = Runtime(&libc::CALLS);

    /// Raw system calls, for a binary with no C library.
    #[allow(non_upper_case_globals)]
    pub const NoLibc: Runtime = Runtime(&RAW);

    /// `_exit(code)` in this runtime: ends the process at once, with no atexit handlers and no
    /// flushing of buffered output. What a program with no C library calls to exit.
    ///
    /// # References
    ///  - [_exit(2)](https://man7.org/linux/man-pages/man2/_exit.2.html)
    pub fn exit(self, code: i32) -> ! {
        (self.0.exit)(code)
    }

    /// Sets signal `sig`'s disposition to `SIG_IGN`: the kernel then discards it when it is
    /// sent (a write to a pipe with no reader fails with `EPIPE` instead of raising SIGPIPE).
    /// For a program's own use before a start; the start resets every ignored signal of the
    /// daemon to its default.
    ///
    /// # References
    ///  - [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
    pub fn ignore_signal(self, sig: i32) {
        (self.0.ignore)(sig)
    }

    /// `fork()`: the child's pid in the parent, `Ok(None)` in the child.
    ///
    /// # Safety
    ///
    /// - The process has exactly one thread.
    /// - The runtime is [`Runtime::NoLibc`] only if no C library is linked into the process.
    /// - The child runs only async-signal-safe code until it exits or execs.
    ///
    /// # References
    ///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
    pub(crate) unsafe fn fork(self) -> Result<Option<Pid>, Errno> {
        // SAFETY: the caller's contract.
        let ret = unsafe { (self.0.fork)() };
        if ret < 0 {
            return Err(Errno::from_raw_os_error(-ret as i32));
        }
        Ok(Pid::from_raw(ret as i32))
    }

    /// Resets one signal's disposition to `SIG_DFL`.
    pub(crate) fn default_signal(self, sig: i32) {
        (self.0.default)(sig)
    }

    /// Empties the signal mask.
    pub(crate) fn unblock_all(self) -> Result<(), Errno> {
        (self.0.unblock_all)()
    }

    /// Whether this is a C library's runtime (else [`Runtime::NoLibc`]): read from the table,
    /// so that a constant runtime folds the test away.
    pub(crate) fn has_libc(self) -> bool {
        self.0.libc
    }

    /// The calling thread's id as the C library cached it, read with no system call (musl's
    /// `gettid(3)`), or 0 where there is none.
    pub(crate) fn cached_tid(self) -> i32 {
        (self.0.cached_tid)()
    }
}

impl PartialEq for Runtime {
    fn eq(&self, other: &Self) -> bool {
        self.0.libc == other.0.libc
    }
}

impl Eq for Runtime {}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.libc { "Libc" } else { "NoLibc" })
    }
}

/// The raw system calls' table.
const RAW: Calls = Calls {
    libc: false,
    fork: sys::raw_fork,
    exit: sys::raw_exit,
    default: sys::raw_sigaction_default,
    ignore: sys::raw_sigaction_ignore,
    unblock_all: sys::raw_unblock_all,
    cached_tid: || 0,
};

/// The C library's calls, declared here and generic over nothing: each is compiled only into
/// a program that names [`Runtime::Libc`].
#[cfg(feature = "libc")]
// The unused type parameter is the point: a generic function is compiled only where it is
// instantiated, so a program that never names `Runtime::Libc` refers to no C symbol, even in
// a debug build where nothing is optimized away.
#[allow(clippy::extra_unused_type_parameters)]
mod libc {
    use rustix::io::Errno;

    use super::Calls;

    /// The table; its functions are instantiated where it is used.
    pub(super) const CALLS: Calls = Calls {
        libc: true,
        fork: fork::<()>,
        exit: exit::<()>,
        default: default::<()>,
        ignore: ignore::<()>,
        unblock_all: unblock_all::<()>,
        cached_tid: cached_tid::<()>,
    };

    /// `SIG_SETMASK` of `sigprocmask(2)` on every architecture the crate supports.
    const SIG_SETMASK: i32 = 2;
    /// `SIG_DFL`.
    const SIG_DFL: usize = 0;
    /// `SIG_IGN`.
    const SIG_IGN: usize = 1;

    unsafe extern "C" {
        #[cfg(not(target_env = "musl"))]
        #[link_name = "fork"]
        fn c_fork() -> i32;
        /// musl 1.2.3 on.
        #[cfg(target_env = "musl")]
        #[link_name = "_Fork"]
        fn c_fork() -> i32;
        #[link_name = "_exit"]
        fn c_exit(code: i32) -> !;
        #[link_name = "signal"]
        fn c_signal(sig: i32, handler: usize) -> usize;
        /// `set` and `old` point at a `sigset_t`: 128 bytes in glibc and musl.
        #[link_name = "sigprocmask"]
        fn c_sigprocmask(how: i32, set: *const u64, old: *mut u64) -> i32;
        #[link_name = "__errno_location"]
        fn c_errno() -> *mut i32;
        #[cfg(target_env = "musl")]
        #[link_name = "gettid"]
        fn c_gettid() -> i32;
    }

    /// This thread's `errno`.
    fn errno() -> i32 {
        // SAFETY: `__errno_location` returns a valid pointer to this thread's errno (glibc,
        // musl).
        unsafe { *c_errno() }
    }

    /// The C library's fork. On musl, `_Fork` (musl 1.2.3 on): the fork a single-threaded
    /// process needs, with the libc's own state kept right (thread id, robust list, signals
    /// blocked around it), but without `fork`'s atfork handlers and the global locks they
    /// take, which only matter with other threads and which pull the libc's lock and
    /// timed-wait machinery (and its vDSO lookup, about 1 KB) into a static binary. Elsewhere
    /// `fork(3)` (glibc has `_Fork` only from 2.34).
    ///
    /// # Safety
    ///
    /// One thread; the child runs only async-signal-safe code.
    unsafe fn fork<T>() -> isize {
        // SAFETY: the caller's contract.
        match unsafe { c_fork() } {
            -1 => -(errno() as isize),
            pid => pid as isize,
        }
    }

    fn exit<T>(code: i32) -> ! {
        // SAFETY: `_exit` is always safe to call and never returns.
        unsafe { c_exit(code) }
    }

    /// Errors (the libc's reserved signals) are ignored on purpose.
    fn default<T>(sig: i32) {
        // SAFETY: SIG_DFL takes no handler code.
        let _ = unsafe { c_signal(sig, SIG_DFL) };
    }

    fn ignore<T>(sig: i32) {
        // SAFETY: SIG_IGN takes no handler code.
        let _ = unsafe { c_signal(sig, SIG_IGN) };
    }

    fn unblock_all<T>() -> Result<(), Errno> {
        let empty = [0_u64; 16];
        // SAFETY: an empty set of the libc's size; the old set is not wanted.
        match unsafe { c_sigprocmask(SIG_SETMASK, empty.as_ptr(), core::ptr::null_mut()) } {
            0 => Ok(()),
            _ => Err(Errno::from_raw_os_error(errno())),
        }
    }

    /// musl caches the thread id at `_Fork`; glibc's `gettid` is a system call, no better
    /// than `getpid`.
    fn cached_tid<T>() -> i32 {
        #[cfg(target_env = "musl")]
        // SAFETY: gettid has no preconditions; it returns the cached thread id.
        return unsafe { c_gettid() };
        #[cfg(not(target_env = "musl"))]
        0
    }
}
