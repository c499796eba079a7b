//! The built-in library system: readers, loans, holds and loan rules in wxlib's own store. It is
//! the embedded default and the demo's, and what a small library without an ILS can run on.
//! Loan history for the hot list is kept without the reader (record and time only).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use super::{Account, Capabilities, Hold, HotTitle, IlsError, IlsFuture, LibrarySystem, Loan, Patron, RenewOutcome};
use crate::clock::Clock;
use crate::config::CirculationConfig;
use crate::db::{Db, DbError};
use crate::with_pool;

const DAY: i64 = crate::clock::DAY_SECS;

pub struct BuiltinIls {
    pub db: Db,
    pub clock: Clock,
    pub rules: CirculationConfig,
}

/// argon2's error, which is not a `std::error::Error` (its `std` feature is off).
#[derive(Debug, thiserror::Error)]
#[error("hashing a password: {0}")]
struct HashFailed(String);

pub fn hash_password(password: &str) -> Result<String, IlsError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| IlsError::internal(HashFailed(e.to_string())))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

#[derive(sqlx::FromRow)]
struct LoanRow {
    barcode: String,
    record_id: Option<String>,
    title: Option<String>,
    due_at: i64,
    renewals: i64,
}

impl BuiltinIls {
    pub async fn add_reader(&self, card: &str, name: &str, password: &str) -> Result<(), IlsError> {
        let hash = hash_password(password)?;
        let sql = "INSERT INTO ils_readers (card, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (card) DO UPDATE SET name = $2, password_hash = $3";
        with_pool!(&self.db, |pool| sqlx::query(sql)
            .bind(card)
            .bind(name)
            .bind(hash)
            .execute(pool)
            .await
            .map_err(DbError::from)?
            .rows_affected());
        Ok(())
    }

    /// Lends an item: the loan, the item's status and an anonymous history row.
    pub async fn checkout(&self, card: &str, barcode: &str, loaned_at: i64, due_at: Option<i64>) -> Result<(), IlsError> {
        let record: Option<(String,)> =
            with_pool!(&self.db, |pool| sqlx::query_as("SELECT record_id FROM catalog_items WHERE barcode = $1")
                .bind(barcode)
                .fetch_optional(pool)
                .await
                .map_err(DbError::from)?);
        let Some((record_id,)) = record else { return Err(IlsError::Refused(format!("no item with barcode {barcode}"))) };
        let due = due_at.unwrap_or(loaned_at + self.rules.loan_days * DAY);
        with_pool!(&self.db, |pool| {
            let mut tx = pool.begin().await.map_err(DbError::from)?;
            let n = sqlx::query("INSERT INTO ils_loans (card, barcode, record_id, loaned_at, due_at, renewals) VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (barcode) DO NOTHING")
                .bind(card).bind(barcode).bind(&record_id).bind(loaned_at).bind(due)
                .execute(&mut *tx).await.map_err(DbError::from)?.rows_affected();
            if n == 0 {
                return Err(IlsError::Refused(format!("item {barcode} is already on loan")));
            }
            sqlx::query("UPDATE catalog_items SET status = 'on_loan' WHERE barcode = $1")
                .bind(barcode)
                .execute(&mut *tx)
                .await
                .map_err(DbError::from)?;
            sqlx::query("INSERT INTO ils_loan_history (record_id, loaned_at) VALUES ($1, $2)")
                .bind(&record_id)
                .bind(loaned_at)
                .execute(&mut *tx)
                .await
                .map_err(DbError::from)?;
            sqlx::query("UPDATE ils_holds SET status = 'fulfilled' WHERE card = $1 AND record_id = $2 AND status IN ('waiting', 'ready')")
                .bind(card)
                .bind(&record_id)
                .execute(&mut *tx)
                .await
                .map_err(DbError::from)?;
            tx.commit().await.map_err(DbError::from)?;
        });
        Ok(())
    }

    /// Returns an item; a waiting hold on its record becomes ready to pick up.
    pub async fn checkin(&self, barcode: &str) -> Result<(), IlsError> {
        with_pool!(&self.db, |pool| {
            let mut tx = pool.begin().await.map_err(DbError::from)?;
            let rec: Option<(Option<String>,)> = sqlx::query_as("DELETE FROM ils_loans WHERE barcode = $1 RETURNING record_id")
                .bind(barcode)
                .fetch_optional(&mut *tx)
                .await
                .map_err(DbError::from)?;
            sqlx::query("UPDATE catalog_items SET status = 'available' WHERE barcode = $1")
                .bind(barcode)
                .execute(&mut *tx)
                .await
                .map_err(DbError::from)?;
            if let Some((Some(record_id),)) = rec {
                sqlx::query("UPDATE ils_holds SET status = 'ready' WHERE id = (SELECT MIN(id) FROM ils_holds WHERE record_id = $1 AND status = 'waiting')").bind(record_id).execute(&mut *tx).await.map_err(DbError::from)?;
            }
            tx.commit().await.map_err(DbError::from)?;
        });
        Ok(())
    }

