//! The one runner of a node's background work: the search index sync, the outbox, the reminder
//! jobs, the guide series, the news-message sender, WeChat's figures and the journal's purge all
//! are a round of work repeated forever with a pause between ([`forever`]). Work that must run on
//! one node at a time at set times is a job in the store's jobs table, claimed when due
//! ([`run_if_due`]) — on several nodes exactly one runs it, and a restart neither skips nor
//! repeats a run.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::db::{Db, DbError};
use crate::web::error::Chain;

/// How often the scheduled jobs look whether they are due: also how soon after a node died
/// mid-run (and its claim ran out) another node runs the job.
pub const TICK: Duration = Duration::from_secs(5);

/// The wait after a round: `period`, cut short when `wake` is notified (new work queued here).
#[derive(Clone, Copy)]
pub struct Pause<'a> {
    pub period: Duration,
    pub wake: Option<&'a Notify>,
}

impl<'a> Pause<'a> {
    pub fn every(period: Duration) -> Self {
        Self { period, wake: None }
    }

    pub fn or_when(self, wake: &'a Notify) -> Self {
        Self { wake: Some(wake), ..self }
    }

    pub async fn wait(&self) {
        match self.wake {
            Some(wake) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(self.period) => {}
                }
            }
            None => tokio::time::sleep(self.period).await,
        }
    }
}

/// What a round says about the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// After the pause.
    Pause,
    /// At once: there may be more work waiting (a full batch was done).
    RightAway,
}

/// Runs `round` forever: a round, then the pause (or the next round at once when the round says
/// so). A failed round is logged, as `what` failed with its causes, and the next one comes after
/// the pause.
pub async fn forever<F, Fut, E>(what: &'static str, pause: Pause<'_>, mut round: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Next, E>>,
    E: std::error::Error + 'static,
{
    loop {
        match round().await {
            Ok(Next::RightAway) => continue,
            Ok(Next::Pause) => {}
            Err(e) => tracing::error!(error = %Chain(&e), "{what} failed"),
        }
        pause.wait().await;
    }
}

/// Registers the job `name` (first run at `first_run_at`, unless it is registered already) and
/// then asks `tick` every [`TICK`], forever. `tick` runs the job when it is due ([`run_if_due`]).
pub async fn scheduled<F, Fut, T, E>(what: &'static str, db: &Db, name: &str, first_run_at: i64, tick: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::error::Error + 'static,
{
    if let Err(e) = db.ensure_job(name, first_run_at).await {
        tracing::error!(error = %Chain(&e), job = name, "cannot register the job");
        return;
    }
    let mut tick = tick;
    forever(what, Pause::every(TICK), move || {
        let ran = tick();
        async move { ran.await.map(|_| Next::Pause) }
    })
    .await
}

/// Runs `run` if the job `name` is due and no other node runs it, and records its next run at
/// `next_run_at` whether it succeeded or not. `None` when it was not run. The claim is a short
/// lease in the jobs table (5 s, [`Db::claim_job`]) renewed every second on `clock`'s time
/// while `run` runs: a node that dies mid-run loses the job within seconds, and the next node's
/// tick runs it again (each job marks what it did, so nothing is done twice).
pub async fn run_if_due<T, E, Fut>(db: &Db, name: &str, clock: &Clock, next_run_at: i64, run: impl FnOnce() -> Fut) -> Result<Option<T>, E>
where
    E: From<DbError>,
    Fut: Future<Output = Result<T, E>>,
{
    let now = clock.now();
    let Some(claimed_until) = db.claim_job(name, now).await? else { return Ok(None) };
    tracing::info!(job = name, "job started on this node");
    let renewing = {
        let (db, name, clock) = (db.clone(), name.to_owned(), clock.clone());
        tokio::spawn(async move {
            let mut held = claimed_until;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                match db.renew_job(&name, held, clock.now()).await {
                    Ok(Some(until)) => held = until,
                    Ok(None) => {
                        tracing::warn!(job = %name, "job claim taken over by another node");
                        return;
                    }
                    Err(e) => tracing::warn!(job = %name, error = %Chain(&e), "could not renew a job's claim; trying again"),
                }
            }
        })
    };
    let result = run().await;
    renewing.abort();
    db.finish_job(name, now, next_run_at).await?;
    result.map(Some)
}

/// A named lease (the store's `leases` table) kept while a long piece of work runs: renewed
/// every [`HeldLease::RENEW_EVERY`] by a task of its own for `ttl_secs` from then, so the lease
/// can be short and a node that dies (SIGKILL) loses it within `ttl_secs` + 1 s (leases are whole
/// seconds), and another node takes the work over. Dropping it stops the renewals (it does not
/// release the lease). Take the lease first ([`Db::try_lease`]); this only keeps it.
pub struct HeldLease {
    renewing: tokio::task::JoinHandle<()>,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl HeldLease {
    /// How often the lease is renewed: a third of the shortest lease it is used with (3 s).
    pub const RENEW_EVERY: Duration = Duration::from_secs(1);

    pub fn keep(db: &Db, name: &str, holder: &str, ttl_secs: i64) -> Self {
        Self::keep_by(db, name, holder, ttl_secs, crate::db::unix_now)
    }

    /// [`HeldLease::keep`] with the time from `now` (the lease's other users' clock, e.g. the
    /// test-movable [`crate::clock::Clock`]).
    pub fn keep_by(db: &Db, name: &str, holder: &str, ttl_secs: i64, now: impl Fn() -> i64 + Send + 'static) -> Self {
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (db, name, holder, flag) = (db.clone(), name.to_owned(), holder.to_owned(), lost.clone());
        let renewing = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Self::RENEW_EVERY).await;
                match db.try_lease(&name, &holder, ttl_secs, now()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(lease = %name, "lease taken over by another node");
                        flag.store(true, std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                    Err(e) => tracing::warn!(lease = %name, error = %Chain(&e), "could not renew a lease; trying again"),
                }
            }
        });
        Self { renewing, lost }
    }

    /// Whether another node took the lease over (this node was too slow to renew it).
    pub fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}
