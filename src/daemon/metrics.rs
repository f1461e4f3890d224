//! Prometheus metrics for `/metrics`: queue depth by state, job and LLM
//! latency, tokens, GitLab 429s, notes posted, internal-flag alarms.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

/// All metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    pub queue_depth: Family<StateLabel, Gauge>,
    pub jobs: Family<OutcomeLabel, Counter>,
    pub job_seconds: Histogram,
    pub llm_seconds: Histogram,
    pub llm_tokens: Family<KindLabel, Counter>,
    pub gitlab_rate_limited: Gauge<u64, AtomicU64>,
    pub notes_posted: Counter,
    pub internal_flag_alarms: Counter,
    pub webhooks: Family<OutcomeLabel, Counter>,
    /// Poll rounds of one project that failed (GitLab or queue errors).
    pub poll_failures: Counter,
    /// Seconds since the last poll round in which every project was polled; -1 before the first.
    pub seconds_since_last_good_poll: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// Safety alarms raised and not yet cleared (from the queue database).
    pub alarms_active: Gauge,
    /// Maintainers' decisions recorded by this process, by outcome and the engine version of
    /// the suggestion decided on.
    pub decisions: Family<DecisionLabel, Counter>,
    /// Share of decided suggestions a maintainer accepted (at scrape time).
    pub acceptance_rate: Gauge<f64, std::sync::atomic::AtomicU64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct DecisionLabel {
    pub outcome: String,
    pub engine_version: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sectriage");
        let m = Metrics {
            registry: Arc::new(Mutex::new(Registry::default())),
            queue_depth: Family::default(),
            jobs: Family::default(),
            job_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 16)),
            llm_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            llm_tokens: Family::default(),
            gitlab_rate_limited: Gauge::default(),
            notes_posted: Counter::default(),
            internal_flag_alarms: Counter::default(),
            webhooks: Family::default(),
            poll_failures: Counter::default(),
            seconds_since_last_good_poll: Gauge::default(),
            alarms_active: Gauge::default(),
            decisions: Family::default(),
            acceptance_rate: Gauge::default(),
        };
        registry.register(
            "queue_jobs",
            "Jobs in the queue by state",
            m.queue_depth.clone(),
        );
        registry.register("jobs", "Jobs finished, by outcome", m.jobs.clone());
        registry.register(
            "job_duration_seconds",
            "Time to process one job",
            m.job_seconds.clone(),
        );
        registry.register(
            "llm_duration_seconds",
            "Time of one LLM adjudication",
            m.llm_seconds.clone(),
        );
        registry.register(
            "llm_tokens",
            "LLM tokens by kind (prompt, completion, cached)",
            m.llm_tokens.clone(),
        );
        registry.register(
            "gitlab_rate_limited",
            "GitLab 429 answers seen by the client",
            m.gitlab_rate_limited.clone(),
        );
        registry.register(
            "notes_posted",
            "Suggestion notes posted",
            m.notes_posted.clone(),
        );
        registry.register(
            "internal_flag_alarms",
            "Notes GitLab saved without the internal flag (deleted at once)",
            m.internal_flag_alarms.clone(),
        );
        registry.register(
            "webhooks",
            "Webhook deliveries by outcome",
            m.webhooks.clone(),
        );
        registry.register(
            "poll_failures",
            "Polls of one project that failed",
            m.poll_failures.clone(),
        );
        registry.register(
            "seconds_since_last_good_poll",
            "Seconds since every watched project was last polled successfully (-1: never)",
            m.seconds_since_last_good_poll.clone(),
        );
        registry.register(
            "alarms_active",
            "Safety alarms raised and not cleared (posting is stopped while above 0)",
            m.alarms_active.clone(),
        );
        registry.register(
            "decisions",
            "Maintainers' decisions on suggestions, by outcome and the suggestion's engine version",
            m.decisions.clone(),
        );
        registry.register(
            "acceptance_rate",
            "Share of decisions that accepted the suggestion (accepted / all)",
            m.acceptance_rate.clone(),
        );
        *m.registry.lock().expect("metrics registry lock") = registry;
        m
    }

    pub fn webhook(&self, outcome: &str) {
        self.webhooks
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn decision(&self, outcome: &str, engine_version: Option<&str>) {
        self.decisions
            .get_or_create(&DecisionLabel {
                outcome: outcome.into(),
                engine_version: engine_version.unwrap_or("unknown").into(),
            })
            .inc();
    }

    pub fn job(&self, outcome: &str) {
        self.jobs
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = encode(&mut out, &registry);
        }
        out
    }
}
