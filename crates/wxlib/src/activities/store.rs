//! Activities in the store, on SQLite and PostgreSQL alike. Every change to an activity's places
//! (sign-up, cancellation, a new capacity) first bumps the activity's `version` in its
//! transaction: on PostgreSQL that takes the row lock, on SQLite the write lock, so places are
//! counted by one writer at a time and the capacity is never exceeded, even across nodes.

use super::{Activity, ActivityDraft, ActivityError, Cancelled, CheckinOutcome, SignupOutcome};
use crate::db::{Db, DbError};
use crate::with_pool;

impl From<sqlx::Error> for ActivityError {
    fn from(e: sqlx::Error) -> Self {
        ActivityError::Db(DbError::Query(e))
    }
}

const COLUMNS: &str = "id, title, place, description, starts_at, ends_at, signup_opens_at, signup_deadline, capacity, qr_ticket, qr_url, \
                       report_title, report_body, report_at, created_at, updated_at";

/// One reader's sign-up as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SignupRow {
    pub openid: String,
    pub status: String,
    pub via: String,
    pub queued_at: i64,
    pub reminded_at: Option<i64>,
    pub checked_in_at: Option<i64>,
    /// The campus card the reader bound, if any (how librarians know who it is).
    pub card: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckinRow {
    pub openid: String,
    pub at: i64,
    pub signed_up: i64,
    pub via: String,
    pub card: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FeedbackRow {
    pub openid: String,
    pub rating: i64,
    pub comment: String,
    pub at: i64,
}

/// Places taken and readers waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub confirmed: i64,
    pub waiting: i64,
    pub checked_in: i64,
}

/// A confirmed sign-up whose reminder may be due.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReminderCandidate {
    pub signup_id: i64,
    pub openid: String,
    pub activity_id: i64,
}

/// The time a confirmed reader is reminded: `hour`:00 (CST) on the day before the activity.
pub fn reminder_moment(a: &Activity, hour: u32) -> i64 {
    crate::clock::local_midnight(a.starts_at) - crate::clock::DAY_SECS + hour as i64 * 3600
}

