//! [`Syslog`]: lines for the log daemon, sent to `/dev/log`.
//!
//! The socket is a datagram socket (syslogd, rsyslog, busybox syslogd, journald); where
//! connecting one fails with `EPROTOTYPE`, `/dev/log` is a stream socket (syslog-ng's
//! `unix-stream()`) and a stream socket is connected instead. On a stream, each line ends in a
//! newline: that is how stream sources of local sockets split lines (glibc ends them in a NUL
//! byte, which they accept as well); the octet counting of RFC 6587 is for TCP transport and
//! is not what local stream sockets expect. A line never holds a newline of its own.
//!
//! Sending never blocks: both sockets are non-blocking and a message the log daemon has no room
//! for fails with `EAGAIN`, so the caller can count drops instead of hanging while the log
//! daemon is stuck. A stream message already partly sent waits at most one second for room for
//! each rest; if none comes the connection is closed, so that the next message starts a clean
//! line on a new one.
//!
//! The RFC 3164 timestamp is in UTC: local time needs the time zone database, which a
//! `no_std` daemon does not read. rsyslog and journald replace it by the time of reception
//! anyway; busybox syslogd and sysklogd show it as sent. RFC 5424 timestamps are UTC (`Z`) by
//! definition.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

use super::{Facility, LINE_CAPACITY, Line, Severity, priority};

/// The shape of a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, as syslog(3) sends it (the BSD format of
    /// RFC 3164, without a host name: the log daemon adds it). Every log daemon accepts it.
    #[default]
    Rfc3164,
    /// `<PRI>1 YYYY-MM-DDThh:mm:ss.uuuuuuZ HOST TAG PID - - MSG` (RFC 5424), for log daemons
    /// configured to parse it (rsyslog, syslog-ng). `HOST` is `-` unless
    /// [`Syslog::hostname`] sets it.
    Rfc5424,
}

/// A writer to the log daemon's socket: a value the application keeps.
///
/// ```no_run
/// use rawdaemon::log::{Facility, Severity, Syslog};
///
/// let pid = rustix::process::getpid().as_raw_pid() as u32;
/// let mut log = Syslog::new("agent", Facility::Daemon, pid);
/// let _ = log.send(Severity::Info, b"started");
/// ```
#[derive(Debug)]
pub struct Syslog<'a> {
    tag: &'a str,
    facility: Facility,
    pid: u32,
    format: Format,
    path: &'a [u8],
    hostname: &'a str,
    socket: Option<OwnedFd>,
    stream: bool,
}

/// The shortest a datagram is cut to when the socket refuses it as too large.
const MIN_DATAGRAM: usize = 64;

/// How long a partly sent stream message waits for room for the rest, in seconds.
const STREAM_WAIT_SECS: i64 = 1;

impl<'a> Syslog<'a> {
    /// The log daemon's socket.
    pub const DEFAULT_PATH: &'static [u8] = b"/dev/log";

    /// A writer for `tag` (the program's name) with this facility and pid (0 leaves the pid
    /// out), in [`Format::Rfc3164`], to [`DEFAULT_PATH`](Self::DEFAULT_PATH). Nothing is
    /// connected yet.
    pub const fn new(tag: &'a str, facility: Facility, pid: u32) -> Self {
        Syslog {
            tag,
            facility,
            pid,
            format: Format::Rfc3164,
            path: Self::DEFAULT_PATH,
            hostname: "",
            socket: None,
            stream: false,
        }
    }

    /// Sends lines in this format.
    pub const fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// Sends to the socket at this path instead of `/dev/log`; `@name` is an abstract name.
    pub const fn path(mut self, path: &'a [u8]) -> Self {
        self.path = path;
        self
    }

    /// The host name of RFC 5424 lines (`-` if not set or empty); RFC 3164 lines have none.
    pub const fn hostname(mut self, name: &'a str) -> Self {
        self.hostname = name;
        self
    }

