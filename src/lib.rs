//! Allocation-free, `no_std` daemonization for Linux on raw system calls.
//!
//! See the README for the whole story; [`Daemon`] is where to start. The map:
//!
//! - at the root, a start: [`Daemon`] (with [`Exec`], [`Output`], [`LogOutput`], [`Runtime`],
//!   [`Credentials`]), what it returns ([`Ready`], [`Detached`]) and how it fails ([`Error`]:
//!   a [`Step`], the [`Errno`] and a [`Detail`]);
//! - [`control`]: [`status`](control::status), [`signal`](control::signal) and
//!   [`stop`](control::stop) of a running daemon, found by its pid file's lock, and their own
//!   [`control::Error`];
//! - [`log`]: [`Syslog`](log::Syslog), [`Kmsg`](log::Kmsg) and [`Sink`](log::Sink), for a
//!   daemon's own log lines without allocation;
//! - [`error`]: the types of a start's failure, also at the root.
//!
//! How the code is laid out by the process that runs it (who forks whom) is in
//! `docs/design.md`.
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
/// An errno, as [`Error::errno`] and [`Ready::fail`] carry it.
pub use rustix::io::Errno;
/// A process id, as [`Detached::Parent`], [`Detail::Pid`] and the [`control`] functions carry it.
pub use rustix::process::Pid;