    async fn loans(&self, card: &str) -> Result<Vec<LoanRow>, IlsError> {
        let sql = "SELECT l.barcode, l.record_id, r.title, l.due_at, l.renewals FROM ils_loans l LEFT JOIN catalog_records r ON r.id = l.record_id WHERE l.card = $1 ORDER BY l.due_at, l.barcode";
        Ok(with_pool!(&self.db, |pool| sqlx::query_as::<_, LoanRow>(sql).bind(card).fetch_all(pool).await.map_err(DbError::from)?))
    }

    async fn others_waiting(&self, card: &str, record_id: &Option<String>) -> Result<bool, IlsError> {
        let Some(rid) = record_id else { return Ok(false) };
        let (n,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(
            "SELECT COUNT(*) FROM ils_holds WHERE record_id = $1 AND card <> $2 AND status = 'waiting'"
        )
        .bind(rid)
        .bind(card)
        .fetch_one(pool)
        .await
        .map_err(DbError::from)?);
        Ok(n > 0)
    }

    /// Why this loan cannot be renewed now, if so.
    async fn refusal(&self, card: &str, l: &LoanRow, now: i64) -> Result<Option<String>, IlsError> {
        if l.renewals >= self.rules.max_renewals {
            return Ok(Some(format!("已续借 {} 次，达到上限", l.renewals)));
        }
        if now > l.due_at + self.rules.renew_overdue_limit_days * DAY {
            return Ok(Some("已超期，请先到馆归还".into()));
        }
        if self.others_waiting(card, &l.record_id).await? {
            return Ok(Some("有其他读者预约，不能续借".into()));
        }
        Ok(None)
    }

    async fn renew_row(&self, card: &str, l: &LoanRow) -> Result<RenewOutcome, IlsError> {
        let now = self.clock.now();
        let title = l.title.clone().unwrap_or_else(|| l.barcode.clone());
        if let Some(reason) = self.refusal(card, l, now).await? {
            return Ok(RenewOutcome { barcode: l.barcode.clone(), title, ok: false, due_at: Some(l.due_at), reason: Some(reason) });
        }
        // A renewal never shortens a loan.
        let due = (now + self.rules.renew_days * DAY).max(l.due_at);
        with_pool!(&self.db, |pool| sqlx::query(
            "UPDATE ils_loans SET due_at = $3, renewals = renewals + 1 WHERE card = $1 AND barcode = $2"
        )
        .bind(card)
        .bind(&l.barcode)
        .bind(due)
        .execute(pool)
        .await
        .map_err(DbError::from)?
        .rows_affected());
        Ok(RenewOutcome { barcode: l.barcode.clone(), title, ok: true, due_at: Some(due), reason: None })
    }
}

