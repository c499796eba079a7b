//! Reach's tables: channels (poster QR codes), referral codes, the auditable draws; and the
//! analytics' reads over the other features' tables (follows, clicks, searches, bindings,
//! activities, news messages, consultations).

use super::console::BroadcastRead;
use super::draw::Draw;
use super::{Channel, EARLY_UNFOLLOW_SECS, Funnel};
use crate::db::{Db, DbError};
use crate::with_pool;

/// Channels and referral codes.
impl Db {
    pub async fn channels(&self) -> Result<Vec<Channel>, DbError> {
        let sql = "SELECT id, name, caption, scene, ticket, url, created_at FROM reach_channels ORDER BY id";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Channel>(sql).fetch_all(pool).await?))
    }

    pub async fn channel(&self, id: i64) -> Result<Option<Channel>, DbError> {
        let sql = "SELECT id, name, caption, scene, ticket, url, created_at FROM reach_channels WHERE id = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Channel>(sql).bind(id).fetch_optional(pool).await?))
    }

    pub(super) async fn insert_channel(
        &self,
        name: &str,
        caption: &str,
        scene: &str,
        ticket: &str,
        url: &str,
        now: i64,
    ) -> Result<i64, DbError> {
        let sql = "INSERT INTO reach_channels (name, caption, scene, ticket, url, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(name)
            .bind(caption)
            .bind(scene)
            .bind(ticket)
            .bind(url)
            .bind(now)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    /// The reader's referral code: (scene, ticket, url).
    pub async fn referral_of(&self, openid: &str) -> Result<Option<(String, String, String)>, DbError> {
        let sql = "SELECT scene, ticket, url FROM reach_referrals WHERE openid = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(openid).fetch_optional(pool).await?))
    }

    /// The funnel of one scene (see [`Funnel`]).
    pub async fn funnel(&self, scene: &str) -> Result<Funnel, DbError> {
        let followed = format!("qrscene_{scene}");
        let renew = crate::circulation::chat::MENU_RENEW;
        let sql = "SELECT \
            (SELECT COUNT(*) FROM event_log WHERE event = 'SCAN' AND event_key = $1), \
            (SELECT COUNT(DISTINCT openid) FROM event_log WHERE event = 'subscribe' AND event_key = $2), \
            (SELECT COUNT(DISTINCT e.openid) FROM event_log e JOIN bindings b ON b.openid = e.openid WHERE e.event = 'subscribe' AND e.event_key = $2), \
            (SELECT COUNT(DISTINCT e.openid) FROM event_log e WHERE e.event = 'subscribe' AND e.event_key = $2 AND \
                (EXISTS (SELECT 1 FROM search_log q WHERE q.openid = e.openid) \
                 OR EXISTS (SELECT 1 FROM event_log r WHERE r.openid = e.openid AND r.event = 'CLICK' AND r.event_key = $3))), \
            (SELECT COUNT(DISTINCT e.openid) FROM event_log e WHERE e.event = 'subscribe' AND e.event_key = $2 AND \
                EXISTS (SELECT 1 FROM event_log u WHERE u.openid = e.openid AND u.event = 'unsubscribe' \
                        AND u.created_at >= e.created_at AND u.created_at <= e.created_at + $4))";
        let (scans, follows, bound, active, lost_7d): (i64, i64, i64, i64, i64) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(scene)
            .bind(&followed)
            .bind(renew)
            .bind(EARLY_UNFOLLOW_SECS)
            .fetch_one(pool)
            .await?);
        Ok(Funnel { scans, follows, bound, active, lost_7d })
    }

    /// Referrers and the readers who followed through their codes and bound a card by `until`:
    /// (referrer, referred), the first follow's scene deciding who gets the credit.
    pub async fn referred_binders(&self, until: i64) -> Result<Vec<(String, String)>, DbError> {
        let sql = "SELECT r.openid, f.openid FROM reach_referrals r JOIN followers f ON f.first_scene = r.scene \
                   JOIN bindings b ON b.openid = f.openid WHERE b.bound_at <= $1 AND f.openid <> r.openid ORDER BY r.openid, f.openid";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(until).fetch_all(pool).await?))
    }

    /// Records a reader's referral code (a concurrent ask may have recorded theirs first).
    pub async fn insert_referral(&self, openid: &str, scene: &str, ticket: &str, url: &str, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO reach_referrals (openid, scene, ticket, url, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (openid) DO NOTHING";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(openid)
            .bind(scene)
            .bind(ticket)
            .bind(url)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// The QR address of a referral code's scene.
    pub async fn referral_url(&self, scene: &str) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as("SELECT url FROM reach_referrals WHERE scene = $1")
            .bind(scene)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(u,)| u))
    }

    /// Every referral code's scene.
    pub async fn referral_scenes(&self) -> Result<Vec<String>, DbError> {
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as("SELECT scene FROM reach_referrals").fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }
}

