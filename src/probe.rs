//! Readiness of programs that speak no protocol: [`Check`]s of what a serving program makes
//! (a TCP port that accepts, a Unix stream socket that accepts, a file that exists), polled
//! with a short backoff until all hold, the time runs out, or the program exits.
//!
//! Runs in the launcher (daemon mode: it polls them once the program is executed) and, after
//! the fork, in the `-R` supervisor (before it reports its first start); so it keeps the rules
//! of code after a fork: raw system calls on stack data, no allocation, no panics. The
//! launcher also parses the checks ([`Check::parse`]) before anything starts.

use core::ffi::CStr;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};
use rustix::process::Pid;

use crate::error::{Detail, Error, Step};

/// One readiness check, as `--ready-when` takes it: `tcp:HOST:PORT`, `unix:PATH` or
/// `path:PATH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check<'a> {
    kind: Kind<'a>,
    /// The text it was parsed from, for messages.
    spec: &'a CStr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind<'a> {
    /// A connection to this address is accepted.
    Tcp(SocketAddr),
    /// A connection to this Unix stream socket (a path, or `@name` for an abstract one) is
    /// accepted.
    Unix(&'a CStr),
    /// This file exists.
    Path(&'a CStr),
}

/// Why [`Check::parse`] refused a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckError {
    /// Not `tcp:`, `unix:` or `path:`.
    Kind,
    /// `tcp:` with a host that is neither an IPv4 or IPv6 literal (`[::1]`) nor `localhost`:
    /// no name is looked up.
    Host,
    /// `tcp:` without a port from 1 to 65535.
    Port,
    /// `unix:` or `path:` with a path that is not absolute (or an `@name` for `unix:`).
    Relative,
}

impl CheckError {
    /// What is wrong, for a usage error.
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckError::Kind => "--ready-when takes tcp:HOST:PORT, unix:PATH or path:PATH",
            CheckError::Host => {
                "--ready-when tcp: needs an IP address or localhost (no name is looked up)"
            }
            CheckError::Port => "--ready-when tcp: needs a port from 1 to 65535",
            CheckError::Relative => "--ready-when unix: and path: need an absolute path",
        }
    }
}

impl<'a> Check<'a> {
    /// Parses `tcp:HOST:PORT` (HOST an IPv4 address, `[IPv6]`, or `localhost`, which means
    /// 127.0.0.1; never a name to look up), `unix:PATH` (an absolute path, or `@name` for
    /// an abstract socket) or `path:PATH` (an absolute path).
    ///
    /// # Examples
    ///
    /// ```
    /// use rawdaemon::{Check, CheckError, ReadyWhen};
    ///
    /// let checks = [
    ///     Check::parse(c"tcp:127.0.0.1:8080").unwrap(),
    ///     Check::parse(c"unix:/run/api.sock").unwrap(),
    /// ];
    /// // Ready once both hold, within 30 seconds; for Daemon::ready_when, with an Exec.
    /// let ready = ReadyWhen::new(&checks).timeout(30);
    /// # let _ = ready;
    /// assert_eq!(Check::parse(c"tcp:example.com:80").unwrap_err(), CheckError::Host);
    /// assert_eq!(Check::parse(c"path:relative").unwrap_err(), CheckError::Relative);
    /// ```
    pub fn parse(spec: &'a CStr) -> Result<Self, CheckError> {
        let text = spec.to_bytes_with_nul();
        let rest = |n: usize| {
            text.get(n..)
                .and_then(|t| CStr::from_bytes_with_nul(t).ok())
        };
        let kind = if text.starts_with(b"tcp:") {
            Kind::Tcp(parse_tcp(spec.to_bytes().get(4..).unwrap_or_default())?)
        } else if text.starts_with(b"unix:") {
            let path = rest(5).ok_or(CheckError::Relative)?;
            match path.to_bytes().first() {
                Some(b'/' | b'@') => Kind::Unix(path),
                _ => return Err(CheckError::Relative),
            }
        } else if text.starts_with(b"path:") {
            let path = rest(5).ok_or(CheckError::Relative)?;
            match path.to_bytes().first() {
                Some(b'/') => Kind::Path(path),
                _ => return Err(CheckError::Relative),
            }
        } else {
            return Err(CheckError::Kind);
        };
        Ok(Check { kind, spec })
    }

