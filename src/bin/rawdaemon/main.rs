//! `rawdaemon [OPTIONS] [--] PROGRAM [ARG]...`: start PROGRAM as a daemon.
//!
//! A thin layer over the library: parse the command line in place, find PROGRAM, build its
//! environment in a fixed array, then [`Daemon::start`] with [`Exec`]. `#![no_std]` and
//! `#![no_main]`: the C library's `_start` calls `main`, and nothing here allocates.
#![no_std]
#![no_main]

mod args;
mod search;

use core::ffi::CStr;
use core::mem::MaybeUninit;

use rawdaemon::{Credentials, Daemon, Error, Exec, Message, Output, Runtime, Step};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;

#[cfg(feature = "tool-control")]
use args::Action;
use args::{Args, Stop};

/// `--help`, in parts: an option a `tool-*` feature leaves out is neither printed nor linked.
const USAGE: &[&str] = &[
    "\
Usage: rawdaemon [OPTIONS] [--] PROGRAM [ARG]...
",
    #[cfg(feature = "tool-control")]
    "       rawdaemon --stop -p PIDFILE [-s SIGNAL] [-t SECONDS]
       rawdaemon --status -p PIDFILE
       rawdaemon --signal SIGNAL -p PIDFILE
",
    "\
Start PROGRAM as a daemon: fork, setsid, fork, chdir, umask, stdio on /dev/null (or log
files), every other descriptor closed, signals reset, pid file written and locked. Exits 0
once PROGRAM has been executed, or non-zero with a message naming the step that failed.

  -p, --pidfile PATH   write the daemon's pid to PATH and hold its lock; refuse to start
                       while another process holds it
  -c, --chdir DIR      working directory (default /)
  -m, --umask OCTAL    file-creation mask (default 022)
  -o, --stdout PATH    append stdout to PATH (default /dev/null)
  -e, --stderr PATH    append stderr to PATH (default /dev/null)
  -k, --keep-fd N      leave descriptor N open for PROGRAM (repeatable)
  -E, --env NAME=VALUE set an environment variable for PROGRAM (repeatable)
  -f, --foreground     do not fork or start a session; stdout and stderr stay as they are
                       unless -o or -e is given
",
    #[cfg(feature = "tool-privileges")]
    "  -u, --user USER[:GROUP]
                       run as USER (a name in /etc/passwd or a number), in GROUP (default:
                       USER's) and USER's groups in /etc/group; the pid and log files are
                       opened first, new log files are given to USER
",
    "  -r, --chroot DIR     change the root directory to DIR; PROGRAM is looked up inside it
",
    #[cfg(feature = "tool-respawn")]
    "  -R, --respawn        stay as a supervisor (the pid file names it) that restarts PROGRAM
                       when it exits with a status other than 0 or is killed, after a
                       delay of 100 ms doubling to 60 s; forwards TERM INT QUIT HUP USR1
                       USR2; with -o/-e captures PROGRAM's output and reopens the files on
                       HUP; ends (removing the pid file) when PROGRAM exits 0 or is stopped.
                       While it captures output (-o/-e, --syslog, --kmsg), HUP is forwarded
                       only if PROGRAM catches or ignores SIGHUP: a log rotation never kills
                       a PROGRAM that leaves it at its default
      --max-restarts N     give up after N restarts within the period (default 5)
      --restart-period SECS  that period (default 60)
",
    #[cfg(feature = "tool-syslog")]
    "      --syslog TAG[.FACILITY]  send PROGRAM's stdout (info) and stderr (err) to syslog line by
                       line, as TAG[PID] (facility default daemon), through a small logging
                       process (with -R, the supervisor, which logs its own messages too)
      --kmsg TAG[.FACILITY]    the same into the kernel log, /dev/kmsg (default user)
      --log-socket PATH    the syslog socket (default /dev/log); if nothing listens on it
                       at start, a warning says so and PROGRAM starts anyway: lines are
                       dropped (and counted in the log) until the socket accepts them
",
    #[cfg(feature = "tool-notify")]
    "      --ready-fd N     PROGRAM reports readiness by writing a newline to descriptor N: exit
                       only then (and kill PROGRAM if it exits or closes N first)
",
    "  -h, --help           print this help
  -V, --version        print the version

",
    #[cfg(feature = "tool-notify")]
    "\
With NOTIFY_SOCKET set (systemd Type=notify), READY=1 and MAINPID= are sent once PROGRAM
is ready: by this process just before it exits, or with -f just before exec (with -f and
--ready-fd, by a small watcher process: systemd then needs NotifyAccess=all).

",
    #[cfg(feature = "tool-control")]
    "\
Stop, status and signal find the daemon by the pid file's lock, never by the number alone:
      --stop           send SIGNAL to the process holding PIDFILE's lock and to every
                       process it started (its descendants, those holding that lock and,
                       for a daemon, its session), each through a pidfd; wait for all to
                       exit, SIGKILL those left after the timeout, then remove PIDFILE
  -s, --signal NAME    the signal --stop sends (default TERM); without --stop, send NAME
                       to the process holding PIDFILE's lock only, and return at once
  -t, --timeout SECS   how long --stop waits before SIGKILL (default 10)
      --status         print the pid of the process holding PIDFILE's lock

",
    "\
Exit status: 0 started; 1 a step failed; 2 usage error; 126 PROGRAM could not be
executed; 127 PROGRAM not found.
",
    #[cfg(feature = "tool-control")]
    "\
--stop: 0 stopped, 1 nothing running or a failure. --status: 0 running, 1 dead but the
pid file is left (or still locked by a process the daemon started: --stop ends it), 3 not
running, 4 unknown. --signal: 0 delivered, 1 failure, 3 not running, 4 unknown holder.
",
];

