//! Keeping the resident memory of a long-running daemon small.
//!
//! Polling parses many documents on the blocking pool; glibc's allocator then keeps one arena
//! per thread that allocated and rarely gives freed pages back, so an idle daemon would sit on
//! the high-water mark of its busiest minute. pantau caps the blocking pool
//! ([`BLOCKING_THREADS`]), limits glibc to two arenas at start ([`limit_arenas`]), and hands
//! free memory back to the system when polling goes quiet ([`release_free_memory`]). On other
//! C libraries these calls do nothing.

/// Threads of the blocking pool (parsing, matching, SQLite). The store has one connection
/// behind a mutex, and parsing is CPU-bound, so more threads only add stacks and arenas.
pub const BLOCKING_THREADS: usize = 8;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// `mallopt` parameter: the most arenas malloc creates.
    pub const M_ARENA_MAX: i32 = -8;

    extern "C" {
        pub fn mallopt(param: i32, value: i32) -> i32;
        pub fn malloc_trim(pad: usize) -> i32;
    }
}

/// Use at most two malloc arenas (call before starting threads).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; M_ARENA_MAX with a positive value is a
    // documented, always-valid setting, and it is called before other threads exist.
    unsafe {
        glibc::mallopt(glibc::M_ARENA_MAX, 2);
    }
}

/// Give free heap pages back to the system; true when some were released.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and is safe to call at any time from any thread.
    unsafe {
        return glibc::malloc_trim(0) == 1;
    }
    #[allow(unreachable_code)]
    false
}

/// `madvise` advice (Linux 5.4 and later): reclaim these pages now.
#[cfg(target_os = "linux")]
const MADV_PAGEOUT: i32 = 21;

#[cfg(target_os = "linux")]
extern "C" {
    fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
}

/// Ask the kernel to reclaim the pages of pantau's own executable that are mapped read-only
/// (its code and constant data), as it would under memory pressure; returns the bytes of
/// mappings advised. Those pages are clean copies of the file on disk, and the kernel keeps
/// mapped code resident even when memory runs short, so an idle daemon that hands them back
/// frees ~10 MB until its next poll faults in what that poll runs (from the page cache, or
/// from disk). Pages other processes also map are left alone by the kernel. Linux only; an
/// older kernel answers `EINVAL`.
pub fn page_out_code() -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        let mappings: Vec<Mapping<'_>> = maps.lines().filter_map(Mapping::parse).collect();
        // The executable is the file that maps the code running now.
        let here = page_out_code as *const () as usize;
        let Some(own) = mappings.iter().find(|m| m.start <= here && here < m.end) else {
            return Ok(0);
        };
        let (dev, inode) = (own.dev, own.inode);
        let mut advised = 0;
        for m in mappings.iter().filter(|m| m.dev == dev && m.inode == inode && !m.writable) {
            // SAFETY: the range is a whole mapping of this process, read from /proc/self/maps;
            // MADV_PAGEOUT only drops clean pages (they fault back unchanged on next use) and
            // never changes the mapping or its contents.
            if unsafe { madvise(m.start as *mut std::ffi::c_void, m.end - m.start, MADV_PAGEOUT) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            advised += m.end - m.start;
        }
        Ok(advised)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(0)
}

/// One line of `/proc/self/maps`: `start-end perms offset dev inode [path]`.
#[cfg(target_os = "linux")]
#[derive(Debug, PartialEq)]
struct Mapping<'a> {
    start: usize,
    end: usize,
    writable: bool,
    dev: &'a str,
    inode: u64,
}

#[cfg(target_os = "linux")]
impl<'a> Mapping<'a> {
    fn parse(line: &'a str) -> Option<Mapping<'a>> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?;
        let _offset = fields.next()?;
        let dev = fields.next()?;
        let inode = fields.next()?.parse().ok()?;
        Some(Mapping {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            writable: perms.contains('w'),
            dev,
            inode,
        })
        .filter(|m| m.inode != 0 && m.start < m.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_can_be_released_and_the_calls_are_harmless() {
        limit_arenas();
        let big: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 256 * 1024]).collect();
        assert_eq!(big.iter().map(Vec::len).sum::<usize>(), 64 * 256 * 1024);
        drop(big);
        // Whether pages were released depends on the allocator; the call must not crash and
        // the heap must still work afterwards.
        let _ = release_free_memory();
        let again = vec![7u8; 1024 * 1024];
        assert_eq!(again.iter().map(|&b| b as usize).sum::<usize>(), 7 * 1024 * 1024);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_maps_line_is_read_and_anonymous_mappings_are_not_files() {
        let line = "55d0c0a00000-55d0c1400000 r-xp 00404000 fe:00 6275311    /usr/bin/pantau (deleted)";
        let m = Mapping::parse(line).unwrap();
        assert_eq!(
            (m.start, m.end, m.writable, m.dev, m.inode),
            (0x55d0c0a00000, 0x55d0c1400000, false, "fe:00", 6275311)
        );
        assert!(Mapping::parse("7f41e0000000-7f41e161e000 rw-p 00000000 00:00 0 ").is_none());
        assert!(Mapping::parse("garbage").is_none());
    }

    /// RssFile of this process, in kB.
    #[cfg(target_os = "linux")]
    fn rss_file_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        line.split_ascii_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn paging_out_the_code_lowers_the_resident_file_pages() {
        let before = rss_file_kb();
        match page_out_code() {
            Ok(advised) => {
                assert!(advised > 1 << 20, "the test binary's code and read-only data: {advised} bytes");
                let after = rss_file_kb();
                assert!(after < before, "resident file pages {before} kB → {after} kB");
            }
            // Kernels before 5.4 have no MADV_PAGEOUT; the daemon then keeps its pages.
            Err(e) => assert_eq!(e.raw_os_error(), Some(22), "{e}"),
        }
    }
}
