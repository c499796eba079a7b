-- WeChat's own figures for mass news messages (datacube/getarticletotal), kept beside wxlib's
-- read counts. WeChat names a sent article "<msg_data_id>_<index>", so each batch keeps the
-- msg_data_id the send call returned.
ALTER TABLE broadcast_batches ADD COLUMN msg_data_id BIGINT;
CREATE TABLE broadcast_wechat_figures (
    broadcast_id BIGINT PRIMARY KEY REFERENCES broadcasts (id) ON DELETE CASCADE,
    stat_date TEXT NOT NULL,
    target_user BIGINT NOT NULL,
    int_page_read_user BIGINT NOT NULL,
    int_page_read_count BIGINT NOT NULL,
    ori_page_read_user BIGINT NOT NULL,
    ori_page_read_count BIGINT NOT NULL,
    share_user BIGINT NOT NULL,
    share_count BIGINT NOT NULL,
    add_to_fav_user BIGINT NOT NULL,
    add_to_fav_count BIGINT NOT NULL,
    fetched_at BIGINT NOT NULL
);