/// The most environment variables PROGRAM can inherit.
const MAX_ENV: usize = 4096;

/// The most arguments the tool takes (PROGRAM's included).
const MAX_ARGS: usize = 1024;

/// The tool's large arrays: in `.bss`, not on the stack, so that a launcher started under a
/// small stack limit (`ulimit -s 64`) has its whole stack for the calls it makes. Every
/// field starts zeroed or uninitialized, so that none of it takes room in the binary.
struct Scratch {
    strings: [MaybeUninit<&'static CStr>; MAX_ARGS],
    set: [MaybeUninit<&'static CStr>; args::MAX_REPEATS + 3],
    env: [*const u8; MAX_ENV + args::MAX_REPEATS + 4],
    resolved: search::PathBuf,
    #[cfg(feature = "tool-privileges")]
    account: AccountEnv,
}

/// The one [`Scratch`], taken by `main` alone.
static mut SCRATCH: Scratch = Scratch {
    strings: [const { MaybeUninit::uninit() }; MAX_ARGS],
    set: [const { MaybeUninit::uninit() }; args::MAX_REPEATS + 3],
    env: [core::ptr::null(); MAX_ENV + args::MAX_REPEATS + 4],
    resolved: search::PathBuf::new(),
    #[cfg(feature = "tool-privileges")]
    account: AccountEnv::new(),
};

/// The entry point the C library's `_start` calls.
///
/// # Safety
///
/// Called once by the C runtime with `argc` valid pointers in `argv` (followed by a null) and a
/// null-terminated `envp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: i32, argv: *const *const u8, envp: *const *const u8) -> i32 {
    // A reader that went away (`rawdaemon --help | head -1`, a closed log pipe) makes a
    // write fail with EPIPE instead of killing this process: the exit status stays one of
    // those documented. The daemon gets SIGPIPE back at its default (the start resets every
    // signal /proc/self/status shows ignored).
    // SAFETY: setting a disposition to SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: `main` runs once, in this process's only thread: nothing else ever refers to
    // SCRATCH.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    let Scratch {
        strings,
        set,
        env: env_ptrs,
        resolved,
        #[cfg(feature = "tool-privileges")]
        account,
    } = scratch;
    let argc = argc.max(0) as usize;
    // SAFETY: the C runtime passes argc pointers followed by a null.
    let raw_argv = unsafe { core::slice::from_raw_parts(argv, argc + 1) };
    if argc > strings.len() {
        return usage_error("too many arguments", b"");
    }
    for (slot, &p) in strings.iter_mut().zip(&raw_argv[..argc]) {
        // SAFETY: each argv entry is a NUL-terminated string.
        slot.write(unsafe { CStr::from_ptr(p.cast()) });
    }
    // SAFETY: the first argc slots were just written.
    let strings = unsafe { written(&strings[..argc]) };
    let args = match args::parse(strings) {
        Ok(a) => a,
        Err(Stop::Help) => return help(),
        Err(Stop::Version) => return version(),
        Err(Stop::Usage(what, arg)) => return usage_error(what, arg),
    };
    #[cfg(feature = "tool-control")]
    match (args.action, args.pid_file) {
        (Action::Stop, Some(path)) => return stop(path, &args),
        (Action::Status, Some(path)) => return status(path),
        (Action::Signal, Some(path)) => return signal(path, &args),
        _ => {}
    }
    #[cfg(feature = "tool-privileges")]
    let user = match args
        .user
        .map(|spec| (spec, Credentials::lookup(spec.to_bytes())))
    {
        None => None,
        Some((_, Ok(user))) => Some(user),
        Some((spec, Err(e))) => {
            e.message("rawdaemon", Some(spec.to_bytes()))
                .write_line(stderr());
            return 1;
        }
    };
    #[cfg(not(feature = "tool-privileges"))]
    let user: Option<Credentials> = None;
    // SAFETY: the C runtime's environment is null-terminated.
    let env = unsafe { inherited_env(envp) };
    let mut set_len = 0;
    // -u sets USER, LOGNAME and HOME as login does; -E, after them, can still override.
    #[cfg(feature = "tool-privileges")]
    for entry in account.entries(user.as_ref()) {
        set[set_len].write(entry);
        set_len += 1;
    }
    for &entry in &args.env[..args.env_len] {
        set[set_len].write(entry);
        set_len += 1;
    }
    // SAFETY: the first set_len slots were just written.
    let set = unsafe { written(&set[..set_len]) };
    let Some(env_len) = build_env(env, set, env_ptrs) else {
        return usage_error("too many environment variables (at most 4096)", b"");
    };
    if let Some(dir) = args.chroot {
        // Before PROGRAM is looked for inside it, so that a missing DIR is named as such.
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Err(e) = rustix::fs::open(dir, flags, Mode::empty()) {
            Error::new(Step::Chroot, e)
                .message("rawdaemon", Some(dir.to_bytes()))
                .write_line(stderr());
            return 1;
        }
    }
    let name = strings[args.program];
    let search_path = find_env(&env_ptrs[..env_len], b"PATH");
    // With -u a plain name is looked up by the daemon, as USER (a directory only root may
    // search is skipped there, as chpst -u does); otherwise here, before anything starts.
    let as_user = user.is_some() && !name.to_bytes().contains(&b'/');
    let path = if as_user {
        Ok(name)
    } else {
        search::resolve(name, search_path, args.chroot.map(CStr::to_bytes), resolved)
    };
    let program_argv = &raw_argv[args.program..];
    // SAFETY: both vectors end with a null pointer (the kernel's argv, and `build_env`'s
    // output, whose final slot is null) and point to strings that live as long as the process:
    // the kernel's, and the scratch storage's.
    let mut exec = unsafe { Exec::new(path.unwrap_or(name), program_argv, &env_ptrs[..=env_len]) };
    if as_user {
        exec = exec.search_path(search_path.unwrap_or(search::DEFAULT_PATH));
    }
    let mut daemon = configure(&args, exec);
    if let Some(user) = &user {
        daemon = daemon.user(user);
    }
    #[cfg(feature = "tool-notify")]
    if let Some(socket) = find_env(&env_ptrs[..env_len], b"NOTIFY_SOCKET") {
        daemon = daemon.notify_socket(socket);
    }
    // A service manager waiting for READY=1 would wait in vain (and time out): say why.
    #[cfg(not(feature = "tool-notify"))]
    if find_env(&env_ptrs[..env_len], b"NOTIFY_SOCKET").is_some() {
        let mut m = Message::new();
        m.push_str("rawdaemon: warning: NOTIFY_SOCKET is set, but this build has no ")
            .push_str("tool-notify: no READY=1 is sent");
        m.write_line(stderr());
    }
    #[cfg(feature = "tool-notify")]
    if let Some(fd) = args.ready_fd {
        daemon = daemon.ready_fd(fd);
    }
    #[cfg(feature = "tool-respawn")]
    if let Some((max, period)) = args.respawn {
        daemon = daemon.respawn(max, period);
    }
    #[cfg(feature = "tool-syslog")]
    if let Some(out) = args.log {
        daemon = daemon.log_output(out);
        warn_without_log_socket(out);
    }
    if let Err(errno) = path {
        let error = Error::new(Step::Exec, errno);
        daemon.message(&error).write_line(stderr());
        return rawdaemon::exit_code(&error);
    }
    // SAFETY: this program never starts a thread; it links a C library, hence Runtime::Libc;
    // argv and envp come from the C runtime and the fixed array above, all null-terminated.
    let _never = unsafe { daemon.start() };
    // Not reached: start() exits in the original process and execs (or exits) in the daemon.
    1
}

