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
//! The RFC 3164 timestamp is in UTC ([`time`]): local time needs the time zone
//! database, which a `no_std` daemon does not read. rsyslog and journald replace it by the time
//! of reception anyway; busybox syslogd and sysklogd show it as sent. RFC 5424 timestamps are
//! UTC (`Z`) by definition.

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

use super::header::Header;
use super::{Facility, LINE_CAPACITY, Line, Severity, time};

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
/// let mut log = Syslog::new("agent", Facility::Daemon, std::process::id());
/// let _ = log.send(Severity::Info, b"started"); // to /dev/log
/// ```
///
/// What a log daemon receives, here a socket of this example's own:
///
/// ```
/// use rawdaemon::log::{Facility, Format, Severity, Syslog};
/// use std::os::unix::net::UnixDatagram;
///
/// let dir = std::env::temp_dir().join(format!("rawdaemon-doc-syslog-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("log");
/// let log_daemon = UnixDatagram::bind(&path).unwrap();
///
/// let socket = path.as_os_str().as_encoded_bytes();
/// let mut log = Syslog::new("agent", Facility::Daemon, 42).path(socket);
/// log.send(Severity::Info, b"started").unwrap();
/// let mut log = log.format(Format::Rfc5424).hostname("host");
/// log.send(Severity::Err, b"stopped").unwrap();
///
/// let mut buf = [0; 1024];
/// let n = log_daemon.recv(&mut buf).unwrap();
/// let line = std::str::from_utf8(&buf[..n]).unwrap(); // <30>Dec  4 18:55:45 agent[42]: started
/// assert!(line.starts_with("<30>") && line.ends_with(" agent[42]: started"), "{line}");
/// let n = log_daemon.recv(&mut buf).unwrap();
/// // <27>1 2026-12-04T18:55:45.123456Z host agent 42 - - stopped
/// let line = std::str::from_utf8(&buf[..n]).unwrap();
/// assert!(line.starts_with("<27>1 "), "{line}");
/// assert!(line.ends_with("Z host agent 42 - - stopped"), "{line}");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct Syslog<'a> {
    header: Header<'a>,
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
            header: Header::new(tag, facility, pid),
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
        self.header.pid = pid;
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
        self.header.push_priority(line, severity);
        match self.format {
            Format::Rfc3164 => {
                time::push_rfc3164(line, secs);
                line.push_byte(b' ');
                self.header.push_tag(line);
                line.push_text(msg);
            }
            Format::Rfc5424 => {
                line.push(b"1 ");
                time::push_rfc5424(line, secs, nanos);
                line.push_byte(b' ');
                line.push_token(self.hostname.as_bytes(), 255, true);
                line.push_byte(b' ');
                line.push_token(self.header.tag.as_bytes(), 48, true);
                line.push_byte(b' ');
                if self.header.pid != 0 {
                    line.push_number(self.header.pid, 0, b'0');
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
