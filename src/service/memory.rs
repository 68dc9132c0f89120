//! Keeping the resident memory of a long-running daemon small.
//!
//! Polling parses many documents on the blocking pool; glibc's allocator then keeps one arena
//! per thread that allocated and rarely gives freed pages back, so an idle daemon would sit on
//! the high-water mark of its busiest minute. pantau caps the blocking pool
//! ([`BLOCKING_THREADS`]), limits glibc to two arenas at start ([`limit_arenas`]), and hands
//! free memory back to the system when polling goes quiet ([`release_free_memory`]). On other
//! C libraries these calls do nothing.

// madvise, mallopt and malloc_trim (through the libc crate): the one module of pantau that
// calls C.
#![allow(unsafe_code)]

/// Threads of the blocking pool (parsing, matching, SQLite). The store has one connection
/// behind a mutex, and parsing is CPU-bound, so more threads only add stacks and arenas.
pub const BLOCKING_THREADS: usize = 8;

/// Use at most two malloc arenas (call before starting threads).
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; M_ARENA_MAX with a positive value is a
    // documented, always-valid setting, and it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Give free heap pages back to the system; true when some were released.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and is safe to call at any time from any thread.
    unsafe {
        return libc::malloc_trim(0) == 1;
    }
    #[allow(unreachable_code)]
    false
}

/// Unmaps the resident pages of pantau's own code and constant data; returns the bytes that
/// were resident in them.
///
/// A poll touches most of the binary (parsing, matching, SQLite, HTTP), and the kernel maps
/// 64 KB around every page a fault touches, so after the first poll ~10 MB of code stay
/// mapped: resident, and favoured by the kernel over other cached data while they are in use.
/// Unmapped, they are ordinary cached file data again, which the kernel reclaims first when
/// memory runs short; the next poll maps back what it runs (a minor fault per 64 KB while the
/// pages are still cached, a read from disk otherwise).
///
/// Only read-only private mappings of the executable that hold no anonymous page are
/// unmapped: their pages are the file's own, so the next access finds the same bytes. A
/// mapping with anonymous pages (read-only data after relocation, or code a debugger
/// patched) would lose those changes and is left alone. Linux only; elsewhere nothing.
pub fn unmap_code() -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let smaps = std::fs::read_to_string("/proc/self/smaps")?;
        let mappings = Mapping::parse_smaps(&smaps);
        let mut unmapped = 0;
        for m in code_mappings(&mappings, unmap_code as *const () as usize) {
            // SAFETY: the range is one whole mapping of this process, read from
            // /proc/self/smaps just now: private, read-only, and without anonymous pages, so
            // every page in it is the file's page-cache page, and a later access maps the
            // same bytes back. No page can have become anonymous since: that needs a write,
            // which a read-only mapping refuses.
            if unsafe { libc::madvise(m.start as *mut libc::c_void, m.end - m.start, libc::MADV_DONTNEED) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            unmapped += m.rss_kb as usize * 1024;
        }
        Ok(unmapped)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(0)
}

/// The mappings [`unmap_code`] may unmap: those of the file that maps address `here` (the
/// executable), read-only, private, with no anonymous or locked page.
#[cfg(target_os = "linux")]
fn code_mappings<'m>(mappings: &'m [Mapping<'m>], here: usize) -> Vec<&'m Mapping<'m>> {
    let Some(own) = mappings.iter().find(|m| m.start <= here && here < m.end) else {
        return Vec::new();
    };
    mappings
        .iter()
        .filter(|m| m.dev == own.dev && m.inode == own.inode)
        .filter(|m| !m.writable && !m.shared && m.anon_kb == 0 && m.locked_kb == 0)
        .collect()
}

/// One mapping of `/proc/self/smaps`: its line `start-end perms offset dev inode [path]`,
/// and the counters that follow it.
#[cfg(target_os = "linux")]
#[derive(Debug, PartialEq)]
struct Mapping<'a> {
    start: usize,
    end: usize,
    writable: bool,
    shared: bool,
    dev: &'a str,
    inode: u64,
    rss_kb: u64,
    anon_kb: u64,
    locked_kb: u64,
}

