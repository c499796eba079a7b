-- WeChat's own figures for mass news messages (datacube/getarticletotal), kept beside wxlib's
-- read counts. WeChat names a sent article "<msg_data_id>_<index>", so each batch keeps the
-- msg_data_id the send call returned.
ALTER TABLE broadcast_batches ADD COLUMN msg_data_id INTEGER;
CREATE TABLE broadcast_wechat_figures (
    broadcast_id INTEGER PRIMARY KEY REFERENCES broadcasts (id) ON DELETE CASCADE,
    stat_date TEXT NOT NULL,
    target_user INTEGER NOT NULL,
    int_page_read_user INTEGER NOT NULL,
    int_page_read_count INTEGER NOT NULL,
    ori_page_read_user INTEGER NOT NULL,
    ori_page_read_count INTEGER NOT NULL,
    share_user INTEGER NOT NULL,
    share_count INTEGER NOT NULL,
    add_to_fav_user INTEGER NOT NULL,
    add_to_fav_count INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
);
