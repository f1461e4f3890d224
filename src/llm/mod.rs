//! The LLM edge: an OpenAI-compatible chat endpoint asked to adjudicate with
//! the deterministic evidence in hand.
//!
//! The model gets no tools. Its reply is parsed into fixed enums
//! ([`LlmOpinion`](crate::triage::decide::LlmOpinion)) right here; anything else is a failed call, after one
//! repair retry, and the engine falls back on the rules-only verdict. The
//! request asks for `response_format: json_schema`, falling back to
//! `json_object` and then to plain-text extraction for servers without them;
//! the fallback that worked is remembered for the next call.

pub mod cache;
pub mod candidates;
pub mod prompt;
pub mod skip;
pub mod stack;
pub mod wire;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::Client;
use serde_json::Value;

use crate::triage::decide::{LlmFailure, LlmOutcome, TokenUsage};
use crate::triage::Evidence;
pub use cache::{CacheMode, ResponseCache};

/// Default prompt budget in tokens; fits an 8k-context local model with room to answer.
pub const DEFAULT_MAX_PROMPT_TOKENS: usize = 6000;
/// Default answer budget in tokens: the coded answer takes about 40; a longer
/// answer is cut by the server, fails to parse and is repaired once.
pub const DEFAULT_MAX_COMPLETION_TOKENS: u32 = 120;
/// The naive baseline's answer budget (its recorded requests carry it).
pub const NAIVE_MAX_COMPLETION_TOKENS: u32 = 400;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Where and how to reach the model.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Base URL of the OpenAI-compatible API, ending in `/v1`.
    pub base_url: String,
    pub model: String,
    /// Bearer key; local servers ignore it.
    pub api_key: String,
    /// Per-request timeout.
    pub timeout: Duration,
    pub max_prompt_tokens: usize,
    pub max_completion_tokens: u32,
    /// Which prompt to send.
    pub prompt: PromptKind,
}

/// The engine's prompt or the naive baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Adjudicate,
    Naive,
}

/// Why a call failed; shown to maintainers, so no report text.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM endpoint {url} did not answer within {secs} s; check that the server is up or raise llm.timeout_secs")]
    Timeout { url: String, secs: u64 },
    #[error("cannot reach the LLM endpoint {url}: {detail}; check llm.base_url / SECTRIAGE_LLM_BASE_URL and that the server is running")]
    Unreachable { url: String, detail: String },
    #[error("the LLM endpoint answered HTTP {status}: {message}")]
    Api { status: u16, message: String },
    #[error("the LLM reply was not valid: {0}")]
    Invalid(String),
    #[error("no recorded response for this request in the replay cache {0}; record it first with --cache-mode record")]
    NotRecorded(String),
}

impl LlmError {
    /// The fixed kind a note may show.
    pub fn kind(&self) -> LlmFailure {
        match self {
            LlmError::Timeout { .. } => LlmFailure::Timeout,
            LlmError::Unreachable { .. } => LlmFailure::Unavailable,
            LlmError::Api { .. } => LlmFailure::ServerError,
            LlmError::Invalid(_) => LlmFailure::InvalidAnswer,
            LlmError::NotRecorded(_) => LlmFailure::NotRecorded,
        }
    }
}

/// response_format levels, strongest first.
const FORMAT_JSON_SCHEMA: u8 = 0;
const FORMAT_JSON_OBJECT: u8 = 1;
const FORMAT_NONE: u8 = 2;

fn format_name(level: u8) -> &'static str {
    match level {
        FORMAT_JSON_SCHEMA => "json_schema",
        FORMAT_JSON_OBJECT => "json_object",
        _ => "none",
    }
}

/// Sends adjudication requests; cheap to clone.
#[derive(Clone)]
pub struct Adjudicator {
    config: Arc<LlmConfig>,
    client: Client<OpenAIConfig>,
    /// The strongest response_format the server accepted so far.
    format_level: Arc<AtomicU8>,
    cache: Option<Arc<ResponseCache>>,
}

impl std::fmt::Debug for Adjudicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adjudicator")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