#[cfg(target_os = "linux")]
impl<'a> Mapping<'a> {
    /// Every file-backed mapping; a mapping with a counter that cannot be read counts as
    /// holding anonymous pages, so that it is never unmapped.
    fn parse_smaps(text: &'a str) -> Vec<Mapping<'a>> {
        let mut out: Vec<Mapping<'a>> = Vec::new();
        let mut current: Option<Mapping<'a>> = None;
        for line in text.lines() {
            if let Some(m) = Mapping::parse_header(line) {
                out.extend(current.replace(m));
                continue;
            }
            let Some(m) = current.as_mut() else { continue };
            let mut fields = line.split_ascii_whitespace();
            let (Some(key), value) = (fields.next(), fields.next().and_then(|v| v.parse::<u64>().ok())) else {
                continue;
            };
            let counter = match key {
                "Rss:" => &mut m.rss_kb,
                "Anonymous:" => &mut m.anon_kb,
                "Locked:" => &mut m.locked_kb,
                _ => continue,
            };
            match value {
                Some(kb) => *counter = kb,
                None => m.anon_kb = u64::MAX,
            }
        }
        out.extend(current);
        out.retain(|m| m.inode != 0);
        out
    }

    fn parse_header(line: &'a str) -> Option<Mapping<'a>> {
        let mut fields = line.split_ascii_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?.as_bytes();
        let _offset = fields.next()?;
        let dev = fields.next()?;
        let inode = fields.next()?.parse().ok()?;
        let (start, end) = (usize::from_str_radix(start, 16).ok()?, usize::from_str_radix(end, 16).ok()?);
        if perms.len() != 4 || start >= end {
            return None;
        }
        Some(Mapping {
            start,
            end,
            writable: perms[1] == b'w',
            shared: perms[3] == b's',
            dev,
            inode,
            // Unknown until the counters are read: as if anonymous, so never unmapped.
            rss_kb: 0,
            anon_kb: u64::MAX,
            locked_kb: u64::MAX,
        })
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
    fn only_the_executables_read_only_mappings_without_anonymous_pages_are_unmapped() {
        let smaps = "\
55d0c0600000-55d0c0a00000 r--p 00000000 fe:00 6275311    /usr/bin/pantau (deleted)
Size:               4096 kB
Rss:                1956 kB
Anonymous:             0 kB
Locked:                0 kB
VmFlags: rd mr mw me
55d0c0a00000-55d0c1400000 r-xp 00404000 fe:00 6275311    /usr/bin/pantau (deleted)
Rss:                8508 kB
Anonymous:             0 kB
Locked:                0 kB
55d0c1400000-55d0c1489000 r--p 00de2000 fe:00 6275311    /usr/bin/pantau (deleted)
Rss:                 548 kB
Anonymous:           548 kB
Locked:                0 kB
55d0c1489000-55d0c1490000 rw-p 00e6a000 fe:00 6275311    /usr/bin/pantau (deleted)
Rss:                  28 kB
Anonymous:            28 kB
Locked:                0 kB
55d0c2000000-55d0c3000000 rw-p 00000000 00:00 0          [heap]
Rss:                4548 kB
Anonymous:          4548 kB
7f41e7273000-7f41e73c9000 r-xp 00026000 fe:00 326279     /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1012 kB
Anonymous:             0 kB
Locked:                0 kB
7f41e8000000-7f41e8001000 r--p 00000000 fe:00 6275311    /usr/bin/pantau (deleted)
Rss:                   4 kB
Locked:                0 kB
7f41e8001000-7f41e8002000 r--s 00000000 fe:00 6275311    /usr/bin/pantau (deleted)
Rss:                   4 kB
Anonymous:             0 kB
Locked:                0 kB
7f41e8002000-7f41e8003000 r--p 00000000 fe:00 6275311    /usr/bin/pantau (deleted)
Anonymous:             0 kB
Rss:                   ? kB
Locked:                0 kB
";
        let maps = Mapping::parse_smaps(smaps);
        assert_eq!(maps.len(), 8, "the heap is no file: {maps:?}");
        let text = &maps[1];
        assert_eq!(
            (text.start, text.end, text.writable, text.dev, text.inode),
            (0x55d0c0a00000, 0x55d0c1400000, false, "fe:00", 6275311)
        );
        assert_eq!((text.rss_kb, text.anon_kb, text.locked_kb), (8508, 0, 0));
        let chosen: Vec<usize> = code_mappings(&maps, 0x55d0c0b00000).iter().map(|m| m.start).collect();
        // Constant data and code; not the relocated read-only data (anonymous pages), the
        // writable data, the C library, a mapping without an Anonymous line, a shared one, one
        // with a counter that cannot be read.
        assert_eq!(chosen, [0x55d0c0600000, 0x55d0c0a00000]);
        assert!(code_mappings(&maps, 0x1000).is_empty(), "an address no file maps");
    }

    /// Resident kB, per start address, of the mappings `code_mappings` picks in this process.
    #[cfg(target_os = "linux")]
    fn resident_code() -> Vec<(usize, u64)> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let maps = Mapping::parse_smaps(&smaps);
        code_mappings(&maps, unmap_code as *const () as usize).iter().map(|m| (m.start, m.rss_kb)).collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn unmapping_the_code_leaves_little_of_it_resident_and_it_still_runs() {
        let before = resident_code();
        let resident: u64 = before.iter().map(|&(_, kb)| kb).sum();
        assert!(resident > 1024, "the test binary runs code from its file: {before:?}");
        let unmapped = unmap_code().unwrap();
        // Other tests run meanwhile and map back the code they need, but not all of it.
        let after: u64 = resident_code().iter().map(|&(_, kb)| kb).sum();
        assert!(after < resident / 2, "resident code {resident} kB → {after} kB");
        assert!(unmapped as u64 >= after * 1024, "{unmapped} bytes reported");
        // The unmapped code runs again (this call is in it).
        assert!(unmap_code().is_ok());
    }
}
