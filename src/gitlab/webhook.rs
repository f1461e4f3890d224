//! GitLab webhooks: Standard-Webhooks signatures (GitLab 19.0+), the legacy secret token, and
//! parsing a delivery into the few facts intake needs.
//!
//! Signature: `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{raw body}")),
//! with key = base64-decode(signing token without `whsec_`). The header may list several
//! space-separated signatures (key rotation); any valid `v1` entry verifies.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::client::GitLabError;

/// Standard Webhooks' default tolerance for `webhook-timestamp`, in seconds.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// Which hook family a delivery belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// `Issue Hook` / `Confidential Issue Hook`.
    Issue,
    /// `Note Hook` / `Confidential Note Hook`, for comments on issues only.
    Note,
}

/// What a delivery tells intake: which issue to re-fetch. Everything else is read by REST,
/// because hook bodies are unauthenticated input until verified and lack fields (`internal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub kind: HookKind,
    pub project_id: u64,
    pub issue_iid: u64,
    /// The issue is confidential: the payload's own flag, or (when the payload has none) a
    /// confidential event type. Erring towards `true` only costs a REST look-up.
    pub confidential: bool,
}

/// Compares the legacy `X-Gitlab-Token` header with the configured secret in constant time.
pub fn verify_secret_token(expected: &str, header: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(header.as_bytes()))
}

/// True when `webhook-timestamp` is within `tolerance_secs` of `now_unix` (either direction).
pub fn timestamp_is_fresh(timestamp: &str, now_unix: i64, tolerance_secs: i64) -> bool {
    timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|ts| (now_unix - ts).abs() <= tolerance_secs)
}

/// Normalises a hook date (`2015-05-17 17:06:40 UTC` or ISO 8601) to `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn normalize_hook_date(text: &str) -> Option<String> {
    super::time::normalize(text)
}

/// Reads the event header and body of a delivery.
///
/// # Errors
/// `BadRequest` for other events or comments on non-issues (answer 2xx and drop them, or
/// GitLab disables the hook); `Decode` for a body that is not a GitLab issue or note payload.
pub fn parse_webhook(event_header: &str, body: &[u8]) -> Result<WebhookEvent, GitLabError> {
    let event = event_header.trim();
    let (kind, confidential_event) = match event {
        "Issue Hook" => (HookKind::Issue, false),
        "Confidential Issue Hook" => (HookKind::Issue, true),
        "Note Hook" => (HookKind::Note, false),
        "Confidential Note Hook" => (HookKind::Note, true),
        other => {
            return Err(GitLabError::BadRequest {
                message: format!(
                    "unsupported webhook event {other:?}: enable only issue, confidential issue, comment and confidential comment events"
                ),
            })
        }
    };
    // Position only: serde's messages can quote the payload.
    let payload: Value = serde_json::from_slice(body).map_err(|err| {
        GitLabError::Decode(format!(
            "webhook body is not JSON ({:?} error at line {} column {})",
            err.classify(),
            err.line(),
            err.column()
        ))
    })?;
    let expected_kind = match kind {
        HookKind::Issue => "issue",
        HookKind::Note => "note",
    };
    let object_kind = payload.get("object_kind").and_then(Value::as_str);
    if object_kind != Some(expected_kind) {
        return Err(GitLabError::Decode(format!(
            "{event} carries object_kind {object_kind:?}, expected {expected_kind:?}"
        )));
    }
    let confidential_event = confidential_event
        || payload
            .get("event_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("confidential_"));
    let attributes = payload.get("object_attributes");
    let issue = match kind {
        HookKind::Issue => attributes,
        HookKind::Note => {
            let noteable_type = attributes
                .and_then(|a| a.get("noteable_type"))
                .and_then(Value::as_str);
            if noteable_type != Some("Issue") {
                return Err(GitLabError::BadRequest {
                    message: format!(
                        "comment on {noteable_type:?}, not on an issue: nothing to triage"
                    ),
                });
            }
            payload.get("issue")
        }
    };
    let issue_iid = issue
        .and_then(|i| i.get("iid"))
        .and_then(Value::as_u64)
        .ok_or_else(|| GitLabError::Decode(format!("{event} without an issue iid")))?;
    // `project.id` is the hook's project; `project_id` fields are fallbacks for trimmed bodies.
    let project_id = payload
        .pointer("/project/id")
        .and_then(Value::as_u64)
        .or_else(|| payload.get("project_id").and_then(Value::as_u64))
        .or_else(|| {
            issue
                .and_then(|i| i.get("project_id"))
                .and_then(Value::as_u64)
        })
        .ok_or_else(|| GitLabError::Decode(format!("{event} without a project id")))?;
    let confidential = issue
        .and_then(|i| i.get("confidential"))
        .and_then(Value::as_bool)
        .unwrap_or(confidential_event);
    Ok(WebhookEvent {
        kind,
        project_id,
        issue_iid,
        confidential,
    })
}

/// Shortest signing key accepted, in bytes. GitLab's keys are 32 random bytes; an empty or
/// short key would let anyone forge signatures.
pub const MIN_SIGNING_KEY_BYTES: usize = 16;

/// Why a signing token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningKeyError {
    #[error("the signing token has no key after whsec_: copy the whole token GitLab shows")]
    Empty,
    #[error("the signing token's key is {0} bytes, fewer than {MIN_SIGNING_KEY_BYTES}: copy the whole token GitLab shows")]
    TooShort(usize),
}

