//! The command line, parsed in place by the launching process (the tool never runs its own
//! code after a fork: the library does): every value is a `&CStr` borrowed from `argv`, and
//! the repeatable options fill fixed arrays.

use core::ffi::CStr;

#[cfg(feature = "tool-ready")]
use rawdaemon::Check;
use rawdaemon::log::Facility;
use rawdaemon::{LogOutput, LogTarget};
use rustix::process::Signal;

use crate::cstr;

/// The most `-k` and the most `-E` options.
pub const MAX_REPEATS: usize = 64;

/// What the tool is asked to do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start PROGRAM as a daemon.
    Start,
    /// `--stop`: stop the daemon holding the pid file.
    Stop,
    /// `--status`: report whether a daemon holds the pid file.
    Status,
    /// `--signal` alone: send one signal to the daemon holding the pid file.
    Signal,
}

/// The usual syslog socket.
const DEV_LOG: &[u8] = b"/dev/log";

/// `TAG[.FACILITY]`: the facility defaults to `daemon` for syslog and `user` for kmsg.
fn parse_tag(v: &[u8], kmsg: bool) -> Result<(&str, Facility), Stop<'_>> {
    let last_dot = v.iter().rposition(|&b| b == b'.');
    let (tag, facility) = match last_dot.and_then(|dot| v.split_at_checked(dot)) {
        Some((tag, dot_name)) => {
            let name = dot_name.get(1..).unwrap_or_default();
            let facility =
                Facility::from_name(name).ok_or(Stop::Usage("unknown syslog facility", name))?;
            (tag, facility)
        }
        None if kmsg => (v, Facility::User),
        None => (v, Facility::Daemon),
    };
    let tag = core::str::from_utf8(tag)
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or(Stop::Usage("the log tag must be non-empty UTF-8", v))?;
    Ok((tag, facility))
}

/// `--respawn` alone: 5 restarts per 60 s.
const DEFAULT_RESPAWN: (u32, u32) = (5, 60);

/// The most `--ready-when` checks (each takes 56 bytes of the launcher's stack).
#[cfg(feature = "tool-ready")]
const MAX_CHECKS: usize = 8;

/// Long options without a short letter get a byte no short option can be.
const STOP: u8 = 1;
const STATUS: u8 = 2;
const READY_FD: u8 = 3;
const MAX_RESTARTS: u8 = 4;
const RESTART_PERIOD: u8 = 5;
const SYSLOG: u8 = 6;
const KMSG: u8 = 7;
const LOG_SOCKET: u8 = 8;
// Readiness and the init-script verbs (issue 12).
const READY_WHEN: u8 = 42;
const OKNODO: u8 = 43;
const RETRY: u8 = 44;
// Least privilege and resources for PROGRAM (limits.rs): 0xA0 to 0xA7.
pub const CAPABILITIES: u8 = 0xA0;
pub const NO_NEW_PRIVS: u8 = 0xA1;
pub const SECBITS: u8 = 0xA2;
pub const RLIMIT: u8 = 0xA3;
pub const NICELEVEL: u8 = 0xA4;
pub const IONICE: u8 = 0xA5;
pub const PROCSCHED: u8 = 0xA6;
pub const OOM_SCORE_ADJ: u8 = 0xA7;
// notify-await (and --ready-when's bound, --notify-timeout).
const NOTIFY_AWAIT: u8 = 39;
const NOTIFY_TIMEOUT: u8 = 40;
const WATCHDOG: u8 = 41;
// Log rotation:
const LOG_MAX_SIZE: u8 = 20;
const LOG_KEEP: u8 = 21;
const LOG_TIMESTAMPS: u8 = 22;

/// `--log-keep` unless given: 5 rotated files.
#[cfg(feature = "tool-rotate")]
const DEFAULT_KEEP: u32 = 5;

/// Up to `N` ([`MAX_REPEATS`] unless said) values of a repeatable option, in the order given.
pub struct Repeated<T, const N: usize = MAX_REPEATS> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> Repeated<T, N> {
    /// None yet; `fill` only fills the unused slots.
    const fn new(fill: T) -> Self {
        Repeated {
            items: [fill; N],
            len: 0,
        }
    }