    /// A check that the file `path` exists (messages name it as `path`).
    pub const fn file(path: &'a CStr) -> Self {
        Check {
            kind: Kind::Path(path),
            spec: path,
        }
    }

    /// The text it was parsed from.
    pub const fn spec(&self) -> &'a CStr {
        self.spec
    }

    /// One try: `Ok` if it holds now, else why not. A TCP connection in progress is given
    /// until `deadline` (monotonic nanoseconds), and given up if `program` exits meanwhile.
    ///
    /// # References
    ///  - [connect(2)](https://man7.org/linux/man-pages/man2/connect.2.html)
    ///  - [access(2)](https://man7.org/linux/man-pages/man2/access.2.html)
    fn holds(&self, deadline: u64, program: Option<&OwnedFd>, service: Owner) -> Result<(), Errno> {
        match self.kind {
            Kind::Path(path) => rustix::fs::access(path, rustix::fs::Access::EXISTS),
            Kind::Unix(path) => {
                let fd = socket(AddressFamily::UNIX)?;
                let addr = match path.to_bytes().split_first() {
                    Some((b'@', name)) => rustix::net::SocketAddrUnix::new_abstract_name(name)?,
                    _ => rustix::net::SocketAddrUnix::new(path)?,
                };
                // Non-blocking: a full backlog says EAGAIN (not yet) instead of blocking.
                rustix::net::connect(&fd, &addr)?;
                // Accepted; but by the service? Another user may listen on the name.
                let peer = rustix::net::sockopt::socket_peercred(&fd)?;
                if service.has(peer.pid) {
                    Ok(())
                } else {
                    Err(Errno::ACCESS)
                }
            }
            Kind::Tcp(addr) => {
                let family = match addr {
                    SocketAddr::V4(_) => AddressFamily::INET,
                    SocketAddr::V6(_) => AddressFamily::INET6,
                };
                let fd = socket(family)?;
                match rustix::net::connect(&fd, &addr) {
                    Err(Errno::INPROGRESS) => {}
                    done => return done,
                }
                // Writable once the connection is made or refused.
                if !wait(Some(&fd), program, deadline) {
                    return Err(Errno::TIMEDOUT);
                }
                rustix::net::sockopt::socket_error(&fd)?
            }
        }
    }
}

/// Whose Unix socket counts: PROGRAM (its pid, from its pidfd), its descendants and, in the
/// launcher, the processes of the session the start created.
#[derive(Clone, Copy)]
struct Owner {
    program: Option<Pid>,
    session: Option<Pid>,
}

impl Owner {
    /// Whether `pid` (the process that made a socket listen, from `SO_PEERCRED`) is of the
    /// service. Without a pidfd of PROGRAM nothing is known, and any listener counts.
    ///
    /// # References
    ///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html) (`SO_PEERCRED`)
    fn has(self, pid: Pid) -> bool {
        let Some(program) = self.program else {
            return true;
        };
        pid == program
            || crate::service::descends(pid, program)
            || self
                .session
                .is_some_and(|sid| crate::sys::getsid(pid) == Ok(sid.as_raw_nonzero().get()))
    }
}

/// A non-blocking, close-on-exec stream socket.
fn socket(family: AddressFamily) -> Result<OwnedFd, Errno> {
    rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
}

