//! A circuit breaker: after `threshold` consecutive server failures it opens for `open_for`,
//! failing calls at once with [`Error::CircuitOpen`](super::Error::CircuitOpen) instead of
//! making readers wait for timeouts; then it lets one probe through (half-open), closes on the
//! probe's success and opens again on its failure.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The breaker's state, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; counts consecutive failures.
    Closed {
        /// Consecutive failures so far.
        failures: u32,
    },
    /// Calls fail fast until the open period ends.
    Open {
        /// Time left.
        remaining: Duration,
    },
    /// The open period is over; one probe call is (or may be) in flight.
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// Shared breaker.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    threshold: u32,
    open_for: Duration,
}

/// Permission for one call; report the outcome with [`Permit::success`] / [`Permit::failure`].
/// Dropping it unreported (the call was cancelled) counts as neither, but frees the half-open
/// probe slot.
#[derive(Debug)]
pub struct Permit {
    breaker: CircuitBreaker,
    probe: bool,
    done: bool,
}

impl CircuitBreaker {
    /// Open after `threshold` (≥ 1) consecutive failures, for `open_for`.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        CircuitBreaker {
            inner: Arc::new(Inner { state: Mutex::new(State::Closed { failures: 0 }), threshold: threshold.max(1), open_for }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// May a call go ahead? `Err(time until a probe is allowed)` if not.
    pub fn try_acquire(&self) -> Result<Permit, Duration> {
        let mut st = self.lock();
        let now = Instant::now();
        let probe = match *st {
            State::Closed { .. } => false,
            State::Open { until } if now < until => return Err(until - now),
            State::Open { .. } => {
                *st = State::HalfOpen { probing: true };
                true
            }
            State::HalfOpen { probing: true } => return Err(Duration::ZERO),
            State::HalfOpen { probing: false } => {
                *st = State::HalfOpen { probing: true };
                true
            }
        };
        Ok(Permit { breaker: self.clone(), probe, done: false })
    }

    /// Current state.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { failures } => BreakerState::Closed { failures },
            State::Open { until } => {
                let remaining = until.saturating_duration_since(Instant::now());
                if remaining.is_zero() { BreakerState::HalfOpen } else { BreakerState::Open { remaining } }
            }
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn on_success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    fn on_failure(&self, probe: bool) {
        let mut st = self.lock();
        let open = State::Open { until: Instant::now() + self.inner.open_for };
        match *st {
            State::Closed { failures } => {
                let failures = failures.saturating_add(1);
                *st = if failures >= self.inner.threshold { open } else { State::Closed { failures } };
            }
            State::HalfOpen { .. } if probe => *st = open,
            // A straggler from before the breaker opened: already open / probing.
            _ => {}
        }
    }
}

impl Permit {
    /// The call succeeded: close the breaker.
    pub fn success(mut self) {
        self.done = true;
        self.breaker.on_success();
    }

    /// The call failed in a way that says the server is unwell.
    pub fn failure(mut self) {
        self.done = true;
        self.breaker.on_failure(self.probe);
    }

    /// The call ended without telling us anything about the server (e.g. bad input).
    pub fn neutral(self) {}
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done && self.probe {
            let mut st = self.breaker.lock();
            if let State::HalfOpen { probing: true } = *st {
                *st = State::HalfOpen { probing: false };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_and_closes() {
        let b = CircuitBreaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            b.try_acquire().unwrap().failure();
        }
        assert_eq!(b.state(), BreakerState::Closed { failures: 2 });
        b.try_acquire().unwrap().failure();
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        assert!(b.try_acquire().is_err());
        std::thread::sleep(Duration::from_millis(60));
        let probe = b.try_acquire().unwrap();
        // Only one probe at a time.
        assert_eq!(b.try_acquire().unwrap_err(), Duration::ZERO);
        probe.failure();
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        std::thread::sleep(Duration::from_millis(60));
        let probe = b.try_acquire().unwrap();
        drop(probe); // cancelled: the slot is free again
        let probe = b.try_acquire().unwrap();
        probe.success();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    }

    #[test]
    fn success_resets_the_count() {
        let b = CircuitBreaker::new(2, Duration::from_secs(10));
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().success();
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), BreakerState::Closed { failures: 1 });
        b.try_acquire().unwrap().neutral();
        assert_eq!(b.state(), BreakerState::Closed { failures: 1 });
    }
}