    /// Appends `value`: `false`, and nothing appended, once `N` are there.
    fn push(&mut self, value: T) -> bool {
        let Some(slot) = self.items.get_mut(self.len) else {
            return false;
        };
        *slot = value;
        self.len += 1;
        true
    }

    /// The values given.
    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or_default()
    }
}

/// What the command line asks for.
pub struct Args<'a> {
    pub action: Action,
    /// `--signal`: for `--stop` (default TERM), or alone.
    pub signal: Signal,
    /// `--timeout` for `--stop`, in seconds (default 10).
    pub timeout: u32,
    /// `--signal` and `--timeout` were given.
    pub signal_set: bool,
    pub timeout_set: bool,
    pub pid_file: Option<&'a CStr>,
    pub chdir: &'a CStr,
    pub umask: Option<u32>,
    pub stdout: Option<&'a CStr>,
    pub stderr: Option<&'a CStr>,
    /// `-k N`
    pub keep: Repeated<i32>,
    /// `-E NAME=VALUE`
    pub env: Repeated<&'a CStr>,
    pub foreground: bool,
    /// `-u USER[:GROUP]`
    pub user: Option<&'a CStr>,
    /// `-r DIR`
    pub chroot: Option<&'a CStr>,
    /// `--ready-fd N`
    pub ready_fd: Option<i32>,
    /// `-R`: restarts per period, and the period in seconds.
    pub respawn: Option<(u32, u32)>,
    /// `--syslog TAG[.FACILITY]` or `--kmsg TAG[.FACILITY]`.
    pub log: Option<LogOutput<'a>>,
    /// Index in `argv` of PROGRAM (0 for `--stop` and `--status`).
    pub program: usize,
    // Readiness and the init-script verbs (issue 12):
    /// `--ready-when CHECK` (repeatable).
    #[cfg(feature = "tool-ready")]
    pub ready_when: Repeated<Check<'a>, MAX_CHECKS>,
    /// `--oknodo`: a start while the daemon runs, a stop or signal while none runs, exit 0.
    #[cfg(feature = "tool-control")]
    pub oknodo: bool,
    /// `--retry SCHEDULE` for `--stop`: the steps after the first (`-s`/`-t`), at most
    /// [`MAX_RETRY`]; `retry_len` of them are given.
    #[cfg(feature = "tool-control")]
    pub retry: [(Signal, u32); MAX_RETRY],
    #[cfg(feature = "tool-control")]
    pub retry_len: usize,
    /// `--capabilities`, `--rlimit`, `--nicelevel` and the others of `limits.rs`.
    #[cfg(feature = "tool-limits")]
    pub limits: crate::limits::Options,
    // notify-await.
    /// `--notify-await`
    pub notify_await: bool,
    /// `--notify-timeout SECS`: how long `--notify-await` and `--ready-when` wait (default 60).
    #[cfg_attr(
        not(any(feature = "tool-notify", feature = "tool-ready")),
        allow(dead_code)
    )]
    pub notify_timeout: u32,
    /// `--watchdog SECS`
    pub watchdog: Option<u32>,
    // Log rotation:
    /// `--log-max-size SIZE` and `--log-keep N`.
    #[cfg(feature = "tool-rotate")]
    pub rotation: Option<(u64, u32)>,
    /// `--log-timestamps`.
    #[cfg(feature = "tool-rotate")]
    pub timestamps: bool,
}

/// The most steps of a `--retry` schedule after its first.
#[cfg(feature = "tool-control")]
pub const MAX_RETRY: usize = 8;

/// Why parsing stopped without a program to start.
#[derive(Clone, Copy)]
pub enum Stop<'a> {
    Help,
    Version,
    /// A usage error: the message and the argument it is about.
    Usage(&'static str, &'a [u8]),
}

