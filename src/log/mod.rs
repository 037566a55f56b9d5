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

/// The most bytes a line takes, with the newline that ends it on a stream or in `/dev/kmsg`.
pub(crate) const LINE_CAPACITY: usize = 1024;

/// A line built in a fixed buffer. Text past the limit is cut: [`finish`](Self::finish) ends
/// the line in `...`. One byte past the limit always stays free for the newline of
/// [`framed`](Self::framed).
pub(crate) struct Line {
    buf: [u8; LINE_CAPACITY],
    len: usize,
    /// The most bytes the text may take: at least 3, at most `LINE_CAPACITY - 1`.
    limit: usize,
    /// Something did not fit.
    overflow: bool,
}

impl Line {
    /// An empty line of at most `limit` bytes (without the newline).
    pub(crate) const fn new(limit: usize) -> Self {
        let limit = if limit > LINE_CAPACITY - 1 {
            LINE_CAPACITY - 1
        } else if limit < 3 {
            3
        } else {
            limit
        };
        Line {
            buf: [0; LINE_CAPACITY],
            len: 0,
            limit,
            overflow: false,
        }
    }

    /// Appends bytes as they are.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.limit.saturating_sub(self.len));
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), bytes.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        if n < bytes.len() {
            self.overflow = true;
        }
    }

    /// Appends one byte.
    pub(crate) fn push_byte(&mut self, b: u8) {
        self.push(&[b]);
    }

    /// Appends a message: without its trailing newlines, with newlines, carriage returns and
    /// NUL bytes inside it turned into spaces.
    pub(crate) fn push_text(&mut self, msg: &[u8]) {
        let mut end = msg.len();
        while end > 0 && matches!(msg.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        for &b in msg.iter().take(end) {
            if self.overflow {
                break;
            }
            self.push_byte(match b {
                b'\n' | b'\r' | 0 => b' ',
                b => b,
            });
        }
    }

    /// Appends at most `max` bytes of a header field (a tag or a host name) with every byte
    /// that is not printable ASCII turned into `_`; `-` (the RFC 5424 nil value) if
    /// `dash_if_empty` and it is empty.
    pub(crate) fn push_token(&mut self, token: &[u8], max: usize, dash_if_empty: bool) {
        if token.is_empty() && dash_if_empty {
            self.push_byte(b'-');
        }
        for &b in token.iter().take(max) {
            self.push_byte(if b.is_ascii_graphic() { b } else { b'_' });
        }
    }

    /// Appends `n` in decimal, padded on the left with `pad` to at least `width` bytes.
    pub(crate) fn push_number(&mut self, n: u32, width: usize, pad: u8) {
        let mut digits = [0_u8; 10];
        let digits = crate::decimal::format_u32(n, &mut digits);
        for _ in digits.len()..width {
            self.push_byte(pad);
        }
        self.push(digits);
    }

    /// Ends the line: if something did not fit, its last bytes become `...`.
    pub(crate) fn finish(&mut self) {
        if self.overflow {
            self.cut_at(self.limit);
        }
    }

    /// Shortens the line to at most `max` bytes (at least 3) ending in `...`, if it is longer.
    pub(crate) fn cut(&mut self, max: usize) {
        if self.len > max {
            self.cut_at(max);
        }
    }

    /// Ends the text in `...` within `max` bytes, not inside a UTF-8 character.
    fn cut_at(&mut self, max: usize) {
        let mut end = max.max(3).min(self.len).saturating_sub(3);
        // Back up over at most three continuation bytes to the start of their character.
        for _ in 0..3 {
            match self.buf.get(end) {
                Some(b) if end > 0 && b & 0xC0 == 0x80 => end -= 1,
                _ => break,
            }
        }
        if let Some(dots) = self.buf.get_mut(end..end + 3) {
            dots.copy_from_slice(b"...");
            self.len = end + 3;
        }
        self.overflow = true;
    }

    /// The line so far, without a newline.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The line and a newline (written in the byte kept free for it; the line is unchanged).
    pub(crate) fn framed(&mut self) -> &[u8] {
        match self.buf.get_mut(self.len) {
            Some(b) => {
                *b = b'\n';
                self.buf.get(..self.len + 1).unwrap_or(&[])
            }
            None => self.as_bytes(),
        }
    }

    /// The length of the line, without a newline.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

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

    #[test]
    fn cuts_at_the_limit() {
        let mut line = Line::new(LINE_CAPACITY - 1);
        line.push(b"<13>");
        line.push_text(&[b'a'; 2000]);
        line.finish();
        assert_eq!(line.len(), LINE_CAPACITY - 1);
        assert!(line.as_bytes().starts_with(b"<13>aaa"));
        assert!(line.as_bytes().ends_with(b"a..."));
        assert_eq!(line.framed().len(), LINE_CAPACITY);
        assert_eq!(line.framed().last(), Some(&b'\n'));

        // Exactly full: nothing is cut.
        let mut line = Line::new(10);
        line.push(b"0123456789");
        line.finish();
        assert_eq!(line.as_bytes(), b"0123456789");
        line.push(b"x");
        line.finish();
        assert_eq!(line.as_bytes(), b"0123456...");

        // Never inside a UTF-8 character: "é" is two bytes.
        let mut line = Line::new(8);
        line.push("abcdééé".as_bytes());
        line.finish();
        assert_eq!(line.as_bytes(), b"abcd...");

        let mut line = Line::new(100);
        line.push(&[b'b'; 100]);
        line.cut(50);
        assert_eq!(line.len(), 50);
        assert!(line.as_bytes().ends_with(b"b..."));
        line.cut(60);
        assert_eq!(line.len(), 50);
    }

    #[test]
    fn one_line() {
        let mut line = Line::new(100);
        line.push_text(b"first\nsecond\r\nthird\0end\n\r\n");
        assert_eq!(line.as_bytes(), b"first second  third end");
        let mut line = Line::new(100);
        line.push_token(b"my prog\x01\xc3\xa9", 100, true);
        line.push_byte(b' ');
        line.push_token(b"", 100, true);
        line.push_byte(b' ');
        line.push_token(b"abcdef", 3, true);
        line.push_byte(b' ');
        line.push_number(7, 3, b'0');
        line.push_number(1234, 2, b' ');
        assert_eq!(line.as_bytes(), b"my_prog___ - abc 0071234");
    }
}