/// `--syslog` while nothing listens on the socket: says so once and starts anyway (a log
/// daemon may come up later in boot; until it accepts them, lines are dropped and counted).
///
/// # References
///  - [connect(2)](https://man7.org/linux/man-pages/man2/connect.2.html)
#[cfg(feature = "tool-syslog")]
fn warn_without_log_socket(out: rawdaemon::LogOutput<'_>) {
    let rawdaemon::LogTarget::Syslog(path) = out.target else {
        return;
    };
    if let Err(e) = rawdaemon::log::Syslog::new("", out.facility, 0)
        .path(path)
        .connect()
    {
        let mut m = Message::new();
        m.push_str("rawdaemon: warning: syslog socket ")
            .push_path(path, 256)
            .push_str(": ")
            .push_errno(e)
            .push_str("; lines are dropped until it accepts them");
        m.write_line(stderr());
    }
}

/// `--stop`: 0 once every process of the daemon has exited and the pid file is removed, 1
/// otherwise.
#[cfg(feature = "tool-control")]
fn stop(path: &CStr, args: &Args<'_>) -> i32 {
    let timeout = core::time::Duration::from_secs(u64::from(args.timeout));
    match rawdaemon::control::stop(path, args.signal, timeout) {
        Ok(stopped) => {
            if let Some(pid) = stopped.killed {
                let mut m = Message::new();
                m.push_str("rawdaemon: stop: pid ")
                    .push_u32(pid.as_raw_nonzero().get() as u32)
                    .push_str(" was still running after ")
                    .push_u32(args.timeout)
                    .push_str(" s; sent SIGKILL");
                m.write_line(stderr());
            }
            0
        }
        Err(e) => {
            e.message("rawdaemon", Some(path.to_bytes()))
                .write_line(stderr());
            1
        }
    }
}

