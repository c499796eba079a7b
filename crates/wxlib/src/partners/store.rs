//! The partner libraries' table, and the catalog read our SRU server's date searches need.

use super::Partner;
use super::cql_map::YearOp;
use crate::db::{Db, DbError, unix_now};
use crate::with_pool;

type PartnerRow = (i64, String, String, String, String, String, i64, i64);

fn from_row((id, name, base_url, database, indexes, record_schema, timeout_ms, enabled): PartnerRow) -> Partner {
    Partner {
        id,
        name,
        base_url,
        database,
        indexes: indexes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        record_schema,
        timeout_ms: timeout_ms.max(0) as u64,
        enabled: enabled != 0,
    }
}

macro_rules! partner_select {
    ($rest:literal) => {
        concat!("SELECT id, name, base_url, database_name, indexes, record_schema, timeout_ms, enabled FROM partners ", $rest)
    };
}

impl Db {
    /// Every partner, in the librarians' order.
    pub async fn partners(&self) -> Result<Vec<Partner>, DbError> {
        let rows: Vec<PartnerRow> =
            with_pool!(self, |pool| sqlx::query_as(partner_select!("ORDER BY position, id")).fetch_all(pool).await?);
        Ok(rows.into_iter().map(from_row).collect())
    }

    pub async fn partner(&self, id: i64) -> Result<Option<Partner>, DbError> {
        let row: Option<PartnerRow> =
            with_pool!(self, |pool| sqlx::query_as(partner_select!("WHERE id = $1")).bind(id).fetch_optional(pool).await?);
        Ok(row.map(from_row))
    }

    /// Adds a partner, or updates the one with the same name; returns its id.
    pub async fn upsert_partner(&self, p: &Partner) -> Result<i64, DbError> {
        let sql = "INSERT INTO partners (name, base_url, database_name, indexes, record_schema, timeout_ms, enabled, position, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT COALESCE(MAX(position), 0) + 1 FROM partners), $8) \
                   ON CONFLICT (name) DO UPDATE SET base_url = excluded.base_url, database_name = excluded.database_name, indexes = excluded.indexes, \
                   record_schema = excluded.record_schema, timeout_ms = excluded.timeout_ms, enabled = excluded.enabled, updated_at = excluded.updated_at RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(p.name.trim())
            .bind(p.base_url.trim())
            .bind(p.database.trim())
            .bind(p.indexes.join(","))
            .bind(&p.record_schema)
            .bind(p.timeout_ms as i64)
            .bind(p.enabled as i64)
            .bind(unix_now())
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    /// Changes partner `id` (the name too). False if there is no such partner.
    pub async fn update_partner(&self, id: i64, p: &Partner) -> Result<bool, DbError> {
        let sql = "UPDATE partners SET name = $1, base_url = $2, database_name = $3, indexes = $4, record_schema = $5, timeout_ms = $6, enabled = $7, updated_at = $8 WHERE id = $9";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(p.name.trim())
            .bind(p.base_url.trim())
            .bind(p.database.trim())
            .bind(p.indexes.join(","))
            .bind(&p.record_schema)
            .bind(p.timeout_ms as i64)
            .bind(p.enabled as i64)
            .bind(unix_now())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    pub async fn delete_partner(&self, id: i64) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| sqlx::query("DELETE FROM partners WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }
}

impl YearOp {
    /// The query for this comparison (one fixed statement per operator).
    fn sql(self) -> &'static str {
        macro_rules! by_year {
            ($op:literal) => {
                concat!("SELECT id FROM catalog_records WHERE deleted = 0 AND year IS NOT NULL AND year ", $op, " $1")
            };
        }
        match self {
            YearOp::Eq => by_year!("="),
            YearOp::Ne => by_year!("<>"),
            YearOp::Lt => by_year!("<"),
            YearOp::Gt => by_year!(">"),
            YearOp::Le => by_year!("<="),
            YearOp::Ge => by_year!(">="),
        }
    }
}

impl Db {
    /// Ids of live records whose publication year compares to `year` as `op` says.
    pub async fn record_ids_by_year(&self, op: YearOp, year: i64) -> Result<Vec<String>, DbError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(op.sql()).bind(year).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
