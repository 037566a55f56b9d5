//! Decimal numbers to and from bytes, without `core::fmt`.
//!
//! Runs in any process, after a fork too: no allocation, no panics.

/// Writes `n` in decimal at the start of `out` and returns those digits.
///
/// Without indexing: it runs in the daemon, where nothing may panic.
pub(crate) fn format_u32(n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut len = 1;
    let mut rest = n / 10;
    while rest > 0 {
        len += 1;
        rest /= 10;
    }
    let mut n = n;
    for slot in out.iter_mut().take(len).rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.get(..len).unwrap_or(&[])
}

/// Parses a number of 1 to `max_len` digits in `radix` (10 or 16; hex digits in either case),
/// with no sign or white space; `None` for anything else, or if it does not fit in a `u64`.
///
/// The one parser of the library's numbers (pids, ids, `/proc` fields): never inlined, so
/// that each caller costs a call rather than a copy of the loop.
#[inline(never)]
pub(crate) fn parse_u64(s: &[u8], radix: u32, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        let digit = (b as char).to_digit(radix)?;
        n = n
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
    }
    Some(n)
}

/// Parses a positive decimal number that fits in an `i32` (a pid), allowing surrounding ASCII
/// white space; `None` for anything else.
pub(crate) fn parse_pid(bytes: &[u8]) -> Option<u32> {
    let n = parse_u64(bytes.trim_ascii(), 10, 10)?;
    (n >= 1 && n <= i32::MAX as u64).then_some(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_boundaries() {
        let mut b = [0; 10];
        for (n, s) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (4_194_304, "4194304"),
            (u32::MAX, "4294967295"),
        ] {
            assert_eq!(format_u32(n, &mut b), s.as_bytes());
        }
    }

    #[test]
    fn parses_pids_strictly() {
        assert_eq!(parse_pid(b"1234\n"), Some(1234));
        assert_eq!(parse_pid(b" 42 "), Some(42));
        for bad in [
            &b""[..],
            b"\n",
            b"0",
            b"-5",
            b"12a",
            b"99999999999",
            b"2147483648",
            b"1 2",
        ] {
            assert_eq!(parse_pid(bad), None, "{bad:?}");
        }
        assert_eq!(parse_pid(b"2147483647"), Some(2_147_483_647));
    }
}