/// `HOST:PORT` with HOST a numeric address (`[...]` around IPv6) or `localhost`.
fn parse_tcp(text: &[u8]) -> Result<SocketAddr, CheckError> {
    let colon = text
        .iter()
        .rposition(|&b| b == b':')
        .ok_or(CheckError::Port)?;
    let (host, port) = text.split_at_checked(colon).ok_or(CheckError::Port)?;
    let port = crate::decimal::parse_u64(port.get(1..).unwrap_or_default(), 10, 5)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p > 0)
        .ok_or(CheckError::Port)?;
    let ip = if host == b"localhost" {
        Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    } else if let Some(v6) = host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")) {
        parse_v6(v6).map(|groups| IpAddr::V6(groups.into()))
    } else {
        parse_v4(host).map(|octets| IpAddr::V4(octets.into()))
    };
    Ok(SocketAddr::new(ip.ok_or(CheckError::Host)?, port))
}

/// A dotted-quad IPv4 address (`127.0.0.1`). (Smaller than `core`'s parser, which the
/// tool would carry whole.)
fn parse_v4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0_u8; 4];
    let mut fields = s.split(|&b| b == b'.');
    for octet in &mut out {
        let n = crate::decimal::parse_u64(fields.next()?, 10, 3)?;
        *octet = u8::try_from(n).ok()?;
    }
    fields.next().is_none().then_some(out)
}

/// An IPv6 address of up to eight hexadecimal groups, one `::` standing for the zero groups
/// left out (`::1`, `fd00::8:1`); no embedded IPv4 form, no zone.
fn parse_v6(s: &[u8]) -> Option<[u16; 8]> {
    let mut out = [0_u16; 8];
    let Some(gap) = s.windows(2).position(|w| w == b"::") else {
        return (groups(s, &mut out)? == 8).then_some(out);
    };
    let head = groups(s.get(..gap)?, &mut out)?;
    let mut tail = [0_u16; 8];
    let n = groups(s.get(gap + 2..)?, &mut tail)?;
    if head + n > 7 {
        return None;
    }
    for (slot, &group) in out.iter_mut().skip(8 - n).zip(&tail) {
        *slot = group;
    }
    Some(out)
}

/// Colon-separated groups of one to four hexadecimal digits into `out`: how many (none for
/// an empty `s`).
fn groups(s: &[u8], out: &mut [u16; 8]) -> Option<usize> {
    if s.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    for group in s.split(|&b| b == b':') {
        let value = crate::decimal::parse_u64(group, 16, 4)?;
        *out.get_mut(n)? = u16::try_from(value).ok()?;
        n += 1;
    }
    Some(n)
}

/// The readiness checks of a start ([`Daemon::ready_when`](crate::Daemon::ready_when)): every
/// one must hold, within [`timeout`](Self::timeout) seconds.
#[derive(Clone, Copy, Debug)]
pub struct ReadyWhen<'a> {
    pub(crate) checks: &'a [Check<'a>],
    pub(crate) timeout: u32,
    /// [`poll`], referred to only from here: a program that never makes a `ReadyWhen` never
    /// links the polling, and the launcher's waiting holds only a call.
    poll: Poll,
}

/// The type of [`poll`].
type Poll =
    fn(&ReadyWhen<'_>, Option<&OwnedFd>, Option<Pid>, &mut dyn FnMut()) -> Result<(), Error>;

impl<'a> ReadyWhen<'a> {
    /// The default [`timeout`](Self::timeout): 60 s (start-stop-daemon's `--notify-timeout`).
    pub const DEFAULT_TIMEOUT: u32 = 60;

    /// These checks, with the default timeout.
    pub const fn new(checks: &'a [Check<'a>]) -> Self {
        ReadyWhen {
            checks,
            timeout: Self::DEFAULT_TIMEOUT,
            poll,
        }
    }

    /// How long the checks may take, in seconds (the tool's `--notify-timeout`).
    #[must_use]
    pub const fn timeout(mut self, secs: u32) -> Self {
        self.timeout = secs;
        self
    }

    /// [`wait_all`] of these checks; on a failure, with `kill_group` (the session the start
    /// created), the service is ended: that session, the `program` and its descendants (the
    /// launcher's cleanup, [`end_start`](crate::control::end_start); the supervisor does its
    /// own).
    pub(crate) fn wait(
        &self,
        program: Option<&OwnedFd>,
        kill_group: Option<Pid>,
        tick: &mut dyn FnMut(),
    ) -> Result<(), Error> {
        (self.poll)(self, program, kill_group, tick)
    }
}

