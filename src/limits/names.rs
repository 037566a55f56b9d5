//! Resource names as prlimit(1) spells them, and their `RLIMIT_*` numbers (one packed
//! constant table, no allocation).

use super::Resource;

/// The names in `RLIMIT_*` number order (`RLIMIT_CPU` is 0), each ended by a NUL.
const NAMES: &[u8] = b"cpu\0fsize\0data\0stack\0core\0rss\0nproc\0nofile\0memlock\0as\0locks\0\
sigpending\0msgqueue\0nice\0rtprio\0rttime\0";

/// The resources in the same order.
const RESOURCES: [Resource; 16] = [
    Resource::Cpu,
    Resource::Fsize,
    Resource::Data,
    Resource::Stack,
    Resource::Core,
    Resource::Rss,
    Resource::Nproc,
    Resource::Nofile,
    Resource::Memlock,
    Resource::As,
    Resource::Locks,
    Resource::Sigpending,
    Resource::Msgqueue,
    Resource::Nice,
    Resource::Rtprio,
    Resource::Rttime,
];

/// The resource prlimit(1) calls `name` (`nofile`, `nproc`, `core`, `as`, `fsize`,
/// `memlock`, `stack`, `cpu`, `data`, `rss`, `locks`, `sigpending`, `msgqueue`, `nice`,
/// `rtprio`, `rttime`; any case).
pub fn resource(name: &[u8]) -> Option<Resource> {
    let n = NAMES
        .split(|&b| b == 0)
        .position(|known| !known.is_empty() && known.eq_ignore_ascii_case(name))?;
    RESOURCES.get(n).copied()
}

/// The prlimit(1) name of `resource`.
pub fn resource_name(resource: Resource) -> &'static str {
    core::str::from_utf8(name_of(resource as u32)).unwrap_or_default()
}

/// The name of resource number `n` (`RLIMIT_NOFILE` is `nofile`) as bytes; empty if
/// unknown.
pub(super) fn name_of(n: u32) -> &'static [u8] {
    super::nth_name(NAMES, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_numbers() {
        for (n, &r) in RESOURCES.iter().enumerate() {
            assert_eq!(r as usize, n);
            assert_eq!(resource(resource_name(r).as_bytes()), Some(r));
        }
        assert_eq!(resource(b"NOFILE"), Some(Resource::Nofile));
        assert_eq!(resource_name(Resource::As), "as");
        assert_eq!(resource(b""), None);
        assert_eq!(resource(b"files"), None);
        assert_eq!(name_of(16), b"");
    }
}
