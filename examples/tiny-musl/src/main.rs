//! `tiny-musl PIDFILE SECONDS`: a complete daemon in a few kilobytes, statically linked
//! against musl. It daemonizes with [`Runtime::Libc`] (musl's own `fork`, `_exit` and
//! `sigaction`), writes and locks PIDFILE, reports ready (so the launcher exits 0 only now),
//! then idles for SECONDS (at most a day) and exits.
//!
//! Build and run (the repository's `.cargo/config.toml` adds the static-size flags):
//!
//! ```text
//! cargo build --release --target x86_64-unknown-linux-musl --manifest-path examples/tiny-musl/Cargo.toml
//! examples/tiny-musl/target/x86_64-unknown-linux-musl/release/tiny-musl /tmp/tiny.pid 10
//! ```
#![no_std]
#![no_main]

use core::ffi::{CStr, c_char};

use rawdaemon::{Daemon, Detached, Runtime};

/// Called by musl's `_start`.
///
/// # Safety
///
/// The C runtime passes `argc` valid argument strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: i32, argv: *const *const c_char) -> i32 {
    if argc != 3 {
        let _ = rustix::io::write(stderr(), b"usage: tiny-musl PIDFILE SECONDS\n");
        return 2;
    }
    // SAFETY: argc is 3, so argv[1] and argv[2] are NUL-terminated strings.
    let (pid_file, seconds) =
        unsafe { (CStr::from_ptr(*argv.add(1)), CStr::from_ptr(*argv.add(2))) };
    let seconds = parse_seconds(seconds.to_bytes());
    let daemon = Daemon::new(Runtime::Libc).pid_file(pid_file);
    // SAFETY: no thread was started, and musl is linked, hence Runtime::Libc.
    match unsafe { daemon.detach() } {
        Ok(Detached::Daemon(_ready)) => {}
        Ok(Detached::Parent { .. }) => return 0,
        // The full message (`Daemon::message`) costs a strerror table; here the step's name
        // and the errno number say it in a few bytes.
        Err(e) => {
            let mut digits = [0_u8; 10];
            let _ = rustix::io::write(stderr(), b"tiny-musl: ");
            let _ = rustix::io::write(stderr(), e.step().name().as_bytes());
            let _ = rustix::io::write(stderr(), b": errno ");
            let _ = rustix::io::write(stderr(), decimal(e.raw_os_error() as u32, &mut digits));
            let _ = rustix::io::write(stderr(), b"\n");
            return 1;
        }
    }
    // The daemon: idle in a loop that ends by itself.
    for _ in 0..seconds {
        let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        });
    }
    0
}

/// Decimal seconds, at most a day; anything else counts as 10.
fn parse_seconds(s: &[u8]) -> u32 {
    let mut n: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() || n > 86_400 {
            return 10;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    if s.is_empty() { 10 } else { n.min(86_400) }
}

/// `n` in decimal, in `out`.
fn decimal(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

fn stderr() -> rustix::fd::BorrowedFd<'static> {
    // SAFETY: only written to; a closed descriptor 2 fails with EBADF.
    unsafe { rustix::fd::BorrowedFd::borrow_raw(2) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort never returns.
    unsafe { libc::abort() }
}

/// Debug builds of `core` refer to the unwinder's personality routine even with
/// `panic = "abort"`; nothing ever unwinds here.
#[cfg(debug_assertions)]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
