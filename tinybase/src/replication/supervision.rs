//! What the supervisor knows about the Litestream it runs, shared with the admin API.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Whether Litestream runs, how often it had to be restarted and why it last stopped.
/// Cheap to clone; every clone sees the same state.
#[derive(Clone, Default)]
pub struct Supervision {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    running: AtomicBool,
    restarts: AtomicU64,
    last_exit: Mutex<Option<String>>,
}

impl Supervision {
    /// Whether Litestream runs now.
    pub fn running(&self) -> bool {
        self.inner.running.load(Ordering::Relaxed)
    }

    /// How often Litestream was restarted since the server started.
    pub fn restarts(&self) -> u64 {
        self.inner.restarts.load(Ordering::Relaxed)
    }

    /// How Litestream last stopped unexpectedly, if it did.
    pub fn last_exit(&self) -> Option<String> {
        self.lock().clone()
    }

    pub(super) fn set_running(&self, running: bool) {
        self.inner.running.store(running, Ordering::Relaxed);
    }

    pub(super) fn exited(&self, how: String) {
        *self.lock() = Some(how);
    }

    pub(super) fn restarted(&self) {
        self.inner.restarts.fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A plain value, consistent after any panic.
        self.inner
            .last_exit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