/// The `webhook-signature` value for a delivery (`v1,<base64>`).
///
/// # Panics
/// If the signing token is unusable ([`signing_key`]); only the fake GitLab and tests sign.
pub fn sign_webhook(signing_token: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(signing_token, id, &timestamp.to_string(), body)
        .expect("sign_webhook needs a usable signing token");
    format!("v1,{}", BASE64.encode(digest))
}

/// Checks a `webhook-signature` header in constant time. `timestamp` is the header text as
/// received (it is part of the signed message byte for byte). Check freshness separately with
/// [`timestamp_is_fresh`]. Fails closed: an unusable signing token verifies nothing.
pub fn verify_webhook_signature(
    signing_token: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
) -> bool {
    let Ok(expected) = mac(signing_token, id, timestamp, body) else {
        return false;
    };
    let mut any_valid = false;
    for entry in header.split_whitespace() {
        let Some(signature) = entry.strip_prefix("v1,") else {
            continue;
        };
        let Ok(signature) = BASE64.decode(signature) else {
            continue;
        };
        // Keep scanning after a match so timing does not reveal which entry matched.
        any_valid |= bool::from(signature.as_slice().ct_eq(expected.as_slice()));
    }
    any_valid
}

fn mac(
    signing_token: &str,
    id: &str,
    timestamp: &str,
    body: &[u8],
) -> Result<Vec<u8>, SigningKeyError> {
    let key = signing_key(signing_token)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .map_err(|_| SigningKeyError::TooShort(key.len()))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Key bytes: base64 after `whsec_`. A token that is not base64 is used as raw bytes, as some
/// Standard Webhooks libraries do, so signing and verifying always agree.
///
/// # Errors
/// An empty key, or one shorter than [`MIN_SIGNING_KEY_BYTES`]: such a key would let anyone
/// sign deliveries, so it is refused at startup and verifies nothing at run time.
pub fn signing_key(signing_token: &str) -> Result<Vec<u8>, SigningKeyError> {
    let encoded = signing_token
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(signing_token.trim());
    if encoded.is_empty() {
        return Err(SigningKeyError::Empty);
    }
    let key = BASE64
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    if key.len() < MIN_SIGNING_KEY_BYTES {
        return Err(SigningKeyError::TooShort(key.len()));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn sign_and_verify_round_trip() {
        let header = sign_webhook(TOKEN, "id-1", 1_700_000_000, b"{}");
        assert!(verify_webhook_signature(
            TOKEN,
            "id-1",
            "1700000000",
            b"{}",
            &header
        ));
        assert!(!verify_webhook_signature(
            TOKEN,
            "id-2",
            "1700000000",
            b"{}",
            &header
        ));
        assert!(!verify_webhook_signature(
            TOKEN,
            "id-1",
            "1700000001",
            b"{}",
            &header
        ));
        assert!(!verify_webhook_signature(
            TOKEN,
            "id-1",
            "1700000000",
            b"{ }",
            &header
        ));
        // Several entries (rotation): any valid v1 entry verifies; junk is skipped.
        let rotated = format!("v1,AAAA v2,xyz {header}");
        assert!(verify_webhook_signature(
            TOKEN,
            "id-1",
            "1700000000",
            b"{}",
            &rotated
        ));
        assert!(!verify_webhook_signature(
            TOKEN,
            "id-1",
            "1700000000",
            b"{}",
            "v1,!!!"
        ));
        assert!(!verify_webhook_signature(
            TOKEN,
            "id-1",
            "1700000000",
            b"{}",
            ""
        ));
    }

    #[test]
    fn empty_or_short_signing_keys_verify_nothing() {
        // An empty key is a key anyone knows: a delivery "signed" with it must not pass.
        let forged = {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"").unwrap();
            mac.update(b"id-1.1700000000.{}");
            format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
        };
        for token in ["whsec_", "whsec_  ", "", "whsec_AAAA", "short"] {
            assert!(
                !verify_webhook_signature(token, "id-1", "1700000000", b"{}", &forged),
                "{token:?} verified a forged signature"
            );
            assert!(signing_key(token).is_err(), "{token:?} accepted as a key");
        }
        assert_eq!(signing_key(TOKEN).unwrap().len(), 32);
    }

    #[test]
    fn freshness_and_secret_token() {
        assert!(timestamp_is_fresh("1000", 1200, 300));
        assert!(timestamp_is_fresh("1500", 1200, 300));
        assert!(!timestamp_is_fresh("800", 1200, 300));
        assert!(!timestamp_is_fresh("soon", 1200, 300));
        assert!(verify_secret_token("s3cret", "s3cret"));
        assert!(!verify_secret_token("s3cret", "s3cre"));
        assert!(!verify_secret_token("", ""));
    }

    #[test]
    fn rejects_other_events_and_non_issue_notes() {
        let body = br#"{"object_kind":"push"}"#;
        assert!(matches!(
            parse_webhook("Push Hook", body),
            Err(GitLabError::BadRequest { .. })
        ));
        let mr_note = br#"{"object_kind":"note","project":{"id":1},"object_attributes":{"noteable_type":"MergeRequest"}}"#;
        assert!(matches!(
            parse_webhook("Note Hook", mr_note),
            Err(GitLabError::BadRequest { .. })
        ));
        assert!(matches!(
            parse_webhook("Issue Hook", b"not json"),
            Err(GitLabError::Decode(_))
        ));
        assert!(matches!(
            parse_webhook("Issue Hook", br#"{"object_kind":"note"}"#),
            Err(GitLabError::Decode(_))
        ));
    }

    #[test]
    fn note_without_issue_flag_follows_event_type() {
        let body = br#"{"object_kind":"note","event_type":"confidential_note","project_id":5,"object_attributes":{"noteable_type":"Issue"},"issue":{"iid":17}}"#;
        let event = parse_webhook("Confidential Note Hook", body).unwrap();
        assert_eq!(
            event,
            WebhookEvent {
                kind: HookKind::Note,
                project_id: 5,
                issue_iid: 17,
                confidential: true
            }
        );
    }

    #[test]
    fn hook_dates_in_both_forms() {
        assert_eq!(
            normalize_hook_date("2015-05-17 17:06:40 UTC").as_deref(),
            Some("2015-05-17T17:06:40.000Z")
        );
        assert_eq!(
            normalize_hook_date("2013-12-03T17:15:43Z").as_deref(),
            Some("2013-12-03T17:15:43.000Z")
        );
    }
}
