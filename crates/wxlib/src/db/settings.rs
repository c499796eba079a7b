//! Settings the app keeps in the store rather than in the configuration: values every node must
//! share and that are made once (the key that signs reader sessions).

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
}
