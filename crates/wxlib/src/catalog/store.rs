//! Catalog tables: records (raw MARC plus the few fields a result list shows), items, and a
//! change sequence (`seq`) the search index follows, so every node can keep its own index in step
//! with the shared database.

use std::collections::HashMap;

use crate::db::writes::{Param, Write};
use crate::db::{Db, DbError, builder};
use crate::with_pool;

/// One record to store, as prepared by the importer.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub id: String,
    pub marc: Vec<u8>,
    pub title: String,
    pub author: Option<String>,
    pub year: Option<i64>,
    pub call_number: Option<String>,
    pub items: Vec<ItemRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ItemRow {
    pub barcode: String,
    pub record_id: String,
    pub location: Option<String>,
    pub call_number: Option<String>,
    pub status: String,
}

/// The fields a result list needs, without parsing MARC.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RecordSummary {
    pub id: String,
    pub title: String,
    pub author: Option<String>,
    pub year: Option<i64>,
    pub call_number: Option<String>,
}

/// A record as [`Db::records_added_between`] reads it.
#[derive(sqlx::FromRow)]
struct AddedRecord {
    id: String,
    title: String,
    author: Option<String>,
    year: Option<i64>,
    call_number: Option<String>,
    added_at: i64,
    marc: Option<Vec<u8>>,
}

/// Copies of a record: how many, how many on the shelf, and how that is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Availability {
    pub total: i64,
    pub available: i64,
    /// Every copy's status was read from the library system just now (within the TTL), or is
    /// the built-in system's own. `false`: some are last known ones (see `read_at`) or unknown.
    pub fresh: bool,
    /// When the oldest last-known status was read (unix seconds); `None` when fresh.
    #[serde(serialize_with = "crate::catalog::serialize_local_time")]
    pub read_at: Option<i64>,
    /// Copies the library system has said nothing about yet.
    pub unknown: i64,
}

impl Availability {
    /// Counts from the store, where they are the library system's own (the built-in system).
    pub fn counted(total: i64, available: i64) -> Self {
        Availability { total, available, fresh: true, read_at: None, unknown: 0 }
    }
}

/// Whether an upsert added or changed a record.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    pub added: usize,
    pub updated: usize,
}

/// A reader's search dialog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialog {
    /// The search field the reader chose from the menu, if any.
    pub mode: Option<String>,
    pub query: Option<String>,
    pub page: i64,
    /// Record ids on the page shown last, for "reply a number".
    pub hits: Vec<String>,
    /// The record whose details were shown last (for "预约", hold it).
    pub record_id: Option<String>,
}

