//! Allocation-free, `no_std` daemonization for Linux on raw system calls.
//!
//! A [`Daemon`] is a `Copy` configuration built with `const fn` setters (paths are `&CStr`:
//! nothing is allocated, ever). Its [`start`](Daemon::start) does the classic recipe in
//! order, in the original process before any fork wherever it can, so that most failures are
//! reported before any process exists: check that one thread runs, open and lock the pid
//! file, fork, `setsid`, fork again, reset every signal, `chdir`, `umask`, stdio on
//! `/dev/null` (or log files), close every other descriptor with one `close_range`, write the
//! pid, drop privileges if asked; then the daemon reports **ready** to the original process,
//! which exits 0, or the failed step and its errno, which it prints before exiting 1. The
//! steps, who forks whom and the readiness channel are in the repository's
//! [design document](https://github.com/rawdaemon/rawdaemon/blob/main/docs/design.md).
//!
//! The `rawdaemon` command-line tool (package `rawdaemon-tool`) is a program on this library.
//!
//! # Start: the launcher exits, the daemon returns
//!
//! ```no_run
//! use rawdaemon::{Daemon, Output, Runtime};
//!
//! // A whole configuration can be a constant.
//! const DAEMON: Daemon = Daemon::new(Runtime::Libc) // a std program links a C library
//!     .pid_file(c"/run/agent.pid")
//!     .stderr(Output::Append(c"/var/log/agent.err"));
//!
//! fn main() {
//!     // SAFETY: no other thread runs (see "Safety: one thread" below).
//!     let ready = unsafe { DAEMON.start() }; // only the daemon returns
//!     let pid = ready.pid(); // the pid the pid file holds
//!     // ... serve ...
//!     # let _ = pid;
//! }
//! ```
//!
//! A failed start prints one line on the launcher's stderr and exits non-zero (1, or 126 and
//! 127 for a program that cannot be executed or found, see [`exit_code`]):
//!
//! ```text
//! rawdaemon: chdir /nope: No such file or directory
//! rawdaemon: pid file /run/agent.pid: locked by running pid 4242
//! ```
//!
//! The prefix is `rawdaemon` for every program built on the library, unless
//! [`.name()`](Daemon::name) gives the program's own name. The same line is
//! [`Daemon::message`] of the [`Error`].
//!
//! # Detach: the outcome in both processes
//!
//! [`detach`](Daemon::detach) returns in the original process too, with the daemon's pid or
//! the [`Error`] of the failed step ([`Step`], the [`Errno`] and a [`Detail`]), instead of
//! exiting. This one runs under `cargo test --doc`: its daemon would execute `/bin/true`
//! ([`Exec`]) and so never returns into the test, but it fails first, at its `chdir`:
//!
//! ```
//! use rawdaemon::{Daemon, Detached, Exec, Runtime, Step};
//!
//! let argv = [c"/bin/true".as_ptr().cast(), core::ptr::null()];
//! let envp = [core::ptr::null()];
//! // SAFETY: both vectors end with a null pointer; the strings are static.
//! let exec = unsafe { Exec::new(c"/bin/true", &argv, &envp) };
//! let daemon = Daemon::new(Runtime::Libc).chdir(c"/nope").exec(exec).name("agent");
//! // SAFETY: one thread runs (a doctest is a process of its own).
//! match unsafe { daemon.detach() } {
//!     Ok(Detached::Parent { pid }) => println!("daemon {pid} runs /bin/true"),
//!     Ok(Detached::Daemon(_)) => unreachable!("with Exec, the daemon executes the program"),
//!     Err(error) => {
//!         assert_eq!(error.step(), Step::Chdir);
//!         assert_eq!(error.errno(), Some(rawdaemon::Errno::NOENT));
//!         assert_eq!(
//!             daemon.message(&error).as_str(),
//!             "agent: chdir /nope: No such file or directory"
//!         );
//!     }
//! }
//! ```
//!
//! # Manual readiness: the launcher waits for the program's own initialization
//!
//! With [`notify_manually`](Daemon::notify_manually), the launcher's exit status covers the
//! program's initialization too: it exits 0 on [`Ready::notify`], or 1 with
//! `initialization: CAUSE` on [`Ready::fail`]. Dropping [`Ready`] without either, or dying
//! first, makes the launcher report `daemon: exited before it was ready` and remove the pid
//! file; the program should exit then (after `fail`, too). Workers forked meanwhile do not
//! hold the launcher up.
//!
//! ```no_run
//! use rawdaemon::{Daemon, Errno, Runtime};
//!
//! # fn bind() -> Result<std::net::TcpListener, std::io::Error> { unimplemented!() }
//! let daemon = Daemon::new(Runtime::Libc)
//!     .pid_file(c"/run/agent.pid")
//!     .notify_manually();
//! // SAFETY: one thread.
//! let ready = unsafe { daemon.start() };
//! match bind() {
//!     Ok(listener) => {
//!         ready.notify(); // now the launcher exits 0
//!         // ... serve on `listener` ...
//!         # drop(listener);
//!     }
//!     Err(e) => {
//!         // The launcher prints `rawdaemon: initialization: Address already in use`, exits 1.
//!         ready.fail(e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error));
//!         std::process::exit(1);
//!     }
//! }
//! ```
//!
//! # Logging without allocation
//!
//! [`log::Syslog`] writes RFC 3164 (or RFC 5424) lines to `/dev/log` from a 1 KiB stack
//! buffer, [`log::Kmsg`] to `/dev/kmsg`, and [`log::Sink`] takes the first that works.
//! Create them in the daemon, after the start (the start closes every inherited descriptor),
//! or keep their descriptor with [`keep_fds`](Daemon::keep_fds). `EAGAIN` from `send` means
//! the log daemon is full: count the line as lost.
//!
//! ```no_run
//! use rawdaemon::log::{Facility, Kmsg, Severity, Sink, Syslog};
//! use rawdaemon::{Daemon, Runtime};
//!
//! // SAFETY: one thread.
//! let ready = unsafe { Daemon::new(Runtime::Libc).start() };
//! let pid = ready.pid().as_raw_nonzero().get() as u32; // the daemon's own pid
//! let mut log = Sink::first_that_works(
//!     Syslog::new("agent", Facility::Daemon, pid), // /dev/log, RFC 3164
//!     Kmsg::new("agent", Facility::Daemon, pid),   // else /dev/kmsg
//! )
//! .expect("no log");
//! let _ = log.send(Severity::Info, b"started");
//! ```
//!
//! [`log::Syslog`]'s own documentation has an example that runs: the lines a log daemon
//! receives, in both formats.
//!
//! The program's own stdout and stderr can go to syslog or the kernel log too
//! ([`log_output`](Daemon::log_output)), or to log files that rotate themselves
//! ([`log_rotation`](Daemon::log_rotation), [`log_timestamps`](Daemon::log_timestamps)).
//!
//! # Stop and status
//!
//! [`control::status`], [`control::signal`] and [`control::stop`] find the daemon by its pid
//! file's **lock**, never by the number in it alone, and signal it through a pidfd. They
//! fork nothing; this example runs:
//!
//! ```
//! use core::time::Duration;
//! use rawdaemon::control::{self, Signal, Status};
//!
//! let pid_file = c"/tmp/rawdaemon-doc-example-none.pid";
//! match control::status(pid_file) {
//!     Ok(Status::Running(pid)) => println!("running as pid {pid}"),
//!     Ok(status) => println!("not running (LSB status {})", status.lsb_code()),
//!     Err(error) => println!("status: {error}"),
//! }
//! assert_eq!(control::status(pid_file), Ok(Status::NotRunning));
//! // Nothing holds that pid file: a stop signals nothing and fails.
//! assert!(control::stop(pid_file, Signal::TERM, Duration::from_secs(10)).is_err());
//! ```
//!
//! # A `no_std` program
//!
//! The library needs neither std nor an allocator. On musl or glibc, a `no_std`, `no_main`
//! program uses [`Runtime::Libc`] and links the C library itself (`cargo::rustc-link-arg-bins=-lc`
//! in its build script: the library links nothing). A doctest cannot be built with
//! `panic = "abort"`, which a `no_std` binary needs, so this sketch is not compiled here. Its
//! complete forms, which CI builds and runs, are [`examples/tiny-musl`][tiny-musl] (musl,
//! `Runtime::Libc`) and [`examples/tiny-nolibc`][tiny-nolibc] (no C library at all: its own
//! `_start`, [`Runtime::NoLibc`]), a template that builds wherever it is copied;
//! [`docs/static-builds.md`][static-builds] says how small they are.
//!
//! [tiny-musl]: https://github.com/rawdaemon/rawdaemon/tree/main/examples/tiny-musl
//! [tiny-nolibc]: https://github.com/rawdaemon/rawdaemon/tree/main/examples/tiny-nolibc
//! [static-builds]: https://github.com/rawdaemon/rawdaemon/blob/main/docs/static-builds.md
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! use rawdaemon::{Daemon, Runtime};
//!
//! #[unsafe(no_mangle)]
//! extern "C" fn main() -> i32 {
//!     const DAEMON: Daemon = Daemon::new(Runtime::Libc).pid_file(c"/run/tiny.pid");
//!     // SAFETY: one thread; this program links a C library, so Runtime::Libc.
//!     let _ready = unsafe { DAEMON.start() };
//!     // ... the daemon's work ...
//!     0
//! }
//!
//! #[panic_handler]
//! fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
//!     Runtime::Libc.exit(101)
//! }
//! ```
//!
//! # Which fork: [`Runtime`]
//!
//! The application chooses, explicitly, how the process forks, exits and resets signals:
//!
//! - [`Runtime::Libc`] (crate feature `libc`, on by default) goes through the C library's
//!   `fork` (`_Fork` on musl), `_exit`, `signal` and `sigprocmask`. **Every process that
//!   links a C library must use it**: all std programs, and `no_std` programs on musl or
//!   glibc. A raw `clone` behind a libc's back leaves its cached thread id stale: on musl,
//!   `abort()` in the child then kills the parent, and `setuid` changes only one thread.
//! - [`Runtime::NoLibc`] uses raw system calls: `clone(SIGCHLD)`, `exit_group`,
//!   `rt_sigaction` on every signal. Only for binaries with no C library at all, such as the
//!   tool. A [`start`](Daemon::start) whose daemon only executes a program then copies no
//!   memory at all (`clone(CLONE_VM | CLONE_VFORK)`, see `start`).
//!
//! It is a value and not a cargo feature, because features unify across a build: a switch
//! one crate flipped would silently change the fork of every other user. For the same reason
//! the `libc` feature links nothing: the crate declares the C functions itself, and they are
//! compiled only into a program that names `Runtime::Libc`.
//!
//! # Safety: one thread
//!
//! The entry points are `unsafe` because of `fork`: **no other thread may run**. After `fork`
//! only the calling thread exists in the child, and a lock another thread held (the
//! allocator's, stdout's) stays held forever. The start reads `/proc/self/status` and refuses a
//! process with more than one thread (`thread check: the process runs 2 threads; daemonize
//! before starting any`); [`skip_thread_check`](Daemon::skip_thread_check) turns that off for
//! programs that know better (under qemu-user every guest has a second thread of qemu's own).
//!
//! **SIGPIPE**: the daemon starts with every signal at its default, SIGPIPE included (Rust's
//! std ignores it, and a daemon inheriting that is the classic bug). A std program that wants
//! `EPIPE` errors instead ignores it again after the start:
//! [`Runtime::ignore_signal`]`(`[`raw::SIGPIPE`]`)`.
//!
//! # What else a start can do
//!
//! - [`Exec`] (an `unsafe` constructor: its vectors are read by the kernel after the fork)
//!   makes the daemon execute a program after the steps, as the tool does;
//!   [`respawn`](Daemon::respawn) keeps a supervisor that runs it as a child,
//!   [`ready_fd`](Daemon::ready_fd) waits for the program's own readiness line,
//!   [`notify_await`](Daemon::notify_await) for its sd_notify `READY=1`, bounded by
//!   [`notify_timeout`](Daemon::notify_timeout); [`watchdog`](Daemon::watchdog) with both.
//! - [`user`](Daemon::user) and [`chroot`](Daemon::chroot): [`Credentials::lookup`] reads
//!   the account files on fixed buffers; the drop is checked.
//! - [`limits`](Daemon::limits): capabilities, resource limits, priorities ([`limits`]).
//! - [`notify_socket`](Daemon::notify_socket): `READY=1` and `MAINPID=` for service managers.
//! - [`ready_when`](Daemon::ready_when): with `Exec`, ready only once every [`Check`] holds
//!   (`tcp:127.0.0.1:8080`, `unix:PATH`, `path:PATH`); [`Exec::listen_pid`] passes socket
//!   activation through.
//! - [`foreground`](Daemon::foreground) does every step except the forks and the new
//!   session, for supervisors and containers.
//!
//! [The tool's manual](https://github.com/rawdaemon/rawdaemon/blob/main/docs/tool.md) describes each of these in use.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `libc` | on | [`Runtime::Libc`]; links nothing (`no_std` is fine) |
//! | `lock-holder` | off | a start refused for a locked pid file names the lock's holder, found by a `/proc` scan |
//! | `std` | off | `From<rawdaemon::Error> for std::io::Error`; nothing else depends on std |
//!
//! Without default features the library is `no_std` with no C library at all.
//!
//! # Minimum versions
//!
//! Rust 1.85 (edition 2024); it may rise in minor releases. Linux 3.4 or newer
//! (`close_range` is used from 5.9 on and has fallbacks before); x86_64, i686, aarch64,
//! riscv64, 32-bit arm and s390x.
//!
//! # The modules
//!
//! - at the root, a start: [`Daemon`] (with [`Exec`], [`Output`], [`LogOutput`], [`Runtime`],
//!   [`Credentials`]), what it returns ([`Ready`], [`Detached`]) and how it fails ([`Error`]:
//!   a [`Step`], the [`Errno`] and a [`Detail`]);
//! - [`control`]: [`status`](control::status), [`signal`](control::signal) and
//!   [`stop`](control::stop) of a running daemon, found by its pid file's lock, and their own
//!   [`control::Error`];
//! - [`log`]: [`Syslog`](log::Syslog), [`Kmsg`](log::Kmsg) and [`Sink`](log::Sink), for a
//!   daemon's own log lines without allocation;
//! - [`limits`]: the capabilities, resource limits and priorities of a start;
//! - [`raw`]: system calls a program with no C library needs beside a start;
//! - [`fd`]: the descriptor types and traits the API takes and returns (re-exported);
//! - [`error`]: the types of a start's failure, also at the root.
//!
//! How the code is laid out by the process that runs it (who forks whom) is in
//! [`docs/design.md`](https://github.com/rawdaemon/rawdaemon/blob/main/docs/design.md#the-process-map).
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]
// Any of the library's code may run after a fork (see `after_fork`), where a panic must not
// happen: no unchecked indexing, no unwrap, expect or panic!. Tests may.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

