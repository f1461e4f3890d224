//! Configuration: a TOML file plus environment overrides, each key with a
//! default and a unit. `sectriage config check` (and every command) reports
//! each problem with the key, the value and what to do.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::llm::{self, LlmConfig, PromptKind};
use crate::triage::hygiene::DEFAULT_MAX_REPORT_BYTES;

/// Environment variable: base URL of the OpenAI-compatible API.
pub const ENV_LLM_BASE_URL: &str = "SECTRIAGE_LLM_BASE_URL";
/// Environment variable: model name.
pub const ENV_LLM_MODEL: &str = "SECTRIAGE_LLM_MODEL";
/// Environment variable: API key (falls back to `OPENAI_API_KEY`).
pub const ENV_LLM_API_KEY: &str = "SECTRIAGE_LLM_API_KEY";
pub const ENV_OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// Default base URL: a local llama.cpp server (`scripts/local-llm start`).
pub const DEFAULT_LLM_BASE_URL: &str = "http://127.0.0.1:8080/v1";
pub const DEFAULT_LLM_MODEL: &str = "qwen2.5-coder-1.5b-instruct";

/// The `[llm]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmFile {
    /// Base URL ending in `/v1`.
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// The key itself; prefer `api_key_env` so the file holds no secret.
    pub api_key: Option<String>,
    /// Name of an environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Per-request timeout, seconds.
    pub timeout_secs: Option<u64>,
    /// Prompt budget, tokens.
    pub max_prompt_tokens: Option<usize>,
    /// Answer budget, tokens.
    pub max_completion_tokens: Option<u32>,
    /// Daemon only: LLM calls in flight at once (default: the number of workers).
    pub max_concurrency: Option<usize>,
    /// Daemon only: LLM calls started per minute (default 60).
    pub requests_per_minute: Option<u64>,
}

/// The `[limits]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Largest report accepted, bytes.
    pub max_report_bytes: Option<usize>,
}

/// The `[gitlab]` table: which instance and projects the daemon watches.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitLabFile {
    /// Instance root, e.g. `https://gitlab.com`.
    pub url: Option<String>,
    /// Numeric project ids to watch.
    #[serde(default)]
    pub projects: Vec<u64>,
    /// Environment variable holding the token (default `SECTRIAGE_GITLAB_TOKEN`).
    pub token_env: Option<String>,
    /// File holding the token (used when the variable is unset).
    pub token_file: Option<std::path::PathBuf>,
    /// Client-side cap on note creation, per minute (default 30; GitLab.com allows 60).
    pub notes_per_minute: Option<u32>,
}

/// The `[daemon]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonFile {
    /// Job database: `sqlite://FILE` (default `sqlite://sectriage.db`) or `postgres://...`.
    pub queue_url: Option<String>,
    /// Address of the webhook, metrics and health endpoints (default `127.0.0.1:8787`).
    pub listen: Option<String>,
    /// Environment variable holding the webhook secret token (`X-Gitlab-Token`).
    pub webhook_secret_env: Option<String>,
    /// Environment variable holding the webhook signing token (`whsec_...`).
    pub webhook_signing_token_env: Option<String>,
    /// Seconds between polls (default 60).
    pub poll_interval_secs: Option<u64>,
    /// Concurrent jobs (default 2).
    pub workers: Option<usize>,
    /// Job lease, seconds (default 300).
    pub lease_secs: Option<u64>,
    /// Attempts before a job is dead-lettered (default 8).
    pub max_attempts: Option<u32>,
    /// Seconds a posting attempt that recorded no note blocks another for the same revision,
    /// so a note GitLab stored but does not list yet is not posted twice (default 120).
    pub post_settle_secs: Option<u64>,
    /// Lowest GitLab access level allowed to confirm a suggestion (default 20, Reporter: QEMU's
    /// subsystem maintainers hold it).
    pub confirm_min_access_level: Option<u32>,
    /// When set, only these usernames (at or above the level) may decide.
    pub confirm_allow_users: Option<Vec<String>>,
    /// Publish a confirmed non-virtualization issue after a clean scrub check (default false).
    pub publish_on_confirm: Option<bool>,
    /// Labels added when a maintainer confirms each use case.
    #[serde(default)]
    pub labels: LabelsFile,
}

