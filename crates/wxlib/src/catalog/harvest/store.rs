//! The harvest's tables: its state per source (checkpoint, the list in progress), the map of OAI
//! identifiers to records, the runs and their skipped records. A page's records go in with the
//! state that says the page is done, in one transaction ([`Db::commit_harvest_page`]).

use std::collections::HashMap;

use crate::catalog::store::{RecordRow, delete_row, upsert_rows};
use crate::db::{Db, DbError, builder};
use crate::with_pool;

/// A record not taken, named by its OAI identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    pub identifier: String,
    pub reason: String,
}

/// A source's saved state (see migration 0017).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct HarvestState {
    pub source: String,
    pub granularity: Option<String>,
    /// The provider's datestamp the last complete harvest covers (its first page's responseDate).
    pub checkpoint: Option<i64>,
    /// The `from` of the list in progress (`None`: from the start).
    pub list_from: Option<i64>,
    /// The responseDate of its first page: the checkpoint once it is complete.
    pub list_started: Option<i64>,
    /// The token of its next page; `None` when no list is in progress.
    pub resume_token: Option<String>,
    /// When someone asked for a harvest now ("harvest now" in the console).
    pub requested_at: Option<i64>,
}

/// One run, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HarvestRun {
    pub id: i64,
    pub source: String,
    pub full_harvest: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `running`, `complete`, `failed`, or `interrupted` (the process ended mid-run).
    pub outcome: String,
    pub pages: i64,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub message: Option<String>,
}

/// What one page changes.
#[derive(Debug, Default)]
pub struct PageWrite {
    /// Records to add or replace (no id twice).
    pub rows: Vec<RecordRow>,
    /// Record ids to delete (none of them in `rows`).
    pub deletes: Vec<String>,
    /// OAI identifier → the record id it now brings.
    pub map: Vec<(String, String)>,
    /// OAI identifiers that bring nothing any more (deleted).
    pub unmap: Vec<String>,
    pub skipped: Vec<SkippedRecord>,
}

/// Where the list stands once the page is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// More pages: the next one is asked with this token.
    Continue { token: String, list_started: Option<i64> },
    /// The list is complete: the checkpoint moves here (`None`: it stays).
    Complete { checkpoint: Option<i64> },
}

/// What a page's commit did to the catalog.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PageCounts {
    pub added: usize,
    pub updated: usize,
    pub deleted: usize,
}

impl Db {
    pub async fn harvest_state(&self, source: &str) -> Result<Option<HarvestState>, DbError> {
        let sql = "SELECT source, granularity, checkpoint, list_from, list_started, resume_token, requested_at FROM harvest_state WHERE source = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(source).fetch_optional(pool).await?))
    }