/// Parses `argv` (without `argv[0]`). Options stop at `--` or at the first argument that is
/// not an option, which is PROGRAM.
pub fn parse<'a>(argv: &[&'a CStr]) -> Result<Args<'a>, Stop<'a>> {
    let mut a = Args {
        action: Action::Start,
        signal: Signal::TERM,
        timeout: 10,
        signal_set: false,
        timeout_set: false,
        pid_file: None,
        chdir: c"/",
        umask: None,
        stdout: None,
        stderr: None,
        keep: Repeated::new(0),
        env: Repeated::new(c""),
        foreground: false,
        user: None,
        chroot: None,
        ready_fd: None,
        respawn: None,
        log: None,
        program: 0,
        #[cfg(feature = "tool-ready")]
        ready_when: Repeated::new(Check::file(c"/")),
        #[cfg(feature = "tool-control")]
        oknodo: false,
        #[cfg(feature = "tool-control")]
        retry: [(Signal::KILL, 5); MAX_RETRY],
        #[cfg(feature = "tool-control")]
        retry_len: 1,
        #[cfg(feature = "tool-limits")]
        limits: crate::limits::Options::new(),
        notify_await: false,
        notify_timeout: 60,
        watchdog: None,
        #[cfg(feature = "tool-rotate")]
        rotation: None,
        #[cfg(feature = "tool-rotate")]
        timestamps: false,
    };
    // --log-keep, applied to --log-max-size at the end.
    #[cfg(feature = "tool-rotate")]
    let mut keep: Option<u32> = None;
    // --log-socket, applied to --syslog at the end (the two may come in any order).
    let mut socket: Option<&'a [u8]> = None;
    // -R itself, not just its limits.
    let mut respawn = false;
    // --retry was given (it needs --stop, and replaces -s and -t).
    #[cfg_attr(not(feature = "tool-control"), allow(unused_mut))]
    let mut retry = false;
    let mut i = 1;
    while let Some(&arg) = argv.get(i) {
        let text = arg.to_bytes();
        if text == b"--" {
            i += 1;
            break;
        }
        // `-` alone, or anything not starting with `-`, is PROGRAM.
        let Some((&first, rest)) = text.strip_prefix(b"-").and_then(<[u8]>::split_first) else {
            break;
        };
        // The option's letter, and its value if it was attached (`-pX`, `--pidfile=X`).
        let (letter, attached): (u8, Option<&'a CStr>) = if first == b'-' {
            let equals = rest.iter().position(|&b| b == b'=');
            let name = equals.and_then(|at| rest.get(..at)).unwrap_or(rest);
            let letter = long_to_short(name).ok_or(Stop::Usage("unknown option", text))?;
            // The value starts past `--`, the name and `=`.
            (letter, equals.map(|at| cstr::tail(arg, at + 3)))
        } else {
            (first, (!rest.is_empty()).then(|| cstr::tail(arg, 2)))
        };
        if !available(letter) {
            return Err(Stop::Usage(
                "option not in this build of rawdaemon (see --version)",
                text,
            ));
        }
        let takes_value = !matches!(
            letter,
            b'h' | b'V'
                | b'f'
                | b'R'
                | STOP
                | STATUS
                | NO_NEW_PRIVS
                | NOTIFY_AWAIT
                | LOG_TIMESTAMPS
                | OKNODO
        );
        let value = if !takes_value {
            if attached.is_some() {
                return Err(Stop::Usage("option takes no value", text));
            }
            None
        } else if let Some(v) = attached {
            Some(v)
        } else {
            i += 1;
            Some(
                *argv
                    .get(i)
                    .ok_or(Stop::Usage("option needs a value", text))?,
            )
        };
        match (letter, value) {
            (b'h', _) => return Err(Stop::Help),
            (b'V', _) => return Err(Stop::Version),
            (b'f', _) => a.foreground = true,
            (STOP, _) => a.action = Action::Stop,
            (SYSLOG | KMSG, Some(v)) => {
                let (tag, facility) = parse_tag(v.to_bytes(), letter == KMSG)?;
                let target = match (letter, a.log) {
                    (KMSG, _) => LogTarget::Kmsg,
                    (
                        _,
                        Some(LogOutput {
                            target: LogTarget::Syslog(path),
                            ..
                        }),
                    ) => LogTarget::Syslog(path),
                    _ => LogTarget::Syslog(DEV_LOG),
                };
                a.log = Some(LogOutput {
                    tag,
                    facility,
                    target,
                });
            }
            (LOG_SOCKET, Some(v)) => {
                socket = Some(non_empty(v, text)?.to_bytes());
            }
            (b'R', _) => {
                respawn = true;
                a.respawn = Some(a.respawn.unwrap_or(DEFAULT_RESPAWN));
            }
            (MAX_RESTARTS | RESTART_PERIOD, Some(v)) => {
                let n = parse_number(v.to_bytes()).ok_or(Stop::Usage(
                    "--max-restarts and --restart-period need a whole number",
                    v.to_bytes(),
                ))?;
                let (max, period) = a.respawn.unwrap_or(DEFAULT_RESPAWN);
                a.respawn = Some(if letter == MAX_RESTARTS {
                    (n, period)
                } else {
                    (max, n)
                });
            }
            (READY_FD, Some(v)) => {
                a.ready_fd = Some(parse_fd(v.to_bytes()).ok_or(Stop::Usage(
                    "--ready-fd needs a descriptor number of 3 or more",
                    v.to_bytes(),
                ))?);
            }
            (STATUS, _) => a.action = Action::Status,
            #[cfg(feature = "tool-notify")]
            (NOTIFY_AWAIT, _) => a.notify_await = true,
            #[cfg(feature = "tool-notify")]
            (WATCHDOG, Some(v)) => {
                let what = "--watchdog needs whole seconds, 1 to 86400";
                let n = parse_seconds(v.to_bytes(), what)?;
                if n == 0 {
                    return Err(Stop::Usage(what, v.to_bytes()));
                }
                a.watchdog = Some(n);
            }
            #[cfg(feature = "tool-rotate")]
            (LOG_MAX_SIZE, Some(v)) => {
                let size =
                    parse_size(v.to_bytes()).map_err(|why| Stop::Usage(why, v.to_bytes()))?;
                a.rotation = Some((size, DEFAULT_KEEP));
            }
            #[cfg(feature = "tool-rotate")]
            (LOG_KEEP, Some(v)) => {
                keep = Some(parse_number(v.to_bytes()).filter(|&n| n <= 999).ok_or(
                    Stop::Usage("--log-keep needs a whole number, 0 to 999", v.to_bytes()),
                )?);
            }
            #[cfg(feature = "tool-rotate")]
            (LOG_TIMESTAMPS, _) => a.timestamps = true,
            #[cfg(feature = "tool-ready")]
            (READY_WHEN, Some(v)) => {
                let check = Check::parse(v).map_err(|e| Stop::Usage(e.as_str(), v.to_bytes()))?;
                if !a.ready_when.push(check) {
                    return Err(Stop::Usage(
                        "too many --ready-when options (at most 8)",
                        v.to_bytes(),
                    ));
                }
            }
            #[cfg(any(feature = "tool-notify", feature = "tool-ready"))]
            (NOTIFY_TIMEOUT, Some(v)) => {
                let what = "--notify-timeout needs whole seconds, 1 to 86400";
                a.notify_timeout = parse_seconds(v.to_bytes(), what)?;
                if a.notify_timeout == 0 {
                    return Err(Stop::Usage(what, v.to_bytes()));
                }
            }
            #[cfg(feature = "tool-control")]
            (OKNODO, _) => a.oknodo = true,
            #[cfg(feature = "tool-control")]
            (RETRY, Some(v)) => {
                retry = true;
                parse_retry(v.to_bytes(), &mut a)?;
            }
            (b's', Some(v)) => {
                a.signal_set = true;
                a.signal = parse_signal(v.to_bytes()).ok_or(Stop::Usage(
                    "unknown signal (a name such as TERM or HUP, or a number)",
                    v.to_bytes(),
                ))?;
            }
            (b't', Some(v)) => {
                a.timeout_set = true;
                a.timeout =
                    parse_seconds(v.to_bytes(), "--timeout needs whole seconds, 0 to 86400")?;
            }
            (b'p', Some(v)) => a.pid_file = Some(non_empty(v, text)?),
            (b'c', Some(v)) => a.chdir = non_empty(v, text)?,
            (b'o', Some(v)) => a.stdout = Some(non_empty(v, text)?),
            (b'e', Some(v)) => a.stderr = Some(non_empty(v, text)?),
            (b'u', Some(v)) => a.user = Some(non_empty(v, text)?),
            (b'r', Some(v)) => a.chroot = Some(non_empty(v, text)?),
            (b'm', Some(v)) => {
                a.umask = Some(
                    parse_octal(v.to_bytes())
                        .ok_or(Stop::Usage("umask must be octal, 0 to 777", v.to_bytes()))?,
                );
            }
            (b'k', Some(v)) => {
                let fd = parse_fd(v.to_bytes()).ok_or(Stop::Usage(
                    "--keep-fd needs a descriptor number of 3 or more",
                    v.to_bytes(),
                ))?;
                if !a.keep.push(fd) {
                    return Err(Stop::Usage(
                        "too many --keep-fd options (at most 64)",
                        v.to_bytes(),
                    ));
                }
            }
            (b'E', Some(v)) => {
                let b = v.to_bytes();
                if b.iter().position(|&c| c == b'=').unwrap_or(0) == 0 {
                    return Err(Stop::Usage("--env needs NAME=VALUE", b));
                }
                if !a.env.push(v) {
                    return Err(Stop::Usage("too many --env options (at most 64)", b));
                }
            }
            #[cfg(feature = "tool-limits")]
            (CAPABILITIES..=OOM_SCORE_ADJ, v) => a.limits.set(letter, v)?,
            _ => return Err(Stop::Usage("unknown option", text)),
        }
        i += 1;
    }
    if a.ready_fd.is_some_and(|fd| a.keep.as_slice().contains(&fd)) {
        return Err(Stop::Usage("--ready-fd cannot also be a --keep-fd", b""));
    }
    match (&mut a.log, socket) {
        (
            Some(LogOutput {
                target: LogTarget::Syslog(path),
                ..
            }),
            Some(s),
        ) => *path = s,
        (_, Some(_)) => return Err(Stop::Usage("--log-socket needs --syslog", b"")),
        _ => {}
    }
    if a.log.is_some() && (a.stdout.is_some() || a.stderr.is_some()) {
        return Err(Stop::Usage("--syslog and --kmsg replace -o and -e", b""));
    }
    #[cfg(feature = "tool-rotate")]
    match (&mut a.rotation, keep) {
        (Some((_, n)), Some(k)) => *n = k,
        (None, Some(_)) => return Err(Stop::Usage("--log-keep needs --log-max-size", b"")),
        _ => {}
    }
    #[cfg(feature = "tool-rotate")]
    if (a.rotation.is_some() || a.timestamps) && a.stdout.is_none() && a.stderr.is_none() {
        return Err(Stop::Usage(
            "--log-max-size and --log-timestamps need -o or -e",
            b"",
        ));
    }
    if a.respawn.is_some() && !respawn {
        return Err(Stop::Usage(
            "--max-restarts and --restart-period need --respawn",
            b"",
        ));
    }
    if a.ready_fd.is_some() && a.respawn.is_some() {
        return Err(Stop::Usage("--ready-fd cannot be used with --respawn", b""));
    }
    if cfg!(feature = "tool-notify") && a.notify_await && a.foreground && a.ready_fd.is_some() {
        return Err(Stop::Usage(
            "--notify-await with -f cannot be used with --ready-fd",
            b"",
        ));
    }
    if cfg!(feature = "tool-notify")
        && a.watchdog.is_some()
        && !(a.notify_await && a.respawn.is_some())
    {
        return Err(Stop::Usage("--watchdog needs --notify-await and -R", b""));
    }
    // --signal alone sends one signal; with --stop it is the one the stop sends.
    if a.signal_set && a.action == Action::Start {
        a.action = Action::Signal;
    }
    if a.timeout_set && a.action != Action::Stop {
        return Err(Stop::Usage("--timeout needs --stop", b""));
    }
    if retry && (a.action != Action::Stop || a.timeout_set || a.signal_set) {
        return Err(Stop::Usage(
            "--retry needs --stop, and replaces -s and -t",
            b"",
        ));
    }
    #[cfg(feature = "tool-limits")]
    a.limits.check()?;
    #[cfg(feature = "tool-ready")]
    if !a.ready_when.as_slice().is_empty() && a.foreground && a.respawn.is_none() {
        return Err(Stop::Usage(
            "--ready-when needs a process that waits: not with -f unless -R",
            b"",
        ));
    }
    if a.signal_set && a.action == Action::Status {
        return Err(Stop::Usage("--signal cannot be used with --status", b""));
    }
    if a.action != Action::Start {
        if a.pid_file.is_none() {
            return Err(Stop::Usage(
                "--stop, --status and --signal need -p PIDFILE",
                b"",
            ));
        }
        if let Some(extra) = argv.get(i) {
            return Err(Stop::Usage(
                "--stop, --status and --signal take no program",
                extra.to_bytes(),
            ));
        }
        return Ok(a);
    }
    if i >= argv.len() {
        return Err(Stop::Usage("no program given", b""));
    }
    a.program = i;
    Ok(a)
}

