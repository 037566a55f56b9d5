//! Logging to the system log without allocation: [`Syslog`] sends lines to `/dev/log` (the
//! socket of syslogd, rsyslog, busybox syslogd, syslog-ng or journald), [`Kmsg`] writes them
//! to `/dev/kmsg` (the kernel's log, there from early boot on), and [`Sink`] is either one,
//! chosen explicitly or as the first that works.
//!
//! Every line is built in a fixed 1,024-byte buffer on the stack, without `core::fmt`: a
//! message that does not fit is cut and ends in `...`. There are no locks and no global state,
//! so a writer can be used in a daemon right after `fork` and in `no_std` binaries with no C
//! library. A writer is a value the application keeps (and passes `&mut` to whatever logs).
//!
//! The files: `syslog` and `kmsg` hold the two writers, `header` what both stamp on a
//! line (tag, facility, pid), `time` the UTC time stamps of syslog lines, and this one the
//! facilities and levels, the [`Sink`] and the line buffer.
//!
//! A line is one line: a trailing newline of the message is dropped, and newlines (and
//! carriage returns and NUL bytes) inside it become spaces. The tag is a program name: bytes
//! that are not printable ASCII (spaces included) become `_`.
//!
//! The pid in each line is the one the application sets: the daemon's pid is not the pid of
//! the process that created the writer, so call `set_pid(rustix::process::getpid())` in the
//! daemon, and again after any other fork. Pid 0 leaves it out.
//!
//! # Descriptors and daemonization
//!
//! Both writers open their descriptor lazily, on the first message. A descriptor opened before
//! the daemon starts is closed by the start (every inherited descriptor above 2 is) unless it
//! is listed in [`Daemon::keep_fds`](crate::Daemon::keep_fds): log only from the daemon, or
//! call `disconnect`/`close` before the start, or keep the descriptor (`fd()` gives it; a
//! daemon in a `chroot` cannot reach `/dev/log` otherwise).
//!
//! # References
//!  - [syslog(3)](https://man7.org/linux/man-pages/man3/syslog.3.html)
//!  - [RFC 3164](https://www.rfc-editor.org/rfc/rfc3164) and
//!    [RFC 5424](https://www.rfc-editor.org/rfc/rfc5424)
//!  - [/dev/kmsg](https://www.kernel.org/doc/Documentation/ABI/testing/dev-kmsg)

mod header;
mod kmsg;
mod syslog;
mod time;
pub(crate) use time::{STAMP_LEN, stamp_now};

pub use kmsg::Kmsg;
pub use syslog::{Format, Syslog};

use rustix::io::Errno;

/// Where a message comes from: the facility of syslog(3), with the numbers of RFC 5424.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Facility {
    /// `kern`: the kernel. The kernel and most log daemons turn it into `user` when a process
    /// sends it.
    Kern = 0,
    /// `user`: a user program (the default of syslog(3)).
    User = 1,
    /// `mail`: the mail system.
    Mail = 2,
    /// `daemon`: a system daemon without a facility of its own.
    Daemon = 3,
    /// `auth`: security and authorization.
    Auth = 4,
    /// `syslog`: the log daemon itself.
    Syslog = 5,
    /// `lpr`: printing.
    Lpr = 6,
    /// `news`: network news.
    News = 7,
    /// `uucp`: UUCP.
    Uucp = 8,
    /// `cron`: cron and at.
    Cron = 9,
    /// `authpriv`: private security and authorization messages.
    AuthPriv = 10,
    /// `ftp`: the FTP daemon.
    Ftp = 11,
    /// `local0`, reserved for local use (as are the seven others).
    Local0 = 16,
    /// `local1`.
    Local1 = 17,
    /// `local2`.
    Local2 = 18,
    /// `local3`.
    Local3 = 19,
    /// `local4`.
    Local4 = 20,
    /// `local5`.
    Local5 = 21,
    /// `local6`.
    Local6 = 22,
    /// `local7`.
    Local7 = 23,
}

impl Facility {
    /// The facility's number (RFC 5424, section 6.2.1): `Daemon` is 3, `Local0` is 16.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The facility of a lower-case name as syslog.conf(5) writes it (`daemon`, `authpriv`,
    /// `local0`; `security` is the old name of `auth`).
    pub fn from_name(name: &[u8]) -> Option<Facility> {
        use Facility::*;
        Some(match name {
            b"kern" => Kern,
            b"user" => User,
            b"mail" => Mail,
            b"daemon" => Daemon,
            b"auth" | b"security" => Auth,
            b"syslog" => Syslog,
            b"lpr" => Lpr,
            b"news" => News,
            b"uucp" => Uucp,
            b"cron" => Cron,
            b"authpriv" => AuthPriv,
            b"ftp" => Ftp,
            b"local0" => Local0,
            b"local1" => Local1,
            b"local2" => Local2,
            b"local3" => Local3,
            b"local4" => Local4,
            b"local5" => Local5,
            b"local6" => Local6,
            b"local7" => Local7,
            _ => return None,
        })
    }
}