impl Db {
    pub async fn dialog(&self, openid: &str, now: i64) -> Result<Dialog, DbError> {
        const SQL: &str = "SELECT mode, query, page, hits, record_id FROM dialog_state WHERE openid = $1 AND expires_at > $2";
        type Row = (Option<String>, Option<String>, i64, Option<String>, Option<String>);
        let here = self.read_row_here(SQL, &[openid.into(), now.into()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)));
        let row: Option<Row> = match here {
            Some(row) => row?,
            None => with_pool!(self, |pool| sqlx::query_as(SQL).bind(openid).bind(now).fetch_optional(pool).await?),
        };
        Ok(row
            .map(|(mode, query, page, hits, record_id)| Dialog {
                mode,
                query,
                page,
                hits: hits.and_then(|h| serde_json::from_str(&h).ok()).unwrap_or_default(),
                record_id,
            })
            .unwrap_or_default())
    }

    pub async fn clear_dialog(&self, openid: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("DELETE FROM dialog_state WHERE openid = $1")
            .bind(openid)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

/// Stores a reader's dialog until `expires_at`. The chat hands it to the journal with the search
/// log, so both ride in its next commit.
pub fn dialog_write(openid: &str, d: &Dialog, expires_at: i64) -> Write {
    let hits = serde_json::to_string(&d.hits).unwrap_or_else(|_| "[]".into());
    let sql = "INSERT INTO dialog_state (openid, mode, query, page, hits, expires_at, record_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
               ON CONFLICT (openid) DO UPDATE SET mode = $2, query = $3, page = $4, hits = $5, expires_at = $6, record_id = $7";
    Write::new(
        sql,
        vec![
            openid.into(),
            d.mode.clone().into(),
            d.query.clone().into(),
            d.page.into(),
            hits.into(),
            expires_at.into(),
            d.record_id.clone().into(),
        ],
    )
}

/// Logs a chat search (for the top and zero-hit searches in the analytics; a reader's own entries
/// are cut loose from them when the reader unbinds), handed to the journal with the dialog.
pub fn search_log_write(openid: Option<&str>, field: &str, query: &str, hits: i64, now: i64) -> Write {
    let sql = "INSERT INTO search_log (openid, field, query, hits, created_at) VALUES ($1, $2, $3, $4, $5)";
    Write::new(sql, vec![openid.into(), field.into(), query.into(), hits.into(), now.into()])
}

/// Writes `rows` (records and their items) in the open transaction `$tx` of `$pool`, the records
/// numbered from `$first_seq` in the change sequence. A macro, not a function, because the body is
/// compiled once per dialect inside [`with_pool!`]; the harvest commits a page's records with
/// its checkpoint through it, in one transaction.
macro_rules! upsert_rows {
    ($pool:ident, $tx:ident, $rows:expr, $first_seq:expr, $now:expr) => {{
        let (rows, first_seq, now): (&[$crate::catalog::store::RecordRow], i64, i64) = ($rows, $first_seq, $now);
        let pool = $pool;
        let tx = &mut $tx;
        let mut qb = $crate::db::builder(
            pool,
            "INSERT INTO catalog_records (id, seq, deleted, marc, title, author, year, call_number, added_at, updated_at) ",
        );
        qb.push_values(rows.iter().enumerate(), |mut b, (i, r)| {
            b.push_bind(r.id.clone())
                .push_bind(first_seq + i as i64)
                .push_bind(0i64)
                .push_bind(r.marc.clone())
                .push_bind(r.title.clone())
                .push_bind(r.author.clone())
                .push_bind(r.year)
                .push_bind(r.call_number.clone())
                .push_bind(now)
                .push_bind(now);
        });
        qb.push(
            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, deleted = 0, marc = excluded.marc, title = excluded.title, \
             author = excluded.author, year = excluded.year, call_number = excluded.call_number, updated_at = excluded.updated_at",
        );
        qb.build().execute(&mut **tx).await?;
        // Items follow their record: replace the ones from MARC, keep status of barcodes we know.
        let items: Vec<&$crate::catalog::store::ItemRow> = rows.iter().flat_map(|r| r.items.iter()).collect();
        if !items.is_empty() {
            let mut qb = $crate::db::builder(pool, "INSERT INTO catalog_items (barcode, record_id, location, call_number, status) ");
            qb.push_values(items, |mut b, it| {
                b.push_bind(it.barcode.clone())
                    .push_bind(it.record_id.clone())
                    .push_bind(it.location.clone())
                    .push_bind(it.call_number.clone())
                    .push_bind(it.status.clone());
            });
            qb.push(" ON CONFLICT (barcode) DO UPDATE SET record_id = excluded.record_id, location = excluded.location, call_number = excluded.call_number");
            qb.build().execute(&mut **tx).await?;
        }
    }};
}
pub(crate) use upsert_rows;

/// Marks the record `$id` deleted (a tombstone at `$seq` the index follows) and drops its items,
/// in the open transaction `$tx`; evaluates to whether it existed.
macro_rules! delete_row {
    ($tx:ident, $id:expr, $seq:expr, $now:expr) => {{
        let (id, seq, now): (&str, i64, i64) = ($id, $seq, $now);
        let tx = &mut $tx;
        let changed =
            sqlx::query("UPDATE catalog_records SET deleted = 1, marc = NULL, seq = $2, updated_at = $3 WHERE id = $1 AND deleted = 0")
                .bind(id)
                .bind(seq)
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM catalog_items WHERE record_id = $1").bind(id).execute(&mut **tx).await?;
        changed == 1
    }};
}
pub(crate) use delete_row;

impl Db {
    async fn next_catalog_seq(&self) -> Result<i64, DbError> {
        let (max,): (Option<i64>,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT MAX(seq) FROM catalog_records").fetch_one(pool).await?);
        Ok(max.unwrap_or(0) + 1)
    }

    /// Adds or replaces records (by id) and their items, in one transaction.
    pub async fn upsert_records(&self, rows: &[RecordRow], now: i64) -> Result<UpsertCounts, DbError> {
        if rows.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let first_seq = self.next_catalog_seq().await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let existing = self.existing_record_ids(&ids).await?;
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            upsert_rows!(pool, tx, rows, first_seq, now);
            tx.commit().await?;
        });
        let updated = rows.iter().filter(|r| existing.contains_key(&r.id)).count();
        Ok(UpsertCounts { added: rows.len() - updated, updated })
    }

    async fn existing_record_ids(&self, ids: &[String]) -> Result<HashMap<String, ()>, DbError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(String,)> = with_pool!(self, |pool| {
                let mut qb = builder(pool, "SELECT id FROM catalog_records WHERE deleted = 0 AND id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows.into_iter().map(|(id,)| (id, ())));
        }
        Ok(found)
    }

    /// Marks records deleted (a tombstone the index follows) and drops their items. Returns how
    /// many existed.
    pub async fn delete_records(&self, ids: &[String], now: i64) -> Result<usize, DbError> {
        let mut n = 0;
        for id in ids {
            let seq = self.next_catalog_seq().await?;
            let changed = with_pool!(self, |pool| {
                let c = sqlx::query(
                    "UPDATE catalog_records SET deleted = 1, marc = NULL, seq = $2, updated_at = $3 WHERE id = $1 AND deleted = 0",
                )
                .bind(id)
                .bind(seq)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
                sqlx::query("DELETE FROM catalog_items WHERE record_id = $1").bind(id).execute(pool).await?;
                c
            });
            n += changed as usize;
        }
        Ok(n)
    }

    /// The newest change's `seq` (0 for an empty catalog): where an index that is caught up is.
    pub async fn catalog_head(&self) -> Result<i64, DbError> {
        Ok(self.next_catalog_seq().await? - 1)
    }

    /// Changes after `seq`, oldest first: (seq, id, raw MARC or None when deleted).
    pub async fn catalog_changes_since(&self, seq: i64, limit: i64) -> Result<Vec<(i64, String, Option<Vec<u8>>)>, DbError> {
        let sql = "SELECT seq, id, CASE WHEN deleted = 1 THEN NULL ELSE marc END FROM catalog_records WHERE seq > $1 ORDER BY seq LIMIT $2";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(seq).bind(limit).fetch_all(pool).await?))
    }

    pub async fn record_marc(&self, id: &str) -> Result<Option<Vec<u8>>, DbError> {
        let row: Option<(Option<Vec<u8>>,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT marc FROM catalog_records WHERE id = $1 AND deleted = 0")
                .bind(id)
                .fetch_optional(pool)
                .await?);
        Ok(row.and_then(|(m,)| m))
    }

    /// Summaries for `ids`, in the order given (missing ids are skipped).
    pub async fn record_summaries(&self, ids: &[String]) -> Result<Vec<RecordSummary>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<RecordSummary> = with_pool!(self, |pool| {
            let mut qb = builder(pool, "SELECT id, title, author, year, call_number FROM catalog_records WHERE deleted = 0 AND id IN (");
            let mut sep = qb.separated(", ");
            for id in ids {
                sep.push_bind(id.clone());
            }
            qb.push(")");
            qb.build_query_as().fetch_all(pool).await?
        });
        let mut by_id: HashMap<String, RecordSummary> = rows.into_iter().map(|r| (r.id.clone(), r)).collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Summaries with their copies for `ids`, in the order given, in one query (the search
    /// path's only database round trip).
    pub async fn record_summaries_with_availability(&self, ids: &[String]) -> Result<Vec<(RecordSummary, Availability)>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        type Row = (String, String, Option<String>, Option<i64>, Option<String>, i64, i64);
        const COLUMNS: &str = "r.id, r.title, r.author, r.year, r.call_number, \
             (SELECT COUNT(*) FROM catalog_items i WHERE i.record_id = r.id), \
             (SELECT COUNT(*) FROM catalog_items i WHERE i.record_id = r.id AND i.status = 'available')";
        // SQLite on disk: the page comes back as ONE row (a JSON array of rows), read on the
        // calling thread (crate::db::here): a search page is a handful of rows by key.
        let here = match self {
            Db::Sqlite(_) => {
                let placeholders = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT json_group_array(json_array({COLUMNS})) FROM catalog_records r WHERE r.deleted = 0 AND r.id IN ({placeholders})"
                );
                let params: Vec<Param> = ids.iter().map(|id| id.as_str().into()).collect();
                self.read_row_here(&sql, &params, |r| r.get::<_, String>(0))
            }
            Db::Postgres(_) => None,
        };
        let rows: Vec<Row> = match (here, self) {
            (Some(json), _) => {
                serde_json::from_str(&json?.unwrap_or_else(|| "[]".into())).map_err(|e| DbError::Query(sqlx::Error::Decode(Box::new(e))))?
            }
            // In-memory SQLite (or a busy file) through the pool, which runs each connection on
            // its own thread and hands every result row over a channel: the same one JSON row.
            (None, Db::Sqlite(pool)) => {
                let mut qb = builder(
                    pool,
                    &format!("SELECT json_group_array(json_array({COLUMNS})) FROM catalog_records r WHERE r.deleted = 0 AND r.id IN ("),
                );
                let mut sep = qb.separated(", ");
                for id in ids {
                    sep.push_bind(id.clone());
                }
                qb.push(")");
                let (json,): (String,) = qb.build_query_as().fetch_one(pool).await?;
                serde_json::from_str(&json).map_err(|e| DbError::Query(sqlx::Error::Decode(Box::new(e))))?
            }
            (None, Db::Postgres(pool)) => {
                let mut qb = builder(pool, &format!("SELECT {COLUMNS} FROM catalog_records r WHERE r.deleted = 0 AND r.id IN ("));
                let mut sep = qb.separated(", ");
                for id in ids {
                    sep.push_bind(id.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            }
        };
        let mut by_id: HashMap<String, (RecordSummary, Availability)> = rows
            .into_iter()
            .map(|(id, title, author, year, call_number, total, available)| {
                (id.clone(), (RecordSummary { id, title, author, year, call_number }, Availability::counted(total, available)))
            })
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Copies and copies on the shelf for each of `ids`.
    pub async fn availability(&self, ids: &[String]) -> Result<HashMap<String, Availability>, DbError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64, i64)> = with_pool!(self, |pool| {
            let mut qb = builder(
                pool,
                "SELECT record_id, COUNT(*), SUM(CASE WHEN status = 'available' THEN 1 ELSE 0 END) FROM catalog_items WHERE record_id IN (",
            );
            let mut sep = qb.separated(", ");
            for id in ids {
                sep.push_bind(id.clone());
            }
            qb.push(") GROUP BY record_id");
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, total, available)| (id, Availability::counted(total, available))).collect())
    }

    /// The items of every record in `ids`, by record then barcode.
    pub async fn items_of_records(&self, ids: &[String]) -> Result<Vec<ItemRow>, DbError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(with_pool!(self, |pool| {
            let mut qb = builder(pool, "SELECT barcode, record_id, location, call_number, status FROM catalog_items WHERE record_id IN (");
            let mut sep = qb.separated(", ");
            for id in ids {
                sep.push_bind(id.clone());
            }
            qb.push(") ORDER BY record_id, barcode");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    pub async fn items_of(&self, record_id: &str) -> Result<Vec<ItemRow>, DbError> {
        let sql = "SELECT barcode, record_id, location, call_number, status FROM catalog_items WHERE record_id = $1 ORDER BY barcode";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(record_id).fetch_all(pool).await?))
    }

    /// The records added most recently (new resources).
    pub async fn newest_records(&self, limit: i64) -> Result<Vec<RecordSummary>, DbError> {
        let sql =
            "SELECT id, title, author, year, call_number FROM catalog_records WHERE deleted = 0 ORDER BY added_at DESC, seq DESC LIMIT $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(limit).fetch_all(pool).await?))
    }

    pub async fn count_records(&self) -> Result<i64, DbError> {
        let (n,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM catalog_records WHERE deleted = 0").fetch_one(pool).await?);
        Ok(n)
    }

    pub async fn add_purchase_suggestion(
        &self,
        openid: Option<&str>,
        title: &str,
        author: Option<&str>,
        isbn: Option<&str>,
        note: Option<&str>,
        now: i64,
    ) -> Result<(), DbError> {
        let sql = "INSERT INTO purchase_suggestions (openid, title, author, isbn, note, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(openid)
            .bind(title)
            .bind(author)
            .bind(isbn)
            .bind(note)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }
}

/// A purchase suggestion as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SuggestionRow {
    pub id: i64,
    pub title: String,
    pub author: Option<String>,
    pub isbn: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
}

