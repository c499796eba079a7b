//! One integration-test binary for the app: each module drives the real `Application` (port 0,
//! a fresh database) or the real store.
#![allow(clippy::unwrap_used, reason = "a test may unwrap: a panic is the failure, with the value")]
#![allow(clippy::print_stderr, reason = "a test says on stderr what it skipped (no PostgreSQL, no poppler-utils)")]

/// Activities through their life: sign-up, waiting list, reminder, QR check-in, feedback.
mod activities;
/// Keyword answers and the consultation inbox: rules, routing, storage, the window.
mod answers;
/// Access-token handling against the API stand-in: refresh once and retry once on token errors.
mod api_client;
/// Mass news messages: the send job's store on both databases, batches with clientmsgid, a
/// resumed send that sends nobody twice, unique readers and the read rate.
mod broadcasts;
/// Callback edge cases in-process: retries, concurrency, rejections.
mod callback;
/// The librarians' console foundation: sign-in, sessions, CSRF, roles, audit, create-admin.
mod console;
/// The 5-second rule: slow handlers answer `success` and deliver by customer-service message.
mod deadline;
/// The deploy kit in deploy/: its configuration and secrets start a server; the unit and the
/// image run that command.
mod deploy;
/// Shared harness: test apps, databases on both backends, a stand-in for WeChat's API.
mod helpers;
/// Library news through the console and the simulated phone: menu editor, opening hours, new
/// resources, pages and the guide series.
mod news;
/// Notices from the library system (built-in): hold ready, cannot renew, 到书提醒, each once.
mod notices;
/// Partner libraries: one wxlib searching another over SRU, CQL ranked as our search, the console page.
mod partners;
/// Reach: channel posters, attribution funnel, referrals, analytics, the auditable draw.
mod reach;
/// Due-date reminders with a fake clock: one digest per reader per day, across a restart.
mod reminders;
/// Issue 18's security findings and the probes that held, one test per property.
mod security;
/// wxlib against the simulator's WeChat API stand-in: token errors, window rules, menus.
mod simulator;
/// The storage conformance story, run on SQLite and on PostgreSQL.
mod storage;
/// Upgrade safety and backups: a store from a newer wxlib is refused; backups restore; the
/// fixtures of earlier releases migrate forward with their data.
mod upgrade;
