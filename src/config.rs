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

/// Whether a model adjudicates: `[llm] mode` in the file, overridden by `--llm`.
/// Nothing chosen means rules only; there is no silent default to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LlmMode {
    /// Deterministic layers only.
    None,
    /// An OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp).
    Openai,
}

/// The `[llm]` table of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmFile {
    /// `"openai"` to ask the model, `"none"` for rules only (the default); `--llm` overrides it.
    pub mode: Option<LlmMode>,
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
    /// Minimal-embargo reminders (security-process.md: the confidential marker stays only as
    /// long as strictly needed).
    #[serde(default)]
    pub reminders: RemindersFile,
}

/// The `[daemon.reminders]` table; 0 turns a clock off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindersFile {
    /// Confirmed non-virtualization but still confidential after this many hours (default 24).
    pub public_after_hours: Option<u64>,
    /// A confidential issue with no activity for this many days (default 14).
    pub inactive_days: Option<u64>,
    /// Remind when a fix (a commit or merge request) is mentioned on a confidential issue
    /// (default true).
    pub fix_posted: Option<bool>,
    /// At most this many reminders per pass, so a backlog cannot flood inboxes (default 5).
    pub max_per_pass: Option<usize>,
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
    #[serde(default)]
    pub review: ReviewFile,
}

