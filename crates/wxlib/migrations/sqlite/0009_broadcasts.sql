-- Mass news messages ("graphic" messages to all followers or a tag): the article as composed,
-- its images, the send as a persistent job (composed → queued → uploading → sending → sent, or
-- failed), the recipients frozen at send time in numbered batches (each batch one mass/send call
-- with its own deterministic clientmsgid, so a restart resumes without sending twice), and the
-- unique readers of wxlib's article page with when each read it.
CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    digest TEXT NOT NULL DEFAULT '',
    body_html TEXT NOT NULL,
    cover BLOB,
    cover_type TEXT,
    cover_media_id TEXT,
    cover_url TEXT,
    target_tag_id INTEGER,
    state TEXT NOT NULL DEFAULT 'composed',
    error TEXT,
    followers_at_send INTEGER,
    local_followers_at_send INTEGER,
    batch_count INTEGER,
    batches_done INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    queued_by TEXT,
    queued_at INTEGER,
    sent_at INTEGER,
    wechat_total INTEGER,
    wechat_sent INTEGER,
    wechat_reads INTEGER
);
CREATE INDEX broadcasts_state ON broadcasts (state);
CREATE TABLE broadcast_images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    wechat_url TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX broadcast_images_broadcast ON broadcast_images (broadcast_id);
CREATE TABLE broadcast_recipients (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    openid TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, seq)
);
CREATE TABLE broadcast_batches (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    batch_no INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    draft_media_id TEXT,
    msg_id INTEGER,
    state TEXT NOT NULL DEFAULT 'pending',
    sent_at INTEGER,
    wechat_status TEXT,
    wechat_total INTEGER,
    wechat_sent INTEGER,
    PRIMARY KEY (broadcast_id, batch_no)
);
CREATE INDEX broadcast_batches_msg ON broadcast_batches (msg_id);
CREATE TABLE broadcast_reads (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    via TEXT NOT NULL,
    first_read_at INTEGER NOT NULL,
    last_read_at INTEGER NOT NULL,
    views INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (broadcast_id, reader)
);
CREATE INDEX broadcast_reads_at ON broadcast_reads (broadcast_id, first_read_at);