/// The long options and their short letters, searched in a loop: a table costs the
/// smallest tool less than a `match`, which compares each name in line.
fn long_to_short(name: &[u8]) -> Option<u8> {
    LONG.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
}

/// See [`long_to_short`].
const LONG: &[(&[u8], u8)] = &[
    (b"pidfile", b'p'),
    (b"chdir", b'c'),
    (b"umask", b'm'),
    (b"stdout", b'o'),
    (b"stderr", b'e'),
    (b"keep-fd", b'k'),
    (b"env", b'E'),
    (b"foreground", b'f'),
    (b"user", b'u'),
    (b"chroot", b'r'),
    (b"stop", STOP),
    (b"ready-fd", READY_FD),
    (b"syslog", SYSLOG),
    (b"kmsg", KMSG),
    (b"log-socket", LOG_SOCKET),
    (b"respawn", b'R'),
    (b"max-restarts", MAX_RESTARTS),
    (b"restart-period", RESTART_PERIOD),
    (b"status", STATUS),
    (b"signal", b's'),
    (b"timeout", b't'),
    (b"help", b'h'),
    (b"version", b'V'),
    // Readiness and the init-script verbs.
    (b"ready-when", READY_WHEN),
    (b"notify-timeout", NOTIFY_TIMEOUT),
    (b"oknodo", OKNODO),
    (b"retry", RETRY),
    // Least privilege and resources (limits.rs).
    (b"capabilities", CAPABILITIES),
    (b"no-new-privs", NO_NEW_PRIVS),
    (b"secbits", SECBITS),
    (b"rlimit", RLIMIT),
    (b"nicelevel", NICELEVEL),
    (b"ionice", IONICE),
    (b"procsched", PROCSCHED),
    (b"oom-score-adj", OOM_SCORE_ADJ),
    // notify-await.
    (b"notify-await", NOTIFY_AWAIT),
    (b"watchdog", WATCHDOG),
    // Log rotation.
    (b"log-max-size", LOG_MAX_SIZE),
    (b"log-keep", LOG_KEEP),
    (b"log-timestamps", LOG_TIMESTAMPS),
];

