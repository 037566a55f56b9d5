//! The process's first instructions: `_start` for each CPU the tool is built for, and the
//! entry it calls with the stack the kernel set up (`argc`, the `argv` pointers and a null,
//! the `envp` pointers and a null, then the auxiliary vector). The tool links no C library:
//! nothing runs before this, and it ends with `exit_group` ([`Runtime::NoLibc`]).
//!
//! Each `_start` passes the kernel's stack pointer (pointing at `argc`) as the first argument,
//! with the stack aligned to 16 bytes and no return address or frame pointer.
//!
//! # References
//!  - [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html) (the initial stack)
//!  - [getauxval(3)](https://man7.org/linux/man-pages/man3/getauxval.3.html)

use core::sync::atomic::{AtomicUsize, Ordering};

use rawdaemon::Runtime;

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp", // the outermost frame
    "mov rdi, rsp", // argc, argv..., NULL, envp..., NULL, auxv
    "and rsp, -16", // the ABI's stack alignment for the call
    "call {entry}",
    "ud2",
    entry = sym entry,
);

#[cfg(target_arch = "x86")]
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",   // the outermost frame
    "mov eax, esp",   // argc, argv..., NULL, envp..., NULL, auxv
    "and esp, -16",   // 16-byte alignment at the call, as the i386 ABI asks:
    "sub esp, 12",    // 12 bytes of padding and the 4-byte argument
    "push eax",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start, %function",
    "_start:",
    "mov x29, #0",      // the outermost frame
    "mov x30, #0",      // no return address
    "mov x0, sp",       // argc, argv..., NULL, envp..., NULL, auxv
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
    "mov r0, sp",       // argc, argv..., NULL, envp..., NULL, auxv
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
    "mv a0, sp",         // argc, argv..., NULL, envp..., NULL, auxv
    "andi sp, sp, -16",  // the ABI's stack alignment
    // No `gp`: nothing here is linked with gp-relative relaxation (lld does not relax to gp
    // unless asked with --relax-gp).
    "call {entry}",
    "unimp",
    entry = sym entry,
);

#[cfg(target_arch = "s390x")]
core::arch::global_asm!(
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "lgr %r2, %r15",        // argc, argv..., NULL, envp..., NULL, auxv
    "lghi %r0, -16",
    "ngr %r15, %r0",        // 16-byte alignment (the ABI asks for 8)
    "aghi %r15, -160",      // the register save area the callee may use
    "lghi %r0, 0",
    "stg %r0, 0(%r15)",     // a null back chain: the outermost frame
    "brasl %r14, {entry}",
    ".2byte 0",             // an invalid instruction
    entry = sym entry,
);

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64",
    target_arch = "s390x"
)))]
compile_error!("the tool's _start is written for x86_64, x86, aarch64, arm, riscv64 and s390x");

/// `AT_RANDOM` of the auxiliary vector: the address of 16 random bytes the kernel put on the
/// stack at `execve`, or 0.
static AT_RANDOM: AtomicUsize = AtomicUsize::new(0);

/// The 16 bytes the kernel gave this program at `execve` (`AT_RANDOM`), if it gave any.
#[cfg(feature = "tool-notify")]
pub fn random_bytes() -> Option<[u8; 16]> {
    let at = AT_RANDOM.load(Ordering::Relaxed) as *const [u8; 16];
    // SAFETY: AT_RANDOM points at 16 bytes on the initial stack, valid for the whole process;
    // read unaligned, as the kernel promises no alignment.
    (!at.is_null()).then(|| unsafe { at.read_unaligned() })
}

/// The real entry: `stack` points at `argc`.
///
/// # Safety
///
/// Called once, by `_start`, with the stack the kernel set up.
unsafe extern "C" fn entry(stack: *const usize) -> ! {
    /// `AT_RANDOM` in the auxiliary vector.
    const AT_RANDOM_TYPE: usize = 25;
    // SAFETY: the kernel's initial stack layout: argc, argc argv pointers, a null, the envp
    // pointers up to a null, then (type, value) pairs up to AT_NULL (0).
    let (argc, argv, envp) = unsafe {
        let argc = *stack;
        let argv = stack.add(1).cast::<*const u8>();
        (argc, argv, argv.add(argc + 1))
    };
    let mut at = envp.cast::<usize>();
    // SAFETY: as above: the envp pointers end with a null, the auxiliary vector with AT_NULL.
    unsafe {
        while *at != 0 {
            at = at.add(1);
        }
        at = at.add(1);
        while *at != 0 {
            if *at == AT_RANDOM_TYPE {
                AT_RANDOM.store(*at.add(1), Ordering::Relaxed);
            }
            at = at.add(2);
        }
    }
    // SAFETY: argv and envp as the kernel set them up; called once.
    let code = unsafe { crate::main(argc, argv, envp) };
    Runtime::NoLibc.exit(code)
}

/// A panic cannot happen in the tool (clippy denies the ways to one); if one did, the tool
/// says so and exits with 101, the status of a Rust program whose main thread panicked.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let _ = rustix::io::write(crate::output::stderr(), b"rawdaemon: internal error\n");
    Runtime::NoLibc.exit(101)
}

/// Debug builds of `core` refer to the unwinder's personality routine even with
/// `panic = "abort"`; nothing ever unwinds here.
#[cfg(debug_assertions)]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