#[cfg(not(target_os = "linux"))]
compile_error!("rawdaemon only supports Linux");

#[cfg(any(test, feature = "std"))]
extern crate std;

// The module tree is the process map: `launcher` runs in the process that starts the
// daemon, `after_fork` in every process rawdaemon creates (see its table); `control` in the
// process that stops or asks about one. The rest are leaves they share.
#[allow(unsafe_code)] // `intermediate` forks again; `execve` of the configured program
mod after_fork;
mod config;
pub mod control;
mod credentials;
mod decimal;
pub mod error;
pub mod fuzzing;
#[allow(unsafe_code)] // the entry points are `unsafe fn`: see `Daemon::start`'s `# Safety`
mod launcher;
pub mod limits;
mod lines;
#[allow(unsafe_code)] // the LISTEN_PID entry filled in place: see `ListenPid::fill`
mod listen;
pub mod log;
mod message;
mod notify;
mod path;
mod pidfile;
mod probe;
mod procfs;
pub mod raw;
mod ready;
#[allow(unsafe_code)] // the C library's fork, _exit and signal calls, declared here
mod runtime;
mod sd_notify;
mod service;
mod status_file;
mod strerror;
#[allow(unsafe_code)] // fork, _exit, sigaction, close_range, execve: see the module's `# Safety`
mod sys;