/// Whether this build has the option: the `tool-*` cargo features leave some out, and the
/// parsing of an option left out is never reached (nor linked).
#[allow(
    clippy::match_like_matches_macro,
    reason = "one arm per feature reads better, and without the features every arm is false"
)]
const fn available(letter: u8) -> bool {
    match letter {
        STOP | STATUS | b's' | b't' | OKNODO | RETRY => cfg!(feature = "tool-control"),
        READY_WHEN => cfg!(feature = "tool-ready"),
        NOTIFY_TIMEOUT => cfg!(any(feature = "tool-notify", feature = "tool-ready")),
        READY_FD | NOTIFY_AWAIT | WATCHDOG => cfg!(feature = "tool-notify"),
        b'u' => cfg!(feature = "tool-privileges"),
        b'R' | MAX_RESTARTS | RESTART_PERIOD => cfg!(feature = "tool-respawn"),
        SYSLOG | KMSG | LOG_SOCKET => cfg!(feature = "tool-syslog"),
        CAPABILITIES..=OOM_SCORE_ADJ => cfg!(feature = "tool-limits"),
        LOG_MAX_SIZE | LOG_KEEP | LOG_TIMESTAMPS => cfg!(feature = "tool-rotate"),
        _ => true,
    }
}

fn non_empty<'a>(v: &'a CStr, option: &'a [u8]) -> Result<&'a CStr, Stop<'a>> {
    if v.is_empty() {
        Err(Stop::Usage("option needs a non-empty value", option))
    } else {
        Ok(v)
    }
}