/// Labels applied on confirmation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsFile {
    pub virtualization: Option<Vec<String>>,
    pub non_virtualization: Option<Vec<String>>,
}

/// The whole config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub llm: LlmFile,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub gitlab: GitLabFile,
    #[serde(default)]
    pub daemon: DaemonFile,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("{key} = {value:?} is not valid: {fix}")]
    Value {
        key: String,
        value: String,
        fix: String,
    },
}

impl ConfigFile {
    /// Reads a config file; a missing path means defaults.
    ///
    /// # Errors
    /// When the file cannot be read or parsed (unknown keys included).
    pub fn load(path: Option<&Path>) -> Result<ConfigFile, ConfigError> {
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub fn max_report_bytes(&self) -> usize {
        self.limits
            .max_report_bytes
            .unwrap_or(DEFAULT_MAX_REPORT_BYTES)
    }

    /// The LLM settings: file values, overridden by the environment.
    ///
    /// # Errors
    /// When the base URL is not an http(s) URL.
    pub fn llm_config(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        prompt: PromptKind,
    ) -> Result<LlmConfig, ConfigError> {
        let base_url = env(ENV_LLM_BASE_URL)
            .or_else(|| self.llm.base_url.clone())
            .unwrap_or_else(|| DEFAULT_LLM_BASE_URL.to_string());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ConfigError::Value {
                key: format!("llm.base_url / {ENV_LLM_BASE_URL}"),
                value: base_url,
                fix: "use an http(s) URL ending in /v1, e.g. http://127.0.0.1:8080/v1".into(),
            });
        }
        let model = env(ENV_LLM_MODEL)
            .or_else(|| self.llm.model.clone())
            .unwrap_or_else(|| DEFAULT_LLM_MODEL.to_string());
        let api_key = env(ENV_LLM_API_KEY)
            .or_else(|| self.llm.api_key_env.as_deref().and_then(env))
            .or_else(|| self.llm.api_key.clone())
            .or_else(|| env(ENV_OPENAI_API_KEY))
            .unwrap_or_else(|| "local".to_string());
        Ok(LlmConfig {
            base_url,
            model,
            api_key,
            timeout: self
                .llm
                .timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(llm::DEFAULT_TIMEOUT),
            max_prompt_tokens: self
                .llm
                .max_prompt_tokens
                .unwrap_or(llm::DEFAULT_MAX_PROMPT_TOKENS),
            max_completion_tokens: self
                .llm
                .max_completion_tokens
                .unwrap_or(llm::DEFAULT_MAX_COMPLETION_TOKENS),
            prompt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_the_file() {
        let file: ConfigFile = toml::from_str(
            "[llm]\nbase_url = \"http://file/v1\"\nmodel = \"m-file\"\napi_key_env = \"MY_KEY\"\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [(ENV_LLM_MODEL, "m-env"), ("MY_KEY", "secret")].into();
        let cfg = file
            .llm_config(
                &|k| env.get(k).map(|v| v.to_string()),
                PromptKind::Adjudicate,
            )
            .unwrap();
        assert_eq!(cfg.base_url, "http://file/v1");
        assert_eq!(cfg.model, "m-env");
        assert_eq!(cfg.api_key, "secret");
    }

    #[test]
    fn bad_values_name_the_key() {
        let err = ConfigFile::default()
            .llm_config(
                &|k| (k == ENV_LLM_BASE_URL).then(|| "localhost:8080".to_string()),
                PromptKind::Adjudicate,
            )
            .unwrap_err();
        assert!(err.to_string().contains("SECTRIAGE_LLM_BASE_URL"), "{err}");
        let err = toml::from_str::<ConfigFile>("[llm]\nmodle = \"x\"").unwrap_err();
        assert!(err.to_string().contains("modle"));
    }
}