/// `--signal` alone: 0 delivered, 3 nothing running, 4 the holder is not the daemon, 1
/// otherwise.
#[cfg(feature = "tool-control")]
fn signal(path: &CStr, args: &Args<'_>) -> i32 {
    match rawdaemon::control::signal(path, args.signal) {
        Ok(_) => 0,
        Err(e) => {
            e.message("rawdaemon", Some(path.to_bytes()))
                .write_line(stderr());
            use rawdaemon::control::{Command, Detail};
            match (e.command(), e.errno(), e.detail()) {
                (Command::Signal, Errno::SRCH, Detail::NotRunning | Detail::Orphaned) => 3,
                (Command::Signal, Errno::SRCH, Detail::Unidentified) => 4,
                // A holder not proven to be the daemon's, named.
                (Command::Signal, Errno::PERM, Detail::Pid(_)) => 4,
                _ => 1,
            }
        }
    }
}

/// `--status`: prints the pid of a running daemon; the exit status is the LSB one.
#[cfg(feature = "tool-control")]
fn status(path: &CStr) -> i32 {
    let status = match rawdaemon::control::status(path) {
        Ok(s) => s,
        Err(e) => {
            e.message("rawdaemon", Some(path.to_bytes()))
                .write_line(stderr());
            return 4;
        }
    };
    let mut m = Message::new();
    if let rawdaemon::control::Status::Running(pid) = status {
        m.push_u32(pid.as_raw_nonzero().get() as u32);
        m.write_line(stdout());
        return 0;
    }
    m.push_str("rawdaemon: status ")
        .push_path(path.to_bytes(), 256);
    match status {
        rawdaemon::control::Status::Dead(pid) => {
            m.push_str(": not running; the pid file is left behind");
            if let Some(pid) = pid {
                m.push_str(" (it names pid ")
                    .push_u32(pid.as_raw_nonzero().get() as u32)
                    .push_str(")");
            }
        }
        rawdaemon::control::Status::NotRunning => {
            m.push_str(": not running");
        }
        rawdaemon::control::Status::Orphaned(pid) => {
            m.push_str(": the daemon is gone, but pid ")
                .push_u32(pid.as_raw_nonzero().get() as u32)
                .push_str(" it started still holds its lock (--stop ends it)");
        }
        rawdaemon::control::Status::Unknown(Some(pid)) => {
            m.push_str(": locked by pid ")
                .push_u32(pid.as_raw_nonzero().get() as u32)
                .push_str(", not by the pid written in it");
        }
        _ => {
            m.push_str(": locked by a process other than the pid written in it");
            if !rustix::process::geteuid().is_root() {
                m.push_str(" (or by one this user may not inspect)");
            }
        }
    }
    m.write_line(stderr());
    status.lsb_code()
}

