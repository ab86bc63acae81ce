//! Small objects kept in memory, so a file downloaded often is served without a trip to
//! the backend: no blocking thread and no copy out of the page cache for local disk, no
//! network request for S3.
//!
//! Keeping copies is safe because an object's key names one content for as long as the
//! object lives: an uploaded file gets a new stored name (a replaced file too), and a
//! thumbnail's key is derived from its file's. The only ways a key's content changes
//! are the store's own writes and deletions, which drop the key here
//! ([`ObjectCache::forget`]).
//!
//! A read that missed and then fills the cache may race with a deletion: the read
//! started before the object was deleted, the deletion forgot the key, then the read
//! inserts what it read. Each fill therefore carries the [`Epoch`] taken before its read;
//! any forget in between moves the epoch on and the fill is dropped.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use object_store::ObjectMeta;

/// The cache's bookkeeping epoch, taken before a read that may fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Epoch(u64);

/// Objects up to a size, up to a total of bytes, the least recently used evicted first.
pub(super) struct ObjectCache {
    /// Most bytes held; evicting brings the total down to three quarters of this.
    budget: usize,
    /// Largest object kept; larger ones are always read from the backend.
    largest: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Bytes held by `entries`.
    held: usize,
    /// Counts lookups; an entry remembers the count of its last use.
    clock: u64,
    /// Moved on by every forget (see the module docs).
    epoch: u64,
}

struct Entry {
    meta: ObjectMeta,
    bytes: Bytes,
    used: u64,
}

impl ObjectCache {
    /// A cache of at most `budget` bytes, keeping objects of at most `largest` bytes.
    pub(super) fn new(budget: usize, largest: u64) -> Self {
        Self {
            budget,
            largest,
            state: Mutex::new(State::default()),
        }
    }

    /// The object `key`, when it is held.
    pub(super) fn get(&self, key: &str) -> Option<(ObjectMeta, Bytes)> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let entry = state.entries.get_mut(key)?;
        entry.used = now;
        Some((entry.meta.clone(), entry.bytes.clone()))
    }

    /// The epoch to give [`ObjectCache::fill`] for a read starting now.
    pub(super) fn epoch(&self) -> Epoch {
        Epoch(self.lock().epoch)
    }

    /// Keeps `bytes` (with `meta`) as the object `key`, read since `epoch`; ignored when
    /// the object is too large or something was forgotten since.
    pub(super) fn fill(&self, epoch: Epoch, key: &str, meta: &ObjectMeta, bytes: &Bytes) {
        if meta.size > self.largest || bytes.len() > self.budget {
            return;
        }
        let mut state = self.lock();
        if state.epoch != epoch.0 || state.entries.contains_key(key) {
            return;
        }
        state.held += bytes.len();
        let used = state.clock;
        state.entries.insert(
            key.to_owned(),
            Entry {
                meta: meta.clone(),
                bytes: bytes.clone(),
                used,
            },
        );
        if state.held > self.budget {
            evict(&mut state, self.budget / 4 * 3);
        }
    }

    /// Drops `key` and every object whose key starts with one of `prefixes` followed by
    /// `/`: called before the store writes or deletes them.
    pub(super) fn forget(&self, key: &str, prefixes: &[&str]) {
        let mut state = self.lock();
        state.epoch += 1;
        let under = |k: &str| {
            prefixes
                .iter()
                .any(|p| k.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
        };
        let mut freed = 0;
        state.entries.retain(|k, entry| {
            let keep = k != key && !under(k);
            if !keep {
                freed += entry.bytes.len();
            }
            keep
        });
        state.held -= freed;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent before anything that could panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops the least recently used entries until at most `target` bytes are held. Sorting
/// once per eviction (rather than keeping an order on every lookup) keeps lookups cheap;
/// evicting a quarter of the budget at a time makes evictions rare.
fn evict(state: &mut State, target: usize) {
    let mut by_age: Vec<(u64, usize, &String)> = state
        .entries
        .iter()
        .map(|(key, entry)| (entry.used, entry.bytes.len(), key))
        .collect();
    by_age.sort_unstable();
    let mut held = state.held;
    let mut gone = Vec::new();
    for (_, size, key) in by_age {
        if held <= target {
            break;
        }
        held -= size;
        gone.push(key.clone());
    }
    for key in gone {
        state.entries.remove(&key);
    }
    state.held = held;
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::path::Path;

    fn object(key: &str, size: usize) -> (ObjectMeta, Bytes) {
        let meta = ObjectMeta {
            location: Path::from(key),
            last_modified: chrono::Utc::now(),
            size: size as u64,
            e_tag: None,
            version: None,
        };
        (meta, Bytes::from(vec![7u8; size]))
    }

    fn put(cache: &ObjectCache, key: &str, size: usize) {
        let (meta, bytes) = object(key, size);
        cache.fill(cache.epoch(), key, &meta, &bytes);
    }

    #[test]
    fn a_filled_object_is_served_until_forgotten_with_its_folder() {
        let cache = ObjectCache::new(1 << 20, 1 << 16);
        put(&cache, "c/r/a.png", 10);
        put(&cache, "c/r2/b.png", 10);
        put(&cache, "thumbs/c/r/a.png/10x10", 5);
        assert_eq!(cache.get("c/r/a.png").map(|(_, b)| b.len()), Some(10));
        cache.forget("c/r", &["c/r", "thumbs/c/r"]);
        assert!(cache.get("c/r/a.png").is_none());
        assert!(cache.get("thumbs/c/r/a.png/10x10").is_none());
        // A sibling whose key merely starts with the same characters stays.
        assert!(cache.get("c/r2/b.png").is_some());
        assert_eq!(cache.lock().held, 10);
    }

    #[test]
    fn a_fill_that_raced_with_a_forget_is_dropped() {
        let cache = ObjectCache::new(1 << 20, 1 << 16);
        let epoch = cache.epoch();
        cache.forget("c/r/a.png", &[]);
        let (meta, bytes) = object("c/r/a.png", 10);
        cache.fill(epoch, "c/r/a.png", &meta, &bytes);
        assert!(cache.get("c/r/a.png").is_none());
    }

    #[test]
    fn large_objects_are_not_kept_and_the_least_recently_used_go_first() {
        let cache = ObjectCache::new(400, 150);
        put(&cache, "big", 151);
        assert!(cache.get("big").is_none());
        for key in ["a", "b", "c"] {
            put(&cache, key, 100);
        }
        // `a` is used again, so `b` is now the oldest.
        assert!(cache.get("a").is_some());
        put(&cache, "d", 100);
        put(&cache, "e", 100);
        // Over 400 bytes: down to at most 300, oldest first.
        assert!(cache.get("b").is_none());
        assert!(cache.get("c").is_none());
        assert!(cache.get("a").is_some());
        assert!(cache.get("e").is_some());
        assert!(cache.lock().held <= 300);
    }
}
