//! The system calls rustix does not wrap (the rest of the crate's `unsafe` is the `unsafe fn`
//! entry points and the calls into this module).
//!
//! - `fork`, `_exit` and the signal reset through the C library ([`Runtime::Libc`], its calls
//!   declared in `runtime.rs`): rustix
//!   offers no usable `fork` (its `runtime` module is hidden and renamed on purpose), and a raw
//!   `clone` behind a libc's back leaves the libc's cached thread id stale: on musl `raise()` and
//!   `abort()` in the child then hit the parent, and `setuid` changes only one thread.
//! - The same three as raw system calls ([`Runtime::NoLibc`]), for binaries with no C library.
//! - `close_range(2)` and `execve(2)`, which rustix does not wrap, as raw system calls in both
//!   runtimes: neither touches any state a libc keeps.
//! - `clock_gettime(2)` as a raw system call, without rustix's vDSO lookup.
//! - `open(2)`, rustix's, in one out-of-line copy.
//! - `connect(2)` to a Unix-domain address, without rustix's address type.
//!
//! Everything here is async-signal-safe: plain system calls on stack data.
//!
//! # Safety
//!
//! The raw system call stubs follow the Linux calling convention of each supported architecture
//! (arguments in registers, result in the first register, `-4095..=-1` meaning `-errno`).
//! Callers pass pointers that are valid for the call's duration.
//!
//! [`Runtime::Libc`]: crate::Runtime::Libc
//! [`Runtime::NoLibc`]: crate::Runtime::NoLibc

use core::arch::asm;
use linux_raw_sys::general as nr;
use rustix::io::Errno;

use crate::Runtime;

/// Turns a raw system call result into `Ok(value)` or the `Errno`.
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// A system call with up to five arguments.
///
/// # Safety
///
/// - `n` is a Linux system call number for this architecture and the arguments are what that
///   call expects; any pointer among them is valid for the call.
/// - The call must not be one that changes the stack or thread state in a way the compiler
///   cannot see, except `clone` without `CLONE_VM`, which duplicates the whole process.
#[cfg(target_arch = "x86_64")]
unsafe fn syscall5(n: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 `syscall` convention: number in rax, arguments in rdi, rsi, rdx, r10,
    // r8; the kernel clobbers rcx and r11; the caller upholds the rest.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b,
             in("rdx") c, in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _,
             options(nostack));
    }
    ret
}

/// See the x86_64 variant.
///
/// # Safety
///
/// As for the x86_64 variant.
#[cfg(target_arch = "aarch64")]
unsafe fn syscall5(n: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 convention: number in x8, arguments and result in x0..x4.
    unsafe {
        asm!("svc 0", in("x8") n as usize, inlateout("x0") a as isize => ret, in("x1") b,
             in("x2") c, in("x3") d, in("x4") e, options(nostack));
    }
    ret
}

/// See the x86_64 variant.
///
/// # Safety
///
/// As for the x86_64 variant.
#[cfg(target_arch = "riscv64")]
unsafe fn syscall5(n: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the riscv64 convention: number in a7, arguments and result in a0..a4.
    unsafe {
        asm!("ecall", in("a7") n as usize, inlateout("a0") a as isize => ret, in("a1") b,
             in("a2") c, in("a3") d, in("a4") e, options(nostack));
    }
    ret
}

/// See the x86_64 variant.
///
/// # Safety
///
/// As for the x86_64 variant.
#[cfg(target_arch = "arm")]
unsafe fn syscall5(n: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the arm EABI convention: number in r7, arguments and result in r0..r4.
    unsafe {
        asm!("svc 0", in("r7") n as usize, inlateout("r0") a as isize => ret, in("r1") b,
             in("r2") c, in("r3") d, in("r4") e, options(nostack));
    }
    ret
}

/// See the x86_64 variant.
///
/// # Safety
///
/// As for the x86_64 variant.
#[cfg(target_arch = "x86")]
unsafe fn syscall5(n: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the i386 `int 0x80` convention: number in eax, arguments in ebx, ecx, edx, esi,
    // edi, result in eax; nothing else changes. LLVM keeps esi for itself (its base pointer),
    // so `asm!` cannot take it as an operand: `d` comes in any free register, is swapped into
    // esi for the call and swapped back, which leaves esi as it was. No stack is used.
    unsafe {
        asm!("xchg esi, {d}", "int 0x80", "xchg esi, {d}", d = in(reg) d,
             inlateout("eax") n as isize => ret, in("ebx") a, in("ecx") b, in("edx") c,
             in("edi") e, options(nostack, preserves_flags));
    }
    ret
}