impl Db {
    /// The newest `limit` purchase suggestions, newest first.
    pub async fn purchase_suggestions(&self, limit: i64) -> Result<Vec<SuggestionRow>, DbError> {
        let sql = "SELECT id, title, author, isbn, note, created_at FROM purchase_suggestions ORDER BY created_at DESC, id DESC LIMIT $1";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, SuggestionRow>(sql).bind(limit).fetch_all(pool).await?))
    }
}

impl Db {
    /// `n` live record ids in import order, from position `offset` (the demo library).
    pub async fn record_ids_in_import_order(&self, offset: i64, n: i64) -> Result<Vec<String>, DbError> {
        let sql = "SELECT id FROM catalog_records WHERE deleted = 0 ORDER BY seq LIMIT $1 OFFSET $2";
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(sql).bind(n).bind(offset).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Whether a live record has this id.
    pub async fn record_exists(&self, id: &str) -> Result<bool, DbError> {
        let row: Option<(String,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT id FROM catalog_records WHERE id = $1 AND deleted = 0")
                .bind(id)
                .fetch_optional(pool)
                .await?);
        Ok(row.is_some())
    }

    /// A live record's title.
    pub async fn record_title(&self, id: &str) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT title FROM catalog_records WHERE id = $1 AND deleted = 0")
                .bind(id)
                .fetch_optional(pool)
                .await?);
        Ok(row.map(|(t,)| t))
    }

    /// The record an item (copy) belongs to.
    pub async fn item_record(&self, barcode: &str) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as("SELECT record_id FROM catalog_items WHERE barcode = $1")
            .bind(barcode)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(r,)| r))
    }

    /// The record an item belongs to and the record's title if it is live: (record_id, title).
    pub async fn item_record_and_title(&self, barcode: &str) -> Result<Option<(String, Option<String>)>, DbError> {
        let sql = "SELECT i.record_id, r.title FROM catalog_items i LEFT JOIN catalog_records r ON r.id = i.record_id AND r.deleted = 0 WHERE i.barcode = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(barcode).fetch_optional(pool).await?))
    }

    /// The barcodes of a record's items.
    pub async fn item_barcodes(&self, record_id: &str) -> Result<Vec<String>, DbError> {
        let rows: Vec<(String,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT barcode FROM catalog_items WHERE record_id = $1 ORDER BY barcode")
                .bind(record_id)
                .fetch_all(pool)
                .await?);
        Ok(rows.into_iter().map(|(b,)| b).collect())
    }

    /// How many items (copies) a record has.
    pub async fn item_count(&self, record_id: &str) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM catalog_items WHERE record_id = $1")
            .bind(record_id)
            .fetch_one(pool)
            .await?);
        Ok(n)
    }

    /// Adds an item (or moves the barcode to this record and place), on the shelf.
    pub async fn put_item(&self, barcode: &str, record_id: &str, location: Option<&str>, call_number: Option<&str>) -> Result<(), DbError> {
        let sql = "INSERT INTO catalog_items (barcode, record_id, location, call_number, status) VALUES ($1, $2, $3, $4, 'available') \
                   ON CONFLICT (barcode) DO UPDATE SET record_id = $2, location = $3, call_number = $4";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(barcode)
            .bind(record_id)
            .bind(location)
            .bind(call_number)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Records added in `[from, to)` (unix seconds), newest first, at most `limit`.
    pub async fn records_added_between(
        &self,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<(RecordSummary, i64, Option<Vec<u8>>)>, DbError> {
        let sql = "SELECT id, title, author, year, call_number, added_at, marc FROM catalog_records WHERE deleted = 0 AND added_at >= $1 AND added_at < $2 ORDER BY added_at DESC, seq DESC LIMIT $3";
        let rows: Vec<AddedRecord> = with_pool!(self, |pool| sqlx::query_as(sql).bind(from).bind(to).bind(limit).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|AddedRecord { id, title, author, year, call_number, added_at, marc }| {
                (RecordSummary { id, title, author, year, call_number }, added_at, marc)
            })
            .collect())
    }
}
