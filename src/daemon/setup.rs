//! Builds a [`Daemon`] from the config file and the environment, and checks
//! the configuration (`sectriage config check`), naming every problem.

use std::time::Duration;

use crate::config::ConfigFile;
use crate::confirm::ConfirmPolicy;
use crate::engine::Engine;
use crate::gitlab::{Client, GitLabConfig, Token};
use crate::kb::Kb;
use crate::llm::stack::{LlmStack, StackLimits};
use crate::llm::{Adjudicator, PromptKind};
use crate::queue::{Queue, QueueConfig};
use crate::triage::hygiene::Limits;

use super::{Daemon, DaemonConfig};

pub const ENV_GITLAB_TOKEN: &str = "SECTRIAGE_GITLAB_TOKEN";
pub const DEFAULT_QUEUE_URL: &str = "sqlite://sectriage.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// One configuration problem: the key, what is wrong, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Checks what `serve` needs, without connecting anywhere.
pub fn check(cfg: &ConfigFile, env: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut add = |key: &str, message: String| {
        problems.push(Problem {
            key: key.into(),
            message,
        })
    };
    match cfg.gitlab.url.as_deref() {
        None => add("gitlab.url", "missing: set the GitLab instance root, e.g. \"https://gitlab.com\"".into()),
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://127.") || u.starts_with("http://localhost")) => {
            add("gitlab.url", format!("{u:?} is not https: the token would travel in clear; use https (plain http only for loopback)"))
        }
        _ => {}
    }
    if cfg.gitlab.projects.is_empty() {
        add(
            "gitlab.projects",
            "empty: list the numeric ids of the projects to watch, e.g. [11705]".into(),
        );
    }
    let token_env = cfg.gitlab.token_env.as_deref().unwrap_or(ENV_GITLAB_TOKEN);
    if env(token_env).is_none() && cfg.gitlab.token_file.as_ref().is_none_or(|f| !f.exists()) {
        add("gitlab.token_env", format!("no token: set {token_env} (a project access token with the api scope and the Reporter role) or gitlab.token_file"));
    }
    let secret = cfg.daemon.webhook_secret_env.as_deref().and_then(env);
    let signing = cfg
        .daemon
        .webhook_signing_token_env
        .as_deref()
        .and_then(env);
    if cfg.daemon.webhook_secret_env.is_some() && secret.is_none() {
        add(
            "daemon.webhook_secret_env",
            "names a variable that is not set".into(),
        );
    }
    if let Some(s) = &signing {
        if !s.starts_with("whsec_") {
            add(
                "daemon.webhook_signing_token_env",
                "the signing token must look like whsec_<base64>, as GitLab shows it".into(),
            );
        }
    }
    if let Some(url) = &cfg.daemon.queue_url {
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            add(
                "daemon.queue_url",
                format!("{url:?}: use sqlite://FILE or postgres://USER@HOST/DB"),
            );
        }
    }
    if cfg.daemon.workers == Some(0) {
        add(
            "daemon.workers",
            "0 workers would never process a job; use 1 or more".into(),
        );
    }
    if let Err(e) = cfg.llm_config(env, PromptKind::Adjudicate) {
        add("llm", e.to_string());
    }
    problems
}