    /// Sets the pid written in each line (0 leaves it out): the daemon's own after the start.
    pub fn set_pid(&mut self, pid: u32) {
        self.pid = pid;
    }

    /// Connects now (sending connects lazily), replacing any connection: a datagram socket, or
    /// a stream socket if the path is one.
    ///
    /// # Errors
    ///
    /// Those of `connect`: `ENOENT` without a log daemon, `ECONNREFUSED` if it has died and
    /// left its socket file behind, `EAGAIN` if a stream socket's backlog is full.
    ///
    /// # References
    ///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
    ///  - [socket(2)](https://man7.org/linux/man-pages/man2/socket.2.html)
    ///  - [connect(2)](https://man7.org/linux/man-pages/man2/connect.2.html)
    pub fn connect(&mut self) -> Result<(), Errno> {
        self.socket = None;
        let addr = match self.path {
            [b'@', name @ ..] => SocketAddrUnix::new_abstract_name(name)?,
            path => SocketAddrUnix::new(path)?,
        };
        // Non-blocking: a stream connect would otherwise wait while the backlog is full.
        let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
        let fd = rustix::net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, flags, None)?;
        let (fd, stream) = match rustix::net::connect(&fd, &addr) {
            Ok(()) => (fd, false),
            Err(Errno::PROTOTYPE) => {
                let fd =
                    rustix::net::socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None)?;
                rustix::net::connect(&fd, &addr)?;
                (fd, true)
            }
            Err(e) => return Err(e),
        };
        self.socket = Some(fd);
        self.stream = stream;
        Ok(())
    }

    /// Closes the connection, if any; the next message connects again.
    pub fn disconnect(&mut self) {
        self.socket = None;
    }

    /// The connected socket, if any (to keep it open across the start, see the module).
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.socket.as_ref().map(|fd| fd.as_fd())
    }

    /// Whether the connection is a stream socket (lines end in a newline).
    pub fn is_stream(&self) -> bool {
        self.socket.is_some() && self.stream
    }

    /// Sends one message with this severity, stamped with the current time.
    ///
    /// Connects first if not connected. If the connection turns out dead (the log daemon
    /// restarted: `ECONNREFUSED`, `ENOTCONN`, `EPIPE`, `ECONNRESET`, `ENOENT`), it connects
    /// again and sends again, once. A datagram refused as too large (`EMSGSIZE`) is cut in half
    /// until it passes. Async-signal-safe.
    ///
    /// # Errors
    ///
    /// `EAGAIN` when the log daemon has no room for the message (it is dropped, see the
    /// module); the errors of [`connect`](Self::connect) and send(2) otherwise.
    ///
    /// # References
    ///  - [send(2)](https://man7.org/linux/man-pages/man2/send.2.html)
    ///  - [clock_gettime(2)](https://man7.org/linux/man-pages/man2/clock_gettime.2.html)
    pub fn send(&mut self, severity: Severity, msg: &[u8]) -> Result<(), Errno> {
        let (secs, nanos) = crate::sys::realtime();
        let mut line = Line::new(LINE_CAPACITY - 1);
        self.format_at(severity, msg, secs, nanos, &mut line);
        let had_connection = self.socket.is_some();
        match self.try_send(&mut line) {
            Err(e) if had_connection && is_gone(e) => self.try_send(&mut line),
            result => result,
        }
    }

    /// Connects if needed and sends `line` once; drops the connection if it is dead.
    fn try_send(&mut self, line: &mut Line) -> Result<(), Errno> {
        if self.socket.is_none() {
            self.connect()?;
        }
        let Some(fd) = &self.socket else {
            return Err(Errno::NOTCONN);
        };
        let result = if self.stream {
            let mut sent = 0;
            let result = send_stream(fd, line.framed(), &mut sent);
            if result.is_err() && sent > 0 {
                // Half a line is on the stream: only a new connection starts a clean one.
                self.socket = None;
            }
            result
        } else {
            send_datagram(fd, line)
        };
        if matches!(result, Err(e) if is_gone(e)) {
            self.socket = None;
        }
        result
    }

    /// Formats a message sent at `secs` and `nanos` after the epoch into `line`.
    pub(crate) fn format_at(
        &self,
        severity: Severity,
        msg: &[u8],
        secs: i64,
        nanos: u32,
        line: &mut Line,
    ) {
        let t = Civil::from_unix(secs);
        line.push_byte(b'<');
        line.push_number(u32::from(priority(self.facility, severity)), 0, b'0');
        line.push_byte(b'>');
        match self.format {
            Format::Rfc3164 => {
                line.push(month_name(t.month));
                line.push_byte(b' ');
                line.push_number(t.day, 2, b' ');
                line.push_byte(b' ');
                push_time(line, &t);
                line.push_byte(b' ');
                line.push_token(self.tag.as_bytes(), usize::MAX, false);
                if self.pid != 0 {
                    line.push_byte(b'[');
                    line.push_number(self.pid, 0, b'0');
                    line.push_byte(b']');
                }
                line.push(b": ");
                line.push_text(msg);
            }
            Format::Rfc5424 => {
                line.push(b"1 ");
                line.push_number(t.year, 4, b'0');
                line.push_byte(b'-');
                line.push_number(t.month, 2, b'0');
                line.push_byte(b'-');
                line.push_number(t.day, 2, b'0');
                line.push_byte(b'T');
                push_time(line, &t);
                line.push_byte(b'.');
                line.push_number((nanos / 1000).min(999_999), 6, b'0');
                line.push(b"Z ");
                line.push_token(self.hostname.as_bytes(), 255, true);
                line.push_byte(b' ');
                line.push_token(self.tag.as_bytes(), 48, true);
                line.push_byte(b' ');
                if self.pid != 0 {
                    line.push_number(self.pid, 0, b'0');
                } else {
                    line.push_byte(b'-');
                }
                // No MSGID, no structured data.
                line.push(b" - -");
                if !msg.is_empty() {
                    line.push_byte(b' ');
                    line.push_text(msg);
                }
            }
        }
        line.finish();
    }
}

