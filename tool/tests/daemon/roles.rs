//! This test binary re-executed as a small program that uses the library (`--role ...`).
//!
//! - `daemon [pid=PATH] [chdir=DIR] [umask=OCTAL] [threads] [manual=ok:MARKER|fail|drop]
//!   [notify=ADDRESS] [fg]`: daemonize with [`Daemon::start`] (in foreground mode with `fg`),
//!   then sleep (bounded) and exit.
//! - `alloc REPORT PIDFILE`: count allocations across [`Daemon::detach`] in both processes.
//! - `exec-nolibc [refuse-vm] PIDFILE PROGRAM ARGS...`: [`Daemon::start`] with
//!   [`Runtime::NoLibc`] and an [`Exec`], the start that clones without copying memory (see
//!   `shared_clone.rs`); with `refuse-vm`, such a clone is refused (`EINVAL`).
//! - `send-fds SOCKET [exit]`: send every other open descriptor from 3 up through the Unix
//!   socket on descriptor SOCKET (`SCM_RIGHTS`), then sleep (bounded), or exit with `exit`.
//! - `hold-fds SOCKET`: receive descriptors on SOCKET and hold them (bounded): a process of
//!   another service that accepts descriptors, as a message bus does.
//! - `listen tcp|unix ADDRESS DELAY_MS MARKER`, `activated REPORT`: see `readiness.rs`.
//! - `count-term FILE`: append a line to FILE for every SIGTERM received, and exit 0 half a
//!   second after the first (bounded).
//! - `sd-notify LINE...`: send the lines as one datagram to `$NOTIFY_SOCKET`, as
//!   `sd_notify(3)` does.
//! - `notify-flood ADDRESS DEPTH SECS`, `notify-squat ADDRESS SECS`: another user flooding
//!   a notification socket, or taking its name: see `notify_await.rs`.
//! - `i386-fork-then-exec NR FLAGS TOOL ARGS...`: see `faults/strace.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rawdaemon::{Daemon, Detached, Exec, Runtime};

/// Counts every allocation of this binary.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting on the way.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How long a test daemon lives at most.
const LIFETIME: Duration = Duration::from_secs(30);

pub fn run(args: &[String]) -> ! {
    match args.first().map(String::as_str) {
        Some("daemon") => daemon(&args[1..]),
        Some("alloc") => alloc(&args[1], &args[2]),
        Some("exec-nolibc") => exec_nolibc(&args[1..]),
        Some("send-fds") => send_fds(&args[1], args.get(2).is_some_and(|a| a == "exit")),
        Some("hold-fds") => hold_fds(&args[1]),
        Some("count-term") => count_term(&args[1]),
        Some("sd-notify") => crate::notify_await::sd_notify(&args[1..]),
        Some("notify-flood") => crate::notify_await::flood(&args[1..]),
        Some("notify-squat") => crate::notify_await::squat(&args[1..]),
        // readiness.rs: a late listener, a socket-activated program
        Some("listen") => crate::readiness::listen_role(&args[1..]),
        Some("activated") => crate::readiness::activated_role(&args[1..]),
        // faults/: the wrapper of a 32-bit x86 tool
        Some("i386-fork-then-exec") => crate::faults::i386_fork_then_exec(&args[1..]),
        other => panic!("unknown role {other:?}"),
    }
}

fn daemon(args: &[String]) -> ! {
    let get = |key: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(key)?.strip_prefix('='))
    };
    let pid = get("pid").map(|p| CString::new(p).unwrap());
    let chdir = get("chdir").map(|p| CString::new(p).unwrap());
    let manual = get("manual");
    let mut d = Daemon::new(Runtime::Libc).name("libdaemon");
    if let Some(p) = &pid {
        d = d.pid_file(p);
    }
    if let Some(c) = &chdir {
        d = d.chdir(c);
    }
    if let Some(m) = get("umask") {
        d = d.umask(u32::from_str_radix(m, 8).unwrap());
    }
    if manual.is_some() {
        d = d.notify_manually();
    }
    if let Some(address) = get("notify") {
        d = d.notify_socket(address.as_bytes());
    }
    if args.iter().any(|a| a == "fg") {
        d = d.foreground(true);
    }
    let _thread = args.iter().any(|a| a == "threads").then(|| {
        let t = std::thread::spawn(|| std::thread::sleep(Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(20));
        t
    });
    // SAFETY: single-threaded unless the `threads` role asks otherwise, which start refuses.
    let ready = unsafe { d.start() };
    match manual {
        Some(m) if m.starts_with("ok:") => {
            std::fs::write(format!("{}.started", &m[3..]), "").unwrap();
            std::thread::sleep(Duration::from_millis(100));
            std::fs::write(&m[3..], "").unwrap();
            ready.notify();
            std::fs::write(format!("{}.after", &m[3..]), "").unwrap();
        }
        Some("worker") => {
            // SAFETY: the daemon is single-threaded; the child only sleeps and exits.
            if unsafe { libc::fork() } == 0 {
                std::thread::sleep(LIFETIME);
                // SAFETY: _exit in the forked child.
                unsafe { libc::_exit(0) };
            }
            ready.notify();
        }
        Some("fail") => {
            ready.fail(rustix::io::Errno::ADDRINUSE);
            std::process::exit(1);
        }
        Some("drop") => {
            drop(ready);
            std::process::exit(0);
        }
        _ => {}
    }
    if let Some(marker) = get("pty") {
        open_terminal();
        std::fs::write(marker, "").unwrap();
    }
    std::thread::sleep(LIFETIME);
    std::process::exit(0)
}