impl Db {
    pub async fn create_activity(&self, d: &ActivityDraft, now: i64) -> Result<i64, DbError> {
        let sql = "INSERT INTO activities (title, place, description, starts_at, ends_at, signup_opens_at, signup_deadline, capacity, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(&d.title)
            .bind(&d.place)
            .bind(&d.description)
            .bind(d.starts_at)
            .bind(d.ends_at)
            .bind(d.signup_opens_at)
            .bind(d.signup_deadline)
            .bind(d.capacity)
            .bind(now)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    /// Changes an activity. A larger capacity gives places to waiting readers at once; returns
    /// who got one (to be told). A new start time makes the day-before reminder due again.
    pub async fn update_activity(&self, id: i64, d: &ActivityDraft, now: i64, remind_hour: u32) -> Result<Vec<String>, ActivityError> {
        let sql = "UPDATE activities SET title = $2, place = $3, description = $4, starts_at = $5, ends_at = $6, signup_opens_at = $7, \
                   signup_deadline = $8, capacity = $9, updated_at = $10 WHERE id = $1";
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            // The activity's row first, as every sign-up change takes it first (no deadlock).
            let old: Option<(i64,)> = sqlx::query_as("UPDATE activities SET version = version + 1 WHERE id = $1 RETURNING starts_at")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((old_start,)) = old else { return Err(ActivityError::NotFound(id)) };
            sqlx::query(sql)
                .bind(id)
                .bind(&d.title)
                .bind(&d.place)
                .bind(&d.description)
                .bind(d.starts_at)
                .bind(d.ends_at)
                .bind(d.signup_opens_at)
                .bind(d.signup_deadline)
                .bind(d.capacity)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if old_start != d.starts_at {
                let n = sqlx::query("UPDATE activity_signups SET reminded_at = NULL WHERE activity_id = $1 AND status = 'confirmed'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tracing::info!(activity = id, readers = n, "activity moved: its reminders are due again");
            }
            let a: Activity = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM activities WHERE id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let mut promoted = Vec::new();
            if now < a.starts_at {
                let reminded = (now >= reminder_moment(&a, remind_hour)).then_some(now);
                loop {
                    let (confirmed,): (i64,) =
                        sqlx::query_as("SELECT COUNT(*) FROM activity_signups WHERE activity_id = $1 AND status = 'confirmed'")
                            .bind(id)
                            .fetch_one(&mut *tx)
                            .await?;
                    if confirmed >= a.capacity {
                        break;
                    }
                    let next: Option<(i64, String)> = sqlx::query_as("SELECT id, openid FROM activity_signups WHERE activity_id = $1 AND status = 'waiting' ORDER BY queued_at, id LIMIT 1")
                        .bind(id).fetch_optional(&mut *tx).await?;
                    let Some((sid, openid)) = next else { break };
                    sqlx::query("UPDATE activity_signups SET status = 'confirmed', updated_at = $2, reminded_at = $3 WHERE id = $1")
                        .bind(sid)
                        .bind(now)
                        .bind(reminded)
                        .execute(&mut *tx)
                        .await?;
                    promoted.push(openid);
                }
            }
            tx.commit().await?;
            promoted
        }))
    }

    pub async fn activity(&self, id: i64) -> Result<Option<Activity>, DbError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM activities WHERE id = $1"));
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Activity>(sql).bind(id).fetch_optional(pool).await?))
    }

    /// Every activity, the latest first (the console's list).
    pub async fn all_activities(&self) -> Result<Vec<Activity>, DbError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM activities ORDER BY starts_at DESC, id DESC"));
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Activity>(sql).fetch_all(pool).await?))
    }

    /// Activities not over yet, soonest first.
    pub async fn current_activities(&self, now: i64, limit: i64) -> Result<Vec<Activity>, DbError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM activities WHERE ends_at > $1 ORDER BY starts_at, id LIMIT $2"));
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Activity>(sql).bind(now).bind(limit).fetch_all(pool).await?))
    }

    /// Finished activities with a report, ended after `since`, the latest first.
    pub async fn recent_reports(&self, now: i64, since: i64, limit: i64) -> Result<Vec<Activity>, DbError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM activities WHERE ends_at <= $1 AND ends_at > $2 AND report_title IS NOT NULL ORDER BY ends_at DESC, id DESC LIMIT $3"
        ));
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Activity>(sql).bind(now).bind(since).bind(limit).fetch_all(pool).await?))
    }

    pub async fn set_activity_qr(&self, id: i64, ticket: &str, url: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE activities SET qr_ticket = $2, qr_url = $3 WHERE id = $1")
            .bind(id)
            .bind(ticket)
            .bind(url)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn set_activity_report(&self, id: i64, title: &str, body: &str, now: i64) -> Result<bool, DbError> {
        let sql = "UPDATE activities SET report_title = $2, report_body = $3, report_at = $4, updated_at = $4 WHERE id = $1";
        let n = with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(title).bind(body).bind(now).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Signs a reader up: a place while there is one, else the end of the waiting list. Signing
    /// up again changes nothing and says where the reader stands. `remind_hour` decides whether
    /// the day-before reminder is still to come (a reader who signs up after it went out has
    /// just read the details in the confirmation).
    pub async fn activity_signup(
        &self,
        id: i64,
        openid: &str,
        via: &str,
        now: i64,
        remind_hour: u32,
    ) -> Result<(Activity, SignupOutcome), ActivityError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let locked =
                sqlx::query("UPDATE activities SET version = version + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if locked == 0 {
                return Err(ActivityError::NotFound(id));
            }
            let a: Activity = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM activities WHERE id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let mine: Option<(i64, String, i64)> =
                sqlx::query_as("SELECT id, status, queued_at FROM activity_signups WHERE activity_id = $1 AND openid = $2")
                    .bind(id)
                    .bind(openid)
                    .fetch_optional(&mut *tx)
                    .await?;
            let position_sql = "SELECT COUNT(*) FROM activity_signups WHERE activity_id = $1 AND status = 'waiting' AND (queued_at < $2 OR (queued_at = $2 AND id <= $3))";
            match &mine {
                Some((_, status, _)) if status == "confirmed" => return Ok((a, SignupOutcome::AlreadyConfirmed)),
                Some((sid, status, queued_at)) if status == "waiting" => {
                    let (position,): (i64,) = sqlx::query_as(position_sql).bind(id).bind(queued_at).bind(sid).fetch_one(&mut *tx).await?;
                    return Ok((a, SignupOutcome::AlreadyWaiting { position }));
                }
                _ => {}
            }
            if now < a.signup_opens_at {
                return Err(ActivityError::SignupNotOpen(a.signup_opens_at));
            }
            if now >= a.signup_deadline || now >= a.starts_at {
                return Err(ActivityError::SignupClosed);
            }
            let (confirmed,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM activity_signups WHERE activity_id = $1 AND status = 'confirmed'")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            let status = if confirmed < a.capacity { "confirmed" } else { "waiting" };
            let reminded = (status == "confirmed" && now >= reminder_moment(&a, remind_hour)).then_some(now);
            let upsert = "INSERT INTO activity_signups (activity_id, openid, status, via, queued_at, updated_at, reminded_at) VALUES ($1, $2, $3, $4, $5, $5, $6) \
                          ON CONFLICT (activity_id, openid) DO UPDATE SET status = excluded.status, via = excluded.via, queued_at = excluded.queued_at, \
                          updated_at = excluded.updated_at, reminded_at = excluded.reminded_at RETURNING id";
            let (sid,): (i64,) =
                sqlx::query_as(upsert).bind(id).bind(openid).bind(status).bind(via).bind(now).bind(reminded).fetch_one(&mut *tx).await?;
            let outcome = if status == "confirmed" {
                SignupOutcome::Confirmed
            } else {
                let (position,): (i64,) = sqlx::query_as(position_sql).bind(id).bind(now).bind(sid).fetch_one(&mut *tx).await?;
                SignupOutcome::Waiting { position }
            };
            tx.commit().await?;
            (a, outcome)
        }))
    }

    /// Cancels a reader's sign-up (a place or a waiting one) before the start. A freed place goes
    /// to the first waiting reader, who is returned to be told.
    pub async fn cancel_activity_signup(
        &self,
        id: i64,
        openid: &str,
        now: i64,
        remind_hour: u32,
    ) -> Result<(Activity, Cancelled), ActivityError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let locked =
                sqlx::query("UPDATE activities SET version = version + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?.rows_affected();
            if locked == 0 {
                return Err(ActivityError::NotFound(id));
            }
            let a: Activity = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM activities WHERE id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let mine: Option<(i64, String)> =
                sqlx::query_as("SELECT id, status FROM activity_signups WHERE activity_id = $1 AND openid = $2 AND status <> 'cancelled'")
                    .bind(id)
                    .bind(openid)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((sid, status)) = mine else { return Err(ActivityError::NotSignedUp) };
            if now >= a.starts_at {
                return Err(ActivityError::Started);
            }
            sqlx::query("UPDATE activity_signups SET status = 'cancelled', updated_at = $2 WHERE id = $1")
                .bind(sid)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let was_confirmed = status == "confirmed";
            let mut promoted = None;
            if was_confirmed {
                let (confirmed,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM activity_signups WHERE activity_id = $1 AND status = 'confirmed'")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                if confirmed < a.capacity {
                    let next: Option<(i64, String)> = sqlx::query_as("SELECT id, openid FROM activity_signups WHERE activity_id = $1 AND status = 'waiting' ORDER BY queued_at, id LIMIT 1")
                        .bind(id).fetch_optional(&mut *tx).await?;
                    if let Some((next_id, next_openid)) = next {
                        let reminded = (now >= reminder_moment(&a, remind_hour)).then_some(now);
                        sqlx::query("UPDATE activity_signups SET status = 'confirmed', updated_at = $2, reminded_at = $3 WHERE id = $1")
                            .bind(next_id)
                            .bind(now)
                            .bind(reminded)
                            .execute(&mut *tx)
                            .await?;
                        promoted = Some(next_openid);
                    }
                }
            }
            tx.commit().await?;
            (a, Cancelled { was_confirmed, promoted })
        }))
    }

    /// Checks a reader in, from `opens_before` seconds before the start until the end. Readers
    /// without a place are welcome too (walk-ins), and recorded as such.
    pub async fn activity_checkin(
        &self,
        id: i64,
        openid: &str,
        via: &str,
        now: i64,
        opens_before: i64,
    ) -> Result<(Activity, CheckinOutcome), ActivityError> {
        let a = self.activity(id).await?.ok_or(ActivityError::NotFound(id))?;
        if now < a.starts_at - opens_before {
            return Err(ActivityError::CheckinNotOpen(a.starts_at - opens_before));
        }
        if now >= a.ends_at {
            return Err(ActivityError::Over);
        }
        let confirmed: Option<(i64,)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT id FROM activity_signups WHERE activity_id = $1 AND openid = $2 AND status = 'confirmed'"
        )
        .bind(id)
        .bind(openid)
        .fetch_optional(pool)
        .await?);
        let signed_up = confirmed.is_some();
        let sql = "INSERT INTO activity_checkins (activity_id, openid, at, signed_up, via) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (activity_id, openid) DO NOTHING";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(openid)
            .bind(now)
            .bind(signed_up as i64)
            .bind(via)
            .execute(pool)
            .await?
            .rows_affected());
        if n == 1 {
            return Ok((a, CheckinOutcome::CheckedIn { signed_up }));
        }
        let at = self.reader_checkin(id, openid).await?.unwrap_or(now);
        Ok((a, CheckinOutcome::AlreadyCheckedIn { at }))
    }

    /// Records an attendee's feedback: a rating of 1 to 5 and a comment, once.
    pub async fn give_activity_feedback(&self, id: i64, openid: &str, rating: i64, comment: &str, now: i64) -> Result<(), ActivityError> {
        if self.activity(id).await?.is_none() {
            return Err(ActivityError::NotFound(id));
        }
        if self.reader_checkin(id, openid).await?.is_none() {
            return Err(ActivityError::NotAttended);
        }
        let sql = "INSERT INTO activity_feedback (activity_id, openid, rating, comment, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (activity_id, openid) DO NOTHING";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(openid)
            .bind(rating)
            .bind(comment)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        if n == 0 {
            return Err(ActivityError::FeedbackGiven);
        }
        Ok(())
    }

    /// The reader's sign-up: status and, when waiting, the position.
    pub async fn reader_signup(&self, id: i64, openid: &str) -> Result<Option<SignupOutcome>, DbError> {
        let mine: Option<(i64, String, i64)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT id, status, queued_at FROM activity_signups WHERE activity_id = $1 AND openid = $2"
        )
        .bind(id)
        .bind(openid)
        .fetch_optional(pool)
        .await?);
        Ok(match mine {
            Some((_, status, _)) if status == "confirmed" => Some(SignupOutcome::AlreadyConfirmed),
            Some((sid, status, queued_at)) if status == "waiting" => {
                let sql = "SELECT COUNT(*) FROM activity_signups WHERE activity_id = $1 AND status = 'waiting' AND (queued_at < $2 OR (queued_at = $2 AND id <= $3))";
                let (position,): (i64,) =
                    with_pool!(self, |pool| sqlx::query_as(sql).bind(id).bind(queued_at).bind(sid).fetch_one(pool).await?);
                Some(SignupOutcome::AlreadyWaiting { position })
            }
            _ => None,
        })
    }

    pub async fn reader_checkin(&self, id: i64, openid: &str) -> Result<Option<i64>, DbError> {
        let row: Option<(i64,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT at FROM activity_checkins WHERE activity_id = $1 AND openid = $2")
                .bind(id)
                .bind(openid)
                .fetch_optional(pool)
                .await?);
        Ok(row.map(|(at,)| at))
    }

    pub async fn reader_feedback(&self, id: i64, openid: &str) -> Result<Option<i64>, DbError> {
        let row: Option<(i64,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT rating FROM activity_feedback WHERE activity_id = $1 AND openid = $2")
                .bind(id)
                .bind(openid)
                .fetch_optional(pool)
                .await?);
        Ok(row.map(|(r,)| r))
    }

    /// The activities a reader has a place or a waiting place in and that are not over, soonest
    /// first: (activity id, status).
    pub async fn reader_activities(&self, openid: &str, now: i64) -> Result<Vec<(i64, String)>, DbError> {
        let sql = "SELECT a.id, s.status FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
                   WHERE s.openid = $1 AND s.status <> 'cancelled' AND a.ends_at > $2 ORDER BY a.starts_at, a.id";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(openid).bind(now).fetch_all(pool).await?))
    }

    pub async fn activity_counts(&self, id: i64) -> Result<Counts, DbError> {
        let rows: Vec<(String, i64)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT status, COUNT(*) FROM activity_signups WHERE activity_id = $1 GROUP BY status")
                .bind(id)
                .fetch_all(pool)
                .await?);
        let (checked_in,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM activity_checkins WHERE activity_id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?);
        let get = |s: &str| rows.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
        Ok(Counts { confirmed: get("confirmed"), waiting: get("waiting"), checked_in })
    }

    /// Every sign-up of an activity in queue order (places, then the waiting list, then
    /// cancellations), with the check-in time of those who came.
    pub async fn activity_signups(&self, id: i64) -> Result<Vec<SignupRow>, DbError> {
        let sql = "SELECT s.openid, s.status, s.via, s.queued_at, s.reminded_at, c.at AS checked_in_at, b.card FROM activity_signups s \
                   LEFT JOIN activity_checkins c ON c.activity_id = s.activity_id AND c.openid = s.openid \
                   LEFT JOIN bindings b ON b.openid = s.openid WHERE s.activity_id = $1 \
                   ORDER BY CASE s.status WHEN 'confirmed' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END, s.queued_at, s.id";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, SignupRow>(sql).bind(id).fetch_all(pool).await?))
    }

    pub async fn activity_checkins(&self, id: i64) -> Result<Vec<CheckinRow>, DbError> {
        let sql = "SELECT c.openid, c.at, c.signed_up, c.via, b.card FROM activity_checkins c LEFT JOIN bindings b ON b.openid = c.openid \
                   WHERE c.activity_id = $1 ORDER BY c.at, c.openid";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, CheckinRow>(sql).bind(id).fetch_all(pool).await?))
    }

    pub async fn activity_feedback(&self, id: i64) -> Result<Vec<FeedbackRow>, DbError> {
        let sql = "SELECT openid, rating, comment, at FROM activity_feedback WHERE activity_id = $1 ORDER BY at, openid";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, FeedbackRow>(sql).bind(id).fetch_all(pool).await?))
    }

    /// Confirmed sign-ups not reminded yet, of activities starting within `horizon` seconds.
    pub async fn reminder_candidates(&self, now: i64, horizon: i64) -> Result<Vec<ReminderCandidate>, DbError> {
        let sql = "SELECT s.id AS signup_id, s.openid, s.activity_id FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
                   WHERE s.status = 'confirmed' AND s.reminded_at IS NULL AND a.starts_at > $1 AND a.starts_at <= $2 ORDER BY s.id";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, ReminderCandidate>(sql).bind(now).bind(now + horizon).fetch_all(pool).await?))
    }

    /// Claims a signup's reminder and queues it (a template message, `body`) in the outbox under
    /// `key`, in one transaction: a node that dies mid-run has done both or neither, so the
    /// reminder goes exactly once (the outbox sends it, retrying as it does). `false` when it
    /// was claimed before. `queued_at` is the outbox's (wall-clock) time.
    pub async fn queue_activity_reminder(
        &self,
        signup_id: i64,
        now: i64,
        openid: &str,
        body: &serde_json::Value,
        key: &str,
        queued_at: i64,
    ) -> Result<bool, DbError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let n =
                sqlx::query("UPDATE activity_signups SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL AND status = 'confirmed'")
                    .bind(signup_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if n == 1 {
                sqlx::query(crate::wechat::store::ENQUEUE_OUTBOX_SQL)
                    .bind(openid)
                    .bind(crate::wechat::store::TEMPLATE_ONLY)
                    .bind(body.to_string())
                    .bind(key)
                    .bind(queued_at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            n == 1
        }))
    }
}
