//! Files of a test: a temporary directory removed on drop, text and pid files read back, the
//! lock probe, a path for libc, a root directory for `--chroot`.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::TestResult;

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rawdaemon-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A file's text, with the path in the error.
pub fn read_text(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Waits until `path` holds a pid (a foreground start writes it after we spawn it).
pub fn read_pid(path: &Path) -> Result<i32, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = fs::read_to_string(path) {
            if let Some(line) = text.strip_suffix('\n') {
                return line.parse().map_err(|e| format!("pid file {text:?}: {e}"));
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no pid in {}", path.display()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether some process holds an exclusive lock on the file (our probe is refused).
pub fn is_locked(path: &Path) -> Result<bool, String> {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    Ok(r != 0)
}

/// `p` as a C string, for libc calls.
pub fn cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in path")
}

/// A root directory holding `sleep` and the libraries it needs, as `ldd` lists them.
pub fn jail(dir: &Path) -> TestResult {
    let ldd = Command::new("ldd")
        .arg("/bin/sleep")
        .output()
        .map_err(|e| format!("ldd: {e}"))?;
    let mut files = vec!["/bin/sleep".to_string()];
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        if let Some(path) = line.split_whitespace().find(|w| w.starts_with('/')) {
            files.push(path.to_string());
        }
    }
    for file in files {
        let target = dir.join(file.trim_start_matches('/'));
        fs::create_dir_all(target.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        fs::copy(&file, &target).map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(())
}
