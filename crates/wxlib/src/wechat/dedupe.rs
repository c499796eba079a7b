//! Handle each callback once. WeChat retries an unanswered callback up to 3 times with the same
//! body; behind a load balancer the retries can land on other nodes, so the state lives in the
//! database. The first arrival claims the key (`running`, with a lease); later arrivals wait for
//! its reply and send the same one. If the claimant died (its lease ran out while `running`) a
//! retry takes the work over, so a crash loses nothing.

use wechat::Reply;

use crate::db::{Db, DbError};
use crate::with_pool;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// We own this callback: handle it.
    Owner,
    /// Already handled: answer with this reply (`Success` if it was deferred to the outbox).
    Done(Reply),
    /// Another request is handling it right now.
    Running,
}

impl Db {
    pub async fn claim_callback(&self, key: &str, now: i64, lease_secs: i64) -> Result<Claim, DbError> {
        let insert = "INSERT INTO callback_dedupe (key, state, lease_until, created_at) VALUES ($1, 'running', $2, $3) ON CONFLICT (key) DO NOTHING";
        let inserted = with_pool!(self, |pool| sqlx::query(insert).bind(key).bind(now + lease_secs).bind(now).execute(pool).await?.rows_affected());
        if inserted == 1 {
            return Ok(Claim::Owner);
        }
        let row: Option<(String, Option<String>, i64)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT state, reply, lease_until FROM callback_dedupe WHERE key = $1").bind(key).fetch_optional(pool).await?);
        match row {
            Some((state, reply, _)) if state != "running" => {
                Ok(Claim::Done(reply.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or(Reply::Success)))
            }
            Some((_, _, lease_until)) if lease_until < now => {
                let take = "UPDATE callback_dedupe SET lease_until = $2 WHERE key = $1 AND state = 'running' AND lease_until < $3";
                let taken = with_pool!(self, |pool| sqlx::query(take).bind(key).bind(now + lease_secs).bind(now).execute(pool).await?.rows_affected());
                Ok(if taken == 1 { Claim::Owner } else { Claim::Running })
            }
            Some(_) => Ok(Claim::Running),
            // Purged between our insert and select: treat as ours.
            None => Ok(Claim::Owner),
        }
    }

    /// Records the outcome (`done` with the reply sent, or `deferred` to the outbox).
    pub async fn finish_callback(&self, key: &str, state: &str, reply: &Reply) -> Result<(), DbError> {
        let json = serde_json::to_string(reply).unwrap_or_else(|_| "{\"type\":\"success\"}".into());
        with_pool!(self, |pool| sqlx::query("UPDATE callback_dedupe SET state = $2, reply = $3 WHERE key = $1").bind(key).bind(state).bind(json).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Forgets callbacks older than `before` (WeChat's retries end within seconds).
    pub async fn purge_callbacks(&self, before: i64) -> Result<u64, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query("DELETE FROM callback_dedupe WHERE created_at < $1").bind(before).execute(pool).await?.rows_affected()))
    }
}