/// See [`ReadyWhen::wait`].
fn poll(
    ready: &ReadyWhen<'_>,
    program: Option<&OwnedFd>,
    kill_group: Option<Pid>,
    tick: &mut dyn FnMut(),
) -> Result<(), Error> {
    wait_all(ready.checks, ready.timeout, program, kill_group, tick).inspect_err(|_| {
        if let Some(session) = kill_group {
            crate::control::end_start(session, program);
        }
    })
}

/// The first pause between two tries, in nanoseconds; it doubles up to [`PAUSE_MAX`].
const PAUSE_MIN: u64 = 5_000_000;
/// The longest pause between two tries: how late a check that came to hold is noticed.
const PAUSE_MAX: u64 = 100_000_000;

/// Polls `checks` in turn until each holds, `timeout_secs` pass, or `program` (a pidfd)
/// exits; `Ok` once all held while the program runs. A `unix:` socket counts only once the
/// process listening on it is the program, a descendant of it, or in `session` (the one the
/// start created): another user may listen on the name first. `tick` is called at each pause (the
/// supervisor copies the program's output there).
///
/// # Errors
///
/// [`Step::ReadyWhen`] with the last try's errno if the time ran out, and
/// [`Step::ExitedBeforeReady`] if the program exited; the detail is the check's index
/// ([`Detail::Check`]).
///
/// # References
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub(crate) fn wait_all(
    checks: &[Check<'_>],
    timeout_secs: u32,
    program: Option<&OwnedFd>,
    session: Option<Pid>,
    tick: &mut dyn FnMut(),
) -> Result<(), Error> {
    let owner = Owner {
        program: program.and_then(crate::control::pidfd_pid),
        session,
    };
    let deadline =
        crate::sys::monotonic_nanos().saturating_add(u64::from(timeout_secs) * 1_000_000_000);
    for (index, check) in checks.iter().enumerate() {
        let detail = Detail::Check(index as u32);
        let mut pause = PAUSE_MIN;
        loop {
            let tried = check.holds(deadline, program, owner);
            if exited(program) {
                return Err(Error::without_errno(Step::ExitedBeforeReady, detail));
            }
            let Err(errno) = tried else { break };
            let now = crate::sys::monotonic_nanos();
            if now >= deadline {
                return Err(Error::with_detail(Step::ReadyWhen, errno, detail));
            }
            tick();
            // Wakes at once if the program exits.
            wait(None, program, now.saturating_add(pause).min(deadline));
            pause = (pause * 2).min(PAUSE_MAX);
        }
    }
    Ok(())
}

/// Whether the process behind `pidfd` has exited (its pidfd is readable).
fn exited(program: Option<&OwnedFd>) -> bool {
    program.is_some_and(|pidfd| {
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        matches!(rustix::event::poll(&mut fds, Some(&Timespec::default())), Ok(n) if n > 0)
    })
}

/// Waits until `socket` is writable (`true`), `program` exits, or `deadline` passes.
fn wait(socket: Option<&OwnedFd>, program: Option<&OwnedFd>, deadline: u64) -> bool {
    loop {
        let now = crate::sys::monotonic_nanos();
        let Some(left) = deadline.checked_sub(now).filter(|&n| n > 0) else {
            return false;
        };
        let timeout = Timespec {
            tv_sec: (left / 1_000_000_000) as i64,
            tv_nsec: (left % 1_000_000_000) as i64,
        };
        // The socket first, the program second; one that is missing is stood in for by the
        // other (polled twice, harmlessly).
        let entries = (
            socket.map(|fd| (fd, PollFlags::OUT)),
            program.map(|fd| (fd, PollFlags::IN)),
        );
        let ((a, fa), (b, fb)) = match entries {
            (Some(s), Some(p)) => (s, p),
            (Some(s), None) => (s, s),
            (None, Some(p)) => (p, p),
            (None, None) => {
                let _ = rustix::thread::nanosleep(&timeout);
                continue;
            }
        };
        let mut fds = [PollFd::new(a, fa), PollFd::new(b, fb)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(_) => {
                let [first, second] = fds.map(|fd| !fd.revents().is_empty());
                if socket.is_some() && first {
                    return true;
                }
                if program.is_some() && second {
                    return false;
                }
            }
            Err(Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_checks() {
        let tcp = |s: &'static CStr| match Check::parse(s).map(|c| c.kind) {
            Ok(Kind::Tcp(a)) => Ok(a),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(
            tcp(c"tcp:127.0.0.1:8080"),
            Ok("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(tcp(c"tcp:localhost:1"), Ok("127.0.0.1:1".parse().unwrap()));
        assert_eq!(tcp(c"tcp:[::1]:443"), Ok("[::1]:443".parse().unwrap()));
        for v6 in [
            "::",
            "::1",
            "1::",
            "fd00::8:1",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6::8",
            "FFFF::abcd",
        ] {
            let spec = std::ffi::CString::new(std::format!("tcp:[{v6}]:1")).unwrap();
            let want: core::net::Ipv6Addr = v6.parse().unwrap();
            assert_eq!(
                Check::parse(&spec).map(|c| c.kind),
                Ok(Kind::Tcp(SocketAddr::new(IpAddr::V6(want), 1))),
                "{v6}"
            );
        }
        for bad in [
            ":::",
            "1:::2",
            "1::2::3",
            ":1::",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4::5:6:7:8",
            "12345::",
            "::g",
            "::1.2.3.4",
        ] {
            let spec = std::ffi::CString::new(std::format!("tcp:[{bad}]:1")).unwrap();
            assert_eq!(
                Check::parse(&spec).map(|c| c.kind),
                Err(CheckError::Host),
                "{bad}"
            );
        }
        for bad in ["1.2.3", "1.2.3.4.5", "256.0.0.1", "1..2.3", "1.2.3.4a", ""] {
            let spec = std::ffi::CString::new(std::format!("tcp:{bad}:1")).unwrap();
            assert_eq!(
                Check::parse(&spec).map(|c| c.kind),
                Err(CheckError::Host),
                "{bad}"
            );
        }
        assert_eq!(tcp(c"tcp:example.org:80"), Err(CheckError::Host));
        assert_eq!(tcp(c"tcp:::1:80"), Err(CheckError::Host));
        assert_eq!(tcp(c"tcp:127.0.0.1:0"), Err(CheckError::Port));
        assert_eq!(tcp(c"tcp:127.0.0.1:65536"), Err(CheckError::Port));
        assert_eq!(tcp(c"tcp:127.0.0.1"), Err(CheckError::Port));
        assert_eq!(
            Check::parse(c"unix:/run/a.sock").map(|c| c.kind),
            Ok(Kind::Unix(c"/run/a.sock"))
        );
        assert_eq!(
            Check::parse(c"unix:@name").map(|c| c.kind),
            Ok(Kind::Unix(c"@name"))
        );
        assert_eq!(
            Check::parse(c"path:/run/x").map(|c| c.kind),
            Ok(Kind::Path(c"/run/x"))
        );
        assert_eq!(Check::parse(c"path:x"), Err(CheckError::Relative));
        assert_eq!(Check::parse(c"unix:"), Err(CheckError::Relative));
        assert_eq!(Check::parse(c"http://x"), Err(CheckError::Kind));
        assert_eq!(Check::parse(c"path:/x").map(|c| c.spec()), Ok(c"path:/x"));
    }
}