/// `[review]`: the maintainers' review pages under `/review`, behind GitLab sign-in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewFile {
    /// Serve the review pages (default false).
    pub enabled: Option<bool>,
    /// Where maintainers reach this daemon, e.g. `https://sectriage.example.org`: the
    /// OAuth redirect URI is `<public_url>/review/oauth/callback`.
    pub public_url: Option<String>,
    /// Environment variable holding the OAuth application's id (default
    /// `SECTRIAGE_OAUTH_CLIENT_ID`).
    pub oauth_client_id_env: Option<String>,
    /// Environment variable holding the OAuth application's secret (default
    /// `SECTRIAGE_OAUTH_CLIENT_SECRET`).
    pub oauth_client_secret_env: Option<String>,
    /// How long a sign-in lasts (default 8 hours, at most 168).
    pub session_hours: Option<u64>,
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

    /// Whether the model is used: `flag` (`--llm`) when given, else `llm.mode`, else rules only.
    pub fn llm_mode(&self, flag: Option<LlmMode>) -> LlmMode {
        flag.or(self.llm.mode).unwrap_or(LlmMode::None)
    }

    /// A warning when no model was chosen although model settings are present, so a
    /// rules-only run is never mistaken for a model-backed one.
    pub fn unchosen_model_hint(
        &self,
        flag: Option<LlmMode>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        if flag.is_some() || self.llm.mode.is_some() {
            return None;
        }
        let set: Vec<&str> = [
            (self.llm.base_url.is_some(), "llm.base_url"),
            (self.llm.model.is_some(), "llm.model"),
            (env(ENV_LLM_BASE_URL).is_some(), ENV_LLM_BASE_URL),
            (env(ENV_LLM_MODEL).is_some(), ENV_LLM_MODEL),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        (!set.is_empty()).then(|| {
            format!(
                "{} is set but no model was chosen, so this runs rules only: pass --llm openai or set llm.mode = \"openai\" to ask the model (llm.mode = \"none\" or --llm none silences this)",
                set.join(" and ")
            )
        })
    }

    /// The LLM API key from the environment or the file, if any is configured.
    pub fn llm_api_key(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        env(ENV_LLM_API_KEY)
            .or_else(|| self.llm.api_key_env.as_deref().and_then(env))
            .or_else(|| self.llm.api_key.clone())
            .or_else(|| env(ENV_OPENAI_API_KEY))
            .filter(|k| !k.trim().is_empty())
    }

    /// The LLM settings: file values, overridden by the environment.
    ///
    /// # Errors
    /// When the base URL is not an http(s) URL ending in `/v1`, when OpenAI's own
    /// endpoint has no API key, or when a limit is 0.
    pub fn llm_config(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        prompt: PromptKind,
    ) -> Result<LlmConfig, ConfigError> {
        let base_key = format!("llm.base_url / {ENV_LLM_BASE_URL}");
        let base_url = env(ENV_LLM_BASE_URL)
            .or_else(|| self.llm.base_url.clone())
            .unwrap_or_else(|| DEFAULT_LLM_BASE_URL.to_string());
        let parsed = url::Url::parse(&base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        let Some(parsed) = parsed else {
            return Err(ConfigError::Value {
                key: base_key,
                value: base_url,
                fix: "use an http(s) URL ending in /v1, e.g. http://127.0.0.1:8080/v1".into(),
            });
        };
        if !parsed.path().trim_end_matches('/').ends_with("/v1") {
            return Err(ConfigError::Value {
                key: base_key,
                value: base_url,
                fix: "OpenAI-compatible APIs live under /v1: end the URL in /v1, e.g. http://127.0.0.1:8080/v1 or https://api.openai.com/v1".into(),
            });
        }
        let model = env(ENV_LLM_MODEL)
            .or_else(|| self.llm.model.clone())
            .unwrap_or_else(|| DEFAULT_LLM_MODEL.to_string());
        if model.trim().is_empty() {
            return Err(ConfigError::Value {
                key: format!("llm.model / {ENV_LLM_MODEL}"),
                value: model,
                fix: "name the model the server serves, e.g. gpt-4o-mini or qwen2.5-coder-1.5b-instruct".into(),
            });
        }
        let api_key = self.llm_api_key(env);
        if api_key.is_none() && parsed.host_str() == Some("api.openai.com") {
            return Err(ConfigError::Value {
                key: format!("llm.api_key_env / {ENV_LLM_API_KEY} / {ENV_OPENAI_API_KEY}"),
                value: String::new(),
                fix: format!("OpenAI needs an API key: set {ENV_OPENAI_API_KEY} (or {ENV_LLM_API_KEY}, or name a variable in llm.api_key_env)"),
            });
        }
        let api_key = api_key.unwrap_or_else(|| "local".to_string());
        let zero = |key: &str| ConfigError::Value {
            key: format!("llm.{key}"),
            value: "0".into(),
            fix: "0 would refuse every call; leave the key out for the default or use 1 or more"
                .into(),
        };
        if self.llm.timeout_secs == Some(0) {
            return Err(zero("timeout_secs"));
        }
        if self.llm.max_prompt_tokens == Some(0) {
            return Err(zero("max_prompt_tokens"));
        }
        if self.llm.max_completion_tokens == Some(0) {
            return Err(zero("max_completion_tokens"));
        }
        if self.llm.max_concurrency == Some(0) {
            return Err(zero("max_concurrency"));
        }
        if self.llm.requests_per_minute == Some(0) {
            return Err(zero("requests_per_minute"));
        }
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

    fn llm_err(toml_text: &str, env: &[(&str, &str)]) -> String {
        let file: ConfigFile = toml::from_str(toml_text).unwrap();
        let env: HashMap<&str, &str> = env.iter().copied().collect();
        file.llm_config(
            &|k| env.get(k).map(|v| v.to_string()),
            PromptKind::Adjudicate,
        )
        .unwrap_err()
        .to_string()
    }

    #[test]
    fn base_url_without_v1_and_openai_without_key_are_refused() {
        let e = llm_err("[llm]\nbase_url = \"http://127.0.0.1:8080\"\n", &[]);
        assert!(e.contains("llm.base_url") && e.contains("/v1"), "{e}");
        let e = llm_err("[llm]\nbase_url = \"https://api.openai.com/v1\"\n", &[]);
        assert!(e.contains("OPENAI_API_KEY"), "{e}");
        // An empty key is no key.
        let e = llm_err(
            "[llm]\nbase_url = \"https://api.openai.com/v1\"\n",
            &[(ENV_OPENAI_API_KEY, "")],
        );
        assert!(e.contains("needs an API key"), "{e}");
        let e = llm_err("[llm]\ntimeout_secs = 0\n", &[]);
        assert!(e.contains("llm.timeout_secs"), "{e}");
    }

    #[test]
    fn the_model_is_chosen_explicitly() {
        let none = ConfigFile::default();
        assert_eq!(none.llm_mode(None), LlmMode::None);
        assert_eq!(none.llm_mode(Some(LlmMode::Openai)), LlmMode::Openai);
        let on: ConfigFile = toml::from_str("[llm]\nmode = \"openai\"\n").unwrap();
        assert_eq!(on.llm_mode(None), LlmMode::Openai);
        assert_eq!(on.llm_mode(Some(LlmMode::None)), LlmMode::None);
        let hint = none
            .unchosen_model_hint(None, &|k| {
                (k == ENV_LLM_BASE_URL).then(|| "http://x/v1".to_string())
            })
            .unwrap();
        assert!(hint.contains("--llm openai"), "{hint}");
        assert!(on.unchosen_model_hint(None, &|_| None).is_none());
    }
}