/// See the x86_64 variant.
///
/// # Safety
///
/// As for the x86_64 variant.
#[cfg(target_arch = "s390x")]
unsafe fn syscall5(n: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the s390x convention: number in r1, arguments in r2..r6, result in r2.
    unsafe {
        asm!("svc 0", in("r1") n as usize, inlateout("r2") a as isize => ret, in("r3") b,
             in("r4") c, in("r5") d, in("r6") e, options(nostack));
    }
    ret
}

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "arm",
    target_arch = "s390x"
)))]
compile_error!(
    "rawdaemon supports x86_64, x86 (i686), aarch64, riscv64, arm (EABI) and s390x Linux"
);

/// `close_range(first, last, 0)`—close every descriptor in `first..=last`.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/close_range.2.html)
pub(crate) fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes no pointers; closing descriptors is what the caller asked for.
    check(unsafe { syscall5(nr::__NR_close_range, first as usize, last as usize, 0, 0, 0) })
        .map(drop)
}

/// `close(fd)` ignoring the result, for the bounded fallback loop where most numbers are not
/// open (rustix's `close` debug-asserts success).
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/close.2.html)
pub(crate) fn close_quietly(fd: i32) {
    // SAFETY: no pointers; the caller owns every descriptor in the range it closes.
    let _ = unsafe { syscall5(nr::__NR_close, fd as usize, 0, 0, 0, 0) };
}

/// `clock_gettime(clock)` as seconds and nanoseconds, by the raw system call: rustix's wrapper
/// goes through the vDSO, whose ELF parser (and its start-up hook) costs every binary some
/// 2.5 KB, for the few reads of [`stop`](crate::control::stop)'s wait, the respawn supervisor and the
/// syslog client, where a system call's cost does not matter.
///
/// # References
///  - [clock_gettime(2)](https://man7.org/linux/man-pages/man2/clock_gettime.2.html)
pub(crate) fn clock(clock: u32) -> (i64, u32) {
    // `struct __kernel_timespec`: two 64-bit fields on every architecture with this call
    // (32-bit arm has it as `clock_gettime64`).
    let mut ts = [0_i64; 2];
    #[cfg(target_pointer_width = "64")]
    let n = nr::__NR_clock_gettime;
    #[cfg(target_pointer_width = "32")]
    let n = nr::__NR_clock_gettime64;
    // SAFETY: `ts` is valid for writing a `__kernel_timespec`; the clocks used here (monotonic,
    // realtime) cannot fail.
    let _ = unsafe { syscall5(n, clock as usize, ts.as_mut_ptr() as usize, 0, 0, 0) };
    (ts[0], ts[1] as u32)
}

