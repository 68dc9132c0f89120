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
}
