//! The harvest's HTTP: one OAI-PMH GET, tried again when the provider is busy or unreachable.
//!
//! A 503 (or 429) with `Retry-After` is the protocol's "come back later" (OAI-PMH §3.1.3, used
//! by providers that rebuild their index or limit harvesters): its wait is honoured, up to
//! [`MAX_RETRY_AFTER`]. Network errors and other 5xx answers wait 1, 2, 4… seconds. Either way a
//! request is tried at most `max_attempts` times; then the run fails, naming the last problem.

use std::time::Duration;

use oai::Request;

/// The longest `Retry-After` honoured; a provider asking for more is asked again after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The first wait after a network error; it doubles with each attempt, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Why the provider could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Tried `attempts` times: the provider did not answer, or answered 5xx each time.
    #[error("{url}: no answer after {attempts} attempt(s): {last}")]
    Unavailable { url: String, attempts: u32, last: String },
    /// An answer no retry will change (404, 401, a redirect loop…).
    #[error("{url}: HTTP {status}")]
    Refused { url: String, status: u16 },
}

/// The provider at one base URL.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    base_url: String,
    max_attempts: u32,
    /// Requests made, retries included (for the summary and the metrics).
    pub requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Fetcher {
    pub fn new(base_url: &str, timeout: Duration, max_attempts: u32) -> Fetcher {
        let client = reqwest::Client::builder()
            .user_agent(concat!("wxlib/", env!("CARGO_PKG_VERSION"), " (OAI-PMH harvester)"))
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Fetcher { client, base_url: base_url.to_owned(), max_attempts: max_attempts.max(1), requests: Default::default() }
    }

    /// The body of the answer to `request` (HTTP 200), after the retries it needed.
    pub async fn get(&self, request: &Request) -> Result<Vec<u8>, FetchError> {
        let url = request.url(&self.base_url);
        let mut last = String::new();
        for attempt in 1..=self.max_attempts {
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let wait = match self.client.get(&url).send().await {
                Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                    Ok(body) => return Ok(body.to_vec()),
                    Err(e) => {
                        last = format!("the answer broke off: {}", short(&e));
                        backoff(attempt)
                    }
                },
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(retry_after);
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(FetchError::Refused { url, status: status.as_u16() });
                    }
                    last = format!("HTTP {}", status.as_u16());
                    match retry_after {
                        Some(wait) => {
                            last.push_str(&format!(" (Retry-After {} s)", wait.as_secs()));
                            wait.min(MAX_RETRY_AFTER)
                        }
                        None => backoff(attempt),
                    }
                }
                Err(e) => {
                    last = short(&e);
                    backoff(attempt)
                }
            };
            if attempt < self.max_attempts {
                tracing::warn!(%url, attempt, problem = %last, wait_secs = wait.as_secs_f64(), "OAI-PMH provider not answering; trying again");
                tokio::time::sleep(wait).await;
            }
        }
        Err(FetchError::Unavailable { url, attempts: self.max_attempts, last })
    }
}

/// The wait before attempt `attempt + 1` after a network error.
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(MAX_BACKOFF)
}

/// `Retry-After` in seconds (the HTTP-date form is rare from OAI providers; it is taken as
/// "unknown", and the doubling wait applies).
fn retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The error and its causes in one line (reqwest's own says only "error sending request").
fn short(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_are_bounded() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(10), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }
}
