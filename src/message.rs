//! Text built in a fixed stack buffer, without allocation and without `core::fmt` (which
//! would triple the tool's size): [`Line`], the one bounded line buffer of the crate, and
//! [`Message`], its public face for error messages.
//!
//! The other types that handle lines are not buffers of text to build: `lines::Fields`
//! splits a byte string without copying it, and the logger's `Lines` reassembles lines from
//! the chunks a pipe delivers.
//!
//! Runs in every process: the launcher's and the control commands' messages, and after the
//! fork the supervisor's and the logger's lines (the after-fork rules hold here).

/// The most bytes a line takes, with the newline that ends it on a stream or in `/dev/kmsg`.
pub(crate) const LINE_CAPACITY: usize = 1024;

/// A line built in a fixed buffer. Text past the limit is cut: [`finish`](Self::finish) ends
/// the line in `...`. One byte past the limit always stays free for the newline of
/// [`framed`](Self::framed).
pub(crate) struct Line {
    buf: [u8; LINE_CAPACITY],
    len: usize,
    /// The most bytes the text may take: at least 3, at most `LINE_CAPACITY - 1`.
    limit: usize,
    /// Something did not fit.
    overflow: bool,
}

impl Line {
    /// An empty line of at most `limit` bytes (without the newline).
    pub(crate) const fn new(limit: usize) -> Self {
        let limit = if limit > LINE_CAPACITY - 1 {
            LINE_CAPACITY - 1
        } else if limit < 3 {
            3
        } else {
            limit
        };
        Line {
            buf: [0; LINE_CAPACITY],
            len: 0,
            limit,
            overflow: false,
        }
    }

    /// Appends bytes as they are.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.overflow {
            // Cut already: nothing more goes in (a cut that backed up to a character's start
            // leaves a byte free, which a later push must not fill).
            return;
        }
        let n = bytes.len().min(self.limit.saturating_sub(self.len));
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..self.len + n), bytes.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        if n < bytes.len() {
            self.overflow = true;
        }
    }

    /// Appends one byte.
    pub(crate) fn push_byte(&mut self, b: u8) {
        self.push(&[b]);
    }

    /// Appends a message: without its trailing newlines, with newlines, carriage returns and
    /// NUL bytes inside it turned into spaces.
    pub(crate) fn push_text(&mut self, msg: &[u8]) {
        let mut end = msg.len();
        while end > 0 && matches!(msg.get(end - 1), Some(b'\n' | b'\r')) {
            end -= 1;
        }
        for &b in msg.iter().take(end) {
            if self.overflow {
                break;
            }
            self.push_byte(match b {
                b'\n' | b'\r' | 0 => b' ',
                b => b,
            });
        }
    }

    /// Appends at most `max` bytes of a header field (a tag or a host name) with every byte
    /// that is not printable ASCII turned into `_`; `-` (the RFC 5424 nil value) if
    /// `dash_if_empty` and it is empty.
    pub(crate) fn push_token(&mut self, token: &[u8], max: usize, dash_if_empty: bool) {
        if token.is_empty() && dash_if_empty {
            self.push_byte(b'-');
        }
        for &b in token.iter().take(max) {
            self.push_byte(if b.is_ascii_graphic() { b } else { b'_' });
        }
    }

    /// Appends `n` in decimal, padded on the left with `pad` to at least `width` bytes.
    pub(crate) fn push_number(&mut self, n: u32, width: usize, pad: u8) {
        let mut digits = [0_u8; 10];
        let digits = crate::decimal::format_u32(n, &mut digits);
        for _ in digits.len()..width {
            self.push_byte(pad);
        }
        self.push(digits);
    }

    /// Ends the line: if something did not fit, its last bytes become `...`.
    pub(crate) fn finish(&mut self) {
        if self.overflow {
            self.cut_at(self.limit);
        }
    }

    /// Shortens the line to at most `max` bytes (at least 3) ending in `...`, if it is longer.
    pub(crate) fn cut(&mut self, max: usize) {
        if self.len > max {
            self.cut_at(max);
        }
    }

    /// Ends the text in `...` within `max` bytes, not inside a UTF-8 character.
    fn cut_at(&mut self, max: usize) {
        let mut end = max.max(3).min(self.len).saturating_sub(3);
        // Back up over at most three continuation bytes to the start of their character.
        for _ in 0..3 {
            match self.buf.get(end) {
                Some(b) if end > 0 && b & 0xC0 == 0x80 => end -= 1,
                _ => break,
            }
        }
        if let Some(dots) = self.buf.get_mut(end..end + 3) {
            dots.copy_from_slice(b"...");
            self.len = end + 3;
        }
        self.overflow = true;
    }

    /// The line so far, without a newline.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The line and a newline (written in the byte kept free for it; the line is unchanged).
    pub(crate) fn framed(&mut self) -> &[u8] {
        match self.buf.get_mut(self.len) {
            Some(b) => {
                *b = b'\n';
                self.buf.get(..self.len + 1).unwrap_or(&[])
            }
            None => self.as_bytes(),
        }
    }

    /// The length of the line, without a newline.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// A line of text for an error message, in a fixed buffer of [`CAPACITY`](Self::CAPACITY)