/// The errors of a connection to a log daemon that is gone (restarted or stopped).
fn is_gone(e: Errno) -> bool {
    matches!(
        e,
        Errno::CONNREFUSED | Errno::NOTCONN | Errno::PIPE | Errno::CONNRESET | Errno::NOENT
    )
}

/// Sends `line` as one datagram, cut in half while the socket refuses it as too large.
fn send_datagram(fd: &OwnedFd, line: &mut Line) -> Result<(), Errno> {
    loop {
        let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
        match rustix::io::retry_on_intr(|| rustix::net::send(fd, line.as_bytes(), flags)) {
            Ok(_) => return Ok(()),
            Err(Errno::MSGSIZE) if line.len() > MIN_DATAGRAM => line.cut(line.len() / 2),
            Err(e) => return Err(e),
        }
    }
}

/// Sends all of `bytes` on a non-blocking stream, counting in `sent`. Nothing sent and no room:
/// `EAGAIN` at once; partly sent: waits for room (see the module).
fn send_stream(fd: &OwnedFd, bytes: &[u8], sent: &mut usize) -> Result<(), Errno> {
    let flags = SendFlags::NOSIGNAL | SendFlags::DONTWAIT;
    while let Some(rest) = bytes.get(*sent..).filter(|rest| !rest.is_empty()) {
        match rustix::io::retry_on_intr(|| rustix::net::send(fd, rest, flags)) {
            Ok(0) => return Err(Errno::PIPE),
            Ok(n) => *sent += n,
            Err(Errno::AGAIN) if *sent > 0 => wait_writable(fd)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits up to [`STREAM_WAIT_SECS`] for room on `fd`; `EAGAIN` if none comes.
///
/// # References
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
fn wait_writable(fd: &OwnedFd) -> Result<(), Errno> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let timeout = Timespec {
        tv_sec: STREAM_WAIT_SECS,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(fd, PollFlags::OUT)];
    match rustix::event::poll(&mut fds, Some(&timeout)) {
        Ok(0) => Err(Errno::AGAIN),
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `hh:mm:ss`.
fn push_time(line: &mut Line, t: &Civil) {
    line.push_number(t.hour, 2, b'0');
    line.push_byte(b':');
    line.push_number(t.minute, 2, b'0');
    line.push_byte(b':');
    line.push_number(t.second, 2, b'0');
}

/// The English abbreviation of month 1 to 12.
fn month_name(month: u32) -> &'static [u8] {
    const NAMES: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    NAMES
        .get((month as usize).wrapping_sub(1))
        .copied()
        .unwrap_or(b"???")
}

/// A UTC date and time of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    /// 0 to 9999 (times outside are clamped to the nearest end).
    pub year: u32,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// The date and time `secs` seconds after 1970-01-01 00:00:00 UTC (leap seconds, as in
    /// Unix time, do not count).
    pub(crate) fn from_unix(secs: i64) -> Civil {
        // 0000-03-01 and 9999-12-31 23:59:59: keeps the year within four digits.
        const MIN: i64 = -62_162_035_200;
        const MAX: i64 = 253_402_300_799;
        let secs = secs.clamp(MIN, MAX);
        let (year, month, day) = date_from_days(secs.div_euclid(86_400));
        let of_day = secs.rem_euclid(86_400) as u32;
        Civil {
            year: year.clamp(0, 9999) as u32,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }
}

/// Year, month (1 to 12) and day (1 to 31) of the day `days` after 1970-01-01.
///
/// The year is counted from March 1st, so that February, with its leap day, ends it; the days
/// are then split into 400-year cycles of 146,097 days (whose calendar repeats), the cycle into
/// years of 365 days plus the leap days before them, and the year into months by a linear
/// formula that fits the March-to-February month lengths (31, 30, 31, 30, 31, 31, 30, 31, 30,
/// 31, 31, 28/29), as in Howard Hinnant's `civil_from_days`.
pub(crate) fn date_from_days(days: i64) -> (i64, u32, u32) {
    // From 1970-01-01 to 0000-03-01, the start of a cycle, is 719,468 days.
    let days = days.saturating_add(719_468);
    let cycle = days.div_euclid(146_097);
    let day_of_cycle = days.rem_euclid(146_097); // 0 to 146,096
    // Leap days of the cycle before this day: one every 4 years, less one every 100 years,
    // plus the one of the cycle's last day (which would otherwise start a 401st year).
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524
        - day_of_cycle / 146_096)
        / 365; // 0 to 399
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100); // 0 to 365
    // Month from March (0) to February (11): 153 days per five months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = cycle * 400 + year_of_cycle + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{UnixDatagram, UnixListener};
    use std::path::PathBuf;
    use std::vec::Vec;

    /// 2026-11-25T23:59:02Z.
    const T: i64 = 1_795_651_142;

    fn line_of(log: &Syslog<'_>, severity: Severity, msg: &[u8], secs: i64, nanos: u32) -> Vec<u8> {
        let mut line = Line::new(LINE_CAPACITY - 1);
        log.format_at(severity, msg, secs, nanos, &mut line);
        line.as_bytes().to_vec()
    }

    #[test]
    fn dates() {
        assert_eq!(date_from_days(0), (1970, 1, 1));
        assert_eq!(date_from_days(-1), (1969, 12, 31));
        assert_eq!(date_from_days(11_016), (2000, 2, 29));
        assert_eq!(date_from_days(11_017), (2000, 3, 1));
        assert_eq!(date_from_days(20_782), (2026, 11, 25));
        assert_eq!(date_from_days(24_855), (2038, 1, 19));
        assert_eq!(date_from_days(-719_468), (0, 3, 1));
        assert_eq!(date_from_days(2_932_896), (9999, 12, 31));
        // Every day of 1900 to 2100 follows the one before.
        let mut prev = date_from_days(-25_567);
        assert_eq!(prev, (1900, 1, 1));
        for days in -25_566..47_482 {
            let (y, m, d) = date_from_days(days);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                [next_day, next_month, next_year].contains(&(y, m, d)),
                "{prev:?} then {:?}",
                (y, m, d)
            );
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            assert!(d >= 1 && d <= len[m as usize - 1]);
            prev = (y, m, d);
        }
        assert_eq!(prev, (2099, 12, 31));

        let t = Civil::from_unix(2_147_483_647);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2038, 1, 19, 3, 14, 7)
        );
        let t = Civil::from_unix(T);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 25, 23, 59, 2)
        );
        assert_eq!(Civil::from_unix(-1).hour, 23);
        assert_eq!(Civil::from_unix(i64::MAX).year, 9999);
        assert_eq!(Civil::from_unix(i64::MIN).year, 0);
    }

    #[test]
    fn rfc3164() {
        let log = Syslog::new("agent", Facility::Daemon, 4242);
        assert_eq!(
            line_of(&log, Severity::Info, b"started\n", T, 0),
            b"<30>Nov 25 23:59:02 agent[4242]: started"
        );
        let log = Syslog::new("my agent", Facility::Local0, 0);
        assert_eq!(
            line_of(&log, Severity::Err, b"a\nb", 0, 0),
            b"<131>Jan  1 00:00:00 my_agent: a b"
        );
        assert_eq!(
            line_of(&log, Severity::Emerg, b"", 951_782_400, 0),
            b"<128>Feb 29 00:00:00 my_agent: "
        );
    }

    #[test]
    fn rfc5424() {
        let log = Syslog::new("agent", Facility::Daemon, 4242).format(Format::Rfc5424);
        assert_eq!(
            line_of(&log, Severity::Info, b"started", T, 123_456_789),
            b"<30>1 2026-11-25T23:59:02.123456Z - agent 4242 - - started"
        );
        let log = Syslog::new("", Facility::User, 0)
            .format(Format::Rfc5424)
            .hostname("box");
        assert_eq!(
            line_of(&log, Severity::Notice, b"", 2_147_483_647, 999_999_999),
            b"<13>1 2038-01-19T03:14:07.999999Z box - - - -"
        );
        let long_tag = "t".repeat(60);
        let log = Syslog::new(&long_tag, Facility::User, 1).format(Format::Rfc5424);
        let line = line_of(&log, Severity::Notice, b"x", 0, 0);
        let app = line.split(|&b| b == b' ').nth(3).unwrap();
        assert_eq!(app.len(), 48);
    }

    #[test]
    fn long_messages_are_cut() {
        for format in [Format::Rfc3164, Format::Rfc5424] {
            let log = Syslog::new("agent", Facility::Daemon, 1).format(format);
            let line = line_of(&log, Severity::Info, &[b'x'; 5000], T, 0);
            assert_eq!(line.len(), LINE_CAPACITY - 1);
            assert!(line.ends_with(b"xxx..."));
        }
    }

    /// A fresh path for a socket in the temporary directory.
    fn socket_path(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(std::format!(
            "rawdaemon-log-{}-{name}.sock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    fn receive(rx: &UnixDatagram) -> Vec<u8> {
        let mut buf = [0_u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    /// The message after the `TAG[PID]: ` of an RFC 3164 line.
    fn text(line: &[u8]) -> &[u8] {
        let at = line.windows(2).position(|w| w == b": ").unwrap();
        &line[at + 2..]
    }

    #[test]
    fn datagrams_and_reconnection() {
        let path = socket_path("dgram");
        let rx = UnixDatagram::bind(&path).unwrap();
        let mut log = Syslog::new("agent", Facility::Daemon, 7).path(path.as_os_str().as_bytes());
        assert!(log.fd().is_none());
        log.send(Severity::Info, b"one").unwrap();
        assert!(log.fd().is_some() && !log.is_stream());
        let got = receive(&rx);
        assert!(got.starts_with(b"<30>"), "{got:?}");
        assert!(got.ends_with(b" agent[7]: one"), "{got:?}");

        let long = [b'y'; 3000];
        log.send(Severity::Info, &long).unwrap();
        let got = receive(&rx);
        assert_eq!(got.len(), LINE_CAPACITY - 1);
        assert!(got.ends_with(b"y..."));

        // The log daemon restarts: its socket is removed and bound again.
        drop(rx);
        std::fs::remove_file(&path).unwrap();
        let rx = UnixDatagram::bind(&path).unwrap();
        log.send(Severity::Warning, b"two").unwrap();
        assert_eq!(text(&receive(&rx)), b"two");

        // It stops: the error comes back, and the next start is found again.
        drop(rx);
        assert_eq!(log.send(Severity::Info, b"lost"), Err(Errno::CONNREFUSED));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(log.send(Severity::Info, b"lost"), Err(Errno::NOENT));
        let rx = UnixDatagram::bind(&path).unwrap();
        log.send(Severity::Info, b"three").unwrap();
        assert_eq!(text(&receive(&rx)), b"three");

        // A full receive queue is EAGAIN at once, not a wait.
        let mut full = false;
        for _ in 0..10_000 {
            match log.send(Severity::Debug, b"flood") {
                Ok(()) => {}
                Err(e) => {
                    assert_eq!(e, Errno::AGAIN);
                    full = true;
                    break;
                }
            }
        }
        assert!(full);
        assert!(log.fd().is_some());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn stream_lines_end_in_newlines() {
        use std::io::Read;
        let path = socket_path("stream");
        let listener = UnixListener::bind(&path).unwrap();
        let mut log = Syslog::new("agent", Facility::Local3, 99)
            .path(path.as_os_str().as_bytes())
            .format(Format::Rfc5424);
        log.send(Severity::Info, b"one\n").unwrap();
        assert!(log.is_stream());
        log.send(Severity::Err, b"two\nlines").unwrap();
        log.send(Severity::Info, &[b'z'; 2000]).unwrap();
        log.disconnect();
        let (mut conn, _) = listener.accept().unwrap();
        let mut all = Vec::new();
        conn.read_to_end(&mut all).unwrap();
        let lines: Vec<&[u8]> = all.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 4, "{all:?}");
        assert!(lines[0].starts_with(b"<158>1 "));
        assert!(lines[0].ends_with(b"Z - agent 99 - - one"));
        assert!(lines[1].starts_with(b"<155>1 "));
        assert!(lines[1].ends_with(b" - - two lines"));
        assert_eq!(lines[2].len(), LINE_CAPACITY - 1);
        assert!(lines[2].ends_with(b"z..."));
        assert_eq!(lines[3], b"");

        // The log daemon restarts: EPIPE on the old connection, the line goes to the new one.
        log.send(Severity::Info, b"before").unwrap();
        let (conn, _) = listener.accept().unwrap();
        drop(conn);
        drop(listener);
        std::fs::remove_file(&path).unwrap();
        let listener = UnixListener::bind(&path).unwrap();
        log.send(Severity::Info, b"after").unwrap();
        log.disconnect();
        let (mut conn, _) = listener.accept().unwrap();
        let mut all = Vec::new();
        conn.read_to_end(&mut all).unwrap();
        assert!(all.ends_with(b" - - after\n"), "{all:?}");
        assert_eq!(all.iter().filter(|&&b| b == b'\n').count(), 1);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn no_log_daemon() {
        let path = socket_path("none");
        let mut log = Syslog::new("agent", Facility::Daemon, 1).path(path.as_os_str().as_bytes());
        assert_eq!(log.send(Severity::Info, b"x"), Err(Errno::NOENT));
        assert_eq!(log.connect(), Err(Errno::NOENT));
        assert!(log.fd().is_none());
    }
}