pub use config::{Daemon, Exec, LogOutput, LogTarget, Output};
pub use credentials::Credentials;
pub use error::{Detail, Error, Step};
pub use launcher::{Detached, exit_code};
pub use listen::ListenPid;
/// The facility of [`LogOutput`]'s lines (also in [`log`]).
pub use log::Facility;
pub use message::Message;
pub use probe::{Check, CheckError, ReadyWhen};
pub use ready::Ready;
pub use runtime::Runtime;
/// Descriptor types and traits, as [`Message::write_line`], [`log::Syslog::fd`] and
/// [`log::Kmsg::fd`] take and return them (this crate's `rustix` builds them without std: they
/// are not `std::os::fd`'s, and a caller needs no `rustix` dependency of its own for them).
///
/// ```
/// use rawdaemon::fd::{AsRawFd, BorrowedFd};
/// use rawdaemon::{Daemon, Errno, Error, Runtime, Step};
///
/// let daemon = Daemon::new(Runtime::Libc).chdir(c"/srv/agent");
/// let error = Error::new(Step::Chdir, Errno::NOENT);
/// // SAFETY: descriptor 2 stays open while it is borrowed here.
/// let stderr = unsafe { BorrowedFd::borrow_raw(2) };
/// assert_eq!(stderr.as_raw_fd(), 2);
/// // rawdaemon: chdir /srv/agent: No such file or directory
/// daemon.message(&error).write_line(stderr);
/// ```
pub use rustix::fd;
/// An errno, as [`Error::errno`] and [`Ready::fail`] carry it.
pub use rustix::io::Errno;
/// A process id, as [`Detached::Parent`], [`Detail::Pid`] and the [`control`] functions carry it.
pub use rustix::process::Pid;

/// The README's examples, compiled (and run, unless marked otherwise) by `cargo test --doc`,
/// so that the README cannot drift from the library.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
