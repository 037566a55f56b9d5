//! Allocation-free, `no_std` daemonization for Linux on raw system calls.
//!
//! See the README for the whole story; [`Daemon`] is where to start.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(target_os = "linux"))]
compile_error!("rawdaemon only supports Linux");

#[cfg(any(test, feature = "std"))]
extern crate std;

#[allow(unsafe_code)] // `intermediate` forks again; `execve` of the configured program
mod after_fork;
mod config;
mod control;
mod credentials;
mod decimal;
mod error;
pub mod fuzzing;
#[allow(unsafe_code)] // the entry points are `unsafe fn`: see `Daemon::start`'s `# Safety`
mod launcher;
mod lines;
mod log;
mod message;
mod notify;
mod path;
mod pidfile;
mod procfs;
mod ready;
mod service;
mod strerror;
#[allow(unsafe_code)] // fork, _exit, sigaction, close_range, execve: see the module's `# Safety`
mod sys;

pub use config::{Daemon, Exec, LogOutput, LogTarget, Output, Runtime};
pub use control::{Status, Stopped, signal, status, stop};
pub use credentials::Credentials;
pub use error::{Error, Step};
pub use launcher::{Detached, exit_code};
pub use log::{Facility, Format, Kmsg, Severity, Sink, Syslog};
pub use message::Message;
pub use ready::Ready;
