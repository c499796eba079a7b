//! Library news' tables: places and their weekly hours and exceptions, the editable pages and the
//! guide series' deliveries, the curated e-resources (new books are the catalog's records).

use super::hours::{DayHours, HoursException, Interval, Place, format_intervals, parse_intervals};
use super::resources::EResource;
use crate::clock::{day_string, weekday};
use crate::db::{Db, DbError};
use crate::with_pool;

/// Opening hours.
impl Db {
    pub async fn places(&self) -> Result<Vec<Place>, DbError> {
        let rows: Vec<(i64, String, String)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT id, name, name_en FROM news_places ORDER BY position, id")
                .fetch_all(pool)
                .await?);
        Ok(rows.into_iter().map(|(id, name, name_en)| Place { id, name, name_en }).collect())
    }

    /// Adds a place, open as `weekly` on every weekday to start with.
    pub async fn add_place(&self, name: &str, name_en: &str, weekly: &[Interval]) -> Result<i64, DbError> {
        let (id,): (i64,) = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let row: (i64,) = sqlx::query_as("INSERT INTO news_places (name, name_en, position) VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM news_places)) RETURNING id")
                .bind(name)
                .bind(name_en)
                .fetch_one(&mut *tx)
                .await?;
            for wd in 1..=7i64 {
                sqlx::query("INSERT INTO news_weekly_hours (place_id, weekday, intervals) VALUES ($1, $2, $3)")
                    .bind(row.0)
                    .bind(wd)
                    .bind(format_intervals(weekly))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            row
        });
        Ok(id)
    }

    pub async fn delete_place(&self, id: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM news_weekly_hours WHERE place_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM news_hours_exceptions WHERE place_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM news_places WHERE id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The weekly schedule of a place: 7 entries, Monday first.
    pub async fn weekly_hours(&self, place_id: i64) -> Result<Vec<Vec<Interval>>, DbError> {
        let rows: Vec<(i64, String)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT weekday, intervals FROM news_weekly_hours WHERE place_id = $1")
                .bind(place_id)
                .fetch_all(pool)
                .await?);
        let mut week = vec![Vec::new(); 7];
        for (wd, iv) in rows {
            if (1..=7).contains(&wd) {
                week[(wd - 1) as usize] = parse_intervals(&iv).unwrap_or_default();
            }
        }
        Ok(week)
    }

    /// Replaces a place's weekly schedule (7 days, Monday first) in one transaction.
    pub async fn set_weekly_hours(&self, place_id: i64, week: &[Vec<Interval>]) -> Result<(), DbError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (i, day) in week.iter().enumerate().take(7) {
                let sql = "INSERT INTO news_weekly_hours (place_id, weekday, intervals) VALUES ($1, $2, $3) ON CONFLICT (place_id, weekday) DO UPDATE SET intervals = excluded.intervals";
                sqlx::query(sql).bind(place_id).bind(i as i64 + 1).bind(format_intervals(day)).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Exceptions whose last day is on or after `from_day` (`YYYY-MM-DD` compares as text).
    pub async fn hours_exceptions(&self, from_day: &str) -> Result<Vec<HoursException>, DbError> {
        let sql = "SELECT id, place_id, first_day, last_day, intervals, reason, announced_at FROM news_hours_exceptions WHERE last_day >= $1 ORDER BY first_day, place_id";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, HoursException>(sql).bind(from_day).fetch_all(pool).await?))
    }

    pub async fn hours_exception(&self, id: i64) -> Result<Option<HoursException>, DbError> {
        let sql = "SELECT id, place_id, first_day, last_day, intervals, reason, announced_at FROM news_hours_exceptions WHERE id = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, HoursException>(sql).bind(id).fetch_optional(pool).await?))
    }

    /// An existing exception of the place overlapping the days, if any.
    pub async fn overlapping_exception(&self, place_id: i64, first_day: &str, last_day: &str) -> Result<Option<HoursException>, DbError> {
        let sql =
            "SELECT id FROM news_hours_exceptions WHERE place_id = $1 AND first_day <= $3 AND last_day >= $2 ORDER BY first_day LIMIT 1";
        let row: Option<(i64,)> =
            with_pool!(self, |pool| sqlx::query_as(sql).bind(place_id).bind(first_day).bind(last_day).fetch_optional(pool).await?);
        match row {
            Some((id,)) => self.hours_exception(id).await,
            None => Ok(None),
        }
    }

    pub async fn add_hours_exception(
        &self,
        place_id: i64,
        first_day: &str,
        last_day: &str,
        intervals: &[Interval],
        reason: &str,
        now: i64,
    ) -> Result<i64, DbError> {
        let sql = "INSERT INTO news_hours_exceptions (place_id, first_day, last_day, intervals, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(place_id)
            .bind(first_day)
            .bind(last_day)
            .bind(format_intervals(intervals))
            .bind(reason)
            .bind(now)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    pub async fn delete_hours_exception(&self, id: i64) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| sqlx::query("DELETE FROM news_hours_exceptions WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    pub async fn mark_exception_announced(&self, id: i64, at: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE news_hours_exceptions SET announced_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Every place's hours on a day.
    pub async fn hours_on(&self, days: i64) -> Result<Vec<DayHours>, DbError> {
        let day = day_string(days);
        let wd = weekday(days);
        let mut out = Vec::new();
        for place in self.places().await? {
            let sql = "SELECT intervals, reason FROM news_hours_exceptions WHERE place_id = $1 AND first_day <= $2 AND last_day >= $2 ORDER BY id DESC LIMIT 1";
            let exception: Option<(String, String)> =
                with_pool!(self, |pool| sqlx::query_as(sql).bind(place.id).bind(&day).fetch_optional(pool).await?);
            let (intervals, reason) = match exception {
                Some((iv, reason)) => (parse_intervals(&iv).unwrap_or_default(), Some(reason)),
                None => {
                    let row: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as(
                        "SELECT intervals FROM news_weekly_hours WHERE place_id = $1 AND weekday = $2"
                    )
                    .bind(place.id)
                    .bind(wd)
                    .fetch_optional(pool)
                    .await?);
                    (row.map(|(iv,)| parse_intervals(&iv).unwrap_or_default()).unwrap_or_default(), None)
                }
            };
            out.push(DayHours { place, intervals, reason });
        }
        Ok(out)
    }
}