/// How important a message is: the levels of syslog(3), most severe first.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `emerg`: the system is unusable.
    Emerg = 0,
    /// `alert`: action must be taken immediately.
    Alert = 1,
    /// `crit`: critical conditions.
    Crit = 2,
    /// `err`: error conditions.
    Err = 3,
    /// `warning`: warning conditions.
    Warning = 4,
    /// `notice`: normal but significant conditions.
    Notice = 5,
    /// `info`: informational messages.
    Info = 6,
    /// `debug`: debugging messages.
    Debug = 7,
}

impl Severity {
    /// The level's number (RFC 5424, section 6.2.1): `Emerg` is 0, `Debug` is 7.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The level of a lower-case name as syslog.conf(5) writes it (`err`, `warning`, `info`;
    /// the old names `panic`, `error` and `warn` too).
    pub fn from_name(name: &[u8]) -> Option<Severity> {
        use Severity::*;
        Some(match name {
            b"emerg" | b"panic" => Emerg,
            b"alert" => Alert,
            b"crit" => Crit,
            b"err" | b"error" => Err,
            b"warning" | b"warn" => Warning,
            b"notice" => Notice,
            b"info" => Info,
            b"debug" => Debug,
            _ => return None,
        })
    }
}

/// The `PRI` of a line: facility times 8 plus severity (at most 191).
pub(crate) const fn priority(facility: Facility, severity: Severity) -> u8 {
    facility.code() * 8 + severity.code()
}

/// Where lines go: the choice of the application, or the first destination that works.
#[derive(Debug)]
pub enum Sink<'a> {
    /// The log daemon's socket.
    Syslog(Syslog<'a>),
    /// The kernel's log.
    Kmsg(Kmsg<'a>),
}

impl<'a> Sink<'a> {
    /// `syslog` if it connects now, else `kmsg` if it opens now; else the error of opening
    /// `kmsg`. The choice is made once: a daemon that starts before the log daemon keeps
    /// writing to the kernel's log until it chooses again.
    pub fn first_that_works(mut syslog: Syslog<'a>, mut kmsg: Kmsg<'a>) -> Result<Self, Errno> {
        if syslog.connect().is_ok() {
            return Ok(Sink::Syslog(syslog));
        }
        kmsg.open()?;
        Ok(Sink::Kmsg(kmsg))
    }

    /// Sends one message; see [`Syslog::send`] and [`Kmsg::send`].
    pub fn send(&mut self, severity: Severity, msg: &[u8]) -> Result<(), Errno> {
        match self {
            Sink::Syslog(s) => s.send(severity, msg),
            Sink::Kmsg(k) => k.send(severity, msg),
        }
    }

    /// Sets the pid written in each line (see the module).
    pub fn set_pid(&mut self, pid: u32) {
        match self {
            Sink::Syslog(s) => s.set_pid(pid),
            Sink::Kmsg(k) => k.set_pid(pid),
        }
    }
}

pub(crate) use crate::message::{LINE_CAPACITY, Line};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities() {
        assert_eq!(priority(Facility::Kern, Severity::Emerg), 0);
        assert_eq!(priority(Facility::User, Severity::Notice), 13);
        assert_eq!(priority(Facility::Daemon, Severity::Info), 30);
        assert_eq!(priority(Facility::Auth, Severity::Crit), 34);
        assert_eq!(priority(Facility::Local0, Severity::Err), 131);
        assert_eq!(priority(Facility::Local7, Severity::Debug), 191);
    }

    #[test]
    fn names() {
        assert_eq!(Facility::from_name(b"daemon"), Some(Facility::Daemon));
        assert_eq!(Facility::from_name(b"authpriv"), Some(Facility::AuthPriv));
        assert_eq!(Facility::from_name(b"security"), Some(Facility::Auth));
        assert_eq!(Facility::from_name(b"local0"), Some(Facility::Local0));
        assert_eq!(Facility::from_name(b"local7").map(Facility::code), Some(23));
        assert_eq!(Facility::from_name(b"ftp").map(Facility::code), Some(11));
        for bad in [&b"Daemon"[..], b"local8", b"", b"daemon "] {
            assert_eq!(Facility::from_name(bad), None);
        }
        assert_eq!(Severity::from_name(b"warning"), Some(Severity::Warning));
        assert_eq!(Severity::from_name(b"warn"), Some(Severity::Warning));
        assert_eq!(Severity::from_name(b"err").map(Severity::code), Some(3));
        assert_eq!(Severity::from_name(b"panic"), Some(Severity::Emerg));
        assert_eq!(Severity::from_name(b"debug").map(Severity::code), Some(7));
        assert_eq!(Severity::from_name(b"none"), None);
    }
}
