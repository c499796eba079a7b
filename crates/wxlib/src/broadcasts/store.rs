//! The tables behind mass news messages (migration 0009), in SQL both SQLite and PostgreSQL run.

use std::collections::HashMap;

use super::figures::WeChatFigures;
use super::{BroadcastError, Draft, Image};
use crate::db::{Db, DbError};
use crate::with_pool;

/// A message as stored (without the image bytes).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Broadcast {
    pub id: i64,
    pub title: String,
    pub author: String,
    pub digest: String,
    pub body_html: String,
    pub cover_type: Option<String>,
    pub cover_media_id: Option<String>,
    pub cover_url: Option<String>,
    pub target_tag_id: Option<i64>,
    pub state: String,
    pub error: Option<String>,
    pub followers_at_send: Option<i64>,
    pub local_followers_at_send: Option<i64>,
    pub batch_count: Option<i64>,
    pub batches_done: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub queued_by: Option<String>,
    pub queued_at: Option<i64>,
    pub sent_at: Option<i64>,
    pub wechat_total: Option<i64>,
    pub wechat_sent: Option<i64>,
    pub wechat_reads: Option<i64>,
}

const COLUMNS: &str = "id, title, author, digest, body_html, cover_type, cover_media_id, cover_url, target_tag_id, state, error, \
    followers_at_send, local_followers_at_send, batch_count, batches_done, created_by, created_at, updated_at, queued_by, queued_at, \
    sent_at, wechat_total, wechat_sent, wechat_reads";

/// One list row: the message and its unique readers so far.
#[derive(Debug, Clone)]
pub struct Listed {
    pub broadcast: Broadcast,
    pub readers: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Batch {
    pub batch_no: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub draft_media_id: Option<String>,
    pub msg_id: Option<i64>,
    pub state: String,
}

/// The messages readers may open at `/news/{id}`: those being sent or sent, and a failed send that
/// reached some readers. A draft (and a message queued but not yet going out) is the librarians'
/// only: they preview it in the console. [`Broadcast::is_public`] says the same in Rust.
const PUBLIC: &str = "(state IN ('sending', 'sent') OR (state = 'failed' AND batches_done > 0))";

impl Broadcast {
    /// Whether readers may open this message (see [`PUBLIC`]).
    pub fn is_public(&self) -> bool {
        matches!(self.state.as_str(), "sending" | "sent") || (self.state == "failed" && self.batches_done > 0)
    }
}

/// States a send job is in while it still has work to do.
pub const ACTIVE_STATES: [&str; 3] = ["queued", "uploading", "sending"];

impl Db {
    pub async fn create_broadcast(&self, d: &Draft, cover: Option<&Image>, by: &str, now: i64) -> Result<i64, DbError> {
        let sql = "INSERT INTO broadcasts (title, author, digest, body_html, cover, cover_type, target_tag_id, state, created_by, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'composed', $8, $9, $9) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(&d.title)
            .bind(&d.author)
            .bind(&d.digest)
            .bind(&d.body_html)
            .bind(cover.map(|c| c.bytes.clone()))
            .bind(cover.map(|c| c.content_type.clone()))
            .bind(d.target_tag_id)
            .bind(by)
            .bind(now)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    /// Changes a message that has not been sent; a new cover forgets the uploaded one.
    pub async fn update_broadcast(&self, id: i64, d: &Draft, cover: Option<&Image>, now: i64) -> Result<(), BroadcastError> {
        let b = self.broadcast(id).await?.ok_or(BroadcastError::NotFound)?;
        if b.state != "composed" {
            return Err(BroadcastError::Locked(b.state));
        }
        let sql = "UPDATE broadcasts SET title = $2, author = $3, digest = $4, body_html = $5, target_tag_id = $6, updated_at = $7 WHERE id = $1 AND state = 'composed'";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(&d.title)
            .bind(&d.author)
            .bind(&d.digest)
            .bind(&d.body_html)
            .bind(d.target_tag_id)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        if let Some(c) = cover {
            let sql = "UPDATE broadcasts SET cover = $2, cover_type = $3, cover_media_id = NULL, cover_url = NULL WHERE id = $1";
            with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(&c.bytes).bind(&c.content_type).execute(pool).await?.rows_affected());
        }
        Ok(())
    }