/// `--help`: [`USAGE`] on stdout.
fn help() -> i32 {
    for part in USAGE {
        if print(stdout(), part.as_bytes(), 0) != 0 {
            return 1;
        }
    }
    0
}

/// `--version`: the version, and the `tool-*` features this build was made without.
fn version() -> i32 {
    let mut m = Message::new();
    m.push_str(concat!("rawdaemon ", env!("CARGO_PKG_VERSION")));
    let mut first = true;
    for &(feature, present) in args::FEATURES {
        if !present {
            m.push_str(if first { " (without " } else { ", " })
                .push_str(feature);
            first = false;
        }
    }
    if !first {
        m.push_str(")");
    }
    m.write_line(stdout());
    0
}

/// The library's configuration for these arguments.
fn configure<'a>(args: &'a Args<'a>, exec: Exec<'a>) -> Daemon<'a> {
    let keep = if args.foreground {
        Output::Inherit
    } else {
        Output::Null
    };
    let out = |path: Option<&'a CStr>| path.map_or(keep, Output::Append);
    let mut d = Daemon::new(Runtime::Libc)
        .chdir(args.chdir)
        .stdout(out(args.stdout))
        .stderr(out(args.stderr))
        .keep_fds(&args.keep[..args.keep_len])
        .foreground(args.foreground)
        // This program is single-threaded by construction, and qemu-user adds a thread of
        // its own that the check would count.
        .skip_thread_check()
        .exec(exec);
    if let Some(path) = args.pid_file {
        d = d.pid_file(path);
    }
    if let Some(mask) = args.umask {
        d = d.umask(mask);
    }
    if let Some(dir) = args.chroot {
        d = d.chroot(dir);
    }
    d
}

/// The initialized start of a [`Scratch`] array, as the values it holds.
///
/// # Safety
///
/// Every slot of `slots` has been written.
unsafe fn written<'s>(slots: &'s [MaybeUninit<&'static CStr>]) -> &'s [&'static CStr] {
    // SAFETY: MaybeUninit<T> has T's layout, and the caller guarantees every slot is
    // initialized.
    unsafe { &*(core::ptr::from_ref(slots) as *const [&'static CStr]) }
}

/// The C runtime's environment as a slice (without the final null).
///
/// # Safety
///
/// `envp` is null or a null-terminated array of pointers.
unsafe fn inherited_env<'a>(envp: *const *const u8) -> &'a [*const u8] {
    if envp.is_null() {
        return &[];
    }
    let mut n = 0;
    // SAFETY: the array is null-terminated.
    while !unsafe { *envp.add(n) }.is_null() {
        n += 1;
    }
    // SAFETY: n entries were just read.
    unsafe { core::slice::from_raw_parts(envp, n) }
}

/// `USER=`, `LOGNAME=` and `HOME=` for the account of `-u`, in fixed buffers.
#[cfg(feature = "tool-privileges")]
struct AccountEnv {
    user: [u8; 72],
    logname: [u8; 72],
    home: [u8; 264],
}

#[cfg(feature = "tool-privileges")]
impl AccountEnv {
    const fn new() -> Self {
        AccountEnv {
            user: [0; 72],
            logname: [0; 72],
            home: [0; 264],
        }
    }

    /// The entries for `user`'s `/etc/passwd` entry. A variable that entry cannot give (a
    /// number without an entry, a name or home too long for the buffers) is named alone,
    /// which removes it: PROGRAM must never see the launcher's (root's) `HOME`.
    fn entries<'s>(&'s mut self, user: Option<&Credentials>) -> impl Iterator<Item = &'s CStr> {
        let name = user.and_then(Credentials::name);
        let home = user.and_then(Credentials::home);
        let user_entry = name.and_then(|n| entry(&mut self.user, b"USER=", n));
        let logname = name.and_then(|n| entry(&mut self.logname, b"LOGNAME=", n));
        let home = home.and_then(|h| entry(&mut self.home, b"HOME=", h));
        [
            user_entry.unwrap_or(c"USER"),
            logname.unwrap_or(c"LOGNAME"),
            home.unwrap_or(c"HOME"),
        ]
        .into_iter()
        .filter(move |_| user.is_some())
    }
}

/// `NAME=value` and a NUL in `buf`, if it fits.
#[cfg(feature = "tool-privileges")]
fn entry<'b>(buf: &'b mut [u8], name: &[u8], value: &[u8]) -> Option<&'b CStr> {
    let len = name.len() + value.len();
    if len >= buf.len() {
        return None;
    }
    buf[..name.len()].copy_from_slice(name);
    buf[name.len()..len].copy_from_slice(value);
    buf[len] = 0;
    CStr::from_bytes_with_nul(&buf[..=len]).ok()
}

