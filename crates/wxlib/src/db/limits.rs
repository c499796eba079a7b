//! Attempt limits shared by every node (migration 0016): a counter per key in a fixed window that
//! starts at the key's first attempt. [`Db::reserve_attempt`] counts an attempt and says whether
//! it is allowed in one statement, so parallel requests are each counted before any of them does
//! the slow work (a password check): N requests at once see 1, 2, …, N, never all 0.

use super::{Db, DbError};

/// At most `attempts` per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub attempts: i64,
    pub window_secs: i64,
}

/// What a reserved attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit: this is attempt `n` of the window.
    Allowed { n: i64 },
    /// Over the limit; the window ends in `retry_after_secs`. `first` is true for the first
    /// refused attempt of the window (the moment to record a lockout once).
    Refused { retry_after_secs: i64, first: bool },
}

impl Verdict {
    pub fn allowed(self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }
}

/// Counters whose window started this long ago are dropped ([`Db::purge_attempts`]); no limit
/// has a longer window.
pub const LONGEST_WINDOW_SECS: i64 = 24 * 3600;

impl Db {
    /// Counts an attempt under `key` and says whether it is within `limit`. One upsert: a window
    /// that has run out starts again at `now` with this attempt.
    pub async fn reserve_attempt(&self, key: &str, limit: Limit, now: i64) -> Result<Verdict, DbError> {
        let sql = "INSERT INTO attempt_counters (key, window_start, attempts) VALUES ($1, $2, 1) \
                   ON CONFLICT (key) DO UPDATE SET \
                   attempts = CASE WHEN attempt_counters.window_start <= $3 THEN 1 ELSE attempt_counters.attempts + 1 END, \
                   window_start = CASE WHEN attempt_counters.window_start <= $3 THEN $2 ELSE attempt_counters.window_start END \
                   RETURNING attempts, window_start";
        let (n, start): (i64, i64) =
            with_pool!(self, |pool| sqlx::query_as(sql).bind(key).bind(now).bind(now - limit.window_secs).fetch_one(pool).await?);
        Ok(if n <= limit.attempts {
            Verdict::Allowed { n }
        } else {
            Verdict::Refused { retry_after_secs: (start + limit.window_secs - now).max(1), first: n == limit.attempts + 1 }
        })
    }

    /// Gives back one attempt of `key` (it turned out not to count: a right password).
    pub async fn refund_attempt(&self, key: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE attempt_counters SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
            .bind(key)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Forgets the counters of these keys (a right password ends the guessing it limited; a reader
    /// who unbinds leaves nothing behind).
    pub async fn clear_attempts(&self, keys: &[&str]) -> Result<(), DbError> {
        for key in keys {
            with_pool!(self, |pool| sqlx::query("DELETE FROM attempt_counters WHERE key = $1")
                .bind(key)
                .execute(pool)
                .await?
                .rows_affected());
        }
        Ok(())
    }

    /// Drops counters whose window started before `before`. Returns how many.
    pub async fn purge_attempts(&self, before: i64) -> Result<u64, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query("DELETE FROM attempt_counters WHERE window_start < $1")
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected()))
    }
}