/// Raw `getsid(pid)`: rustix's wrapper turns the session 0 of a kernel thread into a `Pid`,
/// which cannot be 0.
///
/// # References
///  - [getsid(2)](https://man7.org/linux/man-pages/man2/getsid.2.html)
pub(crate) fn getsid(pid: rustix::process::Pid) -> Result<i32, Errno> {
    // SAFETY: no pointers.
    check(unsafe {
        syscall5(
            nr::__NR_getsid,
            pid.as_raw_nonzero().get() as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|sid| sid as i32)
}

/// `CLOCK_MONOTONIC` in nanoseconds.
pub(crate) fn monotonic_nanos() -> u64 {
    let (secs, nanos) = clock(nr::CLOCK_MONOTONIC);
    (secs as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(u64::from(nanos))
}

/// `CLOCK_MONOTONIC` in milliseconds.
pub(crate) fn monotonic_ms() -> u64 {
    monotonic_nanos() / 1_000_000
}

/// `CLOCK_REALTIME`: seconds since 1970 and nanoseconds.
pub(crate) fn realtime() -> (i64, u32) {
    clock(nr::CLOCK_REALTIME)
}

/// How far `CLOCK_REALTIME` is ahead of `CLOCK_BOOTTIME` (the clock of a process's start
/// time in `/proc/PID/stat`), in nanoseconds: the boot's wall-clock time, as the clock now
/// says it.
pub(crate) fn boot_offset_nanos() -> i128 {
    let nanos = |(secs, nanos): (i64, u32)| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    nanos(clock(nr::CLOCK_REALTIME)) - nanos(clock(nr::CLOCK_BOOTTIME))
}

/// `fcntl(fd, F_GETFD)` on a descriptor number this process does not own: `EBADF` if closed.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub(crate) fn fd_is_open(fd: i32) -> Result<(), Errno> {
    // SAFETY: F_GETFD takes no pointer and changes nothing.
    check(unsafe { syscall5(nr::__NR_fcntl, fd as usize, nr::F_GETFD as usize, 0, 0, 0) }).map(drop)
}

/// `open(2)` through rustix, never inlined: each of the library's dozen opens is then a call
/// instead of its own copy of the system call, the result decoding and rustix's descriptor
/// check.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/open.2.html)
#[inline(never)]
pub(crate) fn open(
    path: &core::ffi::CStr,
    flags: rustix::fs::OFlags,
    mode: rustix::fs::Mode,
) -> Result<rustix::fd::OwnedFd, Errno> {
    rustix::fs::open(path, flags, mode)
}

/// A directory opened to be entered or resolved from later (`O_PATH`: no read permission
/// needed), close-on-exec.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn open_dir(path: &core::ffi::CStr) -> Result<rustix::fd::OwnedFd, Errno> {
    open_dir_at(rustix::fs::CWD, path)
}

/// [`open_dir`] of a `path` relative to the directory `at`.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
pub(crate) fn open_dir_at(
    at: rustix::fd::BorrowedFd<'_>,
    path: &core::ffi::CStr,
) -> Result<rustix::fd::OwnedFd, Errno> {
    use rustix::fs::OFlags;
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::openat(at, path, flags, rustix::fs::Mode::empty())
}

/// A directory opened to list its entries (`/proc`, `/proc/self/fd`), close-on-exec.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
///  - [getdents64(2)](https://man7.org/linux/man-pages/man2/getdents64.2.html)
pub(crate) fn open_listing(path: &core::ffi::CStr) -> Result<rustix::fd::OwnedFd, Errno> {
    use rustix::fs::OFlags;
    open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
}

/// `connect(2)` of `socket` to a Unix-domain address: `sun_path` holds the address's bytes as
/// they go into `struct sockaddr_un` after its family (a path and its NUL, or a NUL and an
/// abstract name). rustix's `SocketAddrUnix` and its path conversion cost more than this.
///
/// # References
///  - [connect(2)](https://man7.org/linux/man-pages/man2/connect.2.html)
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
pub(crate) fn connect_unix(
    socket: rustix::fd::BorrowedFd<'_>,
    sun_path: &[u8; 108],
    len: usize,
) -> Result<(), Errno> {
    unix_address_call(nr::__NR_connect, socket, sun_path, len)
}

/// `connect(2)` or `bind(2)` (the system call `nr`) of `socket` to a Unix-domain address.
fn unix_address_call(
    nr: u32,
    socket: rustix::fd::BorrowedFd<'_>,
    sun_path: &[u8; 108],
    len: usize,
) -> Result<(), Errno> {
    use rustix::fd::AsRawFd;
    const AF_UNIX: u16 = 1;
    // struct sockaddr_un: sa_family_t sun_family, then char sun_path[108].
    let mut addr = [0_u8; 110];
    addr[..2].copy_from_slice(&AF_UNIX.to_ne_bytes());
    addr[2..].copy_from_slice(sun_path);
    // SAFETY: `addr` is a valid sockaddr_un for reading, and `len` is at most its size.
    check(unsafe {
        syscall5(
            nr,
            socket.as_raw_fd() as usize,
            addr.as_ptr() as usize,
            2 + len.min(108),
            0,
            0,
        )
    })
    .map(drop)
}

/// `CStr::from_bytes_with_nul(bytes).ok()` with a plain loop: core's version brings its
/// `memchr` and error type along.
pub(crate) fn c_str(bytes: &[u8]) -> Option<&core::ffi::CStr> {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) if i + 1 == bytes.len() => {
            // SAFETY: the one NUL in `bytes` is its last byte.
            let s = unsafe { core::ffi::CStr::from_bytes_with_nul_unchecked(bytes) };
            Some(s)
        }
        _ => None,
    }
}

/// Descriptor 2, for the one-line error message of the original process.
pub(crate) fn stderr() -> rustix::fd::BorrowedFd<'static> {
    // SAFETY: only used to `write`; if 2 is closed the write fails with EBADF and the message
    // is lost, which is all that can be done.
    unsafe { rustix::fd::BorrowedFd::borrow_raw(2) }
}

/// `execve(path, argv, envp)`—replace the process image; returns only on failure.
///
/// # Safety
///
/// `argv` and `envp` point to null-terminated arrays of pointers to NUL-terminated strings,
/// all valid for the call.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/execve.2.html)
pub(crate) unsafe fn execve(
    path: &core::ffi::CStr,
    argv: *const *const u8,
    envp: *const *const u8,
) -> Errno {
    // SAFETY: the caller guarantees argv and envp; path is a valid C string.
    let ret = unsafe {
        syscall5(
            nr::__NR_execve,
            path.as_ptr() as usize,
            argv as usize,
            envp as usize,
            0,
            0,
        )
    };
    match check(ret) {
        Err(e) => e,
        Ok(_) => Errno::INVAL, // execve does not return on success
    }
}