/// An octal umask from 0 to 777.
pub fn parse_octal(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    let mut n = 0;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        n = n * 8 + u32::from(b - b'0');
    }
    (n <= 0o777).then_some(n)
}

/// A descriptor number of 3 or more.
fn parse_fd(s: &[u8]) -> Option<i32> {
    parse_number(s).filter(|&n| n >= 3).map(|n| n as i32)
}

/// Whole seconds, 0 to 86400; `what` is the usage error otherwise.
fn parse_seconds<'a>(s: &'a [u8], what: &'static str) -> Result<u32, Stop<'a>> {
    parse_number(s)
        .filter(|&t| t <= 86_400)
        .ok_or(Stop::Usage(what, s))
}

#[cfg(feature = "tool-control")]
/// `--retry SCHEDULE`, start-stop-daemon's and supervise-daemon's syntax: `TIMEOUT` (TERM,
/// then KILL, each given TIMEOUT seconds) or `SIGNAL/TIMEOUT/...` pairs (`TERM/30/KILL/5`).
/// The first pair becomes `-s`/`-t`, the rest the steps after it.
fn parse_retry<'a>(v: &'a [u8], a: &mut Args<'a>) -> Result<(), Stop<'a>> {
    let bad = Stop::Usage(
        "--retry needs TIMEOUT or SIGNAL/TIMEOUT pairs (TERM/30/KILL/5)",
        v,
    );
    if let Ok(t) = parse_seconds(v, "") {
        a.signal = Signal::TERM;
        a.timeout = t;
        a.retry = [(Signal::KILL, t); MAX_RETRY];
        a.retry_len = 1;
        return Ok(());
    }
    let mut fields = v.split(|&b| b == b'/');
    let mut n = 0;
    while let Some(sig) = fields.next() {
        let signal = parse_signal(sig).ok_or(bad)?;
        let timeout = fields
            .next()
            .and_then(|t| parse_seconds(t, "").ok())
            .ok_or(bad)?;
        if n == 0 {
            (a.signal, a.timeout) = (signal, timeout);
        } else {
            *a.retry.get_mut(n - 1).ok_or(bad)? = (signal, timeout);
        }
        n += 1;
    }
    a.retry_len = n.saturating_sub(1);
    Ok(())
}

