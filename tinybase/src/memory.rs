//! Giving memory back to the system after a burst.
//!
//! glibc's allocator keeps memory freed by a burst of large requests (a page of big
//! records, a large body parsed) in its arenas for reuse, so the resident size of an idle
//! server stayed at its peak after a load: 54 MiB before the hardening probes, 126 MiB
//! after a minute of idling. [`return_freed_memory`] asks glibc every few seconds to hand
//! free pages back (`malloc_trim`), which brings an idle server back near where it started.
//! Other platforms and allocators return memory on their own terms; there it does nothing.

use std::time::Duration;

/// How often freed memory is handed back. Each trim walks the allocator's free lists
/// (well under a millisecond on a quiet server), so a few seconds costs nothing
/// measurable while keeping the return well within a minute of a burst.
const TRIM_INTERVAL: Duration = Duration::from_secs(10);

/// Hands freed memory back to the system every [`TRIM_INTERVAL`]; runs until aborted.
pub(crate) async fn return_freed_memory() {
    let mut every = tokio::time::interval(TRIM_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // On a blocking thread: a trim holds the allocator's arena locks while it walks them.
        if tokio::task::spawn_blocking(trim).await.is_err() {
            return;
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // the crate's only `unsafe`: an FFI call, see the SAFETY note
fn trim() {
    // SAFETY: malloc_trim has no preconditions; it only returns free pages of the
    // allocator's own heaps to the system, and is safe to call from any thread at any
    // time (it takes the arena locks itself).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn resident_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap()
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_trim_gives_back_memory_freed_in_small_pieces() {
        // 64 MiB in 4 KiB pieces (below glibc's mmap threshold, so they live in the heap
        // and stay resident after free until trimmed). Keep every second piece so the
        // heap top cannot simply shrink.
        let mut pieces: Vec<Vec<u8>> = (0..16_384).map(|i| vec![(i % 251) as u8; 4096]).collect();
        let kept: Vec<Vec<u8>> = pieces.iter().step_by(64).cloned().collect();
        let before_free = resident_kib();
        pieces.clear();
        pieces.shrink_to_fit();
        let freed = resident_kib();
        trim();
        let trimmed = resident_kib();
        assert!(
            trimmed + 16 * 1024 < freed,
            "RSS {before_free} KiB in use, {freed} KiB after free, {trimmed} KiB after trim"
        );
        drop(kept);
    }
}
