//! The tower stack around the LLM for the daemon: a concurrency cap, a
//! request-rate limit and an overall timeout as layers, so the leaf (the
//! [`Adjudicator`]) only makes the call. The leaf keeps its own single retry
//! for 429/5xx and its response_format fallback, because both need the
//! request's content.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

use super::candidates::Candidate;
use super::Adjudicator;
use crate::triage::decide::{LlmFailure, LlmOutcome, TokenUsage};
use crate::triage::Evidence;

/// One adjudication: the evidence and the sanitised report text.
#[derive(Debug, Clone)]
pub struct AdjudicationRequest {
    pub evidence: Arc<Evidence>,
    pub report: Arc<str>,
    /// The candidate components offered for the model to pick.
    pub candidates: Arc<[Candidate]>,
}

/// Limits of the stack.
#[derive(Debug, Clone, Copy)]
pub struct StackLimits {
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls started per minute.
    pub per_minute: u64,
    /// Longest time for one adjudication, queueing in the stack included.
    pub timeout: Duration,
}

/// The leaf service: one call through the adjudicator.
#[derive(Clone)]
struct Leaf(Adjudicator);

impl Service<AdjudicationRequest> for Leaf {
    type Response = LlmOutcome;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<LlmOutcome, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: AdjudicationRequest) -> Self::Future {
        let adj = self.0.clone();
        Box::pin(async move {
            Ok(adj
                .adjudicate(&req.evidence, &req.report, &req.candidates)
                .await)
        })
    }
}

/// A cheap-to-clone handle on the stack.
#[derive(Clone)]
pub struct LlmStack {
    service: BoxCloneSyncService<AdjudicationRequest, LlmOutcome, BoxError>,
    model: String,
}

impl LlmStack {
    /// Builds the stack; must be called inside a tokio runtime (the buffer spawns a task).
    pub fn new(adjudicator: Adjudicator, limits: StackLimits) -> LlmStack {
        let model = adjudicator.config().model.clone();
        let service = ServiceBuilder::new()
            .timeout(limits.timeout)
            // The buffer makes the rate-limited service cloneable for every worker.
            .buffer(1024)
            .concurrency_limit(limits.concurrency.max(1))
            .rate_limit(limits.per_minute.max(1), Duration::from_secs(60))
            .service(Leaf(adjudicator));
        LlmStack {
            service: BoxCloneSyncService::new(service),
            model,
        }
    }

    /// Adjudicates through the stack; a stack error (timeout, overload) becomes a failed outcome.
    pub async fn adjudicate(
        &self,
        evidence: Arc<Evidence>,
        report: Arc<str>,
        candidates: Arc<[Candidate]>,
    ) -> LlmOutcome {
        let result = self
            .service
            .clone()
            .oneshot(AdjudicationRequest {
                evidence,
                report,
                candidates,
            })
            .await;
        result.unwrap_or_else(|e| {
            let timed_out = e.is::<tower::timeout::error::Elapsed>();
            let (kind, reason) = if timed_out {
                (LlmFailure::Timeout, "the LLM stack's overall timeout passed (queueing included); raise llm.timeout_secs or lower the load".to_string())
            } else {
                (LlmFailure::Unavailable, format!("the LLM stack refused the call: {e}"))
            };
            tracing::warn!(kind = kind.as_str(), detail = %reason, model = %self.model, "LLM adjudication failed; using the rules-only verdict");
            LlmOutcome::Failed {
            kind,
            reason,
            model: self.model.clone(),
            prompt_version: super::prompt::prompt_version(super::prompt::TEMPLATE_NAME, super::prompt::TEMPLATE),
            usage: TokenUsage::default(),
        }
        })
    }
}
