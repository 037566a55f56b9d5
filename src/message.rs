//! [`Message`]: a line of text built in a fixed stack buffer, for error messages that must be
//! written without allocation and without `core::fmt` (which would triple the tool's size).

/// A fixed-capacity byte buffer; text past the capacity is cut and the line ends in `...`.
pub struct Message {
    buf: [u8; Message::CAPACITY],
    len: usize,
    cut: bool,
}

impl Message {
    /// The most bytes a message holds.
    pub const CAPACITY: usize = 1024;

    /// An empty message.
    pub const fn new() -> Self {
        Message {
            buf: [0; Message::CAPACITY],
            len: 0,
            cut: false,
        }
    }

    /// Appends bytes. What does not fit is cut, the text ends in `...`, and later pushes are
    /// ignored; one byte always stays free for the newline of [`write_line`](Self::write_line).
    pub fn push(&mut self, bytes: &[u8]) -> &mut Self {
        if self.cut {
            return self;
        }
        let room = Self::CAPACITY - 4 - self.len;
        let (fits, rest) = bytes.split_at(bytes.len().min(room));
        self.append(fits);
        if !rest.is_empty() {
            self.append(b"...");
            self.cut = true;
        }
        self
    }

    /// Appends what fits of `bytes` (`push` keeps the room for them).
    fn append(&mut self, bytes: &[u8]) {
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        let n = bytes.len().min(free.len());
        if let (Some(to), Some(from)) = (free.get_mut(..n), bytes.get(..n)) {
            to.copy_from_slice(from);
        }
        self.len += n;
    }

    /// Appends a path (or any subject) that may be long, shortened in its middle to `...` so
    /// that at least `reserve` bytes stay free for what follows it (the cause of an error):
    /// the path is what gets cut, never the cause.
    pub fn push_path(&mut self, path: &[u8], reserve: usize) -> &mut Self {
        let room = (Self::CAPACITY - 4)
            .saturating_sub(self.len)
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
        let n = errno.raw_os_error() as u16;
        match crate::strerror::strerror(n) {
            Some(text) => self.push(text),
            None => self.push_str("error ").push_u32(u32::from(n)),
        }
    }

    /// The bytes so far (ending in `...` if something was cut).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
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
        // `push` always leaves room for the newline.
        self.append(b"\n");
        let mut rest = self.as_bytes();
        while !rest.is_empty() {
            match rustix::io::write(&fd, rest) {
                Ok(0) => break,
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => break,
            }
        }
    }
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
