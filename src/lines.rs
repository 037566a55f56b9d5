//! Reading a text file line by line through a fixed buffer: `/proc/locks`, `fdinfo`, and the
//! account files.
//!
//! Runs in the launcher (the account files), in the control commands (`/proc/locks`,
//! `fdinfo`) and, after the fork, wherever `/proc` is read: no allocation, no panics.

use rustix::fd::BorrowedFd;
use rustix::io::Errno;

/// Calls `f` on each line read from `fd` (without its newline; a last line without one counts)
/// until it returns `true`; whether it did. A line longer than `buf` is skipped whole, never
/// seen in parts.
///
/// Not generic: one copy serves every caller (a closure keeps what it found).
///
/// # References
///  - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
pub(crate) fn find_line(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    f: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<bool, Errno> {
    let mut len = 0;
    // Inside a line that did not fit: drop bytes up to its newline.
    let mut skipping = false;
    loop {
        let free = buf.get_mut(len..).unwrap_or_default();
        let n = rustix::io::retry_on_intr(|| rustix::io::read(fd, &mut *free))?;
        len += n;
        let mut start = 0;
        while let Some(line) = buf.get(start..len).and_then(|rest| {
            let end = rest.iter().position(|&b| b == b'\n')?;
            rest.get(..end)
        }) {
            if !skipping && f(line) {
                return Ok(true);
            }
            skipping = false;
            start += line.len() + 1;
        }
        if n == 0 {
            let rest = buf.get(start..len).unwrap_or_default();
            return Ok(!rest.is_empty() && !skipping && f(rest));
        }
        if start == 0 && len == buf.len() {
            skipping = true;
            len = 0;
        } else {
            buf.copy_within(start..len, 0);
            len -= start;
        }
    }
}

/// The pieces of a byte string between separator bytes, as `split` gives them (empty ones
/// included), but one non-generic type: each `split` with its own closure was its own copy
/// of the iterator.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    rest: Option<&'a [u8]>,
    seps: [u8; 2],
}

impl<'a> Fields<'a> {
    /// The pieces of `s` between `sep` bytes.
    pub(crate) fn new(s: &'a [u8], sep: u8) -> Self {
        Fields::either(s, sep, sep)
    }

    /// The pieces of `s` between bytes that are `a` or `b`.
    pub(crate) fn either(s: &'a [u8], a: u8, b: u8) -> Self {
        Fields {
            rest: Some(s),
            seps: [a, b],
        }
    }

    /// What is left, separators included (`splitn`'s last piece); `None` after the last piece.
    pub(crate) fn rest(self) -> Option<&'a [u8]> {
        self.rest
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline(never)]
    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.rest?;
        let [a, b] = self.seps;
        match s.iter().position(|&c| c == a || c == b) {
            Some(i) => {
                let (piece, tail) = s.split_at(i);
                self.rest = tail.get(1..);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

/// `parts` one after another at the start of `out`; `None` if they do not fit. Without
/// indexing, for the daemon's own lines, where nothing may panic.
pub(crate) fn join<'o>(out: &'o mut [u8], parts: &[&[u8]]) -> Option<&'o [u8]> {
    let mut len = 0;
    for &byte in parts.iter().copied().flatten() {
        *out.get_mut(len)? = byte;
        len += 1;
    }
    out.get(..len)
}

/// Whether `s` holds the byte `b`.
#[allow(
    clippy::manual_contains,
    reason = "contains goes through memchr, whose word-at-a-time fast path is inlined at each caller"
)]
pub(crate) fn has_byte(s: &[u8], b: u8) -> bool {
    s.iter().any(|&c| c == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_fills_or_refuses() {
        let mut buf = [0_u8; 6];
        assert_eq!(join(&mut buf, &[b"ab", b"", b"cd"]), Some(&b"abcd"[..]));
        assert_eq!(join(&mut buf, &[b"abc", b"def"]), Some(&b"abcdef"[..]));
        assert_eq!(join(&mut buf, &[b"abc", b"defg"]), None);
        assert_eq!(join(&mut buf, &[]), Some(&b""[..]));
    }
    use rustix::fd::AsFd;

    /// A socket with `text` waiting in it and the other end closed.
    fn reader(text: &[u8]) -> rustix::fd::OwnedFd {
        use rustix::net::{AddressFamily, SocketFlags, SocketType, socketpair};
        let (r, w) = socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::empty(),
            None,
        )
        .unwrap();
        assert_eq!(rustix::io::write(&w, text), Ok(text.len()));
        r
    }
    use std::vec::Vec;

    fn lines(text: &[u8], buf_len: usize) -> Vec<Vec<u8>> {
        let r = reader(text);
        let mut buf = std::vec![0_u8; buf_len];
        let mut seen = Vec::new();
        let found = find_line(r.as_fd(), &mut buf, &mut |l| {
            seen.push(l.to_vec());
            false
        })
        .unwrap();
        assert!(!found);
        seen
    }

    #[test]
    fn splits_and_skips_long_lines() {
        assert_eq!(lines(b"a\nbb\n\nc", 8), [&b"a"[..], b"bb", b"", b"c"]);
        // "0123456789" does not fit in 8 bytes: skipped whole, its tail is not a line.
        assert_eq!(lines(b"x\n0123456789\ny\n", 8), [&b"x"[..], b"y"]);
        assert_eq!(lines(b"0123456789abcdefghij", 8), Vec::<Vec<u8>>::new());
        assert_eq!(lines(b"", 8), Vec::<Vec<u8>>::new());
        // Exactly the buffer's size with its newline.
        assert_eq!(lines(b"1234567\nz", 8), [&b"1234567"[..], b"z"]);
    }

    #[test]
    fn fields_split_like_split() {
        for text in [
            &b""[..],
            b":",
            b"a",
            b"a:b",
            b"::a::",
            b"root:x:0:0:root:/root:/bin/sh",
        ] {
            let mine: Vec<&[u8]> = Fields::new(text, b':').collect();
            let core: Vec<&[u8]> = text.split(|&b| b == b':').collect();
            assert_eq!(mine, core);
            let mine: Vec<&[u8]> = Fields::either(text, b':', b'o').collect();
            let core: Vec<&[u8]> = text.split(|&b| b == b':' || b == b'o').collect();
            assert_eq!(mine, core);
        }
        let mut f = Fields::new(b"wheel:x:10:root,alice:more", b':');
        assert_eq!(f.next(), Some(&b"wheel"[..]));
        assert_eq!(f.rest(), Some(&b"x:10:root,alice:more"[..]));
        let mut f = Fields::new(b"alice", b':');
        assert_eq!(f.next(), Some(&b"alice"[..]));
        assert_eq!(f.rest(), None);
    }

    #[test]
    fn stops_at_the_first_match() {
        let r = reader(b"a 1\nb 2\nb 3\n");
        let mut buf = [0_u8; 16];
        let mut value = None;
        let found = find_line(r.as_fd(), &mut buf, &mut |l| {
            value = l.strip_prefix(b"b ").map(|v| v[0]);
            value.is_some()
        })
        .unwrap();
        assert!(found);
        assert_eq!(value, Some(b'2'));
    }
}
