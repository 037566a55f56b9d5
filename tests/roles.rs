//! This test binary re-executed as a small program that uses the library (`--role ...`).
//!
//! - `daemon [pid=PATH] [chdir=DIR] [umask=OCTAL] [threads] [manual=ok:MARKER|fail|drop]
//!   [notify=ADDRESS] [fg]`: daemonize with [`Daemon::start`] (in foreground mode with `fg`),
//!   then sleep (bounded) and exit.
//! - `alloc REPORT PIDFILE`: count allocations across [`Daemon::detach`] in both processes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rawdaemon::{Daemon, Detached, Runtime};

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