/// The draws.
impl Db {
    pub async fn draws(&self) -> Result<Vec<Draw>, DbError> {
        let sql = "SELECT id, title, seed, commitment, committed_at, freeze_at, winners, drawn_at FROM reach_draws ORDER BY id DESC";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Draw>(sql).fetch_all(pool).await?))
    }

    pub async fn draw(&self, id: i64) -> Result<Option<Draw>, DbError> {
        let sql = "SELECT id, title, seed, commitment, committed_at, freeze_at, winners, drawn_at FROM reach_draws WHERE id = $1";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Draw>(sql).bind(id).fetch_optional(pool).await?))
    }

    /// (entry, openid) of a drawn draw, sorted; and the winners (entry, openid) by rank.
    pub async fn draw_results(&self, id: i64) -> Result<(Vec<(String, String)>, Vec<(String, String)>), DbError> {
        let e = "SELECT entry, openid FROM reach_draw_entries WHERE draw_id = $1 ORDER BY entry";
        let w = "SELECT entry, openid FROM reach_draw_winners WHERE draw_id = $1 ORDER BY rank";
        let entries: Vec<(String, String)> = with_pool!(self, |pool| sqlx::query_as(e).bind(id).fetch_all(pool).await?);
        let winners: Vec<(String, String)> = with_pool!(self, |pool| sqlx::query_as(w).bind(id).fetch_all(pool).await?);
        let mut entries = entries;
        // Byte order, whatever the database's collation.
        entries.sort();
        Ok((entries, winners))
    }

    /// A new draw with its secret seed and published commitment; returns its id.
    pub async fn insert_draw(
        &self,
        title: &str,
        seed: &str,
        commitment: &str,
        now: i64,
        freeze_at: i64,
        winners: i64,
    ) -> Result<i64, DbError> {
        let sql = "INSERT INTO reach_draws (title, seed, commitment, committed_at, freeze_at, winners) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(title)
            .bind(seed)
            .bind(commitment)
            .bind(now)
            .bind(freeze_at)
            .bind(winners)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    /// Readers bound by `at` (a draw's entries).
    pub async fn bound_by(&self, at: i64) -> Result<Vec<String>, DbError> {
        let rows: Vec<(String,)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT openid FROM bindings WHERE bound_at <= $1").bind(at).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(o,)| o).collect())
    }

    /// Records a draw's outcome — its entries and its winners (entry, openid), in rank order —
    /// all or none. `false` when it was drawn before (another node, a second click).
    pub async fn record_draw(
        &self,
        id: i64,
        now: i64,
        entries: &[(String, String)],
        winners: &[(String, String)],
    ) -> Result<bool, DbError> {
        Ok(with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query("UPDATE reach_draws SET drawn_at = $1 WHERE id = $2 AND drawn_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if claimed == 0 {
                return Ok(false);
            }
            for (e, o) in entries {
                sqlx::query("INSERT INTO reach_draw_entries (draw_id, entry, openid) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(e)
                    .bind(o)
                    .execute(&mut *tx)
                    .await?;
            }
            for (rank, (e, o)) in winners.iter().enumerate() {
                sqlx::query("INSERT INTO reach_draw_winners (draw_id, rank, entry, openid) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(rank as i64)
                    .bind(e)
                    .bind(o)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            true
        }))
    }
}

/// The analytics' reads.
impl Db {
    /// Whether a table exists (other features' tables are read when their branch is merged).
    pub async fn table_exists(&self, name: &str) -> Result<bool, DbError> {
        let sql = match self {
            Db::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            Db::Postgres(_) => "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1 AND table_schema = current_schema()",
        };
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql).bind(name).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// The last ten news messages sent, with their readers on the whole and on the first day.
    pub async fn broadcast_read_rates(&self) -> Result<Vec<BroadcastRead>, DbError> {
        let sql = "SELECT b.title, b.sent_at, COALESCE(b.followers_at_send, 0) AS followers_at_send, \
                   (SELECT COUNT(*) FROM broadcast_reads r WHERE r.broadcast_id = b.id) AS readers, \
                   (SELECT COUNT(*) FROM broadcast_reads r WHERE r.broadcast_id = b.id AND r.first_read_at <= b.sent_at + 86400) AS read_first_day \
                   FROM broadcasts b WHERE b.sent_at IS NOT NULL ORDER BY b.sent_at DESC LIMIT 10";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, BroadcastRead>(sql).fetch_all(pool).await?))
    }

    /// Each question to the librarians and when it was first answered: (asked_at, answered_at).
    pub async fn consultation_waits(&self) -> Result<Vec<(i64, Option<i64>)>, DbError> {
        let sql = "SELECT i.created_at, (SELECT MIN(o.created_at) FROM consult_messages o WHERE o.openid = i.openid AND o.direction = 'out' AND o.created_at >= i.created_at) \
                   FROM consult_messages i WHERE i.direction = 'in'";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }

    /// Follows and unfollows since `since`: (event, at).
    pub async fn follow_events_since(&self, since: i64) -> Result<Vec<(String, i64)>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as(
            "SELECT event, created_at FROM event_log WHERE event IN ('subscribe', 'unsubscribe') AND created_at >= $1"
        )
        .bind(since)
        .fetch_all(pool)
        .await?))
    }

    /// Follows since `since` with their scene key: (event_key, at).
    pub async fn follows_since(&self, since: i64) -> Result<Vec<(Option<String>, i64)>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as(
            "SELECT event_key, created_at FROM event_log WHERE event = 'subscribe' AND created_at >= $1"
        )
        .bind(since)
        .fetch_all(pool)
        .await?))
    }

    /// The most clicked menu keys: (key, clicks).
    pub async fn menu_clicks(&self) -> Result<Vec<(String, i64)>, DbError> {
        let sql = "SELECT event_key, COUNT(*) FROM event_log WHERE event = 'CLICK' AND event_key IS NOT NULL GROUP BY event_key ORDER BY COUNT(*) DESC, event_key LIMIT 20";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }

    /// The most searched queries: (query, searches).
    pub async fn top_queries(&self) -> Result<Vec<(String, i64)>, DbError> {
        let sql = "SELECT query, COUNT(*) FROM search_log GROUP BY query ORDER BY COUNT(*) DESC, query LIMIT 10";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }

    /// The most searched queries that found nothing: (query, searches).
    pub async fn zero_hit_queries(&self) -> Result<Vec<(String, i64)>, DbError> {
        let sql = "SELECT query, COUNT(*) FROM search_log WHERE hits = 0 GROUP BY query ORDER BY COUNT(*) DESC, query LIMIT 10";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?))
    }

    /// Followers with a bound card.
    pub async fn bound_followers(&self) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as(
            "SELECT COUNT(*) FROM bindings b JOIN followers f ON f.openid = b.openid WHERE f.subscribed = 1"
        )
        .fetch_one(pool)
        .await?);
        Ok(n)
    }

    /// The last ten activities: (title, confirmed places, capacity, signed-up readers who came).
    pub async fn activity_figures(&self) -> Result<Vec<(String, i64, i64, i64)>, DbError> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT a.title, (SELECT COUNT(*) FROM activity_signups g WHERE g.activity_id = a.id AND g.status = 'confirmed'), a.capacity, \
                 (SELECT COUNT(*) FROM activity_checkins c WHERE c.activity_id = a.id AND c.signed_up = 1) FROM activities a ORDER BY a.starts_at DESC LIMIT 10",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