/// A decimal number of at most nine digits.
fn parse_number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0_u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

#[cfg(feature = "tool-rotate")]
/// A size in bytes, with an optional `K`, `M` or `G` (powers of 1024; either case), of
/// 4096 or more: `--log-max-size`.
fn parse_size(s: &[u8]) -> Result<u64, &'static str> {
    let (digits, shift) = match s.split_last() {
        Some((b'k' | b'K', d)) => (d, 10),
        Some((b'm' | b'M', d)) => (d, 20),
        Some((b'g' | b'G', d)) => (d, 30),
        _ => (s, 0),
    };
    match parse_number(digits) {
        Some(n) if u64::from(n) << shift >= 4096 => Ok(u64::from(n) << shift),
        None if digits.len() > 9 && digits.iter().all(u8::is_ascii_digit) => {
            Err("--log-max-size is too large (at most nine digits, then K, M or G)")
        }
        _ => Err("--log-max-size needs a size of 4096 bytes or more (such as 64K, 10M)"),
    }
}

/// A signal by name (`TERM`, `SIGTERM`, any case) or number.
fn parse_signal(s: &[u8]) -> Option<Signal> {
    if let Some(n) = parse_number(s) {
        return Signal::from_named_raw(n as i32);
    }
    let mut name = [0_u8; 8];
    let s = match s.split_at_checked(3) {
        Some((sig, rest)) if !rest.is_empty() && sig.eq_ignore_ascii_case(b"SIG") => rest,
        _ => s,
    };
    let name = name.get_mut(..s.len())?;
    for (d, b) in name.iter_mut().zip(s) {
        *d = b.to_ascii_uppercase();
    }
    Some(match &*name {
        b"HUP" => Signal::HUP,
        b"INT" => Signal::INT,
        b"QUIT" => Signal::QUIT,
        b"KILL" => Signal::KILL,
        b"USR1" => Signal::USR1,
        b"USR2" => Signal::USR2,
        b"ALRM" => Signal::ALARM,
        b"TERM" => Signal::TERM,
        b"CONT" => Signal::CONT,
        b"STOP" => Signal::STOP,
        b"WINCH" => Signal::WINCH,
        b"PWR" => Signal::POWER,
        _ => return None,
    })
}
