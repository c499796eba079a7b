//! A small connection pool: at most `size` connections in use at once (a semaphore), idle ones
//! kept in a `Vec` behind a mutex. A connection that failed is dropped, never returned; an idle
//! one the server has closed is noticed and dropped when taken.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Error;
use super::conn::Connection;

#[derive(Debug)]
pub(crate) struct Pool {
    idle: Mutex<Vec<Connection>>,
    slots: Arc<Semaphore>,
    size: usize,
}

impl Pool {
    pub(crate) fn new(size: usize) -> Pool {
        let size = size.max(1);
        Pool { idle: Mutex::new(Vec::with_capacity(size)), slots: Arc::new(Semaphore::new(size)), size }
    }

    /// Wait (at most `wait`) for a free slot.
    pub(crate) async fn slot(&self, wait: Duration) -> Result<OwnedSemaphorePermit, Error> {
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(Error::PoolTimeout(wait)),
        }
    }

    /// An idle connection that still looks alive.
    pub(crate) fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(c) = idle.pop() {
            if c.is_alive() {
                return Some(c);
            }
            tracing::debug!("dropping a SIP2 connection the server closed");
        }
        None
    }

    /// Give back a healthy connection.
    pub(crate) fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.size {
            idle.push(conn);
        }
    }

    /// Number of idle connections.
    pub(crate) fn idle_len(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Drop all idle connections.
    pub(crate) fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
