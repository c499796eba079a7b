//! Borrowing's tables: the reader's binding (openid ↔ card) and failed binding attempts, the
//! due-date reminders sent, what the notices have seen and the readers' shelf watches (到书提醒),
//! the library system's last known copy statuses, and the built-in library system's readers,
//! loans, holds and history.

use crate::db::{Db, DbError, builder};
use crate::with_pool;

/// The readers' bindings, failed attempts, and forgetting a reader.
impl Db {
    pub async fn binding(&self, openid: &str) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as("SELECT card FROM bindings WHERE openid = $1")
            .bind(openid)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(c,)| c))
    }

    pub async fn bind(&self, openid: &str, card: &str, now: i64) -> Result<(), DbError> {
        let sql =
            "INSERT INTO bindings (openid, card, bound_at) VALUES ($1, $2, $3) ON CONFLICT (openid) DO UPDATE SET card = $2, bound_at = $3";
        with_pool!(self, |pool| sqlx::query(sql).bind(openid).bind(card).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Unbinds and forgets: the binding, reminder records, the search dialog, failed attempts,
    /// stored answers and queued messages, and the reader's name on logged searches. Returns
    /// whether a binding existed.
    pub async fn forget_reader(&self, openid: &str) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let card: Option<(String,)> =
                sqlx::query_as("DELETE FROM bindings WHERE openid = $1 RETURNING card").bind(openid).fetch_optional(&mut *tx).await?;
            sqlx::query("DELETE FROM reminders_sent WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM callback_late WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM reminder_digests WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM notice_marks WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM shelf_watches WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM dialog_state WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            // The binding form's attempt counters name the reader and the card (db::limits).
            sqlx::query("DELETE FROM attempt_counters WHERE key = $1").bind(format!("bind-reader:{openid}")).execute(&mut *tx).await?;
            if let Some((card,)) = &card {
                sqlx::query("DELETE FROM attempt_counters WHERE key = $1").bind(format!("bind-card:{card}")).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE search_log SET openid = NULL WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            // Stored answers (dedupe replays) and messages to the reader may quote loans.
            // The sender is one `:`-separated part of the key (see `Inbound::dedupe_key`); LIKE
            // narrows the rows down, the exact match is made here (SQLite's LIKE ignores case).
            let pattern = format!("%{}%", openid.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let keys: Vec<(String,)> =
                sqlx::query_as("SELECT key FROM callback_dedupe WHERE key LIKE $1 ESCAPE '\\'").bind(pattern).fetch_all(&mut *tx).await?;
            for (key,) in keys.iter().filter(|(k,)| k.split(':').any(|part| part == openid)) {
                let named: Option<(Option<Vec<u8>>,)> = sqlx::query_as("DELETE FROM callback_dedupe WHERE key = $1 RETURNING reply_digest")
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                // An answer given once went with its row. A shared one (migration 0014) goes
                // when no other callback names it: the help text stays.
                if let Some((Some(digest),)) = named {
                    let orphan = "DELETE FROM callback_replies WHERE digest = $1 AND NOT EXISTS (SELECT 1 FROM callback_dedupe WHERE reply_digest = $1)";
                    sqlx::query(orphan).bind(digest).execute(&mut *tx).await?;
                }
            }
            sqlx::query("DELETE FROM outbox WHERE openid = $1").bind(openid).execute(&mut *tx).await?;
            tx.commit().await?;
            card.is_some()
        });
        Ok(n)
    }

    pub async fn all_bindings(&self) -> Result<Vec<(String, String)>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as("SELECT openid, card FROM bindings ORDER BY openid").fetch_all(pool).await?))
    }
}

/// A loan as the reminders know it: (item barcode, due time).
pub type LoanKey = (String, i64);

