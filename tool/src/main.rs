//! `rawdaemon [OPTIONS] [--] PROGRAM [ARG]...`: start PROGRAM as a daemon.
//!
//! A thin layer over the library: parse the command line in place, find PROGRAM, build its
//! environment in a fixed array, then [`Daemon::start`] with [`Exec`]. `#![no_std]` and
//! `#![no_main]`, with no C library: its own `_start` (`start.rs`) calls `main`, every system
//! call is a raw one ([`Runtime::NoLibc`]), and nothing here allocates.
//!
//! Every file of the tool runs in the launching process only: the tool never runs its own
//! code after a fork; the library does. This one holds the entry point, the scratch storage
//! and the start; the other concerns have a file each:
//!  - `args.rs`: the command line, parsed in place;
//!  - `usage.rs`: the `--help` and `--version` text;
//!  - `control.rs`: `--stop`, `--status` and `--signal`;
//!  - `env.rs`: PROGRAM's environment;
//!  - `search.rs`: finding PROGRAM as a shell does;
//!  - `output.rs`: writing to stdout and stderr;
//!  - `cstr.rs`: C strings cut out of byte slices;
//!  - `listen.rs`: socket activation passed through to PROGRAM;
//!  - `start.rs`: `_start` for each CPU, the auxiliary vector and the panic handler;
//!  - `mem.rs`: `memcpy` and the other memory functions `core` calls.
#![no_std]
#![no_main]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod args;
#[cfg(feature = "tool-control")]
mod control;
mod cstr;
mod env;
#[cfg(feature = "tool-limits")]
mod limits;
#[cfg(feature = "tool-ready")]
mod listen;
mod mem;
#[cfg(feature = "tool-notify")]
mod notify_await;
mod output;
mod search;
mod start;
mod usage;

use core::ffi::CStr;
use core::mem::MaybeUninit;

#[cfg(any(feature = "tool-syslog", not(feature = "tool-notify")))]
use rawdaemon::Message;
use rawdaemon::{Credentials, Daemon, Error, Exec, Output, Runtime, Step};

use args::{Args, Stop};
#[cfg(feature = "tool-privileges")]
use env::AccountEnv;
use output::{report, stderr, usage_error};

/// The most environment variables PROGRAM can inherit.
const MAX_ENV: usize = 4096;

/// The most arguments the tool takes (PROGRAM's included).
const MAX_ARGS: usize = 1024;

