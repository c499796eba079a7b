//! The keyword rules' table, and the version counter every node watches to know the rules moved.

use super::{Answer, MatchKind, Rule};
use crate::db::{Db, DbError};
use crate::with_pool;

type RuleRow = (i64, String, String, i64, String, String, String, String, String, String, i64);

fn rule_of(row: RuleRow) -> Option<Rule> {
    let (id, kind, pattern, priority, answer_kind, text, title, description, url, pic_url, enabled) = row;
    let answer = match answer_kind.as_str() {
        "article" => Answer::Article { title, description, url, pic_url },
        _ => Answer::Text(text),
    };
    Some(Rule { id, match_kind: MatchKind::parse(&kind)?, pattern, priority, answer, enabled: enabled != 0 })
}

macro_rules! rule_columns {
    () => {
        "id, match_kind, pattern, priority, answer_kind, answer_text, title, description, url, pic_url, enabled"
    };
}

fn answer_columns(a: &Answer) -> (&'static str, &str, &str, &str, &str, &str) {
    match a {
        Answer::Text(t) => ("text", t.as_str(), "", "", "", ""),
        Answer::Article { title, description, url, pic_url } => {
            ("article", "", title.as_str(), description.as_str(), url.as_str(), pic_url.as_str())
        }
    }
}

impl Db {
    pub async fn answer_rules_version(&self) -> Result<i64, DbError> {
        let (v,): (i64,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT version FROM answer_rules_version WHERE id = 1").fetch_one(pool).await?);
        Ok(v)
    }

    async fn bump_answer_rules_version(&self) -> Result<(), DbError> {
        with_pool!(self, |pool| sqlx::query("UPDATE answer_rules_version SET version = version + 1 WHERE id = 1")
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    /// Every rule, highest priority first.
    pub async fn answer_rules(&self) -> Result<Vec<Rule>, DbError> {
        let sql = concat!("SELECT ", rule_columns!(), " FROM answer_rules ORDER BY priority DESC, id");
        let rows: Vec<RuleRow> = with_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows.into_iter().filter_map(rule_of).collect())
    }

    pub async fn answer_rule(&self, id: i64) -> Result<Option<Rule>, DbError> {
        let sql = concat!("SELECT ", rule_columns!(), " FROM answer_rules WHERE id = $1");
        let row: Option<RuleRow> = with_pool!(self, |pool| sqlx::query_as(sql).bind(id).fetch_optional(pool).await?);
        Ok(row.and_then(rule_of))
    }

    /// Stores a validated rule; returns its id.
    pub async fn insert_answer_rule(&self, r: &Rule, now: i64) -> Result<i64, DbError> {
        let (kind, text, title, description, url, pic) = answer_columns(&r.answer);
        let sql = "INSERT INTO answer_rules (match_kind, pattern, priority, answer_kind, answer_text, title, description, url, pic_url, enabled, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id";
        let (id,): (i64,) = with_pool!(self, |pool| sqlx::query_as(sql)
            .bind(r.match_kind.as_str())
            .bind(&r.pattern)
            .bind(r.priority)
            .bind(kind)
            .bind(text)
            .bind(title)
            .bind(description)
            .bind(url)
            .bind(pic)
            .bind(i64::from(r.enabled))
            .bind(now)
            .fetch_one(pool)
            .await?);
        self.bump_answer_rules_version().await?;
        Ok(id)
    }

    /// Replaces a rule; false if there is no such rule.
    pub async fn update_answer_rule(&self, id: i64, r: &Rule, now: i64) -> Result<bool, DbError> {
        let (kind, text, title, description, url, pic) = answer_columns(&r.answer);
        let sql = "UPDATE answer_rules SET match_kind = $2, pattern = $3, priority = $4, answer_kind = $5, answer_text = $6, title = $7, \
                   description = $8, url = $9, pic_url = $10, enabled = $11, updated_at = $12 WHERE id = $1";
        let n = with_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(r.match_kind.as_str())
            .bind(&r.pattern)
            .bind(r.priority)
            .bind(kind)
            .bind(text)
            .bind(title)
            .bind(description)
            .bind(url)
            .bind(pic)
            .bind(i64::from(r.enabled))
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected());
        self.bump_answer_rules_version().await?;
        Ok(n == 1)
    }

    pub async fn delete_answer_rule(&self, id: i64) -> Result<bool, DbError> {
        let n =
            with_pool!(self, |pool| sqlx::query("DELETE FROM answer_rules WHERE id = $1").bind(id).execute(pool).await?.rows_affected());
        self.bump_answer_rules_version().await?;
        Ok(n == 1)
    }
}