/// What the due-date reminders sent.
impl Db {
    /// Marks today's digest for this reader and the loans in it, unless today's digest exists, and
    /// queues the digest (`digest` of the loans not reminded before, a template message) in the
    /// outbox under `key` in the same transaction: a node that dies mid-run has either done both
    /// or neither, so the reader is reminded exactly once. Returns the loans in the digest (empty:
    /// nothing to send). `queued_at` is the outbox's (wall-clock) time.
    pub(super) async fn queue_reminder_digest(
        &self,
        openid: &str,
        day: &str,
        loans: &[LoanKey],
        digest: &(dyn Fn(&[LoanKey]) -> serde_json::Value + Sync),
        key: &str,
        queued_at: i64,
    ) -> Result<Vec<LoanKey>, DbError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut fresh = Vec::new();
            for (barcode, due_at) in loans {
                let n =
                    sqlx::query("INSERT INTO reminders_sent (openid, barcode, due_at, day) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                        .bind(openid)
                        .bind(barcode)
                        .bind(due_at)
                        .bind(day)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                if n == 1 {
                    fresh.push((barcode.clone(), *due_at));
                }
            }
            if fresh.is_empty() {
                tx.rollback().await?;
                return Ok(Vec::new());
            }
            let n = sqlx::query("INSERT INTO reminder_digests (openid, day) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(openid)
                .bind(day)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                // Already sent a digest today: these loans wait for tomorrow's.
                tx.rollback().await?;
                return Ok(Vec::new());
            }
            sqlx::query(crate::wechat::store::ENQUEUE_OUTBOX_SQL)
                .bind(openid)
                .bind(crate::wechat::store::TEMPLATE_ONLY)
                .bind(digest(&fresh).to_string())
                .bind(key)
                .bind(queued_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            fresh
        }))
    }

    pub async fn reminder_digest_count(&self, openid: &str) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM reminder_digests WHERE openid = $1")
            .bind(openid)
            .fetch_one(pool)
            .await?);
        Ok(n)
    }
}

/// A loan as the built-in library system keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IlsLoanRow {
    pub barcode: String,
    pub record_id: Option<String>,
    pub title: Option<String>,
    pub due_at: i64,
    pub renewals: i64,
}

/// A hold as the built-in library system keeps it: (id, record_id, title, status, pickup).
pub type IlsHoldRow = (i64, String, Option<String>, String, Option<String>);

