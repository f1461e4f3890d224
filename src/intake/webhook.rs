//! The webhook endpoint: a fast trigger, never the source of truth.
//!
//! Verifies `X-Gitlab-Token` in constant time, or the Standard-Webhooks
//! `webhook-signature` when a signing token is configured (stale timestamps
//! rejected), de-duplicates deliveries by `Idempotency-Key`, enqueues only
//! (project, issue iid) and answers at once. The worker re-fetches the issue
//! with its own token, so nothing in the payload is trusted.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use subtle::ConstantTimeEq;

use crate::gitlab::webhook::{parse_webhook, verify_webhook_signature};
use crate::queue::Queue;

/// Oldest accepted `webhook-timestamp`, either way.
pub const MAX_TIMESTAMP_SKEW: Duration = Duration::from_secs(300);
/// How long an `Idempotency-Key` is remembered.
const DELIVERY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the endpoint needs.
#[derive(Clone)]
pub struct WebhookState {
    pub queue: Queue,
    /// Plain secret compared with `X-Gitlab-Token`.
    pub secret: Option<Arc<str>>,
    /// `whsec_...` signing token for `webhook-signature`.
    pub signing_token: Option<Arc<str>>,
    /// Projects this daemon watches; hooks for others are ignored.
    pub projects: Arc<[u64]>,
    pub metrics: crate::daemon::metrics::Metrics,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the delivery's credentials; `Err` carries the reason for the 401.
fn authenticate(
    state: &WebhookState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), &'static str> {
    if let (Some(signing), Some(signature)) =
        (&state.signing_token, header(headers, "webhook-signature"))
    {
        let id = header(headers, "webhook-id").ok_or("webhook-id missing")?;
        let ts = header(headers, "webhook-timestamp").ok_or("webhook-timestamp missing")?;
        let ts_secs: u64 = ts
            .parse()
            .map_err(|_| "webhook-timestamp is not a number")?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if now.abs_diff(ts_secs) > MAX_TIMESTAMP_SKEW.as_secs() {
            return Err("webhook-timestamp is stale");
        }
        return if verify_webhook_signature(signing, id, ts, body, signature) {
            Ok(())
        } else {
            Err("webhook-signature does not verify")
        };
    }
    if let Some(secret) = &state.secret {
        let given = header(headers, "x-gitlab-token").unwrap_or("");
        return if bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
            Ok(())
        } else {
            Err("X-Gitlab-Token does not match")
        };
    }
    // A signing token is configured but this delivery is unsigned, and no secret is set.
    Err("delivery is not signed")
}

/// `POST /webhook`.
pub async fn receive(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    if let Err(reason) = authenticate(&state, &headers, &body) {
        state.metrics.webhook("rejected");
        tracing::warn!(reason, "webhook rejected");
        return (StatusCode::UNAUTHORIZED, "unauthorized\n");
    }
    let event_name = header(&headers, "x-gitlab-event").unwrap_or("");
    let event = match parse_webhook(event_name, &body) {
        Ok(e) => e,
        Err(err) => {
            state.metrics.webhook("unparsable");
            tracing::info!(event = event_name, error = %err, "webhook ignored");
            return (StatusCode::OK, "ignored\n");
        }
    };
    if !state.projects.contains(&event.project_id) {
        state.metrics.webhook("other-project");
        return (StatusCode::OK, "ignored: project not watched\n");
    }
    let key = header(&headers, "idempotency-key").or_else(|| header(&headers, "webhook-id"));
    if let Some(key) = key {
        match state
            .queue
            .remember_delivery(&format!("hook:{key}"), DELIVERY_TTL)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                state.metrics.webhook("duplicate");
                return (StatusCode::OK, "duplicate\n");
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot record webhook delivery");
                return (StatusCode::SERVICE_UNAVAILABLE, "queue unavailable\n");
            }
        }
    }
    match state
        .queue
        .enqueue(event.project_id, event.issue_iid, "webhook")
        .await
    {
        Ok(_) => {
            state.metrics.webhook("enqueued");
            (StatusCode::ACCEPTED, "queued\n")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot enqueue from webhook");
            // GitLab retries on 5xx; the poller catches it up anyway.
            (StatusCode::SERVICE_UNAVAILABLE, "queue unavailable\n")
        }
    }
}
