//! The webhook endpoint: a fast trigger, never the source of truth.
//!
//! Verifies `X-Gitlab-Token` in constant time, or the Standard-Webhooks
//! `webhook-signature` when a signing token is configured (stale timestamps
//! rejected), de-duplicates deliveries (on the signed `webhook-id` when the
//! signature verified, else on `Idempotency-Key`), enqueues only
//! (project, issue iid) and answers at once. Fails closed: with no usable
//! secret or signing token every delivery is refused. The worker re-fetches the issue
//! with its own token, so nothing in the payload is trusted.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::gitlab::webhook::{
    parse_webhook, timestamp_is_fresh, verify_secret_token, verify_webhook_signature,
};
use crate::intake::poll::Intake;
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
    /// A dry run de-duplicates in its own namespace, so the live daemon still sees the delivery.
    pub intake: Intake,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// How a delivery proved itself, and the key it is de-duplicated on.
#[derive(Debug, PartialEq, Eq)]
enum Authenticated<'a> {
    /// A verified Standard-Webhooks signature: the signed `webhook-id` is the only key, so a
    /// replay with a fresh unsigned `Idempotency-Key` is still a duplicate.
    Signed { webhook_id: &'a str },
    /// The shared secret matched; GitLab's `Idempotency-Key` (or `webhook-id`) de-duplicates.
    Token,
}

/// Checks the delivery's credentials; `Err` carries the reason for the 401. Fails closed: an
/// empty secret or an unusable signing token authenticates nothing.
fn authenticate<'a>(
    state: &WebhookState,
    headers: &'a HeaderMap,
    body: &[u8],
) -> Result<Authenticated<'a>, &'static str> {
    if let (Some(signing), Some(signature)) =
        (&state.signing_token, header(headers, "webhook-signature"))
    {
        let id = header(headers, "webhook-id").ok_or("webhook-id missing")?;
        let ts = header(headers, "webhook-timestamp").ok_or("webhook-timestamp missing")?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        if !timestamp_is_fresh(ts, now, MAX_TIMESTAMP_SKEW.as_secs() as i64) {
            return Err("webhook-timestamp is stale or not a number");
        }
        return if verify_webhook_signature(signing, id, ts, body, signature) {
            Ok(Authenticated::Signed { webhook_id: id })
        } else {
            Err("webhook-signature does not verify")
        };
    }
    if let Some(secret) = &state.secret {
        let given = header(headers, "x-gitlab-token").unwrap_or("");
        return if verify_secret_token(secret, given) {
            Ok(Authenticated::Token)
        } else {
            Err("X-Gitlab-Token does not match")
        };
    }
    if state.signing_token.is_some() {
        Err("delivery is not signed")
    } else {
        Err("no webhook secret or signing token is configured")
    }
}

/// `POST /webhook`.
pub async fn receive(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let auth = match authenticate(&state, &headers, &body) {
        Ok(auth) => auth,
        Err(reason) => {
            state.metrics.webhook("rejected");
            tracing::warn!(reason, "webhook rejected");
            return (StatusCode::UNAUTHORIZED, "unauthorized\n");
        }
    };
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
    let key = match auth {
        Authenticated::Signed { webhook_id } => Some(format!("signed:{webhook_id}")),
        Authenticated::Token => header(&headers, "idempotency-key")
            .or_else(|| header(&headers, "webhook-id"))
            .map(str::to_string),
    };
    let ns = state.intake.namespace();
    // The delivery key and the job are recorded in one transaction: a failure records
    // neither, so GitLab's retry of this delivery is not answered "duplicate" without a job.
    let recorded = match &key {
        Some(key) => {
            state
                .queue
                .enqueue_once(
                    &format!("{ns}hook:{key}"),
                    DELIVERY_TTL,
                    event.project_id,
                    event.issue_iid,
                    "webhook",
                )
                .await
        }
        None => state
            .queue
            .enqueue(event.project_id, event.issue_iid, "webhook")
            .await
            .map(Some),
    };
    match recorded {
        Ok(Some(_)) => {
            state.metrics.webhook("enqueued");
            (StatusCode::ACCEPTED, "queued\n")
        }
        Ok(None) => {
            state.metrics.webhook("duplicate");
            (StatusCode::OK, "duplicate\n")
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot enqueue from webhook");
            // GitLab retries on 5xx; the poller catches it up anyway.
            (StatusCode::SERVICE_UNAVAILABLE, "queue unavailable\n")
        }
    }
}
