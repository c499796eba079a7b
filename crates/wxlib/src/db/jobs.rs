//! The jobs table: each scheduled job's next run time and lease, so that on several nodes exactly
//! one runs it, and a restart neither skips nor repeats a run (the runner is `crate::jobs`).

use super::{Db, DbError};

/// How long a claim lasts unless renewed: the runner renews it every second while the job runs
/// ([`Db::renew_job`] from `crate::jobs::run_if_due`), so a node that dies mid-run (SIGKILL) loses the job within
/// these seconds and another node runs it (what was done is marked in the store, so it is not
/// done twice).
const JOB_LEASE_SECS: i64 = 5;

impl Db {
    /// Registers a job (first run at `first_run_at`) unless it exists.
    pub async fn ensure_job(&self, name: &str, first_run_at: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("INSERT INTO jobs (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(first_run_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Claims the job if it is due and nobody else runs it: the claim's end (the token that
    /// [`Db::renew_job`] takes), or `None`.
    pub async fn claim_job(&self, name: &str, now: i64) -> Result<Option<i64>, DbError> {
        let sql = "UPDATE jobs SET lease_until = $2 WHERE name = $1 AND next_run_at <= $3 AND lease_until < $3";
        let until = now + JOB_LEASE_SECS;
        let n = with_pool!(self, |pool| sqlx::query(sql).bind(name).bind(until).bind(now).execute(pool).await?.rows_affected());
        Ok((n == 1).then_some(until))
    }

    /// Moves the end of this node's claim, which ends at `held_until`, to a lease from `now`: the
    /// new end (the next renewal's token), or `None` when the claim is no longer this node's (it
    /// ran out and another node took the job).
    pub async fn renew_job(&self, name: &str, held_until: i64, now: i64) -> Result<Option<i64>, DbError> {
        let sql = "UPDATE jobs SET lease_until = $3 WHERE name = $1 AND lease_until = $2";
        let until = now + JOB_LEASE_SECS;
        let n = with_pool!(self, |pool| sqlx::query(sql).bind(name).bind(held_until).bind(until).execute(pool).await?.rows_affected());
        Ok((n == 1).then_some(until))
    }

    pub async fn finish_job(&self, name: &str, now: i64, next_run_at: i64) -> Result<(), DbError> {
        let sql = "UPDATE jobs SET next_run_at = $2, last_run_at = $3, lease_until = 0 WHERE name = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(name).bind(next_run_at).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }
}