impl LibrarySystem for BuiltinIls {
    fn name(&self) -> &'static str {
        "builtin"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { renew: true, renew_all: true, hold: true, cancel_hold: true, fines: true, hot_list: true }
    }

    fn authenticate<'a>(&'a self, card: &'a str, password: &'a str) -> IlsFuture<'a, Patron> {
        Box::pin(async move {
            let row: Option<(String, String)> =
                with_pool!(&self.db, |pool| sqlx::query_as("SELECT name, password_hash FROM ils_readers WHERE card = $1")
                    .bind(card)
                    .fetch_optional(pool)
                    .await
                    .map_err(DbError::from)?);
            match row {
                Some((name, hash)) if verify_password(password, &hash) => Ok(Patron { card: card.to_owned(), name }),
                _ => Err(IlsError::BadCredentials),
            }
        })
    }

    fn account<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Account> {
        Box::pin(async move {
            let row: Option<(String, Option<String>, i64)> =
                with_pool!(&self.db, |pool| sqlx::query_as("SELECT name, blocked, fines_cents FROM ils_readers WHERE card = $1")
                    .bind(card)
                    .fetch_optional(pool)
                    .await
                    .map_err(DbError::from)?);
            let Some((name, blocked, fines_cents)) = row else { return Err(IlsError::Refused(format!("no reader with card {card}"))) };
            let now = self.clock.now();
            let mut loans = Vec::new();
            for l in self.loans(card).await? {
                let not_renewable = self.refusal(card, &l, now).await?;
                loans.push(Loan {
                    title: l.title.clone().unwrap_or_else(|| l.barcode.clone()),
                    barcode: l.barcode,
                    record_id: l.record_id,
                    due_at: l.due_at,
                    renewals: l.renewals,
                    not_renewable,
                });
            }
            let sql = "SELECT h.id, h.record_id, r.title, h.status, h.pickup FROM ils_holds h LEFT JOIN catalog_records r ON r.id = h.record_id WHERE h.card = $1 AND h.status IN ('waiting', 'ready') ORDER BY h.id";
            let holds: Vec<(i64, String, Option<String>, String, Option<String>)> =
                with_pool!(&self.db, |pool| sqlx::query_as(sql).bind(card).fetch_all(pool).await.map_err(DbError::from)?);
            let holds = holds
                .into_iter()
                .map(|(id, rid, title, status, pickup)| Hold {
                    id: id.to_string(),
                    title: title.unwrap_or_else(|| rid.clone()),
                    record_id: Some(rid),
                    status,
                    pickup,
                })
                .collect();
            Ok(Account { patron: Patron { card: card.to_owned(), name }, loans, holds, fines_cents, blocks: blocked.into_iter().collect() })
        })
    }

    fn renew<'a>(&'a self, card: &'a str, barcode: &'a str) -> IlsFuture<'a, RenewOutcome> {
        Box::pin(async move {
            let loans = self.loans(card).await?;
            let l = loans
                .iter()
                .find(|l| l.barcode == barcode)
                .ok_or_else(|| IlsError::Refused(format!("item {barcode} is not on loan to this card")))?;
            self.renew_row(card, l).await
        })
    }

    fn renew_all<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Vec<RenewOutcome>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for l in self.loans(card).await? {
                out.push(self.renew_row(card, &l).await?);
            }
            Ok(out)
        })
    }

    fn place_hold<'a>(&'a self, card: &'a str, record_id: &'a str, pickup: Option<&'a str>) -> IlsFuture<'a, Hold> {
        Box::pin(async move {
            let title: Option<(String,)> =
                with_pool!(&self.db, |pool| sqlx::query_as("SELECT title FROM catalog_records WHERE id = $1 AND deleted = 0")
                    .bind(record_id)
                    .fetch_optional(pool)
                    .await
                    .map_err(DbError::from)?);
            let Some((title,)) = title else { return Err(IlsError::Refused("这条书目不存在".into())) };
            let (held,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(
                "SELECT COUNT(*) FROM ils_holds WHERE card = $1 AND record_id = $2 AND status IN ('waiting', 'ready')"
            )
            .bind(card)
            .bind(record_id)
            .fetch_one(pool)
            .await
            .map_err(DbError::from)?);
            if held > 0 {
                return Err(IlsError::Refused("您已预约过这本书".into()));
            }
            let (on_loan,): (i64,) =
                with_pool!(&self.db, |pool| sqlx::query_as("SELECT COUNT(*) FROM ils_loans WHERE card = $1 AND record_id = $2")
                    .bind(card)
                    .bind(record_id)
                    .fetch_one(pool)
                    .await
                    .map_err(DbError::from)?);
            if on_loan > 0 {
                return Err(IlsError::Refused("这本书正借在您名下".into()));
            }
            let (copies,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as("SELECT COUNT(*) FROM catalog_items WHERE record_id = $1")
                .bind(record_id)
                .fetch_one(pool)
                .await
                .map_err(DbError::from)?);
            if copies == 0 {
                return Err(IlsError::Refused("本馆没有这本书的馆藏，可以荐购".into()));
            }
            let (active,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(
                "SELECT COUNT(*) FROM ils_holds WHERE card = $1 AND status IN ('waiting', 'ready')"
            )
            .bind(card)
            .fetch_one(pool)
            .await
            .map_err(DbError::from)?);
            if active >= self.rules.max_holds {
                return Err(IlsError::Refused(format!("最多同时预约 {} 本", self.rules.max_holds)));
            }
            let now = self.clock.now();
            let (id,): (i64,) = with_pool!(&self.db, |pool| sqlx::query_as(
                "INSERT INTO ils_holds (card, record_id, pickup, status, created_at) VALUES ($1, $2, $3, 'waiting', $4) RETURNING id"
            )
            .bind(card)
            .bind(record_id)
            .bind(pickup)
            .bind(now)
            .fetch_one(pool)
            .await
            .map_err(DbError::from)?);
            Ok(Hold {
                id: id.to_string(),
                record_id: Some(record_id.to_owned()),
                title,
                status: "waiting".into(),
                pickup: pickup.map(str::to_owned),
            })
        })
    }

    fn cancel_hold<'a>(&'a self, card: &'a str, hold_id: &'a str) -> IlsFuture<'a, ()> {
        Box::pin(async move {
            let id: i64 = hold_id.parse().map_err(|_| IlsError::Refused("没有这条预约".into()))?;
            let n = with_pool!(&self.db, |pool| sqlx::query(
                "UPDATE ils_holds SET status = 'cancelled' WHERE id = $1 AND card = $2 AND status IN ('waiting', 'ready')"
            )
            .bind(id)
            .bind(card)
            .execute(pool)
            .await
            .map_err(DbError::from)?
            .rows_affected());
            if n == 1 { Ok(()) } else { Err(IlsError::Refused("没有这条预约".into())) }
        })
    }

    fn hot_titles<'a>(&'a self, since: i64, limit: i64) -> IlsFuture<'a, Vec<HotTitle>> {
        Box::pin(async move {
            let sql = "SELECT record_id, COUNT(*) AS n FROM ils_loan_history WHERE loaned_at >= $1 GROUP BY record_id ORDER BY n DESC, record_id LIMIT $2";
            let rows: Vec<(String, i64)> =
                with_pool!(&self.db, |pool| sqlx::query_as(sql).bind(since).bind(limit).fetch_all(pool).await.map_err(DbError::from)?);
            Ok(rows.into_iter().map(|(record_id, loans)| HotTitle { record_id, loans }).collect())
        })
    }
}
