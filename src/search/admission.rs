//! Admission control: how many searches do their work at once, and how many may wait for a
//! turn. A search that would wait behind a full queue is turned away at once (503 with
//! `Retry-After`) rather than piling up: under a flood of expensive requests the server keeps
//! answering, and its memory stays bounded by what the running searches may hold.

use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The search slots of a server.
pub struct Admission {
    slots: Arc<Semaphore>,
    capacity: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// The queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server is busy: {running} searches are running and {waiting} are waiting; retry in a moment"
)]
pub struct Full {
    pub running: usize,
    pub waiting: usize,
}

impl Admission {
    pub fn new(max_running: usize, max_waiting: usize) -> Admission {
        Admission {
            slots: Arc::new(Semaphore::new(max_running.max(1))),
            capacity: max_running.max(1),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A slot to run a search in, waiting for one if the queue has room.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Full> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if waiting >= self.max_waiting {
            return Err(Full {
                running: self.capacity,
                waiting,
            });
        }
        Ok(self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed"))
    }
}

/// Leaves the queue when dropped (the wait ended, or the client went away).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_turns_searches_away() {
        let admission = Admission::new(1, 1);
        let running = admission.enter().await.unwrap();
        // One may wait...
        let waiter = admission.enter();
        tokio::pin!(waiter);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), &mut waiter)
                .await
                .is_err(),
            "it waits for the running search"
        );
        // ...a second waiter is turned away while the first still waits.
        let second = admission.enter().await;
        assert!(second.is_err());
        drop(running);
        assert!(waiter.await.is_ok(), "the waiter gets the slot");
    }
}
