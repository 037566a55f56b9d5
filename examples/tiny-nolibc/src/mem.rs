//! The memory functions `core` calls, which a C library would provide (a program with no C
//! library, such as the tool, has none). On x86_64 `rep movsb` and `rep stosb` in assembly,
//! elsewhere byte loops through volatile accesses: either way the compiler cannot turn them
//! back into calls to themselves. They are slow per byte, and the tool copies little:
//! command-line strings, paths of a few KiB at most.
//!
//! `examples/tiny-nolibc`, a template to copy, carries the same file (CI checks that it is).

use core::ffi::c_char;

/// # Safety
///
/// `dst` and `src` are valid for `n` bytes and do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's contract; rep movsb copies rcx bytes from rsi to rdi.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _,
                         inout("rsi") src => _, options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..n {
        // SAFETY: i < n, within both buffers by the caller's contract.
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
    }
    dst
}

/// # Safety
///
/// `dst` and `src` are valid for `n` bytes; they may overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: a forward copy is safe when dst does not start inside src.
        return unsafe { memcpy(dst, src, n) };
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: backwards, with the direction flag set and cleared again.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld", inout("rcx") n => _,
                         inout("rdi") dst.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
                         options(nostack));
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in (0..n).rev() {
        // SAFETY: i < n, within both buffers; backwards because dst starts inside src.
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
    }
    dst
}

/// # Safety
///
/// `dst` is valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller's contract; rep stosb stores al rcx times at rdi.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _,
                         in("al") c as u8, options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "x86_64"))]
    for i in 0..n {
        // SAFETY: i < n, within the buffer by the caller's contract.
        unsafe { dst.add(i).write_volatile(c as u8) };
    }
    dst
}

/// # Safety
///
/// `a` and `b` are valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: i < n; volatile keeps the loop from being recognised as a memcmp call.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// # Safety
///
/// As for [`memcmp`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
///
/// `s` points to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: the string is NUL-terminated; volatile keeps this from becoming a strlen call.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}
