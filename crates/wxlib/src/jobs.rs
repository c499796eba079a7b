//! Scheduled jobs in a table that works on both databases: each job has its next run time and a
//! lease, so on several nodes exactly one runs it, and a restart neither skips nor repeats a run.

use std::time::Duration;

/// How often the scheduler looks for due jobs.
pub const TICK: Duration = Duration::from_secs(30);