/// The inherited environment less the names `set` sets, then the `set` entries (a later one
/// for the same name wins; an entry without `=` only removes its name), then a null. Returns
/// the number of entries, `None` if they do not fit.
fn build_env(env: &[*const u8], set: &[&CStr], out: &mut [*const u8]) -> Option<usize> {
    let mut n = 0;
    for &entry in env {
        // SAFETY: environment entries are NUL-terminated strings.
        let text = unsafe { CStr::from_ptr(entry.cast()) }.to_bytes();
        if set.iter().any(|e| same_name(e.to_bytes(), text)) {
            continue;
        }
        *out.get_mut(n)? = entry;
        n += 1;
    }
    for (i, e) in set.iter().enumerate() {
        // A later -E for the same name wins.
        let removal = !e.to_bytes().contains(&b'=');
        if removal
            || set[i + 1..]
                .iter()
                .any(|later| same_name(later.to_bytes(), e.to_bytes()))
        {
            continue;
        }
        *out.get_mut(n)? = e.as_ptr().cast();
        n += 1;
    }
    *out.get_mut(n)? = core::ptr::null();
    Some(n)
}

/// Whether two `NAME=VALUE` entries set the same name.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let name = |s: &[u8]| -> usize { s.iter().position(|&c| c == b'=').unwrap_or(s.len()) };
    a[..name(a)] == b[..name(b)]
}

/// The value of `name` in the environment.
fn find_env<'a>(env: &[*const u8], name: &[u8]) -> Option<&'a [u8]> {
    env.iter().find_map(|&entry| {
        // SAFETY: environment entries are NUL-terminated strings that live as long as main.
        let text = unsafe { CStr::from_ptr(entry.cast()) }.to_bytes();
        text.strip_prefix(name)?.strip_prefix(b"=")
    })
}

fn usage_error(what: &str, arg: &[u8]) -> i32 {
    let mut m = Message::new();
    m.push_str("rawdaemon: ").push_str(what);
    if !arg.is_empty() {
        m.push_str(": ").push(arg);
    }
    m.push_str(" (try --help)");
    m.write_line(stderr());
    2
}

fn print(fd: BorrowedFd<'_>, bytes: &[u8], code: i32) -> i32 {
    let mut rest = bytes;
    while !rest.is_empty() {
        match rustix::io::write(fd, rest) {
            Ok(n) if n > 0 => rest = &rest[n..],
            Err(Errno::INTR) => {}
            _ => return 1,
        }
    }
    code
}

fn stdout() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 is only written to; a closed one fails with EBADF.
    unsafe { BorrowedFd::borrow_raw(1) }
}

fn stderr() -> BorrowedFd<'static> {
    // SAFETY: as for stdout.
    unsafe { BorrowedFd::borrow_raw(2) }
}

#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let _ = rustix::io::write(stderr(), b"rawdaemon: internal error\n");
    // 101, the status of a Rust program whose main thread panicked and unwound. Not
    // `abort()`: its signal machinery (and musl's lock around it) would be a fifth of the
    // smallest build's C library.
    Runtime::Libc.exit(101)
}

/// Debug builds of `core` refer to the unwinder's personality routine even with
/// `panic = "abort"`; nothing ever unwinds here.
#[cfg(all(debug_assertions, not(feature = "std")))]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