/// Opens a pseudo-terminal's slave without O_NOCTTY: what would make a session leader
/// acquire it as its controlling terminal.
fn open_terminal() {
    // SAFETY: plain libc calls; the name buffer outlives the open.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 64];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        assert!(
            libc::open(name.as_ptr(), libc::O_RDWR) >= 0,
            "open the slave"
        );
    }
}

fn alloc(report: &str, pid_file: &str) -> ! {
    let pid_file = CString::new(pid_file).unwrap();
    let d = Daemon::new(Runtime::Libc)
        .pid_file(&pid_file)
        .chdir(c"/tmp")
        .umask(0o027);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    // SAFETY: single-threaded.
    let outcome = unsafe { d.detach() };
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    match outcome {
        Ok(Detached::Parent { .. }) => {
            println!("parent allocations: {allocations}");
            std::process::exit(0)
        }
        Ok(Detached::Daemon(_ready)) => {
            std::fs::write(report, format!("daemon allocations: {allocations}\n")).unwrap();
            std::thread::sleep(LIFETIME);
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

/// A start with [`Runtime::NoLibc`] whose daemon only executes PROGRAM (with an empty
/// environment), and a caught SIGUSR2 on top of what [`dirty`](crate::common::dirty) leaves
/// (ignored, blocked signals): the launcher's handler must not reach the daemon.
///
/// This binary links glibc, which `NoLibc` is not for (see [`Runtime`]). It is acceptable here
/// only because after the first clone the children run nothing but the library's raw system
/// calls and `execve` (no libc call, no allocation, nothing that reads libc's thread state),
/// and the launcher only raw calls until it exits: the very path the tool with no C library
/// takes.
fn exec_nolibc(args: &[String]) -> ! {
    let (refuse, args) = match args {
        [first, rest @ ..] if first == "refuse-vm" => (true, rest),
        _ => (false, args),
    };
    let [pid_file, program @ ..] = args else {
        panic!("exec-nolibc [refuse-vm] PIDFILE PROGRAM ARGS...")
    };
    extern "C" fn caught(_: libc::c_int) {}
    // SAFETY: a handler that does nothing.
    unsafe { libc::signal(libc::SIGUSR2, caught as extern "C" fn(libc::c_int) as usize) };
    if refuse {
        crate::shared_clone::refuse_shared_clones().expect("seccomp");
    }
    let pid_file = CString::new(pid_file.as_str()).unwrap();
    let program: Vec<CString> = program
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap())
        .collect();
    let argv: Vec<*const u8> = program
        .iter()
        .map(|a| a.as_ptr().cast())
        .chain([std::ptr::null()])
        .collect();
    let envp = [std::ptr::null()];
    // SAFETY: both vectors end with a null, their strings live until the process ends.
    let exec = unsafe { Exec::new(&program[0], &argv, &envp) };
    let d = Daemon::new(Runtime::NoLibc)
        .name("libexec")
        .pid_file(&pid_file)
        .exec(exec);
    // SAFETY: single-threaded; see above for the runtime.
    let _never = unsafe { d.start() };
    unreachable!("start returned with an Exec")
}

/// Room for up to 16 descriptors in one `SCM_RIGHTS` message.
#[repr(C, align(8))]
struct Control([u8; 128]);

fn send_fds(socket: &str, exit: bool) -> ! {
    let socket: i32 = socket.parse().unwrap();
    // SAFETY: F_GETFD on numbers that may or may not be open.
    let fds: Vec<i32> = (3..64)
        .filter(|&fd| fd != socket && unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0)
        .take(16)
        .collect();
    let mut byte = [b'x'];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = Control([0; 128]);
    let len = std::mem::size_of_val(fds.as_slice()) as u32;
    // SAFETY: CMSG_SPACE and CMSG_LEN only compute sizes.
    let (space, cmsg_len) = unsafe { (libc::CMSG_SPACE(len), libc::CMSG_LEN(len)) };
    // SAFETY: zeroed msghdr, then pointers into buffers that outlive the sendmsg call.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = cmsg_len as _;
        std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), fds.len());
        assert_eq!(libc::sendmsg(socket, &msg, 0), 1, "sendmsg");
    }
    if !exit {
        std::thread::sleep(LIFETIME);
    }
    std::process::exit(0)
}

fn hold_fds(socket: &str) -> ! {
    let socket: i32 = socket.parse().unwrap();
    let mut byte = [0_u8];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = Control([0; 128]);
    // SAFETY: zeroed msghdr, then pointers into buffers that outlive the recvmsg call; the
    // descriptors received are left open on purpose.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len() as _;
        let _ = libc::recvmsg(socket, &mut msg, 0);
    }
    std::thread::sleep(LIFETIME);
    std::process::exit(0)
}

fn count_term(file: &str) -> ! {
    use std::io::Write;
    // SAFETY: an all-zero sigset_t is a valid (empty) set.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain signal-mask calls on a local set; this process has one thread.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let mut out = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(file)
        .unwrap();
    let started = std::time::Instant::now();
    let mut first = None;
    while started.elapsed() < LIFETIME {
        if first.is_some_and(|at: std::time::Instant| at.elapsed() > Duration::from_millis(500)) {
            std::process::exit(0);
        }
        let wait = libc::timespec {
            tv_sec: 0,
            tv_nsec: 20_000_000,
        };
        // SAFETY: waits for a signal of the blocked set.
        if unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &wait) } == libc::SIGTERM {
            writeln!(out, "term").unwrap();
            first.get_or_insert_with(std::time::Instant::now);
        }
    }
    std::process::exit(0)
}
