-- OAI-PMH harvesting of the catalog (issue 20 item 1). One state row per source (base URL,
-- metadataPrefix and set): the checkpoint (the provider's datestamp the last complete harvest
-- covers, NULL before the first), the list in progress (its `from`, the responseDate of its
-- first page, the token of its next page) and a pending "harvest now". Each page's records, its
-- state and its run's counts are committed in one transaction, so a killed harvest resumes
-- where it stopped. harvest_ids maps each OAI identifier to the record (MARC 001) it brought,
-- for deletions; harvest_runs and harvest_skipped are what the console shows.
CREATE TABLE harvest_state (
    source TEXT PRIMARY KEY,
    granularity TEXT,
    checkpoint INTEGER,
    list_from INTEGER,
    list_started INTEGER,
    resume_token TEXT,
    requested_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE TABLE harvest_ids (
    identifier TEXT PRIMARY KEY,
    record_id TEXT NOT NULL
);
CREATE INDEX harvest_ids_record ON harvest_ids (record_id);
CREATE TABLE harvest_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    full_harvest INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE INDEX harvest_runs_started ON harvest_runs (started_at);
CREATE TABLE harvest_skipped (
    run_id INTEGER NOT NULL,
    identifier TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX harvest_skipped_run ON harvest_skipped (run_id);
