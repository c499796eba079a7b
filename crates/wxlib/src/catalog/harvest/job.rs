//! The server's harvests: every `catalog.harvest.interval_secs` after the last run ended, and at
//! once when someone pressed "harvest now" in the console (a request in the store, so the node
//! that runs it need not be the one that was asked). On several nodes one harvests at a time: the
//! run takes the `catalog_harvest` lease, and the others find the run just done and wait — or, when
//! the harvesting node died mid-run, resume its harvest once its lease runs out.

use std::time::Duration;

use super::store::HarvestRun;
use super::{HarvestError, LEASE, run_under_lease, source_key, take_lease};
use crate::db::{DbError, unix_now};
use crate::jobs::{Next, Pause, forever};
use crate::services::Services;

/// How often a node looks whether a harvest is due (or was asked for).
const LOOK: Duration = Duration::from_secs(5);

/// When the next harvest is due: at once when asked for (`requested_at`) or when the last run is
/// still `running` (on another node, which holds the lease, or on one that died mid-run: then this
/// node resumes it as soon as the dead node's lease has run out), else `interval_secs` after the
/// last run ended (at once when there was none); `None` when it runs only on demand.
pub fn next_run_at(interval_secs: u64, last: Option<&HarvestRun>, requested_at: Option<i64>) -> Option<i64> {
    if requested_at.is_some() {
        return requested_at;
    }
    if last.is_some_and(|r| r.outcome == "running") {
        return Some(0);
    }
    if interval_secs == 0 {
        return None;
    }
    let interval = i64::try_from(interval_secs).unwrap_or(i64::MAX);
    Some(last.map_or(0, |r| r.finished_at.unwrap_or(r.started_at).saturating_add(interval)))
}

/// Runs forever on this node (when a provider is configured).
pub async fn scheduler(s: Services) {
    let cfg = s.config.catalog.harvest.clone();
    if cfg.url.is_empty() {
        return;
    }
    let holder = format!("{:016x}", rand::random::<u64>());
    let source = source_key(&cfg);
    let (s, cfg, holder, source) = (&s, &cfg, &holder, &source);
    forever("catalog harvest", Pause::every(LOOK), move || async move {
        let due = || async {
            let asked = s.db.harvest_state(source).await?.and_then(|st| st.requested_at);
            let last = s.db.last_harvest_run(source).await?;
            Ok::<_, DbError>((next_run_at(cfg.interval_secs, last.as_ref(), asked).is_some_and(|at| at <= unix_now()), asked))
        };
        // Once due, the lease decides: a run alive on another node keeps it, a dead one's runs
        // out within seconds and this node resumes its harvest.
        if !due().await?.0 || !take_lease(&s.db, holder).await? {
            return Ok::<_, DbError>(Next::Pause);
        }
        // Under the lease, look again: the run seen `running` may have ended a moment ago.
        let (still_due, asked) = due().await?;
        if !still_due {
            s.db.release_lease(LEASE, holder).await?;
            return Ok(Next::Pause);
        }
        match run_under_lease(&s.db, cfg, holder, false).await {
            // The run logged its summary or its failure, and recorded it for the console.
            Ok(_)
            | Err(HarvestError::Fetch(_) | HarvestError::Response { .. } | HarvestError::TokenLoop | HarvestError::TokenRepeated(_)) => {}
            Err(HarvestError::Busy) => return Ok(Next::Pause),
            Err(HarvestError::Db(e)) => return Err(e),
            Err(e @ (HarvestError::NotConfigured | HarvestError::LeaseLost)) => tracing::warn!(error = %e, "catalog harvest stopped"),
        }
        if let Some(asked_at) = asked {
            s.db.clear_harvest_request(source, asked_at).await?;
        }
        Ok(Next::Pause)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(started_at: i64, finished_at: Option<i64>) -> HarvestRun {
        HarvestRun {
            id: 1,
            source: String::new(),
            full_harvest: 0,
            started_at,
            finished_at,
            outcome: "complete".into(),
            pages: 0,
            added: 0,
            updated: 0,
            deleted: 0,
            skipped: 0,
            message: None,
        }
    }

    #[test]
    fn the_next_run_is_an_interval_after_the_last_ended_or_at_once_when_asked() {
        assert_eq!(next_run_at(900, None, None), Some(0));
        assert_eq!(next_run_at(900, Some(&ran(1000, Some(1300))), None), Some(2200));
        assert_eq!(next_run_at(900, Some(&ran(1000, None)), None), Some(1900));
        // Still running (elsewhere, or on a node that died): due now, and the lease decides.
        let running = HarvestRun { outcome: "running".into(), ..ran(1000, None) };
        assert_eq!(next_run_at(900, Some(&running), None), Some(0));
        assert_eq!(next_run_at(0, Some(&ran(1000, Some(1300))), None), None);
        assert_eq!(next_run_at(0, None, Some(1500)), Some(1500));
        assert_eq!(next_run_at(900, Some(&ran(1000, Some(1300))), Some(1400)), Some(1400));
        assert_eq!(next_run_at(u64::MAX, Some(&ran(1000, Some(1300))), None), Some(i64::MAX));
    }
}
