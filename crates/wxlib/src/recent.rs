//! A value read from the store and kept for a moment, for what nearly every reader's text would
//! otherwise read again although librarians change it a few times a day: the partner list, the
//! keyword rules' version.
//!
//! On SQLite each statement is a hand-off to a connection's thread and back, which costs more
//! CPU than the read itself (bench/callback, catalog texts). A change made on this node calls
//! [`Recent::forget`] and is seen by the next message; a change made on another node (or by
//! the command line) is seen within the freshness period.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long another node's change may go unseen by this one.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// A value loaded on demand and reused for [`FRESH_FOR`].
pub struct Recent<T> {
    fresh_for: Duration,
    slot: Arc<Mutex<Slot<T>>>,
}

struct Slot<T> {
    value: Option<(Instant, Arc<T>)>,
    /// Moves on each [`Recent::forget`], so that a load that began before it is not kept.
    generation: u64,
}

impl<T> Clone for Recent<T> {
    fn clone(&self) -> Self {
        Self { fresh_for: self.fresh_for, slot: self.slot.clone() }
    }
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self::new(FRESH_FOR)
    }
}

impl<T> Recent<T> {
    pub fn new(fresh_for: Duration) -> Self {
        Self { fresh_for, slot: Arc::new(Mutex::new(Slot { value: None, generation: 0 })) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value if it was loaded less than the freshness period ago, else `load`'s (kept).
    /// Two callers may load at once; both answers are fresh and the later one is kept.
    pub async fn get_or_load<E, F, Fut>(&self, load: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let generation = {
            let slot = self.lock();
            if let Some((at, value)) = &slot.value
                && at.elapsed() < self.fresh_for
            {
                return Ok(value.clone());
            }
            slot.generation
        };
        let loaded_at = Instant::now();
        let value = Arc::new(load().await?);
        let mut slot = self.lock();
        if slot.generation == generation {
            slot.value = Some((loaded_at, value.clone()));
        }
        Ok(value)
    }

    /// Drops the value: this node changed it, so the next caller loads it again.
    pub fn forget(&self) {
        let mut slot = self.lock();
        slot.value = None;
        slot.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn loads_once_while_fresh_and_again_after_forget() {
        let loads = AtomicU32::new(0);
        let load = || async { Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst)) };
        let recent = Recent::new(Duration::from_secs(60));
        assert_eq!(*recent.get_or_load(load).await.unwrap(), 0);
        assert_eq!(*recent.get_or_load(load).await.unwrap(), 0, "fresh: not loaded again");
        recent.forget();
        assert_eq!(*recent.get_or_load(load).await.unwrap(), 1);
        let stale = Recent::new(Duration::ZERO);
        stale.get_or_load(load).await.unwrap();
        assert_eq!(*stale.get_or_load(load).await.unwrap(), 3, "past the period: loaded again");
    }

    #[tokio::test]
    async fn a_load_that_began_before_forget_is_not_kept() {
        let recent: Recent<&str> = Recent::new(Duration::from_secs(60));
        let before_edit = recent.get_or_load(|| async {
            recent.forget(); // the edit lands while this load is on its way
            Ok::<_, ()>("old")
        });
        assert_eq!(*before_edit.await.unwrap(), "old");
        assert_eq!(*recent.get_or_load(|| async { Ok::<_, ()>("new") }).await.unwrap(), "new");
    }
}
