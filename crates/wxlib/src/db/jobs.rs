//! The jobs table: each scheduled job's next run time and lease, so that on several nodes exactly
//! one runs it, and a restart neither skips nor repeats a run (the runner is `crate::jobs`).

use super::{Db, DbError};

/// How long a node owns a job it claimed (a run that takes longer may be run again elsewhere).
const LEASE_SECS: i64 = 600;

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

    /// Claims the job if it is due and nobody else runs it.
    pub async fn claim_job(&self, name: &str, now: i64) -> Result<bool, DbError> {
        let sql = "UPDATE jobs SET lease_until = $2 WHERE name = $1 AND next_run_at <= $3 AND lease_until < $3";
        let n = with_pool!(self, |pool| sqlx::query(sql).bind(name).bind(now + LEASE_SECS).bind(now).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    pub async fn finish_job(&self, name: &str, now: i64, next_run_at: i64) -> Result<(), DbError> {
        let sql = "UPDATE jobs SET next_run_at = $2, last_run_at = $3, lease_until = 0 WHERE name = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(name).bind(next_run_at).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }
}