/// bytes with its newline; text past it is cut and the line ends in `...`.
pub struct Message {
    line: Line,
}

impl Message {
    /// The most bytes a message holds, with its newline.
    pub const CAPACITY: usize = LINE_CAPACITY;

    /// An empty message.
    pub const fn new() -> Self {
        Message {
            line: Line::new(Self::CAPACITY - 1),
        }
    }

    /// Appends bytes. What does not fit is cut, the text ends in `...`, and later pushes are
    /// ignored; one byte always stays free for the newline of [`write_line`](Self::write_line).
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        self.line.push(bytes);
        self.line.finish();
        self
    }

    /// Appends a path (or any subject) that may be long, shortened in its middle to `...` so
    /// that at least `reserve` bytes stay free for what follows it (the cause of an error):
    /// the path is what gets cut, never the cause.
    pub fn push_path(&mut self, path: &[u8], reserve: usize) -> &mut Self {
        let room = (Self::CAPACITY - 4)
            .saturating_sub(self.line.len())
            .saturating_sub(reserve);
        if path.len() <= room {
            return self.push(path);
        }
        // Both ends: the start says where, the end names the file.
        let keep = room.saturating_sub(3);
        let head = keep / 2;
        let tail = keep - head;
        let start = path.get(..head).unwrap_or(path);
        let end = path.get(path.len() - tail..).unwrap_or(b"");
        self.push(start).push(b"...").push(end)
    }

    /// Appends a string.
    pub fn push_str(&mut self, s: &str) -> &mut Self {
        self.push(s.as_bytes())
    }

    /// Appends a number in decimal.
    pub fn push_u32(&mut self, n: u32) -> &mut Self {
        let mut digits = [0_u8; 10];
        self.push(crate::decimal::format_u32(n, &mut digits))
    }

    /// Appends the text of `errno` as the C library's `strerror` words it (`Broken pipe`), or
    /// `error N` for one it does not know.
    pub fn push_errno(&mut self, errno: rustix::io::Errno) -> &mut Self {
        self.push_errno_number(errno.raw_os_error() as u16)
    }

    /// [`push_errno`](Self::push_errno) of a raw number, 0 and unknown ones included (`error
    /// N`): what a decoded record carries is never trusted to be an `Errno`.
    pub(crate) fn push_errno_number(&mut self, n: u16) -> &mut Self {
        match crate::strerror::strerror(n) {
            Some(text) => self.push(text),
            None => self.push_str("error ").push_u32(u32::from(n)),
        }
    }

    /// The bytes so far (ending in `...` if something was cut).
    pub fn as_bytes(&self) -> &[u8] {
        self.line.as_bytes()
    }

    /// The text so far; bytes that are not UTF-8 (a path can hold any) end it early.
    pub fn as_str(&self) -> &str {
        let bytes = self.as_bytes();
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            // Cut at the first byte that is not UTF-8.
            Err(e) => bytes
                .get(..e.valid_up_to())
                .and_then(|valid| core::str::from_utf8(valid).ok())
                .unwrap_or(""),
        }
    }

    /// Writes the message and a newline to `fd` (normally stderr), ignoring failures: there is
    /// nowhere else to report them.
    pub fn write_line<Fd: rustix::fd::AsFd>(mut self, fd: Fd) {
        let _ = write_all(fd.as_fd(), self.line.framed());
    }
}

/// Writes all of `bytes` to `fd`, again after a short write or `EINTR`; on an error, how many
/// bytes were left unwritten and why (`EIO` for a write of nothing).
///
/// # References
///  - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
pub(crate) fn write_all(
    fd: rustix::fd::BorrowedFd<'_>,
    mut bytes: &[u8],
) -> Result<(), (usize, rustix::io::Errno)> {
    while !bytes.is_empty() {
        match rustix::io::retry_on_intr(|| rustix::io::write(fd, bytes)) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
            Ok(_) => return Err((bytes.len(), rustix::io::Errno::IO)),
            Err(e) => return Err((bytes.len(), e)),
        }
    }
    Ok(())
}