/// The built-in library system's tables (`ils_*`; [`super::builtin`] is the system).
impl Db {
    pub async fn ils_put_reader(&self, card: &str, name: &str, password_hash: &str) -> Result<(), DbError> {
        let sql = "INSERT INTO ils_readers (card, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (card) DO UPDATE SET name = $2, password_hash = $3";
        with_pool!(self, |pool| sqlx::query(sql).bind(card).bind(name).bind(password_hash).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// A reader's name and password hash.
    pub async fn ils_credentials(&self, card: &str) -> Result<Option<(String, String)>, DbError> {
        let sql = "SELECT name, password_hash FROM ils_readers WHERE card = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(card).fetch_optional(pool).await?))
    }

    /// A reader's name, block and fines: (name, blocked, fines_cents).
    pub async fn ils_reader(&self, card: &str) -> Result<Option<(String, Option<String>, i64)>, DbError> {
        let sql = "SELECT name, blocked, fines_cents FROM ils_readers WHERE card = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(card).fetch_optional(pool).await?))
    }

    /// Lends an item of `record_id`: the loan, the item's status, an anonymous history row, and
    /// the reader's hold on the record fulfilled; all or none. `false` if it is already on loan.
    pub async fn ils_checkout(&self, card: &str, barcode: &str, record_id: &str, loaned_at: i64, due_at: i64) -> Result<bool, DbError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("INSERT INTO ils_loans (card, barcode, record_id, loaned_at, due_at, renewals) VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (barcode) DO NOTHING")
                .bind(card).bind(barcode).bind(record_id).bind(loaned_at).bind(due_at)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(false);
            }
            sqlx::query("UPDATE catalog_items SET status = 'on_loan' WHERE barcode = $1").bind(barcode).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO ils_loan_history (record_id, loaned_at) VALUES ($1, $2)")
                .bind(record_id)
                .bind(loaned_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE ils_holds SET status = 'fulfilled' WHERE card = $1 AND record_id = $2 AND status IN ('waiting', 'ready')")
                .bind(card)
                .bind(record_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            true
        }))
    }

    /// Returns an item; a waiting hold on its record becomes ready to pick up.
    pub async fn ils_checkin(&self, barcode: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let rec: Option<(Option<String>,)> = sqlx::query_as("DELETE FROM ils_loans WHERE barcode = $1 RETURNING record_id")
                .bind(barcode)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query("UPDATE catalog_items SET status = 'available' WHERE barcode = $1").bind(barcode).execute(&mut *tx).await?;
            if let Some((Some(record_id),)) = rec {
                sqlx::query("UPDATE ils_holds SET status = 'ready' WHERE id = (SELECT MIN(id) FROM ils_holds WHERE record_id = $1 AND status = 'waiting')").bind(record_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A reader's loans, soonest due first.
    pub async fn ils_loans(&self, card: &str) -> Result<Vec<IlsLoanRow>, DbError> {
        let sql = "SELECT l.barcode, l.record_id, r.title, l.due_at, l.renewals FROM ils_loans l LEFT JOIN catalog_records r ON r.id = l.record_id WHERE l.card = $1 ORDER BY l.due_at, l.barcode";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, IlsLoanRow>(sql).bind(card).fetch_all(pool).await?))
    }

    /// Whether another reader waits for a copy of the record.
    pub async fn ils_others_waiting(&self, card: &str, record_id: &str) -> Result<bool, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "SELECT COUNT(*) FROM ils_holds WHERE record_id = $1 AND card <> $2 AND status = 'waiting'"
        )
        .bind(record_id)
        .bind(card)
        .fetch_one(pool)
        .await?);
        Ok(n > 0)
    }

    pub async fn ils_renew(&self, card: &str, barcode: &str, due_at: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE ils_loans SET due_at = $3, renewals = renewals + 1 WHERE card = $1 AND barcode = $2")
            .bind(card)
            .bind(barcode)
            .bind(due_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// A reader's waiting and ready holds, oldest first.
    pub async fn ils_holds(&self, card: &str) -> Result<Vec<IlsHoldRow>, DbError> {
        let sql = "SELECT h.id, h.record_id, r.title, h.status, h.pickup FROM ils_holds h LEFT JOIN catalog_records r ON r.id = h.record_id WHERE h.card = $1 AND h.status IN ('waiting', 'ready') ORDER BY h.id";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(card).fetch_all(pool).await?))
    }

    /// The reader's waiting or ready holds on the record.
    pub async fn ils_holds_on(&self, card: &str, record_id: &str) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "SELECT COUNT(*) FROM ils_holds WHERE card = $1 AND record_id = $2 AND status IN ('waiting', 'ready')"
        )
        .bind(card)
        .bind(record_id)
        .fetch_one(pool)
        .await?);
        Ok(n)
    }

    /// The reader's loans of copies of the record.
    pub async fn ils_loans_of(&self, card: &str, record_id: &str) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM ils_loans WHERE card = $1 AND record_id = $2")
            .bind(card)
            .bind(record_id)
            .fetch_one(pool)
            .await?);
        Ok(n)
    }

    /// The reader's waiting or ready holds.
    pub async fn ils_active_holds(&self, card: &str) -> Result<i64, DbError> {
        let (n,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM ils_holds WHERE card = $1 AND status IN ('waiting', 'ready')")
                .bind(card)
                .fetch_one(pool)
                .await?);
        Ok(n)
    }

    /// A new waiting hold; returns its id.
    pub async fn ils_place_hold(&self, card: &str, record_id: &str, pickup: Option<&str>, now: i64) -> Result<i64, DbError> {
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "INSERT INTO ils_holds (card, record_id, pickup, status, created_at) VALUES ($1, $2, $3, 'waiting', $4) RETURNING id"
        )
        .bind(card)
        .bind(record_id)
        .bind(pickup)
        .bind(now)
        .fetch_one(pool)
        .await?);
        Ok(id)
    }

    /// Cancels the reader's waiting or ready hold; `false` if there is no such hold.
    pub async fn ils_cancel_hold(&self, id: i64, card: &str) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| sqlx::query(
            "UPDATE ils_holds SET status = 'cancelled' WHERE id = $1 AND card = $2 AND status IN ('waiting', 'ready')"
        )
        .bind(id)
        .bind(card)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// The most lent records since `since`: (record_id, loans).
    pub async fn ils_hot_titles(&self, since: i64, limit: i64) -> Result<Vec<(String, i64)>, DbError> {
        let sql = "SELECT record_id, COUNT(*) AS n FROM ils_loan_history WHERE loaned_at >= $1 GROUP BY record_id ORDER BY n DESC, record_id LIMIT $2";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(since).bind(limit).fetch_all(pool).await?))
    }
}