/// A GitLab client from the config's `[gitlab]` table and token, for commands other than
/// `serve` (`decisions export`).
///
/// # Errors
/// No token, or a bad `gitlab.url`.
pub fn gitlab_client(
    cfg: &ConfigFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Client> {
    let token_env = cfg.gitlab.token_env.as_deref().unwrap_or(ENV_GITLAB_TOKEN);
    let token = match env(token_env) {
        Some(t) => Token::new(t),
        None => Token::from_env_or_file(token_env, cfg.gitlab.token_file.as_deref())?,
    };
    Ok(Client::new(GitLabConfig {
        base_url: cfg.gitlab.url.clone().unwrap_or_default(),
        token,
        timeout: Duration::from_secs(30),
        max_retries: 4,
        notes_per_minute: cfg.gitlab.notes_per_minute.unwrap_or(30),
    })?)
}

/// Connects to GitLab and the queue and assembles the daemon.
///
/// # Errors
/// Configuration problems (all of them, in one message), an unusable token, or an unreachable queue.
pub async fn build(
    cfg: &ConfigFile,
    env: &dyn Fn(&str) -> Option<String>,
    use_llm: bool,
    dry_run: bool,
) -> anyhow::Result<Daemon> {
    let problems = check(cfg, env);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        anyhow::bail!(
            "the configuration has problems (see `sectriage config check`):\n{}",
            list.join("\n")
        );
    }
    let token_env = cfg.gitlab.token_env.as_deref().unwrap_or(ENV_GITLAB_TOKEN);
    let token = match env(token_env) {
        Some(t) => Token::new(t),
        None => Token::from_env_or_file(token_env, cfg.gitlab.token_file.as_deref())?,
    };
    let gitlab = Client::new(GitLabConfig {
        base_url: cfg.gitlab.url.clone().unwrap_or_default(),
        token,
        timeout: Duration::from_secs(30),
        max_retries: 4,
        notes_per_minute: cfg.gitlab.notes_per_minute.unwrap_or(30),
    })?;
    let queue_url = cfg
        .daemon
        .queue_url
        .clone()
        .unwrap_or_else(|| DEFAULT_QUEUE_URL.to_string());
    let queue = Queue::connect(
        &queue_url,
        QueueConfig {
            max_attempts: cfg.daemon.max_attempts.unwrap_or(8),
            ..QueueConfig::default()
        },
    )
    .await?;
    let llm = if use_llm {
        Some(Adjudicator::new(
            cfg.llm_config(env, PromptKind::Adjudicate)?,
            None,
        ))
    } else {
        None
    };
    let workers = cfg.daemon.workers.unwrap_or(2);
    let llm_stack = llm.clone().map(|adj| {
        let timeout = adj.config().timeout * 2 + Duration::from_secs(30);
        LlmStack::new(
            adj,
            StackLimits {
                concurrency: cfg.llm.max_concurrency.unwrap_or(workers),
                per_minute: cfg.llm.requests_per_minute.unwrap_or(60),
                timeout,
            },
        )
    });
    let mut confirm = ConfirmPolicy::default();
    if let Some(level) = cfg.daemon.confirm_min_access_level {
        confirm.min_access_level = level;
    }
    if let Some(l) = &cfg.daemon.labels.virtualization {
        confirm.virtualization_labels = l.clone();
    }
    if let Some(l) = &cfg.daemon.labels.non_virtualization {
        confirm.non_virtualization_labels = l.clone();
    }
    if let Some(users) = &cfg.daemon.confirm_allow_users {
        confirm.allowed_users = users.clone();
    }
    confirm.publish_on_confirm = cfg.daemon.publish_on_confirm.unwrap_or(false);
    let config = DaemonConfig {
        projects: cfg.gitlab.projects.clone(),
        listen: cfg
            .daemon
            .listen
            .clone()
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
        webhook_secret: cfg.daemon.webhook_secret_env.as_deref().and_then(env),
        webhook_signing_token: cfg
            .daemon
            .webhook_signing_token_env
            .as_deref()
            .and_then(env),
        poll_interval: Duration::from_secs(cfg.daemon.poll_interval_secs.unwrap_or(60)),
        workers,
        lease: Duration::from_secs(cfg.daemon.lease_secs.unwrap_or(300)),
        dry_run,
        confirm,
        shutdown_grace: Duration::from_secs(20),
        post_settle: cfg
            .daemon
            .post_settle_secs
            .map_or(super::DEFAULT_POST_SETTLE, Duration::from_secs),
        decision_sweep: Duration::from_secs(300),
    };
    let engine = Engine {
        kb: Kb::embedded(),
        limits: Limits {
            max_report_bytes: cfg.max_report_bytes(),
        },
        llm,
    };
    // The bot user is looked up by `run`, with retries: GitLab may be down at startup.
    Ok(Daemon::new(config, gitlab, queue, engine).with_llm_stack(llm_stack))
}
