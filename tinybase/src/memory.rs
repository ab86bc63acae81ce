//! Giving memory back to the system after a burst.
//!
//! glibc's allocator keeps memory freed by a burst of large requests (a page of big
//! records, a large body parsed) in its arenas for reuse, so the resident size of an idle
//! server stayed at its peak after a load: 54 MiB before the hardening probes, 126 MiB
//! after a minute of idling. [`return_freed_memory`] asks glibc every few seconds to hand
//! free pages back (`malloc_trim`), which brings an idle server back near where it started.
//! Other platforms and allocators return memory on their own terms; there it does nothing.
//!
//! The trim alone is not enough: glibc raises its mmap and trim thresholds each time a
//! large block is freed (up to 32 and 64 MiB), after which large buffers live in the
//! per-thread heaps, and the free space at the top of those heaps is neither shrunk on
//! free (below the raised trim threshold) nor touched by `malloc_trim`. Measured after a
//! minute of idling that followed the hardening probes: 9.7 MB in use, 60 MB resident.
//! Fixing both thresholds keeps large buffers in their own mappings, returned the moment
//! they are freed, and heaps shrinking as soon as their top grows past 1 MiB.

use std::time::Duration;

/// How often freed memory is handed back. Each trim walks the allocator's free lists
/// (well under a millisecond on a quiet server), so a few seconds costs nothing
/// measurable while keeping the return well within a minute of a burst.
const TRIM_INTERVAL: Duration = Duration::from_secs(10);

/// Allocations from this size up get a mapping of their own, unmapped when freed. Buffers
/// this large are rare in ordinary requests (a page of large records, a large body), so
/// the cost of mapping them is paid only where the memory matters.
const MMAP_THRESHOLD_BYTES: i32 = 256 * 1024;

/// A heap whose free top grows past this gives it back on the spot.
const TRIM_THRESHOLD_BYTES: i32 = 1024 * 1024;

/// Hands freed memory back to the system every [`TRIM_INTERVAL`]; runs until aborted.
pub(crate) async fn return_freed_memory() {
    fix_thresholds();
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
#[allow(unsafe_code)] // one of the crate's two `unsafe` blocks, both FFI calls in this module
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

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // an FFI call, see the SAFETY note
fn fix_thresholds() {
    // SAFETY: mallopt only sets the allocator's tuning parameters (under its own lock);
    // it has no preconditions and is safe to call from any thread at any time. A value
    // it refuses leaves the parameter as it was (it then returns 0), which is harmless.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_thresholds() {}

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

    /// Bytes the allocator holds in mappings of their own (allocator state, unlike the
    /// resident size, which every test running beside this one moves).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)] // a test-only FFI call
    fn mapped_bytes() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's statistics; no preconditions.
        unsafe { libc::mallinfo2().hblkhd }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn with_fixed_thresholds_large_buffers_get_mappings_of_their_own() {
        fix_thresholds();
        // Freeing a large mapped block is what makes glibc raise its thresholds (and then
        // keep 1 MiB buffers in its heaps, where freeing them returns nothing); with the
        // thresholds fixed, they still get mappings of their own, unmapped when freed.
        drop(std::hint::black_box(vec![1_u8; 16 * 1024 * 1024]));
        let before = mapped_bytes();
        let buffers: Vec<Vec<u8>> = (0..24).map(|i| vec![i as u8 + 1; 1024 * 1024]).collect();
        let held = mapped_bytes();
        drop(buffers);
        assert!(
            held >= before + 20 * 1024 * 1024,
            "{before} bytes mapped before, {held} holding 24 MiB in 1 MiB buffers"
        );
    }
}