/// The tool's large arrays: in `.bss`, not on the stack, so that a launcher started under a
/// small stack limit (`ulimit -s 64`) has its whole stack for the calls it makes. Every
/// field starts zeroed or uninitialized, so that none of it takes room in the binary.
struct Scratch {
    strings: [MaybeUninit<&'static CStr>; MAX_ARGS],
    set: [MaybeUninit<&'static CStr>; args::MAX_REPEATS + 5],
    env: [*const u8; MAX_ENV + args::MAX_REPEATS + 6],
    resolved: search::PathBuffer,
    #[cfg(feature = "tool-privileges")]
    account: AccountEnv,
    #[cfg(feature = "tool-notify")]
    awaited: notify_await::AwaitEnv,
    /// `-k`'s descriptors and those socket activation passed.
    #[cfg(feature = "tool-ready")]
    keep: [i32; args::MAX_REPEATS + listen::MAX_LISTEN],
}

/// The one [`Scratch`], taken by `main` alone.
static mut SCRATCH: Scratch = Scratch {
    strings: [const { MaybeUninit::uninit() }; MAX_ARGS],
    set: [const { MaybeUninit::uninit() }; args::MAX_REPEATS + 5],
    env: [core::ptr::null(); MAX_ENV + args::MAX_REPEATS + 6],
    resolved: search::PathBuffer::new(),
    #[cfg(feature = "tool-privileges")]
    account: AccountEnv::new(),
    #[cfg(feature = "tool-notify")]
    awaited: notify_await::AwaitEnv::new(),
    #[cfg(feature = "tool-ready")]
    keep: [0; args::MAX_REPEATS + listen::MAX_LISTEN],
};

/// Called once by `_start` with `argc` valid pointers in `argv` (followed by a null) and a
/// null-terminated `envp`; returns the exit status.
///
/// # Safety
///
/// Called once, with the kernel's `argv` and `envp`.
unsafe fn main(argc: usize, argv: *const *const u8, envp: *const *const u8) -> i32 {
    // A reader that went away (`rawdaemon --help | head -1`, a closed log pipe) makes a
    // write fail with EPIPE instead of killing this process: the exit status stays one of
    // those documented. The daemon gets SIGPIPE back at its default (the start resets every
    // signal /proc/self/status shows ignored).
    Runtime::NoLibc.ignore_signal(rawdaemon::raw::SIGPIPE);
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
        #[cfg(feature = "tool-notify")]
        awaited,
        #[cfg(feature = "tool-ready")]
        keep,
    } = scratch;
    // SAFETY: the kernel passes argc pointers followed by a null.
    let raw_argv = unsafe { core::slice::from_raw_parts(argv, argc + 1) };
    // SAFETY: as for raw_argv; the strings live as long as the process.
    let Some(strings) = (unsafe { arguments(raw_argv, strings) }) else {
        return usage_error("too many arguments", b"");
    };
    let args = match args::parse(strings) {
        Ok(a) => a,
        Err(Stop::Help) => return usage::help(),
        Err(Stop::Version) => return usage::version(),
        Err(Stop::Usage(what, arg)) => return usage_error(what, arg),
    };
    #[cfg(feature = "tool-control")]
    if let Some(code) = control::run(&args) {
        return code;
    }
    let Ok(user) = user(&args) else {
        return 1;
    };
    #[cfg(feature = "tool-limits")]
    if let Some(warning) = args.limits.warning(args.user.is_some()) {
        let mut m = Message::new();
        m.push_str(warning);
        m.write_line(stderr());
    }
    // -u sets USER, LOGNAME and HOME as login does; -E, after them, can still override.
    #[cfg(feature = "tool-privileges")]
    let account = account.entries(user.as_ref());
    #[cfg(not(feature = "tool-privileges"))]
    let account = core::iter::empty();
    // SAFETY: the kernel's environment is null-terminated, its strings live as long as
    // the process.
    let inherited = unsafe { env::inherited(envp) };
    // --notify-await: PROGRAM's NOTIFY_SOCKET is the start's own socket (after -E's, so it
    // wins), and the service manager's is the one the start reports to.
    #[cfg(feature = "tool-notify")]
    let (awaited, upstream) = match args.notify_await {
        // SAFETY: as for inherited; -E's strings are argv's.
        true => (awaited.fill(args.watchdog), unsafe {
            notify_await::upstream(inherited, args.env.as_slice())
        }),
        false => (None, None),
    };
    #[cfg(feature = "tool-notify")]
    let ours = awaited
        .as_ref()
        .map(|a| [Some(a.socket), a.watchdog])
        .unwrap_or_default()
        .into_iter()
        .flatten();
    #[cfg(feature = "tool-notify")]
    let set = fill(
        set,
        account
            .chain(args.env.as_slice().iter().copied())
            .chain(ours),
    );
    #[cfg(not(feature = "tool-notify"))]
    let set = fill(set, account.chain(args.env.as_slice().iter().copied()));
    // Socket activation: the descriptors passed to this process go on to PROGRAM.
    // SAFETY: as for inherited.
    #[cfg(feature = "tool-ready")]
    let passed = match unsafe { listen::passed(inherited) } {
        Ok(n) => n,
        Err(v) => return usage_error("LISTEN_FDS needs a count of at most 256", v),
    };
    #[cfg(feature = "tool-ready")]
    let keep = listen::keep(args.keep.as_slice(), passed, keep);
    #[cfg(not(feature = "tool-ready"))]
    let keep = args.keep.as_slice();
    // SAFETY: as for inherited.
    let Some(envp) = (unsafe { env::build(inherited, set, env_ptrs) }) else {
        return usage_error("too many environment variables (at most 4096)", b"");
    };
    #[cfg(feature = "tool-ready")]
    if passed > 0 {
        // SAFETY: envp's entries are strings that live as long as the process.
        unsafe { listen::rewrite(envp) };
    }
    let envp: &[*const u8] = envp;
    if let Some(dir) = args.chroot {
        // Before PROGRAM is looked for inside it, so that a missing DIR is named as such.
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Err(e) = rustix::fs::open(dir, flags, Mode::empty()) {
            report(&Error::new(Step::Chroot, e), dir.to_bytes());
            return 1;
        }
    }
    // PROGRAM and its arguments (with argv's final null); parsing a start guarantees them.
    let (Some(&name), Some(program_argv)) =
        (strings.get(args.program), raw_argv.get(args.program..))
    else {
        return usage_error("no program given", b"");
    };
    // SAFETY: envp's entries are the kernel's, -E's and -u's strings, which live as long
    // as the process.
    let search_path = unsafe { env::find(envp, b"PATH") };
    // With -u a plain name is looked up by the daemon, as USER (a directory only root may
    // search is skipped there, as chpst -u does); otherwise here, before anything starts.
    let as_user = user.is_some() && !search::has_slash(name.to_bytes());
    let path = if as_user {
        Ok(name)
    } else {
        search::resolve(name, search_path, args.chroot.map(CStr::to_bytes), resolved)
    };
    // SAFETY: both vectors end with a null pointer (the kernel's argv, and `env::build`'s
    // output) and point to strings that live as long as the process: the kernel's, -E's and
    // -u's (in the scratch storage).
    let mut exec = unsafe { Exec::new(path.unwrap_or(name), program_argv, envp) };
    if as_user {
        exec = exec.search_path(search_path.unwrap_or(search::DEFAULT_PATH));
    }
    #[cfg(feature = "tool-ready")]
    if passed > 0 {
        exec = exec.listen_pid(&listen::LISTEN_PID);
    }
    // SAFETY: as for PATH.
    let notify_socket = unsafe { env::find(envp, b"NOTIFY_SOCKET") };
    #[cfg(feature = "tool-notify")]
    let (notify_socket, awaited) = match awaited {
        Some(a) => (upstream, Some(a.address)),
        None => (notify_socket, None),
    };
    #[cfg(not(feature = "tool-notify"))]
    let awaited = None;
    #[cfg_attr(not(feature = "tool-ready"), allow(unused_mut))]
    let mut daemon = configure(&args, exec, user.as_ref(), (notify_socket, awaited), keep);
    // Readiness checks (--ready-when), within --notify-timeout.
    #[cfg(feature = "tool-ready")]
    let ready_when =
        rawdaemon::ReadyWhen::new(args.ready_when.as_slice()).timeout(args.notify_timeout);
    #[cfg(feature = "tool-ready")]
    if !args.ready_when.as_slice().is_empty() {
        daemon = daemon.ready_when(&ready_when);
    }
    #[cfg(not(feature = "tool-notify"))]
    if notify_socket.is_some() {
        warn_without_notify();
    }
    #[cfg(feature = "tool-syslog")]
    if let Some(out) = args.log {
        warn_without_log_socket(out);
    }
    if let Err(errno) = path {
        let error = Error::new(Step::Exec, errno);
        daemon.message(&error).write_line(stderr());
        return rawdaemon::exit_code(&error);
    }
    #[cfg(feature = "tool-control")]
    if args.oknodo {
        // SAFETY: as for start below.
        return unsafe { start_oknodo(&daemon, args.pid_file) };
    }
    // SAFETY: this program never starts a thread; it links no C library, hence Runtime::NoLibc;
    // argv and envp come from the kernel and the fixed array above, all null-terminated.
    let _never = unsafe { daemon.start() };
    // Not reached: start() exits in the original process and execs (or exits) in the daemon.
    1
}

/// `--oknodo`: a start refused because the daemon already runs (another process holds the
/// pid file's lock) is success, as LSB's `start` of a running service is: says so, exit 0.
/// Not when `--status` would say the daemon is gone and only a process it started holds the
/// lock (it is not running: the start fails as without `--oknodo`, and `--stop` ends that
/// process).
///
/// # Safety
///
/// As for [`Daemon::start`].
#[cfg(feature = "tool-control")]
unsafe fn start_oknodo(daemon: &Daemon<'_>, pid_file: Option<&CStr>) -> i32 {
    // SAFETY: the caller's contract.
    match unsafe { daemon.detach() } {
        Ok(_) => 0,
        Err(e)
            if e.step() == Step::PidFileLock
                && e.errno() == Some(rustix::io::Errno::WOULDBLOCK)
                && !pid_file.is_some_and(orphaned) =>
        {
            let mut m = rawdaemon::Message::new();
            m.push_str("rawdaemon: already running");
            if let Some(pid) = e.detail().as_pid() {
                m.push_str(" as pid ")
                    .push_u32(pid.as_raw_nonzero().get() as u32);
            }
            if let Some(path) = pid_file {
                m.push_str(" (")
                    .push_path(path.to_bytes(), 256)
                    .push_str(")");
            }
            m.push_str(": nothing to do");
            m.write_line(stderr());
            0
        }
        Err(e) => {
            daemon.message(&e).write_line(stderr());
            rawdaemon::exit_code(&e)
        }
    }
}

/// Whether `--status` of `pid_file` would say the daemon is gone while a process it started
/// holds the lock.
#[cfg(feature = "tool-control")]
fn orphaned(pid_file: &CStr) -> bool {
    matches!(
        rawdaemon::control::status(pid_file),
        Ok(rawdaemon::control::Status::Orphaned(_))
    )
}

/// `NOTIFY_SOCKET` in a build without `tool-notify`: a service manager waiting for READY=1
/// would wait in vain (and time out), so this says why.
#[cfg(not(feature = "tool-notify"))]
fn warn_without_notify() {
    let mut m = Message::new();
    m.push_str("rawdaemon: warning: NOTIFY_SOCKET is set, but this build has no ")
        .push_str("tool-notify: no READY=1 is sent");
    m.write_line(stderr());
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

/// The library's configuration for these arguments, the account of `-u` and the service
/// manager's `NOTIFY_SOCKET`.
fn configure<'a>(
    args: &'a Args<'a>,
    exec: Exec<'a>,
    user: Option<&'a Credentials>,
    (notify_socket, awaited): (Option<&'a [u8]>, Option<&'a [u8]>),
    kept: &'a [i32],
) -> Daemon<'a> {
    let keep = if args.foreground {
        Output::Inherit
    } else {
        Output::Null
    };
    let out = |path: Option<&'a CStr>| path.map_or(keep, Output::Append);
    let mut d = Daemon::new(Runtime::NoLibc)
        .chdir(args.chdir)
        .stdout(out(args.stdout))
        .stderr(out(args.stderr))
        .keep_fds(kept)
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
    if let Some(user) = user {
        d = d.user(user);
    }
    #[cfg(feature = "tool-notify")]
    if let Some(socket) = notify_socket {
        d = d.notify_socket(socket);
    }
    #[cfg(not(feature = "tool-notify"))]
    let _ = (notify_socket, awaited);
    #[cfg(feature = "tool-notify")]
    if let Some(address) = awaited {
        d = d
            .notify_await(address)
            .notify_timeout(core::time::Duration::from_secs(u64::from(
                args.notify_timeout,
            )));
        if let Some(secs) = args.watchdog {
            d = d.watchdog(core::time::Duration::from_secs(u64::from(secs)));
        }
    }
    #[cfg(feature = "tool-notify")]
    if let Some(fd) = args.ready_fd {
        d = d.ready_fd(fd);
    }
    #[cfg(feature = "tool-respawn")]
    if let Some((max, period)) = args.respawn {
        d = d.respawn(max, period);
    }
    #[cfg(feature = "tool-syslog")]
    if let Some(out) = args.log {
        d = d.log_output(out);
    }
    #[cfg(feature = "tool-limits")]
    {
        d = args.limits.apply(d);
    }
    // Log rotation:
    #[cfg(feature = "tool-rotate")]
    if let Some((max, keep)) = args.rotation {
        d = d.log_rotation(max, keep);
    }
    #[cfg(feature = "tool-rotate")]
    {
        d = d.log_timestamps(args.timestamps);
    }
    d
}

