//! The built-in library system: readers, loans, holds and loan rules in wxlib's own store. It is
//! the embedded default and the demo's, and what a small library without an ILS can run on.
//! Loan history for the hot list is kept without the reader (record and time only).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use super::store::IlsLoanRow;
use super::{
    Account, Capabilities, CopyStatus, Hold, HotTitle, IlsError, IlsFuture, LibrarySystem, Loan, Pace, Patron, ReaderCircumstances,
    RenewOutcome, Renewal,
};
use crate::clock::Clock;
use crate::config::CirculationConfig;
use crate::db::Db;

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

impl BuiltinIls {
    pub async fn add_reader(&self, card: &str, name: &str, password: &str) -> Result<(), IlsError> {
        let hash = hash_password(password)?;
        Ok(self.db.ils_put_reader(card, name, &hash).await?)
    }

    /// Lends an item: the loan, the item's status and an anonymous history row.
    pub async fn checkout(&self, card: &str, barcode: &str, loaned_at: i64, due_at: Option<i64>) -> Result<(), IlsError> {
        let Some(record_id) = self.db.item_record(barcode).await? else {
            return Err(IlsError::Refused(format!("no item with barcode {barcode}")));
        };
        let due = due_at.unwrap_or(loaned_at + self.rules.loan_days * DAY);
        if !self.db.ils_checkout(card, barcode, &record_id, loaned_at, due).await? {
            return Err(IlsError::Refused(format!("item {barcode} is already on loan")));
        }
        Ok(())
    }

    /// Returns an item; a waiting hold on its record becomes ready to pick up.
    pub async fn checkin(&self, barcode: &str) -> Result<(), IlsError> {
        Ok(self.db.ils_checkin(barcode).await?)
    }

    /// Why this loan cannot be renewed now, if so.
    async fn refusal(&self, card: &str, l: &IlsLoanRow, now: i64) -> Result<Option<String>, IlsError> {
        if l.renewals >= self.rules.max_renewals {
            return Ok(Some(format!("已续借 {} 次，达到上限", l.renewals)));
        }
        if now > l.due_at + self.rules.renew_overdue_limit_days * DAY {
            return Ok(Some("已超期，请先到馆归还".into()));
        }
        let others_waiting = match &l.record_id {
            Some(rid) => self.db.ils_others_waiting(card, rid).await?,
            None => false,
        };
        if others_waiting {
            return Ok(Some("有其他读者预约，不能续借".into()));
        }
        Ok(None)
    }

    async fn renew_row(&self, card: &str, l: &IlsLoanRow) -> Result<RenewOutcome, IlsError> {
        let now = self.clock.now();
        let title = l.title.clone().unwrap_or_else(|| l.barcode.clone());
        if let Some(reason) = self.refusal(card, l, now).await? {
            return Ok(RenewOutcome { barcode: l.barcode.clone(), title, ok: false, due_at: Some(l.due_at), reason: Some(reason) });
        }
        // A renewal never shortens a loan.
        let due = (now + self.rules.renew_days * DAY).max(l.due_at);
        self.db.ils_renew(card, &l.barcode, due).await?;
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
            match self.db.ils_credentials(card).await? {
                Some((name, hash)) if verify_password(password, &hash) => Ok(Patron { card: card.to_owned(), name }),
                _ => Err(IlsError::BadCredentials),
            }
        })
    }

    fn account<'a>(&'a self, card: &'a str) -> IlsFuture<'a, Account> {
        Box::pin(async move {
            let Some((name, blocked, fines_cents)) = self.db.ils_reader(card).await? else {
                return Err(IlsError::Refused(format!("no reader with card {card}")));
            };
            let now = self.clock.now();
            let mut loans = Vec::new();
            for l in self.db.ils_loans(card).await? {
                let renewal = match self.refusal(card, &l, now).await? {
                    Some(why) => Renewal::Refused(why),
                    None => Renewal::Allowed { renewals: l.renewals },
                };
                loans.push(Loan {
                    title: l.title.clone().unwrap_or_else(|| l.barcode.clone()),
                    barcode: l.barcode,
                    record_id: l.record_id,
                    due_at: l.due_at,
                    renewal,
                });
            }
            let holds = self
                .db
                .ils_holds(card)
                .await?
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
            let loans = self.db.ils_loans(card).await?;
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
            for l in self.db.ils_loans(card).await? {
                out.push(self.renew_row(card, &l).await?);
            }
            Ok(out)
        })
    }

    fn place_hold<'a>(&'a self, card: &'a str, record_id: &'a str, pickup: Option<&'a str>) -> IlsFuture<'a, Hold> {
        Box::pin(async move {
            let Some(title) = self.db.record_title(record_id).await? else { return Err(IlsError::Refused("这条书目不存在".into())) };
            if self.db.ils_holds_on(card, record_id).await? > 0 {
                return Err(IlsError::Refused("您已预约过这本书".into()));
            }
            if self.db.ils_loans_of(card, record_id).await? > 0 {
                return Err(IlsError::Refused("这本书正借在您名下".into()));
            }
            if self.db.item_count(record_id).await? == 0 {
                return Err(IlsError::Refused("本馆没有这本书的馆藏，可以荐购".into()));
            }
            if self.db.ils_active_holds(card).await? >= self.rules.max_holds {
                return Err(IlsError::Refused(format!("最多同时预约 {} 本", self.rules.max_holds)));
            }
            let id = self.db.ils_place_hold(card, record_id, pickup, self.clock.now()).await?;
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
            if self.db.ils_cancel_hold(id, card).await? { Ok(()) } else { Err(IlsError::Refused("没有这条预约".into())) }
        })
    }

    fn hot_titles<'a>(&'a self, since: i64, limit: i64) -> IlsFuture<'a, Vec<HotTitle>> {
        Box::pin(async move {
            let rows = self.db.ils_hot_titles(since, limit).await?;
            Ok(rows.into_iter().map(|(record_id, loans)| HotTitle { record_id, loans }).collect())
        })
    }

    fn remote_status(&self) -> bool {
        false
    }

    fn copy_status<'a>(&'a self, barcode: &'a str) -> IlsFuture<'a, CopyStatus> {
        Box::pin(async move {
            self.db
                .builtin_copy_statuses(&[barcode.to_owned()])
                .await?
                .pop()
                .ok_or_else(|| IlsError::Refused(format!("no item with barcode {barcode}")))
        })
    }

    fn circumstances<'a>(&'a self, card: &'a str, _pace: &'a Pace) -> IlsFuture<'a, ReaderCircumstances> {
        Box::pin(async move {
            let ready_holds = self
                .db
                .ils_holds(card)
                .await?
                .into_iter()
                .filter(|(_, _, _, status, _)| status == "ready")
                .map(|(id, rid, title, _, pickup)| (id.to_string(), title.unwrap_or(rid), pickup))
                .collect();
            let mut reserved_loans = Vec::new();
            for l in self.db.ils_loans(card).await? {
                let waiting = match &l.record_id {
                    Some(rid) => self.db.ils_others_waiting(card, rid).await?,
                    None => false,
                };
                if waiting {
                    reserved_loans.push((l.barcode.clone(), l.title.clone().unwrap_or(l.barcode), l.due_at));
                }
            }
            Ok(ReaderCircumstances { ready_holds, reserved_loans })
        })
    }
}