/// A copy status row: (barcode, status, due_at, hold_queue, read_at).
type CopyStatusRow = (String, String, Option<i64>, Option<i64>, i64);

fn copy_status_of(barcode: String, status: &str, due_at: Option<i64>, hold_queue: Option<i64>) -> super::CopyStatus {
    super::CopyStatus {
        barcode,
        state: super::CopyState::parse(status),
        due_at,
        hold_queue: hold_queue.and_then(|n| u32::try_from(n).ok()),
    }
}

/// The last status the library system gave for each copy (`copy_status`, shared by the nodes).
impl Db {
    /// The stored statuses of `barcodes` (those never stored are left out), with when each was read.
    pub async fn stored_copy_statuses(&self, barcodes: &[String]) -> Result<Vec<(super::CopyStatus, i64)>, DbError> {
        let mut out = Vec::with_capacity(barcodes.len());
        for chunk in barcodes.chunks(500) {
            let rows: Vec<CopyStatusRow> = with_pool!(self, |pool| {
                let mut qb = builder(pool, "SELECT barcode, status, due_at, hold_queue, read_at FROM copy_status WHERE barcode IN (");
                let mut sep = qb.separated(", ");
                for b in chunk {
                    sep.push_bind(b.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows.into_iter().map(|(b, s, due, q, at)| (copy_status_of(b, &s, due, q), at)));
        }
        Ok(out)
    }

    /// Stores statuses just read: (status, read at).
    pub async fn store_copy_statuses(&self, rows: &[(super::CopyStatus, i64)]) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        // One row per barcode in a statement (ON CONFLICT cannot touch a row twice).
        let mut latest: std::collections::HashMap<&str, &(super::CopyStatus, i64)> = std::collections::HashMap::new();
        for r in rows {
            latest.insert(r.0.barcode.as_str(), r);
        }
        let rows: Vec<&(super::CopyStatus, i64)> = latest.into_values().collect();
        with_pool!(self, |pool| {
            let mut qb = builder(pool, "INSERT INTO copy_status (barcode, status, due_at, hold_queue, read_at) ");
            qb.push_values(rows, |mut b, (s, at)| {
                b.push_bind(s.barcode.clone())
                    .push_bind(s.state.as_str())
                    .push_bind(s.due_at)
                    .push_bind(s.hold_queue.map(i64::from))
                    .push_bind(*at);
            });
            qb.push(
                " ON CONFLICT (barcode) DO UPDATE SET status = excluded.status, due_at = excluded.due_at, \
                 hold_queue = excluded.hold_queue, read_at = excluded.read_at WHERE excluded.read_at >= copy_status.read_at",
            );
            qb.build().execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// The built-in library system's statuses of `barcodes`: its items' status, a loan's due
    /// date, and the readers waiting for the record.
    pub async fn builtin_copy_statuses(&self, barcodes: &[String]) -> Result<Vec<super::CopyStatus>, DbError> {
        let mut out = Vec::with_capacity(barcodes.len());
        for chunk in barcodes.chunks(500) {
            let rows: Vec<(String, String, Option<i64>, Option<i64>)> = with_pool!(self, |pool| {
                let mut qb = builder(
                    pool,
                    "SELECT i.barcode, i.status, l.due_at, \
                     (SELECT COUNT(*) FROM ils_holds h WHERE h.record_id = i.record_id AND h.status = 'waiting') \
                     FROM catalog_items i LEFT JOIN ils_loans l ON l.barcode = i.barcode WHERE i.barcode IN (",
                );
                let mut sep = qb.separated(", ");
                for b in chunk {
                    sep.push_bind(b.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows.into_iter().map(|(b, s, due, q)| copy_status_of(b, &s, due, q)));
        }
        Ok(out)
    }
}

/// What the notice poller has seen (a hold ready, a loan reserved by another reader), so each
/// notice goes once per occurrence, and the readers' shelf watches (到书提醒).
impl Db {
    /// Marks that `kind` holds for (reader, subject) unless marked already; returns since when it
    /// has (the same value every time, until [`Db::clear_notice_marks_except`] drops it).
    pub async fn notice_mark(&self, openid: &str, kind: &str, subject: &str, now: i64) -> Result<i64, DbError> {
        let (since,): (i64,) = with_pool!(self, |pool| {
            sqlx::query("INSERT INTO notice_marks (openid, kind, subject, since) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(openid)
                .bind(kind)
                .bind(subject)
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query_as("SELECT since FROM notice_marks WHERE openid = $1 AND kind = $2 AND subject = $3")
                .bind(openid)
                .bind(kind)
                .bind(subject)
                .fetch_one(pool)
                .await?
        });
        Ok(since)
    }

    /// Forgets the reader's marks of `kind` whose subject is not in `current` (it no longer
    /// holds: a new occurrence later is a new notice).
    pub async fn clear_notice_marks_except(&self, openid: &str, kind: &str, current: &[String]) -> Result<(), DbError> {
        let rows: Vec<(String,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT subject FROM notice_marks WHERE openid = $1 AND kind = $2")
                .bind(openid)
                .bind(kind)
                .fetch_all(pool)
                .await?);
        for (subject,) in rows.into_iter().filter(|(s,)| !current.contains(s)) {
            with_pool!(self, |pool| sqlx::query("DELETE FROM notice_marks WHERE openid = $1 AND kind = $2 AND subject = $3")
                .bind(openid)
                .bind(kind)
                .bind(&subject)
                .execute(pool)
                .await?
                .rows_affected());
        }
        Ok(())
    }

    /// A reader asks to be told when a copy of the record is on the shelf; `false` if they asked
    /// already (and have not been told yet).
    pub async fn add_shelf_watch(&self, openid: &str, record_id: &str, now: i64) -> Result<bool, DbError> {
        let sql = "INSERT INTO shelf_watches (openid, record_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        let n = with_pool!(self, |pool| sqlx::query(sql).bind(openid).bind(record_id).bind(now).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Whether the reader waits for a copy of the record.
    pub async fn has_shelf_watch(&self, openid: &str, record_id: &str) -> Result<bool, DbError> {
        let row: Option<(i64,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT created_at FROM shelf_watches WHERE openid = $1 AND record_id = $2")
                .bind(openid)
                .bind(record_id)
                .fetch_optional(pool)
                .await?);
        Ok(row.is_some())
    }

    /// Every shelf watch: (openid, record_id, created_at, the record's title), by record.
    pub async fn shelf_watches(&self) -> Result<Vec<(String, String, i64, Option<String>)>, DbError> {
        let sql = "SELECT w.openid, w.record_id, w.created_at, r.title FROM shelf_watches w \
                   LEFT JOIN catalog_records r ON r.id = w.record_id AND r.deleted = 0 ORDER BY w.record_id, w.created_at";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }

    /// Ends a watch once its reader was told (only the request that was told: a newer one stays).
    pub async fn end_shelf_watch(&self, openid: &str, record_id: &str, created_at: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM shelf_watches WHERE openid = $1 AND record_id = $2 AND created_at = $3")
            .bind(openid)
            .bind(record_id)
            .bind(created_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}