/// The pages and the guide series.
impl Db {
    pub async fn save_page(&self, slug: &str, title: &str, body: &str, by: i64, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO news_pages (slug, title, body, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (slug) DO UPDATE SET title = excluded.title, body = excluded.body, updated_at = excluded.updated_at, updated_by = excluded.updated_by";
        with_pool!(self, |pool| sqlx::query(sql).bind(slug).bind(title).bind(body).bind(now).bind(by).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// A page as librarians saved it: (title, body, updated_at).
    pub async fn saved_page(&self, slug: &str) -> Result<Option<(String, String, i64)>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as("SELECT title, body, updated_at FROM news_pages WHERE slug = $1")
            .bind(slug)
            .fetch_optional(pool)
            .await?))
    }

    /// Schedules part `part` of the guide for a reader; `false` if it was scheduled before (a
    /// reader gets each part at most once).
    pub async fn schedule_guide_part(
        &self,
        openid: &str,
        part: i64,
        due_at: i64,
        status: &str,
        note: Option<&str>,
        done_at: Option<i64>,
    ) -> Result<bool, DbError> {
        let sql = "INSERT INTO news_guide_deliveries (openid, part, due_at, status, note, done_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (openid, part) DO NOTHING";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(openid)
            .bind(part)
            .bind(due_at)
            .bind(status)
            .bind(note)
            .bind(done_at)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(n == 1)
    }

    /// The parts due by `now`, oldest first (at most 500 a run): (id, openid, part).
    pub async fn guide_parts_due(&self, now: i64) -> Result<Vec<(i64, String, i64)>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as(
            "SELECT id, openid, part FROM news_guide_deliveries WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT 500"
        )
        .bind(now)
        .fetch_all(pool)
        .await?))
    }

    /// Records what became of a due part (if no other node did first).
    pub async fn finish_guide_part(&self, id: i64, status: &str, note: &str, now: i64) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query(
            "UPDATE news_guide_deliveries SET status = $2, note = $3, done_at = $4 WHERE id = $1 AND status = 'pending'"
        )
        .bind(id)
        .bind(status)
        .bind(note)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// (status, count) of all deliveries, and the latest ones that met a closed window.
    pub async fn guide_delivery_report(&self) -> Result<(Vec<(String, i64)>, Vec<(String, i64, Option<i64>)>), DbError> {
        let counts: Vec<(String, i64)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT status, COUNT(*) FROM news_guide_deliveries GROUP BY status ORDER BY status")
                .fetch_all(pool)
                .await?);
        let closed: Vec<(String, i64, Option<i64>)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT openid, part, done_at FROM news_guide_deliveries WHERE status = 'window_closed' ORDER BY done_at DESC LIMIT 20"
        )
        .fetch_all(pool)
        .await?);
        Ok((counts, closed))
    }
}

/// E-resources and new books.
impl Db {
    pub async fn eresources(&self) -> Result<Vec<EResource>, DbError> {
        let rows: Vec<(i64, String, String, String, String, String)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT id, name, url, access_note, subject, added_on FROM news_eresources ORDER BY added_on DESC, id DESC"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(id, name, url, access_note, subject, added_on)| EResource { id, name, url, access_note, subject, added_on })
            .collect())
    }

    pub async fn add_eresource(&self, r: &EResource, now: i64) -> Result<i64, DbError> {
        let sql = "INSERT INTO news_eresources (name, url, access_note, subject, added_on, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(&r.name)
            .bind(&r.url)
            .bind(&r.access_note)
            .bind(&r.subject)
            .bind(&r.added_on)
            .bind(now)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    pub async fn delete_eresource(&self, id: i64) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as("DELETE FROM news_eresources WHERE id = $1 RETURNING name")
            .bind(id)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(n,)| n))
    }
}