/// The result of [`fork`].
pub(crate) enum Forked {
    /// In the parent, with the child's pid.
    Parent(rustix::process::Pid),
    /// In the child.
    Child,
}

/// The calling process's pid. In a child [`fork`] just made (`forked`) with [`Runtime::Libc`]
/// on musl, the thread id the C library recorded when `_Fork` returned in the child (`gettid(3)`
/// reads it, with no system call): a forked child has one thread, so it is the pid.
/// Otherwise `getpid(2)`: in foreground mode, where nothing forked, the caller may be a thread
/// other than the first.
///
/// # References
///  - [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
///  - [getpid(2)](https://man7.org/linux/man-pages/man2/getpid.2.html)
pub(crate) fn own_pid(runtime: Runtime, forked: bool) -> rustix::process::Pid {
    if forked {
        if let Some(pid) = rustix::process::Pid::from_raw(runtime.cached_tid()) {
            return pid;
        }
    }
    rustix::process::getpid()
}

/// `fork()`—through the C library (see [`Runtime`]), or as a raw `clone(SIGCHLD)` with no
/// libc.
///
/// # Safety
///
/// - The process has exactly one thread.
/// - `runtime` is [`Runtime::NoLibc`] only if no C library is linked into the process.
/// - The child runs only async-signal-safe code until it calls [`exit`] or execs.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/fork.2.html)
pub(crate) unsafe fn fork(runtime: Runtime) -> Result<Forked, Errno> {
    // SAFETY: the caller's contract.
    Ok(match unsafe { runtime.fork() }? {
        None => Forked::Child,
        Some(pid) => Forked::Parent(pid),
    })
}

/// Raw `clone(SIGCHLD, 0, 0, 0, 0)`: a new process sharing nothing, like fork(2); the child's
/// pid, 0 in the child, or `-errno`.
///
/// # Safety
///
/// As for [`fork`], with no C library in the process.
pub(crate) unsafe fn raw_fork() -> isize {
    // The argument order after `flags` differs per architecture; all are zero here. s390x
    // takes the new stack first and the flags second (the kernel's CLONE_BACKWARDS2).
    #[cfg(not(target_arch = "s390x"))]
    let args = (nr::SIGCHLD as usize, 0);
    #[cfg(target_arch = "s390x")]
    let args = (0, nr::SIGCHLD as usize);
    // SAFETY: without CLONE_VM the child gets a copy of this stack, as with fork.
    unsafe { syscall5(nr::__NR_clone, args.0, args.1, 0, 0, 0) }
}

/// What the parent of [`clone_shared`] runs once its child has exec'd or exited: it gets the
/// `arg` given to `clone_shared` and the child's pid, and never returns.
pub(crate) type Resume = extern "C" fn(arg: usize, child: i32) -> !;

/// The stack the parent of [`clone_shared`] resumes on: static memory (`.bss`, no size in the
/// binary, pages touched only when used) that no child ever runs on. 64 KiB: the launcher's
/// verdict reads the record, may remove the files it created and prints one message; the
/// launcher's whole `--stop` fits 48 KiB.
struct ResumeStack(core::cell::UnsafeCell<[u128; RESUME_STACK_WORDS]>);

/// [`ResumeStack`]'s size in 16-byte words.
const RESUME_STACK_WORDS: usize = 64 * 1024 / 16;

// SAFETY: used only as a stack, by the parent of `clone_shared` after its child has exec'd or
// exited, in a process with one thread (the intermediate's parent side, then the launcher's,
// one after the other: each is suspended while the other runs).
unsafe impl Sync for ResumeStack {}

/// See [`ResumeStack`].
static RESUME_STACK: ResumeStack =
    ResumeStack(core::cell::UnsafeCell::new([0; RESUME_STACK_WORDS]));