    pub async fn broadcast(&self, id: i64) -> Result<Option<Broadcast>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM broadcasts WHERE id = $1");
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Broadcast>(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await?))
    }

    /// Every message, newest first, with its unique readers.
    pub async fn list_broadcasts(&self) -> Result<Vec<Listed>, DbError> {
        let sql = format!("SELECT {COLUMNS} FROM broadcasts ORDER BY id DESC");
        let rows: Vec<Broadcast> =
            with_pool!(self, |pool| sqlx::query_as::<_, Broadcast>(sqlx::AssertSqlSafe(sql.clone())).fetch_all(pool).await?);
        let counts: Vec<(i64, i64)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT broadcast_id, COUNT(*) FROM broadcast_reads GROUP BY broadcast_id")
                .fetch_all(pool)
                .await?);
        Ok(rows
            .into_iter()
            .map(|b| {
                let readers = counts.iter().find(|(id, _)| *id == b.id).map(|(_, n)| *n).unwrap_or(0);
                Listed { broadcast: b, readers }
            })
            .collect())
    }

    pub async fn broadcast_cover(&self, id: i64) -> Result<Option<Image>, DbError> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT cover, cover_type FROM broadcasts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?);
        Ok(row.and_then(|(b, t)| Some(Image { bytes: b?, content_type: t? })))
    }

    /// The cover of a message readers may open ([`PUBLIC`]).
    pub async fn public_broadcast_cover(&self, id: i64) -> Result<Option<Image>, DbError> {
        let sql = format!("SELECT cover, cover_type FROM broadcasts WHERE id = $1 AND {PUBLIC}");
        let row: Option<(Option<Vec<u8>>, Option<String>)> =
            with_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await?);
        Ok(row.and_then(|(b, t)| Some(Image { bytes: b?, content_type: t? })))
    }

    pub async fn add_broadcast_image(&self, broadcast_id: i64, img: &Image, now: i64) -> Result<i64, DbError> {
        let sql = "INSERT INTO broadcast_images (broadcast_id, content_type, bytes, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(broadcast_id)
            .bind(&img.content_type)
            .bind(&img.bytes)
            .bind(now)
            .fetch_one(pool)
            .await?);
        Ok(id)
    }

    pub async fn broadcast_image(&self, id: i64) -> Result<Option<Image>, DbError> {
        let row: Option<(String, Vec<u8>)> =
            with_pool!(self, |pool| sqlx::query_as("SELECT content_type, bytes FROM broadcast_images WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?);
        Ok(row.map(|(content_type, bytes)| Image { content_type, bytes }))
    }

    /// A body image of a message readers may open ([`PUBLIC`]).
    pub async fn public_broadcast_image(&self, id: i64) -> Result<Option<Image>, DbError> {
        let sql = format!(
            "SELECT i.content_type, i.bytes FROM broadcast_images i WHERE i.id = $1 \
             AND EXISTS (SELECT 1 FROM broadcasts WHERE broadcasts.id = i.broadcast_id AND {PUBLIC})"
        );
        let row: Option<(String, Vec<u8>)> =
            with_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(pool).await?);
        Ok(row.map(|(content_type, bytes)| Image { content_type, bytes }))
    }

    /// (image id, WeChat URL once uploaded) of a message's images.
    pub async fn broadcast_images(&self, broadcast_id: i64) -> Result<Vec<(i64, Option<String>)>, DbError> {
        Ok(with_pool!(self, |pool| sqlx::query_as("SELECT id, wechat_url FROM broadcast_images WHERE broadcast_id = $1 ORDER BY id")
            .bind(broadcast_id)
            .fetch_all(pool)
            .await?))
    }

    pub async fn set_image_wechat_url(&self, id: i64, url: &str) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE broadcast_images SET wechat_url = $2 WHERE id = $1")
            .bind(id)
            .bind(url)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn set_cover_material(&self, id: i64, media_id: &str, url: Option<&str>) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE broadcasts SET cover_media_id = $2, cover_url = $3 WHERE id = $1")
            .bind(id)
            .bind(media_id)
            .bind(url)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Puts a composed (or failed) message in the send queue. Returns false if it was not in a
    /// state that can be sent (already queued, sending or sent).
    pub async fn queue_broadcast(&self, id: i64, by: &str, now: i64) -> Result<bool, DbError> {
        // A failed job resumes where it stopped: before the recipients were frozen it uploads
        // again; after, it goes on with the batches not yet sent.
        let sql = "UPDATE broadcasts SET state = CASE WHEN batch_count IS NULL THEN 'queued' ELSE 'sending' END, error = NULL, \
                   queued_by = COALESCE(queued_by, $2), queued_at = COALESCE(queued_at, $3), updated_at = $3 \
                   WHERE id = $1 AND state IN ('composed', 'failed')";
        let n = with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(by).bind(now).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Messages whose send job has work to do, oldest first.
    pub async fn active_broadcasts(&self) -> Result<Vec<i64>, DbError> {
        let sql = "SELECT id FROM broadcasts WHERE state IN ('queued', 'uploading', 'sending') ORDER BY id";
        let rows: Vec<(i64,)> = with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn set_broadcast_state(&self, id: i64, state: &str, error: Option<&str>, now: i64) -> Result<(), DbError> {
        let sql = "UPDATE broadcasts SET state = $2, error = $3, updated_at = $4 WHERE id = $1";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(state).bind(error).bind(now).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Freezes who gets the message, in one transaction: the recipients in order, their batches
    /// (`sizes`), the follower counts at send time, and the move to `sending`. Either all of it
    /// is stored or none, so a crash here just repeats the step.
    pub async fn freeze_recipients(
        &self,
        id: i64,
        recipients: &[String],
        sizes: &[usize],
        local_followers: i64,
        now: i64,
    ) -> Result<(), DbError> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM broadcast_recipients WHERE broadcast_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM broadcast_batches WHERE broadcast_id = $1").bind(id).execute(&mut *tx).await?;
            for chunk in recipients.iter().enumerate().collect::<Vec<_>>().chunks(500) {
                let mut qb = crate::db::builder(pool, "INSERT INTO broadcast_recipients (broadcast_id, seq, openid) ");
                qb.push_values(chunk, |mut b, (seq, openid)| {
                    b.push_bind(id).push_bind(*seq as i64).push_bind((*openid).clone());
                });
                qb.build().execute(&mut *tx).await?;
            }
            let mut first = 0usize;
            for (k, size) in sizes.iter().enumerate() {
                sqlx::query("INSERT INTO broadcast_batches (broadcast_id, batch_no, first_seq, last_seq) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(k as i64)
                    .bind(first as i64)
                    .bind((first + size - 1) as i64)
                    .execute(&mut *tx)
                    .await?;
                first += size;
            }
            let state = if sizes.is_empty() { "sent" } else { "sending" };
            sqlx::query(
                "UPDATE broadcasts SET state = $2, followers_at_send = $3, local_followers_at_send = $4, batch_count = $5, batches_done = 0, \
                 sent_at = CASE WHEN $2 = 'sent' THEN $6 ELSE sent_at END, updated_at = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(state)
            .bind(recipients.len() as i64)
            .bind(local_followers)
            .bind(sizes.len() as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn broadcast_batches(&self, id: i64) -> Result<Vec<Batch>, DbError> {
        let sql = "SELECT batch_no, first_seq, last_seq, draft_media_id, msg_id, state FROM broadcast_batches WHERE broadcast_id = $1 ORDER BY batch_no";
        Ok(with_pool!(self, |pool| sqlx::query_as::<_, Batch>(sql).bind(id).fetch_all(pool).await?))
    }

    pub async fn batch_recipients(&self, id: i64, first: i64, last: i64) -> Result<Vec<String>, DbError> {
        let sql = "SELECT openid FROM broadcast_recipients WHERE broadcast_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq";
        let rows: Vec<(String,)> = with_pool!(self, |pool| sqlx::query_as(sql).bind(id).bind(first).bind(last).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(o,)| o).collect())
    }

    pub async fn set_batch_draft(&self, id: i64, batch_no: i64, media_id: Option<&str>) -> Result<(), DbError> {
        let sql = "UPDATE broadcast_batches SET draft_media_id = $3 WHERE broadcast_id = $1 AND batch_no = $2";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(batch_no).bind(media_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Records a batch as sent and, with the last one, the message: one transaction.
    pub async fn mark_batch_sent(&self, id: i64, batch_no: i64, msg_id: Option<i64>, now: i64) -> Result<bool, DbError> {
        let finished = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE broadcast_batches SET state = 'sent', msg_id = $3, sent_at = $4 WHERE broadcast_id = $1 AND batch_no = $2 AND state = 'pending'")
                .bind(id)
                .bind(batch_no)
                .bind(msg_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                sqlx::query("UPDATE broadcasts SET batches_done = batches_done + 1, updated_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let done: (i64, Option<i64>) =
                sqlx::query_as("SELECT batches_done, batch_count FROM broadcasts WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
            let finished = Some(done.0) >= done.1;
            if finished {
                sqlx::query("UPDATE broadcasts SET state = 'sent', sent_at = COALESCE(sent_at, $2) WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            finished
        });
        Ok(finished)
    }

    /// A reader opened the article: counted once per reader, with the first and latest time.
    /// Returns whether this reader is new.
    pub async fn record_read(&self, id: i64, reader: &str, via: &str, now: i64) -> Result<bool, DbError> {
        let sql = "INSERT INTO broadcast_reads (broadcast_id, reader, via, first_read_at, last_read_at, views) VALUES ($1, $2, $3, $4, $4, 1) \
                   ON CONFLICT (broadcast_id, reader) DO UPDATE SET last_read_at = excluded.last_read_at, views = broadcast_reads.views + 1 \
                   RETURNING views";
        let (views,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as(sql).bind(id).bind(reader).bind(via).bind(now).fetch_one(pool).await?);
        Ok(views == 1)
    }

    pub async fn broadcast_readers(&self, id: i64) -> Result<i64, DbError> {
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM broadcast_reads WHERE broadcast_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?);
        Ok(n)
    }

    /// First-read times of a message's readers, oldest first (for the reads-over-time chart).
    pub async fn read_times(&self, id: i64) -> Result<Vec<i64>, DbError> {
        let rows: Vec<(i64,)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT first_read_at FROM broadcast_reads WHERE broadcast_id = $1 ORDER BY first_read_at"
        )
        .bind(id)
        .fetch_all(pool)
        .await?);
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    /// WeChat's MASSSENDJOBFINISH for one of our batches: its status and counts. Returns whether
    /// the msg id was one of ours.
    pub async fn record_mass_job_finish(&self, msg_id: i64, status: &str, total: i64, sent: i64) -> Result<bool, DbError> {
        let n = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let row: Option<(i64,)> = sqlx::query_as("UPDATE broadcast_batches SET wechat_status = $2, wechat_total = $3, wechat_sent = $4 WHERE msg_id = $1 RETURNING broadcast_id")
                .bind(msg_id)
                .bind(status)
                .bind(total)
                .bind(sent)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((bid,)) = row {
                sqlx::query(
                    "UPDATE broadcasts SET wechat_total = (SELECT SUM(wechat_total) FROM broadcast_batches WHERE broadcast_id = $1), \
                     wechat_sent = (SELECT SUM(wechat_sent) FROM broadcast_batches WHERE broadcast_id = $1) WHERE id = $1",
                )
                .bind(bid)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            row.is_some()
        });
        Ok(n)
    }

    /// Messages sent (or being sent) since `since`: what counts against the monthly quota.
    pub async fn broadcasts_sent_since(&self, since: i64) -> Result<i64, DbError> {
        let sql = "SELECT COUNT(*) FROM broadcasts WHERE state IN ('sending', 'sent') AND queued_at >= $1";
        let (n,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql).bind(since).fetch_one(pool).await?);
        Ok(n)
    }
}

/// WeChat's own figures of the messages sent ([`super::figures`]).
impl Db {
    pub async fn set_batch_msg_data_id(&self, id: i64, batch_no: i64, msg_data_id: i64) -> Result<(), DbError> {
        let sql = "UPDATE broadcast_batches SET msg_data_id = $3 WHERE broadcast_id = $1 AND batch_no = $2";
        with_pool!(self, |pool| sqlx::query(sql).bind(id).bind(batch_no).bind(msg_data_id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// (broadcast id, msg_data_id, sent at) of batches sent since `since`.
    pub(super) async fn batches_sent_since(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, DbError> {
        let sql = "SELECT broadcast_id, msg_data_id, sent_at FROM broadcast_batches WHERE msg_data_id IS NOT NULL AND sent_at >= $1";
        Ok(with_pool!(self, |pool| sqlx::query_as(sql).bind(since).fetch_all(pool).await?))
    }

    pub async fn save_wechat_figures(&self, id: i64, f: &WeChatFigures, now: i64) -> Result<(), DbError> {
        let sql = "INSERT INTO broadcast_wechat_figures (broadcast_id, stat_date, target_user, int_page_read_user, int_page_read_count, \
                   ori_page_read_user, ori_page_read_count, share_user, share_count, add_to_fav_user, add_to_fav_count, fetched_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (broadcast_id) DO UPDATE SET \
                   stat_date = excluded.stat_date, target_user = excluded.target_user, int_page_read_user = excluded.int_page_read_user, \
                   int_page_read_count = excluded.int_page_read_count, ori_page_read_user = excluded.ori_page_read_user, \
                   ori_page_read_count = excluded.ori_page_read_count, share_user = excluded.share_user, share_count = excluded.share_count, \
                   add_to_fav_user = excluded.add_to_fav_user, add_to_fav_count = excluded.add_to_fav_count, fetched_at = excluded.fetched_at";
        with_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(&f.stat_date)
            .bind(f.target_user)
            .bind(f.int_page_read_user)
            .bind(f.int_page_read_count)
            .bind(f.ori_page_read_user)
            .bind(f.ori_page_read_count)
            .bind(f.share_user)
            .bind(f.share_count)
            .bind(f.add_to_fav_user)
            .bind(f.add_to_fav_count)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// WeChat's figures per message id, for the messages that have them.
    pub async fn wechat_figures(&self) -> Result<HashMap<i64, WeChatFigures>, DbError> {
        let sql = "SELECT broadcast_id, stat_date, target_user, int_page_read_user, int_page_read_count, ori_page_read_user, \
                   ori_page_read_count, share_user, share_count, add_to_fav_user, add_to_fav_count FROM broadcast_wechat_figures";
        #[derive(sqlx::FromRow)]
        struct Row {
            broadcast_id: i64,
            #[sqlx(flatten)]
            f: WeChatFigures,
        }
        let rows: Vec<Row> = with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|r| (r.broadcast_id, r.f)).collect())
    }
}
