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
    checkpoint BIGINT,
    list_from BIGINT,
    list_started BIGINT,
    resume_token TEXT,
    requested_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE harvest_ids (
    identifier TEXT PRIMARY KEY,
    record_id TEXT NOT NULL
);
CREATE INDEX harvest_ids_record ON harvest_ids (record_id);
CREATE TABLE harvest_runs (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    full_harvest BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    outcome TEXT NOT NULL,
    pages BIGINT NOT NULL DEFAULT 0,
    added BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    deleted BIGINT NOT NULL DEFAULT 0,
    skipped BIGINT NOT NULL DEFAULT 0,
    message TEXT
);
CREATE INDEX harvest_runs_started ON harvest_runs (started_at);
CREATE TABLE harvest_skipped (
    run_id BIGINT NOT NULL,
    identifier TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX harvest_skipped_run ON harvest_skipped (run_id);