/// `clone(CLONE_VM | CLONE_VFORK | SIGCHLD, 0)`: `vfork(2)` without its trap. The child shares
/// this address space and runs **on this very stack, in these very frames**, while the parent
/// is suspended; so it is the child that returns from here (`Ok(())`), and goes on with the
/// caller's code as a child of [`fork`] would: nothing is copied, not even the page tables.
///
/// The parent never returns into those frames, which the child has since used as its own:
/// once the child has exec'd or exited, the parent calls `resume(arg, pid)` on the same stack
/// pointer, a function that never returns and must not read anything on the stack above it
/// (`arg` should point to static memory). The only way back is the refusal: `Err` with no
/// child made (`EINVAL` where `CLONE_VM` without `CLONE_THREAD` is taken for a thread), in
/// the parent's own frames, untouched. (qemu-user 7.2 makes a plain fork of this clone: the
/// parent then calls `resume` at once, on its own copy of everything, which is as right.)
///
/// Not [`syscall5`]: a clone that shares memory must not return into Rust code in the
/// parent. The argument order after `flags` differs per architecture (x86_64: stack, parent
/// tid, child tid, tls; the others: stack, parent tid, tls, child tid); all of them are zero
/// here, so that the child keeps the stack pointer.
///
/// # Safety
///
/// - [`Runtime::NoLibc`]: no C library in the process (it would share its state with the
///   child, and `vfork`'s rules would apply to every libc call the child makes).
/// - The process has one thread, and every signal is blocked (no handler of the parent may
///   run in the child, on the parent's memory); the child resets the dispositions before it
///   unblocks them.
/// - The child writes nothing the parent reads after the clone except through its own copies
///   of the caller's locals: no statics, no memory `arg` points to. It ends with `execve` or
///   `_exit`, never by returning from the function that called this one, and it must not
///   unwind out of it either.
/// - `resume` reads only memory the child leaves alone (statics, the caller's data that the
///   child only reads), and ends the process.
///
/// The parent runs `resume` on a stack of its own ([`RESUME_STACK`]), never again on the
/// shared one: its child may have left it while a grandchild made the same way still runs
/// there (the intermediate killed by SIGKILL while the daemon it cloned goes on with its
/// steps).
///
/// # References
///  - [clone(2)](https://man7.org/linux/man-pages/man2/clone.2.html)
///  - [vfork(2)](https://man7.org/linux/man-pages/man2/vfork.2.html)
#[inline(always)]
pub(crate) unsafe fn clone_shared(resume: Resume, arg: usize) -> Result<(), Errno> {
    let flags = (nr::CLONE_VM | nr::CLONE_VFORK | nr::SIGCHLD) as usize;
    // The top of the resume stack, 16-byte aligned (the array is of u128).
    let stack = RESUME_STACK.0.get() as usize + RESUME_STACK_WORDS * 16;
    let ret: isize;
    // On every architecture: the system call's result is the child's pid in the parent,
    // 0 in the child, -errno on failure. The child (0) and a failure (negative) leave the
    // block as any system call would; the parent (positive) moves to the resume stack (top
    // 16-byte aligned) for the call and never comes back: `resume` does not return (the trap
    // after it is never reached). The registers `resume`, `arg` and `stack` are in are neither
    // inputs of the system call nor clobbered by it. The caller upholds the rest.
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as said above.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jle 2f",
            "mov rdi, {arg}",
            "mov esi, eax",
            "mov rsp, {stack}",
            "call {resume}",
            "ud2",
            "2:",
            resume = in(reg) resume,
            arg = in(reg) arg,
            stack = in(reg) stack,
            inlateout("rax") nr::__NR_clone as isize => ret,
            in("rdi") flags, in("rsi") 0, in("rdx") 0, in("r10") 0, in("r8") 0,
            out("rcx") _, out("r11") _,
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as said above.
    unsafe {
        core::arch::asm!(
            "svc 0",
            "cmp x0, #0",
            "b.le 2f",
            "mov x1, x0",
            "mov x0, {arg}",
            "mov sp, {stack}",
            "blr {resume}",
            "udf #0",
            "2:",
            resume = in(reg) resume,
            arg = in(reg) arg,
            stack = in(reg) stack,
            in("x8") nr::__NR_clone as usize,
            inlateout("x0") flags as isize => ret,
            in("x1") 0, in("x2") 0, in("x3") 0, in("x4") 0,
        );
    }
    #[cfg(target_arch = "riscv64")]
    // SAFETY: as said above.
    unsafe {
        core::arch::asm!(
            "ecall",
            "blez a0, 2f",
            "mv a1, a0",
            "mv a0, {arg}",
            "mv sp, {stack}",
            "jalr {resume}",
            "unimp",
            "2:",
            resume = in(reg) resume,
            arg = in(reg) arg,
            stack = in(reg) stack,
            in("a7") nr::__NR_clone as usize,
            inlateout("a0") flags as isize => ret,
            in("a1") 0, in("a2") 0, in("a3") 0, in("a4") 0,
        );
    }
    #[cfg(target_arch = "arm")]
    // SAFETY: as said above.
    unsafe {
        core::arch::asm!(
            "svc 0",
            "cmp r0, #0",
            "ble 2f",
            "mov r1, r0",
            "mov r0, {arg}",
            "mov sp, {stack}",
            "blx {resume}",
            "udf #0",
            "2:",
            resume = in(reg) resume,
            arg = in(reg) arg,
            stack = in(reg) stack,
            in("r7") nr::__NR_clone as usize,
            inlateout("r0") flags as isize => ret,
            in("r1") 0, in("r2") 0, in("r3") 0, in("r4") 0,
        );
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "arm"
    )))]
    {
        // No shared clone written for this architecture: refused, so the caller forks.
        let _ = (flags, resume, arg, stack);
        ret = -(Errno::NOSYS.raw_os_error() as isize);
    }
    check(ret).map(drop)
}

