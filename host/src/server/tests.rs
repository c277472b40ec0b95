//! Tests of the connection layer: the connection cap, rate-limited logs and the registry.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::registry::Registry;
use super::*;

#[test]
fn the_cap_is_lowered_to_the_descriptor_budget() {
    assert_eq!(effective_cap(1024, None), 1024);
    assert_eq!(effective_cap(1024, Some(1 << 20)), 1024);
    assert_eq!(effective_cap(1024, Some(256)), 256 - FD_RESERVE as usize);
    assert_eq!(effective_cap(16, Some(256)), 16);
    assert_eq!(effective_cap(1024, Some(10)), 1);
}

#[test]
fn log_lines_are_rate_limited() {
    let mut log = RateLimited::new();
    assert_eq!(log.ready(), Some(0));
    assert_eq!(log.ready(), None);
    assert_eq!(log.ready(), None);
    assert_eq!(log.suppressed, 2);
}

#[test]
fn the_registry_makes_room_by_closing_the_connection_idle_longest() {
    let registry = Registry::new(2);
    let (a, _sa) = registry.admit().expect("a place");
    let (b, _sb) = registry.admit().expect("a place");
    // `a` is busy; `b` idle: the third connection takes `b`'s place.
    let _busy = a.start_request();
    let (c, _sc) = registry.admit().expect("b's place");
    assert!(b.evicted.load(Ordering::Acquire));
    assert!(!a.evicted.load(Ordering::Acquire));
    // Now `a` is busy and `c` idle... once `c` is busy too, nobody makes room.
    let _busy_c = c.start_request();
    assert!(registry.admit().is_none());
}

#[tokio::test]
async fn no_connection_is_accepted_while_an_evicted_one_still_holds_its_descriptor() {
    let registry = Registry::new(1);
    let (_a, slot_a) = registry.admit().expect("a place");
    // At the cap, but nothing evicted: accept, and make room by evicting.
    registry.room().await;
    let (_b, _slot_b) = registry.admit().expect("a's place");
    // `a` is told to close but its socket is still open: wait.
    let waiting = tokio::time::timeout(Duration::from_millis(50), registry.room()).await;
    assert!(waiting.is_err(), "accepted over the cap");
    let room = tokio::spawn({
        let registry = Registry {
            cap: registry.cap,
            inner: registry.inner.clone(),
            closed: registry.closed.clone(),
        };
        async move { registry.room().await }
    });
    drop(slot_a);
    tokio::time::timeout(Duration::from_secs(5), room)
        .await
        .expect("room once a's socket is closed")
        .unwrap();
}