impl Adjudicator {
    pub fn new(config: LlmConfig, cache: Option<ResponseCache>) -> Adjudicator {
        let openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(config.api_key.clone());
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        Adjudicator {
            client: Client::build(http, openai),
            config: Arc::new(config),
            format_level: Arc::new(AtomicU8::new(FORMAT_JSON_SCHEMA)),
            cache: cache.map(Arc::new),
        }
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// True when the endpoint is on this machine (llama.cpp), so llama.cpp's own
    /// request fields (`cache_prompt`) are sent; hosted APIs reject unknown fields.
    fn local(&self) -> bool {
        let u = self.config.base_url.as_str();
        ["://127.", "://localhost", "://[::1]"]
            .iter()
            .any(|h| u.contains(h))
    }

    /// Asks the model for its opinion; never fails, a failure is an [`LlmOutcome::Failed`].
    /// `candidates`: the components the knowledge base offers for the model to pick
    /// (see [`candidates::find`]); ignored by the naive baseline.
    pub async fn adjudicate(
        &self,
        evidence: &Evidence,
        report: &str,
        candidates: &[candidates::Candidate],
    ) -> LlmOutcome {
        let naive = self.config.prompt == PromptKind::Naive;
        let prompt = if naive {
            prompt::build_naive(report, self.config.max_prompt_tokens)
        } else {
            prompt::build_adjudication(evidence, report, candidates, self.config.max_prompt_tokens)
        };
        let started = Instant::now();
        let mut usage = TokenUsage {
            counted_locally: prompt.tokens as u64,
            counted_fixed: if naive { 0 } else { prompt.fixed_tokens as u64 },
            ..TokenUsage::default()
        };
        let mut messages = vec![
            serde_json::json!({"role": "system", "content": prompt.system}),
            serde_json::json!({"role": "user", "content": prompt.user}),
        ];
        let mut repaired = false;
        for attempt in 0..2 {
            let parsed = |content: &str| {
                if naive {
                    wire::parse_opinion(content)
                } else {
                    wire::parse_adjudication(content, candidates)
                }
            };
            match self.complete(&messages, candidates.len(), &mut usage).await {
                Ok((content, level)) => match parsed(&content) {
                    Ok(opinion) => {
                        return LlmOutcome::Answered {
                            opinion,
                            model: self.config.model.clone(),
                            prompt_version: prompt.version,
                            usage,
                            repaired,
                            response_format: format_name(level).to_string(),
                            latency_ms: started.elapsed().as_millis() as u64,
                        }
                    }
                    Err(problem) if attempt == 0 => {
                        tracing::info!(%problem, "LLM answer did not validate; one repair retry");
                        messages.push(serde_json::json!({"role": "assistant", "content": content.chars().take(2000).collect::<String>()}));
                        let keys = if naive {
                            "use_case (virtualization, non-virtualization or needs-judgement), security_relevant (true or false), confidence (low, medium or high), questions (list of allowed codes), rationale (short string)".to_string()
                        } else {
                            format!(
                                "{}damage ({}), trigger ({}), use_case (virtualization, non-virtualization or needs-judgement), confidence (low, medium or high)",
                                if candidates.is_empty() {
                                    String::new()
                                } else {
                                    format!("component (0 to {}), ", candidates.len())
                                },
                                wire::DAMAGE.join(", "),
                                wire::TRIGGER.join(", ")
                            )
                        };
                        messages.push(serde_json::json!({"role": "user", "content": format!(
                            "That answer is not valid: {problem}. Reply with only the JSON object: {keys}."
                        )}));
                        repaired = true;
                    }
                    Err(problem) => {
                        return self.failed(
                            LlmFailure::InvalidAnswer,
                            format!("the answer did not validate after a repair retry: {problem}"),
                            prompt.version,
                            usage,
                        );
                    }
                },
                Err(err) => return self.failed(err.kind(), err.to_string(), prompt.version, usage),
            }
        }
        self.failed(
            LlmFailure::InvalidAnswer,
            "no valid answer".into(),
            prompt.version,
            usage,
        )
    }

    fn failed(
        &self,
        kind: LlmFailure,
        reason: String,
        prompt_version: String,
        usage: TokenUsage,
    ) -> LlmOutcome {
        // The detail (endpoint, transport error) goes to the log only; the note shows `kind`.
        tracing::warn!(
            kind = kind.as_str(),
            detail = %reason,
            model = %self.config.model,
            "LLM adjudication failed; using the rules-only verdict"
        );
        LlmOutcome::Failed {
            kind,
            reason,
            model: self.config.model.clone(),
            prompt_version,
            usage,
        }
    }

    /// One chat completion, stepping down the response_format ladder when the server refuses it.
    async fn complete(
        &self,
        messages: &[Value],
        candidates: usize,
        usage: &mut TokenUsage,
    ) -> Result<(String, u8), LlmError> {
        loop {
            let level = self.format_level.load(Ordering::Relaxed);
            let request = if self.config.prompt == PromptKind::Naive {
                // The naive baseline's request as recorded: a sorted-key `Value`.
                let v = wire::chat_request(
                    &self.config.model,
                    messages,
                    NAIVE_MAX_COMPLETION_TOKENS,
                    level,
                );
                wire::Body(
                    serde_json::value::RawValue::from_string(v.to_string())
                        .expect("serde_json output"),
                )
            } else {
                wire::adjudication_request(
                    &self.config.model,
                    messages,
                    self.config.max_completion_tokens,
                    level,
                    candidates,
                    self.local(),
                )
            };
            match self.send(&request).await {
                Ok(reply) => {
                    let (content, u) = wire::parse_reply(&reply)?;
                    usage.prompt += u.prompt;
                    usage.completion += u.completion;
                    if let Some(c) = u.cached {
                        usage.cached = Some(usage.cached.unwrap_or(0) + c);
                    }
                    return Ok((content, level));
                }
                Err(LlmError::Api { status, message })
                    if level < FORMAT_NONE
                        && matches!(status, 400 | 422 | 500 | 501)
                        && wire::mentions_response_format(&message) =>
                {
                    tracing::info!(
                        status,
                        from = format_name(level),
                        "server refused response_format; stepping down"
                    );
                    self.format_level.store(level + 1, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send(&self, request: &wire::Body) -> Result<Value, LlmError> {
        if let Some(cache) = &self.cache {
            if let Some(hit) = cache.lookup(request.as_str())? {
                return Ok(hit);
            }
        }
        let mut last = None;
        // One retry for rate limits and server errors; the daemon's tower stack does more.
        for attempt in 0..2 {
            let chat = self.client.chat();
            let call = chat.create_byot::<&wire::Body, Value>(request);
            let result = match tokio::time::timeout(self.config.timeout, call).await {
                Err(_) => Err(LlmError::Timeout {
                    url: self.config.base_url.clone(),
                    secs: self.config.timeout.as_secs(),
                }),
                Ok(r) => r.map_err(|e| self.map_error(e)),
            };
            match result {
                Ok(reply) => {
                    if let Some(cache) = &self.cache {
                        cache.store(request.as_str(), &reply)?;
                    }
                    return Ok(reply);
                }
                Err(LlmError::Api { status, message })
                    if attempt == 0 && (status == 429 || status >= 502) =>
                {
                    tracing::info!(status, "LLM endpoint busy; retrying once");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    last = Some(LlmError::Api { status, message });
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| LlmError::Invalid("no reply".into())))
    }

    /// Asks the endpoint for its model list (`GET {base_url}/models`): one cheap call that
    /// tells whether the server is there, without spending tokens. Returns the model ids.
    ///
    /// # Errors
    /// [`LlmError`] when the endpoint is unreachable, slow, answers an HTTP error or
    /// something that is not a model list.
    pub async fn probe(&self) -> Result<Vec<String>, LlmError> {
        let url = format!("{}/models", self.config.base_url.trim_end_matches('/'));
        let timeout = self.config.timeout.min(Duration::from_secs(10));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| LlmError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        let reply = http
            .get(&url)
            .bearer_auth(&self.config.api_key)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    LlmError::Timeout {
                        url: self.config.base_url.clone(),
                        secs: timeout.as_secs(),
                    }
                } else {
                    LlmError::Unreachable {
                        url: self.config.base_url.clone(),
                        detail: e.to_string(),
                    }
                }
            })?;
        let status = reply.status();
        if !status.is_success() {
            let message: String = reply
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            return Err(LlmError::Api {
                status: status.as_u16(),
                message: if status.as_u16() == 404 {
                    format!("{url} not found: does llm.base_url end in the API's /v1? ({message})")
                } else {
                    message
                },
            });
        }
        let list: Value = reply
            .json()
            .await
            .map_err(|e| LlmError::Invalid(format!("the model list is not JSON: {e}")))?;
        let data = list
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| LlmError::Invalid("the model list has no \"data\" array".into()))?;
        Ok(data
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
            .collect())
    }

    fn map_error(&self, e: OpenAIError) -> LlmError {
        match e {
            OpenAIError::ApiError(resp) => LlmError::Api {
                status: resp.status_code.as_u16(),
                message: resp.api_error.message.chars().take(300).collect(),
            },
            OpenAIError::Reqwest(err) if err.is_timeout() => LlmError::Timeout {
                url: self.config.base_url.clone(),
                secs: self.config.timeout.as_secs(),
            },
            OpenAIError::Reqwest(err) => LlmError::Unreachable {
                url: self.config.base_url.clone(),
                detail: err.to_string(),
            },
            OpenAIError::JSONDeserialize(err, _) => {
                LlmError::Invalid(format!("reply is not JSON: {err}"))
            }
            other => LlmError::Invalid(other.to_string()),
        }
    }
}
