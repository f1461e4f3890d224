//! Retry policy: how many attempts a job gets and how long it waits between them.

use std::time::Duration;

/// Default for [`QueueConfig::max_attempts`].
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Default for [`QueueConfig::base_backoff`].
pub const DEFAULT_BASE_BACKOFF: Duration = Duration::from_secs(2);
/// Default for [`QueueConfig::max_backoff`].
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Retry policy shared by every job of a queue.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Attempts (claims, including reclaims after an expired lease) before a job is
    /// dead-lettered. Default 8.
    pub max_attempts: u32,
    /// Upper bound of the first retry's wait; it doubles with each attempt. Default 2 s.
    pub base_backoff: Duration,
    /// No retry waits longer than this, even when the server asked for more. Default 15 min.
    pub max_backoff: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_backoff: DEFAULT_BASE_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }
}

/// How long to wait before retrying a job whose attempt number `attempts` just failed.
///
/// Exponential with full jitter: a uniform draw from `[0, base * 2^(attempts-1)]`, so many
/// workers failing together (a GitLab outage) do not retry in lockstep. The wait is at least
/// `retry_after` when the server gave one, and never more than `max_backoff`.
pub fn backoff(attempts: u32, retry_after: Option<Duration>, config: &QueueConfig) -> Duration {
    backoff_with_jitter(attempts, retry_after, config, rand::random::<f64>())
}

/// [`backoff`] with the random draw passed in: `jitter` in `[0, 1]` scales the exponential
/// ceiling (values outside are clamped). Tests use it to pin the randomness.
pub fn backoff_with_jitter(
    attempts: u32,
    retry_after: Option<Duration>,
    config: &QueueConfig,
    jitter: f64,
) -> Duration {
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let waited = backoff_ceiling(attempts, config).mul_f64(jitter);
    waited
        .max(retry_after.unwrap_or(Duration::ZERO))
        .min(config.max_backoff)
}

/// `base * 2^(attempts-1)`, capped at `max_backoff`; attempt 0 is treated as attempt 1.
pub fn backoff_ceiling(attempts: u32, config: &QueueConfig) -> Duration {
    let doublings = attempts.saturating_sub(1);
    // 2^doublings overflows u32 from 32 doublings on; by then the cap has long applied.
    let factor = 2u32.checked_pow(doublings);
    factor
        .and_then(|factor| config.base_backoff.checked_mul(factor))
        .unwrap_or(config.max_backoff)
        .min(config.max_backoff)
}