/// Blocks every signal; returns the mask as it was (signal `n` is bit `n - 1`), to be put back
/// with [`set_mask`].
///
/// # References
///  - [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub(crate) fn block_all() -> Result<u64, Errno> {
    let all = !0_u64;
    let mut old = 0_u64;
    // SAFETY: both sets are valid for the call; sigsetsize is 8.
    check(unsafe {
        syscall5(
            nr::__NR_rt_sigprocmask,
            nr::SIG_SETMASK as usize,
            &all as *const u64 as usize,
            &mut old as *mut u64 as usize,
            8,
            0,
        )
    })?;
    Ok(old)
}

/// Raw `rt_sigprocmask(SIG_SETMASK, mask)`.
///
/// # References
///  - [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub(crate) fn set_mask(mask: u64) {
    // SAFETY: `mask` is valid for reading, the old mask is not wanted, sigsetsize is 8.
    let _ = unsafe {
        syscall5(
            nr::__NR_rt_sigprocmask,
            nr::SIG_SETMASK as usize,
            &mask as *const u64 as usize,
            0,
            8,
            0,
        )
    };
}

/// `_exit(code)`—end the process at once: no atexit handlers, no buffer flushing.
///
/// # References
///  - [Linux](https://man7.org/linux/man-pages/man2/exit.2.html)
pub(crate) fn exit(runtime: Runtime, code: i32) -> ! {
    runtime.exit(code)
}

/// Raw `exit_group(code)`.
pub(crate) fn raw_exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes no pointers and does not return.
        unsafe { syscall5(nr::__NR_exit_group, code as usize, 0, 0, 0, 0) };
    }
}

/// Resets to `SIG_DFL` every signal whose bit (signal `n` is bit `n - 1`) is set in `signals`,
/// and empties the signal mask if `clear_mask` is set.
///
/// With the C library, signals the libc reserves for itself are refused by its `signal` and
/// stay as they are; with no libc every signal is reset. SIGKILL and SIGSTOP are skipped.
///
/// # References
///  - [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
///  - [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html)
pub(crate) fn reset_signals(runtime: Runtime, signals: u64, clear_mask: bool) -> Result<(), Errno> {
    for sig in 1..=64_i32 {
        if signals & (1 << (sig - 1)) == 0 || sig == 9 || sig == 19 {
            continue;
        }
        runtime.default_signal(sig);
    }
    if clear_mask {
        runtime.unblock_all()?;
    }
    Ok(())
}

/// SIGPIPE: a write to a pipe or socket without a reader.
pub(crate) const SIGPIPE: i32 = nr::SIGPIPE as i32;
/// SIGXFSZ: a write past the file size limit (`RLIMIT_FSIZE`).
pub(crate) const SIGXFSZ: i32 = nr::SIGXFSZ as i32;
/// The signals that end a service or its session (`--stop`'s TERM, a terminal's INT, QUIT
/// and HUP): the logging process ignores them and ends with PROGRAM's output instead.
pub(crate) const STOP_SIGNALS: [i32; 4] = [
    nr::SIGTERM as i32,
    nr::SIGINT as i32,
    nr::SIGQUIT as i32,
    nr::SIGHUP as i32,
];

/// Raw `rt_sigaction(sig, SIG_DFL)`; also used just before `execve`, where the libc's own
/// reserved signals no longer matter.
pub(crate) fn raw_sigaction_default(sig: i32) {
    raw_sigaction(sig, 0);
}

/// Raw `rt_sigaction(sig, SIG_IGN)`: the kernel discards the signal when it is sent (a write
/// that would raise SIGPIPE or SIGXFSZ then only fails, with `EPIPE` or `EFBIG`). An ignored
/// signal stays ignored across `execve`: reset it before.
///
/// # References
///  - [signal(7)](https://man7.org/linux/man-pages/man7/signal.7.html)
pub(crate) fn raw_sigaction_ignore(sig: i32) {
    raw_sigaction(sig, 1);
}

/// Raw `rt_sigaction(sig, handler)` for `SIG_DFL` (0) or `SIG_IGN` (1), no flags, empty mask.
///
/// # References
///  - [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
fn raw_sigaction(sig: i32, handler: usize) {
    // The kernel `struct sigaction` of every supported architecture starts with the handler,
    // and all zeros after it are no flags, no restorer and an empty mask; 32 bytes cover the
    // largest of them.
    let act: [usize; 8] = [handler, 0, 0, 0, 0, 0, 0, 0];
    // SAFETY: `act` is valid for reading, the old action is not wanted, sigsetsize is 8.
    let _ = unsafe {
        syscall5(
            nr::__NR_rt_sigaction,
            sig as usize,
            act.as_ptr() as usize,
            0,
            8,
            0,
        )
    };
}

