//! Settings the app keeps in the store rather than in the configuration: values every node must
//! share (the key that signs reader sessions) and what librarians set in the console (the saved
//! and the published menu, the guide series).

use super::{Db, DbError};

impl Db {
    /// A secret kept in the database so every node signs the same way; created on first use.
    pub async fn setting_or_init(&self, name: &str, init: impl FnOnce() -> String) -> Result<String, DbError> {
        let value = init();
        with_pool!(self, |pool| sqlx::query("INSERT INTO app_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&value)
            .execute(pool)
            .await?
            .rows_affected());
        let (v,): (String,) =
            with_pool!(self, |pool| sqlx::query_as("SELECT value FROM app_settings WHERE name = $1").bind(name).fetch_one(pool).await?);
        Ok(v)
    }
    /// A setting written by the console (created or replaced).
    pub async fn put_setting(&self, name: &str, value: &str) -> Result<(), DbError> {
        let sql = "INSERT INTO app_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value";
        with_pool!(self, |pool| sqlx::query(sql).bind(name).bind(value).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn setting(&self, name: &str) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = with_pool!(self, |pool| sqlx::query_as("SELECT value FROM app_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(v,)| v))
    }
}