/// `argv`'s strings (without its final null) in `slots`; `None` if there are more than
/// `slots` holds.
///
/// # Safety
///
/// `argv` ends in a null, and every other entry is a NUL-terminated string that lives as long
/// as the process.
unsafe fn arguments<'s>(
    argv: &[*const u8],
    slots: &'s mut [MaybeUninit<&'static CStr>],
) -> Option<&'s [&'static CStr]> {
    let (_null, strings) = argv.split_last()?;
    let slots = slots.get_mut(..strings.len())?;
    for (slot, &p) in slots.iter_mut().zip(strings) {
        // SAFETY: the caller guarantees each entry is such a string.
        slot.write(unsafe { CStr::from_ptr(p.cast()) });
    }
    // SAFETY: every slot was just written.
    Some(unsafe { written(slots) })
}

/// The first of `items` in `slots`, as many as fit.
fn fill<'s>(
    slots: &'s mut [MaybeUninit<&'static CStr>],
    items: impl Iterator<Item = &'static CStr>,
) -> &'s [&'static CStr] {
    let mut n = 0;
    for (slot, item) in slots.iter_mut().zip(items) {
        slot.write(item);
        n += 1;
    }
    // SAFETY: the first n slots were just written.
    unsafe { written(slots.get(..n).unwrap_or_default()) }
}

/// The values `slots` holds.
///
/// # Safety
///
/// Every slot of `slots` has been written.
unsafe fn written<'s>(slots: &'s [MaybeUninit<&'static CStr>]) -> &'s [&'static CStr] {
    // SAFETY: MaybeUninit<T> has T's layout, and the caller guarantees every slot is
    // initialized.
    unsafe { &*(core::ptr::from_ref(slots) as *const [&'static CStr]) }
}

/// The account of `-u`, looked up in `/etc/passwd` and `/etc/group`: `Err` once the failure
/// is reported.
#[cfg(feature = "tool-privileges")]
fn user(args: &Args<'_>) -> Result<Option<Credentials>, ()> {
    let Some(spec) = args.user else {
        return Ok(None);
    };
    match Credentials::lookup(spec.to_bytes()) {
        Ok(user) => Ok(Some(user)),
        Err(e) => {
            report(&e, spec.to_bytes());
            Err(())
        }
    }
}

/// Without `tool-privileges` there is no `-u`.
#[cfg(not(feature = "tool-privileges"))]
fn user(_: &Args<'_>) -> Result<Option<Credentials>, ()> {
    Ok(None)
}