/// Raw `rt_sigprocmask(SIG_SETMASK, {})`.
pub(crate) fn raw_unblock_all() -> Result<(), Errno> {
    let empty = 0_u64;
    // SAFETY: `empty` is valid for reading, the old mask is not wanted, sigsetsize is 8.
    check(unsafe {
        syscall5(
            nr::__NR_rt_sigprocmask,
            nr::SIG_SETMASK as usize,
            &empty as *const u64 as usize,
            0,
            8,
            0,
        )
    })
    .map(drop)
}

/// Raw `rt_sigprocmask(SIG_BLOCK, mask)`: blocks the signals of `mask` (signal `n` is bit
/// `n - 1`), none of which is one a C library reserves.
pub(crate) fn block(mask: u64) -> Result<(), Errno> {
    // SAFETY: `mask` is valid for reading, the old mask is not wanted, sigsetsize is 8.
    check(unsafe {
        syscall5(
            nr::__NR_rt_sigprocmask,
            nr::SIG_BLOCK as usize,
            &mask as *const u64 as usize,
            0,
            8,
            0,
        )
    })
    .map(drop)
}

/// Raw `signalfd4(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK)`: a descriptor that reads the
/// blocked signals of `mask` as 128-byte `signalfd_siginfo` records.
///
/// # References
///  - [signalfd(2)](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub(crate) fn signalfd(mask: u64) -> Result<rustix::fd::OwnedFd, Errno> {
    use rustix::fd::FromRawFd;
    let flags = nr::O_CLOEXEC as usize | nr::O_NONBLOCK as usize;
    // SAFETY: `mask` is valid for reading; sigsetsize is 8.
    let fd = check(unsafe {
        syscall5(
            nr::__NR_signalfd4,
            -1_isize as usize,
            &mask as *const u64 as usize,
            8,
            flags,
            0,
        )
    })?;
    // SAFETY: the kernel just returned this new descriptor, owned by nobody else.
    Ok(unsafe { rustix::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Raw `getcwd(buf, len)`: the kernel's length includes the terminating NUL.
///
/// # References
///  - [getcwd(2)](https://man7.org/linux/man-pages/man2/getcwd.2.html)
pub(crate) fn getcwd(buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is writable for its length.
    let n = check(unsafe {
        syscall5(
            nr::__NR_getcwd,
            buf.as_mut_ptr() as usize,
            buf.len(),
            0,
            0,
            0,
        )
    })?;
    Ok(n.saturating_sub(1))
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level)`: the calling process's I/O
/// priority (rustix has no wrapper).
///
/// # References
///  - [ioprio_set(2)](https://man7.org/linux/man-pages/man2/ioprio_set.2.html)
pub(crate) fn ioprio_set(class: u8, level: u8) -> Result<(), Errno> {
    const IOPRIO_WHO_PROCESS: usize = 1;
    let prio = usize::from(class) << 13 | usize::from(level);
    // SAFETY: no pointers; it changes this process's I/O priority only.
    check(unsafe { syscall5(nr::__NR_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio, 0, 0) }).map(drop)
}

/// `sched_setscheduler(0, policy, &{priority})`: the calling process's scheduling policy, by
/// the raw system call (rustix has no wrapper, and musl's returns `ENOSYS` on purpose).
///
/// # References
///  - [sched_setscheduler(2)](https://man7.org/linux/man-pages/man2/sched_setscheduler.2.html)
pub(crate) fn sched_setscheduler(policy: u8, priority: u32) -> Result<(), Errno> {
    // `struct sched_param`: one int.
    let param = priority as i32;
    // SAFETY: `param` is a valid `struct sched_param` for the call's duration.
    check(unsafe {
        syscall5(
            nr::__NR_sched_setscheduler,
            0,
            usize::from(policy),
            core::ptr::from_ref(&param) as usize,
            0,
            0,
        )
    })
    .map(drop)
}

/// `bind(2)` of `socket` to a Unix-domain address, given as for [`connect_unix`].
///
/// # References
///  - [bind(2)](https://man7.org/linux/man-pages/man2/bind.2.html)
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
pub(crate) fn bind_unix(
    socket: rustix::fd::BorrowedFd<'_>,
    sun_path: &[u8; 108],
    len: usize,
) -> Result<(), Errno> {
    unix_address_call(nr::__NR_bind, socket, sun_path, len)
}

/// One datagram waiting on `socket` (without waiting: `EAGAIN` if none) into `buf`, and the
/// sender's pid from its `SCM_CREDENTIALS` (0 if it came without, or from a process this
/// one's pid namespace cannot name). Descriptors sent along (`SCM_RIGHTS`) are closed. Its
/// length is what the sender sent (`MSG_TRUNC`): more than `buf.len()` if it did not fit.
///
/// A raw `recvmsg`: rustix's reads the credentials into a `Pid`, which cannot hold the 0 the
/// kernel gives for such a sender.
///
/// # References
///  - [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html)
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html) (`SCM_CREDENTIALS`)
///  - [cmsg(3)](https://man7.org/linux/man-pages/man3/cmsg.3.html)
pub(crate) fn recv_with_sender(
    socket: rustix::fd::BorrowedFd<'_>,
    buf: &mut [u8],
) -> Result<(usize, u32), Errno> {
    use rustix::fd::AsRawFd;
    /// `struct iovec`.
    #[repr(C)]
    struct IoVec {
        base: *mut u8,
        len: usize,
    }
    /// `struct user_msghdr`.
    #[repr(C)]
    struct MsgHdr {
        name: *mut u8,
        namelen: i32,
        iov: *mut IoVec,
        iovlen: usize,
        control: *mut u8,
        controllen: usize,
        flags: u32,
    }
    const SOL_SOCKET: i32 = 1;
    const SCM_RIGHTS: i32 = 1;
    const SCM_CREDENTIALS: i32 = 2;
    const MSG_DONTWAIT: usize = 0x40;
    const MSG_TRUNC: usize = 0x20;
    const MSG_CMSG_CLOEXEC: usize = 0x4000_0000;
    // `struct cmsghdr` is `cmsg_len` (a size_t), level and type; the data starts at the next
    // size_t boundary.
    const WORD: usize = core::mem::size_of::<usize>();
    const HEADER: usize = (WORD + 8).next_multiple_of(WORD);
    let mut iov = IoVec {
        base: buf.as_mut_ptr(),
        len: buf.len(),
    };
    // Room for the credentials and a few descriptors, aligned for `cmsghdr`.
    let mut control = [0_usize; 16];
    let mut msg = MsgHdr {
        name: core::ptr::null_mut(),
        namelen: 0,
        iov: &mut iov,
        iovlen: 1,
        control: control.as_mut_ptr().cast(),
        controllen: core::mem::size_of_val(&control),
        flags: 0,
    };
    // SAFETY: `msg` points to one iovec over `buf` and to `control`, all valid for writing
    // for the call.
    let n = check(unsafe {
        syscall5(
            nr::__NR_recvmsg,
            socket.as_raw_fd() as usize,
            &mut msg as *mut MsgHdr as usize,
            MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC,
            0,
            0,
        )
    })?;
    let bytes: [u8; 16 * WORD] =
        // SAFETY: `control` is plain integers: any byte view of it is valid.
        unsafe { core::mem::transmute(control) };
    let used = msg.controllen.min(bytes.len());
    let mut pid = 0;
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER).filter(|_| at + HEADER <= used) {
        let word = |i: usize| header.get(i..i + 4).and_then(|b| b.try_into().ok());
        let (Some(len), Some(level), Some(kind)) = (
            header
                .get(..WORD)
                .and_then(|b| b.try_into().ok())
                .map(usize::from_ne_bytes),
            word(WORD).map(i32::from_ne_bytes),
            word(WORD + 4).map(i32::from_ne_bytes),
        ) else {
            break;
        };
        let data = bytes
            .get(at + HEADER..(at + len).min(used))
            .unwrap_or_default();
        match (level, kind) {
            (SOL_SOCKET, SCM_CREDENTIALS) => {
                if let Some(p) = data.first_chunk::<4>() {
                    pid = u32::from_ne_bytes(*p);
                }
            }
            (SOL_SOCKET, SCM_RIGHTS) => {
                for fd in data.chunks_exact(4) {
                    if let Ok(fd) = <[u8; 4]>::try_from(fd) {
                        close_quietly(i32::from_ne_bytes(fd));
                    }
                }
            }
            _ => {}
        }
        if len < HEADER {
            break;
        }
        at += len.next_multiple_of(WORD);
    }
    Ok((n, pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_end_in_their_one_nul() {
        assert_eq!(c_str(b"/proc/1/fd\0"), Some(c"/proc/1/fd"));
        assert_eq!(c_str(b"\0"), Some(c""));
        assert_eq!(c_str(b""), None);
        assert_eq!(c_str(b"abc"), None);
        assert_eq!(c_str(b"a\0b\0"), None);
    }
}
