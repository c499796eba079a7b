-- Mass news messages ("graphic" messages to all followers or a tag): the article as composed,
-- its images, the send as a persistent job (composed → queued → uploading → sending → sent, or
-- failed), the recipients frozen at send time in numbered batches (each batch one mass/send call
-- with its own deterministic clientmsgid, so a restart resumes without sending twice), and the
-- unique readers of wxlib's article page with when each read it.
CREATE TABLE broadcasts (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL DEFAULT '',
    body_html TEXT NOT NULL,
    cover BYTEA,
    cover_type TEXT,
    cover_media_id TEXT,
    cover_url TEXT,
    target_tag_id BIGINT,
    state TEXT NOT NULL DEFAULT 'composed',
    error TEXT,
    followers_at_send BIGINT,
    local_followers_at_send BIGINT,
    batch_count BIGINT,
    batches_done BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    queued_by TEXT,
    queued_at BIGINT,
    sent_at BIGINT,
    wechat_total BIGINT,
    wechat_sent BIGINT,
    wechat_reads BIGINT
);
CREATE INDEX broadcasts_state ON broadcasts (state);
CREATE TABLE broadcast_images (
    id BIGSERIAL PRIMARY KEY,
    broadcast_id BIGINT NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    wechat_url TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX broadcast_images_broadcast ON broadcast_images (broadcast_id);
CREATE TABLE broadcast_recipients (
    broadcast_id BIGINT NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    openid TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, seq)
);
CREATE TABLE broadcast_batches (
    broadcast_id BIGINT NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    batch_no BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    draft_media_id TEXT,
    msg_id BIGINT,
    state TEXT NOT NULL DEFAULT 'pending',
    sent_at BIGINT,
    wechat_status TEXT,
    wechat_total BIGINT,
    wechat_sent BIGINT,
    PRIMARY KEY (broadcast_id, batch_no)
);
CREATE INDEX broadcast_batches_msg ON broadcast_batches (msg_id);
CREATE TABLE broadcast_reads (
    broadcast_id BIGINT NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    via TEXT NOT NULL,
    first_read_at BIGINT NOT NULL,
    last_read_at BIGINT NOT NULL,
    views BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (broadcast_id, reader)
);
CREATE INDEX broadcast_reads_at ON broadcast_reads (broadcast_id, first_read_at);