impl Default for Message {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_message_takes_nothing_more() {
        // Two-byte characters: the cut backs up to a character's start and leaves a byte
        // free, which a later push must not fill.
        let mut m = Message::new();
        m.push(b"a");
        for _ in 0..600 {
            m.push_str("é");
        }
        m.push(b"x");
        let bytes = m.as_bytes();
        assert!(
            bytes.ends_with("é...".as_bytes()),
            "{:?}",
            &bytes[bytes.len() - 8..]
        );
        assert!(!bytes.ends_with(b"...."));
        assert!(bytes.len() < Message::CAPACITY);
    }

    #[test]
    fn cuts_at_the_limit() {
        let mut line = Line::new(LINE_CAPACITY - 1);
        line.push(b"<13>");
        line.push_text(&[b'a'; 2000]);
        line.finish();
        assert_eq!(line.len(), LINE_CAPACITY - 1);
        assert!(line.as_bytes().starts_with(b"<13>aaa"));
        assert!(line.as_bytes().ends_with(b"a..."));
        assert_eq!(line.framed().len(), LINE_CAPACITY);
        assert_eq!(line.framed().last(), Some(&b'\n'));

        // Exactly full: nothing is cut.
        let mut line = Line::new(10);
        line.push(b"0123456789");
        line.finish();
        assert_eq!(line.as_bytes(), b"0123456789");
        line.push(b"x");
        line.finish();
        assert_eq!(line.as_bytes(), b"0123456...");

        // Never inside a UTF-8 character: "é" is two bytes.
        let mut line = Line::new(8);
        line.push("abcdééé".as_bytes());
        line.finish();
        assert_eq!(line.as_bytes(), b"abcd...");

        let mut line = Line::new(100);
        line.push(&[b'b'; 100]);
        line.cut(50);
        assert_eq!(line.len(), 50);
        assert!(line.as_bytes().ends_with(b"b..."));
        line.cut(60);
        assert_eq!(line.len(), 50);
    }
    #[test]
    fn one_line() {
        let mut line = Line::new(100);
        line.push_text(b"first\nsecond\r\nthird\0end\n\r\n");
        assert_eq!(line.as_bytes(), b"first second  third end");
        let mut line = Line::new(100);
        line.push_token(b"my prog\x01\xc3\xa9", 100, true);
        line.push_byte(b' ');
        line.push_token(b"", 100, true);
        line.push_byte(b' ');
        line.push_token(b"abcdef", 3, true);
        line.push_byte(b' ');
        line.push_number(7, 3, b'0');
        line.push_number(1234, 2, b' ');
        assert_eq!(line.as_bytes(), b"my_prog___ - abc 0071234");
    }

    #[test]
    fn cuts_long_text_and_keeps_working() {
        let mut m = Message::new();
        m.push(&[b'a'; 2000]);
        assert_eq!(m.as_bytes().len(), Message::CAPACITY - 1);
        assert_eq!(&m.as_bytes()[..4], b"aaaa");
        assert!(m.as_bytes().ends_with(b"a..."));
        m.push(b"more");
        m.push_u32(7);
        assert!(m.as_bytes().ends_with(b"..."));
        assert_eq!(m.as_str().len(), Message::CAPACITY - 1);
    }

    #[test]
    fn long_paths_are_cut_in_the_middle() {
        let mut path = std::vec::Vec::from(&b"/start/"[..]);
        path.extend([b'x'; 4000]);
        path.extend(b"/end");
        let mut m = Message::new();
        m.push_str("rawdaemon: chdir ")
            .push_path(&path, 256)
            .push_str(": No such file or directory");
        let text = m.as_str();
        assert!(text.starts_with("rawdaemon: chdir /start/xxx"), "{text}");
        assert!(
            text.ends_with("xxx/end: No such file or directory"),
            "{text}"
        );
        assert!(text.contains("x...x"), "{text}");
        assert!(text.len() <= Message::CAPACITY - 256 + 40, "{}", text.len());
        // A short one is left whole.
        let mut m = Message::new();
        m.push_path(b"/run/a.pid", 256);
        assert_eq!(m.as_str(), "/run/a.pid");
    }
}