    /// Begins a list (from `from`, `None` = the start): any list in progress is forgotten, the
    /// checkpoint stays.
    pub async fn start_harvest_list(&self, source: &str, granularity: &str, from: Option<i64>, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO harvest_state (source, granularity, list_from, updated_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (source) DO UPDATE SET granularity = excluded.granularity, list_from = excluded.list_from, \
                   list_started = NULL, resume_token = NULL, updated_at = excluded.updated_at";
        with_pool!(self, |pool| sqlx::query(sql).bind(source).bind(granularity).bind(from).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Forgets the checkpoint and any list in progress (`wxlib harvest --full`).
    pub async fn reset_harvest(&self, source: &str, now: i64) -> Result<(), DbError> {
        let sql = "UPDATE harvest_state SET checkpoint = NULL, list_from = NULL, list_started = NULL, resume_token = NULL, updated_at = $2 \
                   WHERE source = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(source).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Asks for a harvest of `source` at the job's next look ("harvest now").
    pub async fn request_harvest(&self, source: &str, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO harvest_state (source, requested_at, updated_at) VALUES ($1, $2, $2) \
                   ON CONFLICT (source) DO UPDATE SET requested_at = excluded.requested_at, updated_at = excluded.updated_at";
        with_pool!(self, |pool| sqlx::query(sql).bind(source).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Clears a request made at or before `asked_at` (a run started after it answers it).
    pub async fn clear_harvest_request(&self, source: &str, asked_at: i64) -> Result<(), DbError> {
        let sql = "UPDATE harvest_state SET requested_at = NULL WHERE source = $1 AND requested_at <= $2";
        with_pool!(self, |pool| sqlx::query(sql).bind(source).bind(asked_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The record ids these OAI identifiers brought.
    pub async fn harvest_record_ids(&self, identifiers: &[String]) -> Result<HashMap<String, String>, DbError> {
        let mut found = HashMap::new();
        for chunk in identifiers.chunks(500) {
            let rows: Vec<(String, String)> = with_pool!(self, |pool| {
                let mut qb = builder(pool, "SELECT identifier, record_id FROM harvest_ids WHERE identifier IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows);
        }
        Ok(found)
    }

    /// Starts a run; runs left `running` by a process that ended are marked `interrupted`.
    pub async fn start_harvest_run(&self, source: &str, full: bool, now: i64) -> Result<i64, DbError> {
        let (id,): (i64,) = with_pool!(self, |pool| {
            sqlx::query("UPDATE harvest_runs SET outcome = 'interrupted', finished_at = $1 WHERE outcome = 'running'")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query_as(
                "INSERT INTO harvest_runs (source, full_harvest, started_at, outcome) VALUES ($1, $2, $3, 'running') RETURNING id",
            )
            .bind(source)
            .bind(i64::from(full))
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn finish_harvest_run(&self, run_id: i64, outcome: &str, message: Option<&str>, now: i64) -> Result<(), DbError> {
        let sql = "UPDATE harvest_runs SET outcome = $2, message = $3, finished_at = $4 WHERE id = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(run_id).bind(outcome).bind(message).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The latest runs, newest first.
    pub async fn harvest_runs(&self, limit: i64) -> Result<Vec<HarvestRun>, DbError> {
        let sql = "SELECT id, source, full_harvest, started_at, finished_at, outcome, pages, added, updated, deleted, skipped, message \
                   FROM harvest_runs ORDER BY id DESC LIMIT $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(limit).fetch_all(pool).await?))
    }

    /// The latest run of `source`.
    pub async fn last_harvest_run(&self, source: &str) -> Result<Option<HarvestRun>, DbError> {
        let sql = "SELECT id, source, full_harvest, started_at, finished_at, outcome, pages, added, updated, deleted, skipped, message \
                   FROM harvest_runs WHERE source = $1 ORDER BY id DESC LIMIT 1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(source).fetch_optional(pool).await?))
    }

    /// The records a run skipped, and why (at most `limit`).
    pub async fn harvest_skipped(&self, run_id: i64, limit: i64) -> Result<Vec<SkippedRecord>, DbError> {
        let sql = "SELECT identifier, reason FROM harvest_skipped WHERE run_id = $1 ORDER BY identifier LIMIT $2";
        let rows: Vec<(String, String)> = with_pool!(self, |pool| sqlx::query_as(sql).bind(run_id).bind(limit).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(identifier, reason)| SkippedRecord { identifier, reason }).collect())
    }

    /// Commits one page in one transaction: its records (through the same writes as an import,
    /// in the catalog's change sequence so every node's index follows), its deletions, the
    /// identifier map, the run's counts and skipped records, and where the list stands. A harvest
    /// killed at any point finds either all of this or none of it.
    pub async fn commit_harvest_page(
        &self,
        source: &str,
        run_id: i64,
        page: &PageWrite,
        after: &After,
        now: i64,
    ) -> Result<PageCounts, DbError> {
        let mut counts = PageCounts::default();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM catalog_records").fetch_one(&mut *tx).await?;
            let mut seq = max.unwrap_or(0) + 1;
            for id in &page.deletes {
                if delete_row!(tx, id, seq, now) {
                    counts.deleted += 1;
                }
                seq += 1;
            }
            if !page.rows.is_empty() {
                let mut existing = 0;
                for chunk in page.rows.chunks(500) {
                    let mut qb = builder(pool, "SELECT COUNT(*) FROM catalog_records WHERE deleted = 0 AND id IN (");
                    let mut sep = qb.separated(", ");
                    for r in chunk {
                        sep.push_bind(r.id.clone());
                    }
                    qb.push(")");
                    let (n,): (i64,) = qb.build_query_as().fetch_one(&mut *tx).await?;
                    existing += usize::try_from(n).unwrap_or(0);
                }
                upsert_rows!(pool, tx, &page.rows, seq, now);
                counts.updated = existing;
                counts.added = page.rows.len() - existing.min(page.rows.len());
            }
            for ident in &page.unmap {
                sqlx::query("DELETE FROM harvest_ids WHERE identifier = $1").bind(ident).execute(&mut *tx).await?;
            }
            if !page.map.is_empty() {
                let mut qb = builder(pool, "INSERT INTO harvest_ids (identifier, record_id) ");
                qb.push_values(&page.map, |mut b, (ident, id)| {
                    b.push_bind(ident.clone()).push_bind(id.clone());
                });
                qb.push(" ON CONFLICT (identifier) DO UPDATE SET record_id = excluded.record_id");
                qb.build().execute(&mut *tx).await?;
            }
            if !page.skipped.is_empty() {
                let mut qb = builder(pool, "INSERT INTO harvest_skipped (run_id, identifier, reason) ");
                qb.push_values(&page.skipped, |mut b, s| {
                    b.push_bind(run_id).push_bind(s.identifier.clone()).push_bind(s.reason.clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE harvest_runs SET pages = pages + 1, added = added + $2, updated = updated + $3, deleted = deleted + $4, \
                 skipped = skipped + $5 WHERE id = $1",
            )
            .bind(run_id)
            .bind(counts.added as i64)
            .bind(counts.updated as i64)
            .bind(counts.deleted as i64)
            .bind(page.skipped.len() as i64)
            .execute(&mut *tx)
            .await?;
            match after {
                After::Continue { token, list_started } => {
                    sqlx::query("UPDATE harvest_state SET resume_token = $2, list_started = $3, updated_at = $4 WHERE source = $1")
                        .bind(source)
                        .bind(token)
                        .bind(*list_started)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                After::Complete { checkpoint } => {
                    sqlx::query(
                        "UPDATE harvest_state SET checkpoint = COALESCE($2, checkpoint), list_from = NULL, list_started = NULL, \
                         resume_token = NULL, updated_at = $3 WHERE source = $1",
                    )
                    .bind(source)
                    .bind(*checkpoint)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(counts)
    }
}
