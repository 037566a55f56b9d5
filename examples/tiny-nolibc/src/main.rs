//! `tiny-nolibc PIDFILE SECONDS`: a daemon with no C library at all, for the smallest embedded
//! images. Its own `_start`, [`Runtime::NoLibc`] (a raw `clone(SIGCHLD)` for fork,
//! `exit_group`, every signal reset with `rt_sigaction`), and the same steps as every other
//! rawdaemon start: pid file locked and written, readiness reported, then SECONDS of idling.
//!
//! Same as `examples/tiny-musl` but for the C library: here nothing caches a thread id or
//! holds a lock, so the raw fork is right, and it is the only fork there is.
//!
//! ```text
//! cargo build --release --manifest-path examples/tiny-nolibc/Cargo.toml
//! examples/tiny-nolibc/target/release/tiny-nolibc /tmp/tiny.pid 10
//! ```
#![no_std]
#![no_main]

use core::ffi::{CStr, c_char};

use rawdaemon::{Daemon, Detached, Runtime};

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",   // the outermost frame
    "mov rdi, rsp",   // argc, argv..., NULL, envp..., NULL
    "and rsp, -16",   // the ABI's stack alignment for the call
    "call {entry}",
    "ud2",
    entry = sym entry,
);

// The other CPUs of rawdaemon's system call stubs, cross-built by CI (`.ci/cross`) and run
// under qemu-user. Each `_start` passes the kernel's stack pointer (pointing at `argc`) as the
// first argument, with the stack aligned to 16 bytes and no return address or frame pointer.
#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start, %function",
    "_start:",
    "mov x29, #0",      // the outermost frame
    "mov x30, #0",      // no return address
    "mov x0, sp",       // argc, argv..., NULL, envp..., NULL
    "and sp, x0, #-16", // the ABI's stack alignment
    "bl {entry}",
    "udf #0",
    entry = sym entry,
);

#[cfg(target_arch = "arm")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start, %function",
    "_start:",
    "mov lr, #0",       // no return address
    "mov r0, sp",       // argc, argv..., NULL, envp..., NULL
    "bic r1, r0, #15",  // 16-byte alignment (AAPCS asks for 8), through r1: valid in
    "mov sp, r1",       // both ARM and Thumb-2 state
    "bl {entry}",
    "udf #0",
    entry = sym entry,
);

#[cfg(target_arch = "riscv64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start, %function",
    "_start:",
    "li ra, 0",          // no return address
    "li s0, 0",          // the outermost frame
    "mv a0, sp",         // argc, argv..., NULL, envp..., NULL
    "andi sp, sp, -16",  // the ABI's stack alignment
    // No `gp`: nothing here is linked with gp-relative relaxation (lld does not relax to gp
    // unless asked with --relax-gp).
    "call {entry}",
    "unimp",
    entry = sym entry,
);

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64"
)))]
compile_error!("this example's _start is written for x86_64, aarch64, arm and riscv64");

/// The real entry: `stack` points at `argc`, followed by the `argv` pointers.
///
/// # Safety
///
/// Called once, by `_start`, with the stack the kernel set up.
unsafe extern "C" fn entry(stack: *const usize) -> ! {
    // SAFETY: the kernel's initial stack layout.
    let (argc, argv) = unsafe { (*stack, stack.add(1).cast::<*const c_char>()) };
    if argc != 3 {
        let _ = rustix::io::write(stderr(), b"usage: tiny-nolibc PIDFILE SECONDS\n");
        Runtime::NoLibc.exit(2);
    }
    // SAFETY: argc is 3, so argv[1] and argv[2] are NUL-terminated strings.
    let (pid_file, seconds) =
        unsafe { (CStr::from_ptr(*argv.add(1)), CStr::from_ptr(*argv.add(2))) };
    let daemon = Daemon::new(Runtime::NoLibc).pid_file(pid_file);
    // CI runs the other CPUs' builds under qemu-user, which adds a thread of its own to every
    // guest, and the check would refuse. This program cannot start a thread (no C library, no
    // clone with CLONE_VM), so nothing is lost; the native x86_64 build keeps the check.
    #[cfg(not(target_arch = "x86_64"))]
    let daemon = daemon.skip_thread_check();
    // SAFETY: one thread, and no C library in this binary: NoLibc is the right runtime.
    match unsafe { daemon.detach() } {
        Ok(Detached::Daemon(_ready)) => {}
        Ok(Detached::Parent { .. }) => Runtime::NoLibc.exit(0),
        Err(e) => {
            // The step's name and the errno as one byte-sized exit status keep this tiny.
            let _ = rustix::io::write(stderr(), b"tiny-nolibc: ");
            let _ = rustix::io::write(stderr(), e.step().name().as_bytes());
            let _ = rustix::io::write(stderr(), b" failed\n");
            Runtime::NoLibc.exit(1);
        }
    }
    for _ in 0..parse_seconds(seconds.to_bytes()) {
        let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        });
    }
    Runtime::NoLibc.exit(0)
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

fn stderr() -> rustix::fd::BorrowedFd<'static> {
    // SAFETY: only written to; a closed descriptor 2 fails with EBADF.
    unsafe { rustix::fd::BorrowedFd::borrow_raw(2) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    Runtime::NoLibc.exit(101)
}

/// Debug builds of `core` refer to the unwinder's personality routine even with
/// `panic = "abort"`; nothing ever unwinds here.
#[cfg(debug_assertions)]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

// The memory functions `core` calls, which a C library would provide (a copy of the tool's).
mod mem;
