//! Bounds shared by every request: the memory that request bodies may hold across all
//! connections, and the wait for a pipeline.
//!
//! A request reserves its share of the body budget before its body is read (its declared
//! length, or its route's limit when the length is unknown) and holds it until its handler
//! returns; a batch reserves a window and grows it line by line. When the budget is spent,
//! requests wait for a bounded time and are then answered 503 with `Retry-After`: memory stays
//! under the budget whatever the number of clients, and a client learns when to come back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The unit of the budget's semaphore.
const UNIT: usize = 1024;

/// The gateway's budget of request body bytes in memory.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    units: Arc<Semaphore>,
    total: u32,
    wait: Duration,
}

/// The budget is spent: nothing was freed within the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
    units: Arc<Semaphore>,
    total: u32,
}

impl BodyBudget {
    /// A budget of `bytes` (at least 1 MiB); a reservation waits at most `wait`.
    pub fn new(bytes: usize, wait: Duration) -> Self {
        let total = u32::try_from(bytes.max(1 << 20).div_ceil(UNIT)).unwrap_or(u32::MAX >> 3);
        Self {
            units: Arc::new(Semaphore::new(total as usize)),
            total,
            wait,
        }
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> usize {
        (self.total as usize - self.units.available_permits()) * UNIT
    }

    /// The budget, in bytes.
    pub fn total(&self) -> usize {
        self.total as usize * UNIT
    }

    /// Reserves `bytes` (at most the whole budget), waiting at most the budget's wait.
    pub async fn reserve(&self, bytes: usize) -> Result<Reservation, Exhausted> {
        let mut r = Reservation {
            permit: None,
            units: self.units.clone(),
            total: self.total,
        };
        r.grow(bytes, self.wait).await?;
        Ok(r)
    }
}

impl Reservation {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }

    /// Holds `more` bytes more if the budget has them now.
    pub fn try_grow(&mut self, more: usize) -> bool {
        let want = self.units_for(more);
        if want == 0 {
            return true;
        }
        match self.units.clone().try_acquire_many_owned(want) {
            Ok(p) => {
                self.absorb(p);
                true
            }
            Err(_) => false,
        }
    }

    /// Holds `more` bytes more, waiting at most `wait` for them.
    pub async fn grow(&mut self, more: usize, wait: Duration) -> Result<(), Exhausted> {
        let want = self.units_for(more);
        if want == 0 {
            return Ok(());
        }
        match tokio::time::timeout(wait, self.units.clone().acquire_many_owned(want)).await {
            Ok(Ok(p)) => {
                self.absorb(p);
                Ok(())
            }
            _ => Err(Exhausted),
        }
    }

    /// Takes over `other`'s share.
    pub fn merge(&mut self, mut other: Reservation) {
        if let Some(p) = other.permit.take() {
            self.absorb(p);
        }
    }

    /// Gives back all but `keep` bytes.
    pub fn shrink_to(&mut self, keep: usize) {
        let keep = u32::try_from(keep.div_ceil(UNIT)).unwrap_or(u32::MAX) as usize;
        if let Some(p) = &mut self.permit
            && p.num_permits() > keep
        {
            let _ = p.split(p.num_permits() - keep);
        }
    }

    /// Units for `more` bytes, capped so that one reservation never exceeds the budget
    /// (it would wait for ever).
    fn units_for(&self, more: usize) -> u32 {
        let held = self.permit.as_ref().map_or(0, |p| p.num_permits()) as u32;
        let want = u32::try_from(more.div_ceil(UNIT)).unwrap_or(u32::MAX);
        want.min(self.total.saturating_sub(held))
    }

    fn absorb(&mut self, p: OwnedSemaphorePermit) {
        match &mut self.permit {
            Some(held) => held.merge(p),
            None => self.permit = Some(p),
        }
    }
}

/// Bounds the wait for a pipeline: at most `max_waiting` requests queue, each at most
/// `wait`; beyond that the gateway sheds load (503, `Retry-After`).
#[derive(Debug)]
pub struct Queue {
    waiting: AtomicUsize,
    /// Most requests waiting for a pipeline at once.
    pub max_waiting: usize,
    /// Longest wait for a pipeline.
    pub wait: Duration,
}

/// Why a request got no pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// Too many requests wait already, or none was freed within the wait.
    Saturated,
    /// The gateway is shutting down.
    Closed,
}

impl Queue {
    /// A queue of at most `max_waiting` requests, each waiting at most `wait`.
    pub fn new(max_waiting: usize, wait: Duration) -> Self {
        Self {
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait,
        }
    }

    /// A permit of `pipelines`: at once if one is free, else after a bounded wait in a
    /// bounded queue.
    pub async fn permit(&self, pipelines: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, Shed> {
        match pipelines.clone().try_acquire_owned() {
            Ok(p) => return Ok(p),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(Shed::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Shed::Saturated);
        }
        let got = tokio::time::timeout(self.wait, pipelines.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match got {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(Shed::Closed),
            Err(_) => Err(Shed::Saturated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_never_exceed_the_budget_and_are_given_back() {
        let budget = BodyBudget::new(2 << 20, Duration::from_millis(20));
        let a = budget.reserve(1 << 20).await.unwrap();
        let mut b = budget.reserve(1 << 20).await.unwrap();
        assert_eq!(budget.in_use(), 2 << 20);
        assert_eq!(budget.reserve(1).await.unwrap_err(), Exhausted);
        assert!(!b.try_grow(1));
        drop(a);
        assert!(b.try_grow(512 << 10));
        assert_eq!(b.bytes(), (1 << 20) + (512 << 10));
        b.shrink_to(4 << 10);
        assert_eq!(budget.in_use(), 4 << 10);
        drop(b);
        assert_eq!(budget.in_use(), 0);
        // More than the whole budget is capped to it rather than waiting for ever.
        let all = budget.reserve(100 << 20).await.unwrap();
        assert_eq!(all.bytes(), budget.total());
    }

    #[tokio::test]
    async fn the_queue_is_bounded_in_length_and_time() {
        let pipelines = Arc::new(Semaphore::new(1));
        let queue = Arc::new(Queue::new(1, Duration::from_millis(50)));
        let held = queue.permit(&pipelines).await.unwrap();
        let q = queue.clone();
        let p = pipelines.clone();
        let waiter = tokio::spawn(async move { q.permit(&p).await.map(drop) });
        tokio::time::sleep(Duration::from_millis(5)).await;
        // The one place in the queue is taken: refused at once.
        assert_eq!(queue.permit(&pipelines).await.unwrap_err(), Shed::Saturated);
        // The waiter gives up after the wait.
        assert_eq!(waiter.await.unwrap().unwrap_err(), Shed::Saturated);
        drop(held);
        assert!(queue.permit(&pipelines).await.is_ok());
        pipelines.close();
        assert_eq!(queue.permit(&pipelines).await.unwrap_err(), Shed::Closed);
    }
}
