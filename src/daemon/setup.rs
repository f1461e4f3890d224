//! Builds a [`Daemon`] from the config file and the environment, and checks
//! the configuration (`sectriage config check`), naming every problem.

use std::time::Duration;

use crate::config::{ConfigError, ConfigFile, LlmMode};
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

/// How bad a configuration problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `serve` refuses to start; `config check` exits 2.
    Error,
    /// Works, but probably not as intended; reported, never fatal.
    Warning,
}

/// One configuration problem: the key, what is wrong, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// What `config check` prints: one `error: KEY: ...` or `warning: KEY: ...` line per
/// problem, then a summary line.
pub fn report(problems: &[Problem]) -> String {
    let mut text = String::new();
    for p in problems {
        let level = if p.is_error() { "error" } else { "warning" };
        text.push_str(&format!("{level}: {p}\n"));
    }
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    text.push_str(&match (errors, warnings) {
        (0, 0) => "configuration OK\n".to_string(),
        (0, n) => format!("configuration OK ({n} warning(s) above)\n"),
        (e, n) => format!(
            "{e} error(s), {n} warning(s): fix the errors, then run `sectriage config check` again\n"
        ),
    });
    text
}

/// True for `host:port` with a numeric port (`127.0.0.1:8787`, `[::1]:8787`, `localhost:8787`).
fn valid_listen(listen: &str) -> bool {
    if listen.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    let Some((host, port)) = listen.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && port.parse::<u16>().is_ok()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// Why a `whsec_` signing token is unusable, if it is.
fn signing_token_problem(token: &str) -> Option<String> {
    use base64::Engine as _;
    let Some(key) = token.trim().strip_prefix("whsec_") else {
        return Some("the signing token must look like whsec_<base64>, as GitLab shows it".into());
    };
    if key.is_empty() {
        return Some(
            "the signing token has nothing after whsec_: copy the whole token from GitLab".into(),
        );
    }
    if base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_err()
    {
        return Some(
            "the part after whsec_ is not base64: copy the whole token from GitLab".into(),
        );
    }
    // What the webhook itself refuses: a short key would let anyone sign deliveries.
    crate::gitlab::webhook::signing_key(token)
        .err()
        .map(|e| e.to_string())
}

/// Checks what `serve` needs, without connecting anywhere. `llm_flag` is `--llm`,
/// which overrides `llm.mode`. Errors stop `serve`; warnings do not.
pub fn check(
    cfg: &ConfigFile,
    env: &dyn Fn(&str) -> Option<String>,
    llm_flag: Option<LlmMode>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut add = |severity: Severity, key: &str, message: String| {
        problems.push(Problem {
            severity,
            key: key.into(),
            message,
        })
    };
    let error = Severity::Error;
    match cfg.gitlab.url.as_deref() {
        None => add(error, "gitlab.url", "missing: set the GitLab instance root, e.g. \"https://gitlab.com\"".into()),
        Some(u) if url::Url::parse(u).is_err() => add(error, "gitlab.url", format!("{u:?} is not a URL: use the instance root, e.g. \"https://gitlab.com\"")),
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://127.") || u.starts_with("http://localhost")) => {
            add(error, "gitlab.url", format!("{u:?} is not https: the token would travel in clear; use https (plain http only for loopback)"))
        }
        _ => {}
    }
    if cfg.gitlab.projects.is_empty() {
        add(
            error,
            "gitlab.projects",
            "empty: list the numeric ids of the projects to watch, e.g. [11705]".into(),
        );
    }
    let token_env = cfg.gitlab.token_env.as_deref().unwrap_or(ENV_GITLAB_TOKEN);
    match env(token_env) {
        Some(t) if t.trim().is_empty() => add(
            error,
            "gitlab.token_env",
            format!("{token_env} is set but empty: put the project access token in it, or unset it to use gitlab.token_file"),
        ),
        Some(_) => {}
        None => match &cfg.gitlab.token_file {
            None => add(error, "gitlab.token_env", format!("no token: set {token_env} (a project access token with the api scope and the Reporter role) or gitlab.token_file")),
            Some(path) => match std::fs::read_to_string(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => add(
                    error,
                    "gitlab.token_file",
                    format!("{} does not exist ({token_env} is not set either): create it with the token, or fix the path", path.display()),
                ),
                Err(e) => add(
                    error,
                    "gitlab.token_file",
                    format!("cannot read {}: {e}: check its permissions", path.display()),
                ),
                Ok(t) if t.trim().is_empty() => add(
                    error,
                    "gitlab.token_file",
                    format!("{} is empty: put a project access token in it", path.display()),
                ),
                Ok(_) => {}
            },
        },
    }
    if cfg.gitlab.notes_per_minute == Some(0) {
        add(
            error,
            "gitlab.notes_per_minute",
            "0 would never post a note: use 1..60 (GitLab.com allows 60 per minute), or leave it out for 30".into(),
        );
    }
    if let Some(listen) = &cfg.daemon.listen {
        if !valid_listen(listen) {
            add(
                error,
                "daemon.listen",
                format!(
                    "{listen:?} is not HOST:PORT with a numeric port: use e.g. \"127.0.0.1:8787\""
                ),
            );
        }
    }
    if let Some(var) = &cfg.daemon.webhook_secret_env {
        match env(var) {
            None => add(error, "daemon.webhook_secret_env", format!("names {var}, which is not set: set it to the webhook's secret token, or remove the key")),
            Some(v) if v.trim().is_empty() => add(error, "daemon.webhook_secret_env", format!("{var} is set but empty: an empty secret authenticates nothing; put a long random secret in it (and the same in GitLab's webhook settings)")),
            Some(_) => {}
        }
    }
    if let Some(var) = &cfg.daemon.webhook_signing_token_env {
        match env(var) {
            None => add(error, "daemon.webhook_signing_token_env", format!("names {var}, which is not set: set it to the webhook's signing token (whsec_...), or remove the key")),
            Some(v) => {
                if let Some(why) = signing_token_problem(&v) {
                    add(error, "daemon.webhook_signing_token_env", format!("{var}: {why}"));
                }
            }
        }
    }
    match cfg.daemon.confirm_min_access_level {
        Some(level) if level < crate::confirm::REPORTER => add(
            Severity::Warning,
            "daemon.confirm_min_access_level",
            format!(
                "{level} is below 20 (Reporter): Guests and Planners could decide, although QEMU's security-process.md hands disclosures to subsystem maintainers with the Reporter role; use 20 unless you mean it"
            ),
        ),
        Some(level) if ![10, 15, 20, 30, 40, 50].contains(&level) => add(
            Severity::Warning,
            "daemon.confirm_min_access_level",
            format!("{level} is not a GitLab access level (10 Guest, 15 Planner, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner)"),
        ),
        _ => {}
    }
    if cfg.daemon.publish_on_confirm == Some(true) {
        add(
            Severity::Warning,
            "daemon.publish_on_confirm",
            "true: a confirmed non-virtualization issue is made public after a clean scrub check, as security-process.md asks; the bot token needs the Reporter role to change confidentiality".into(),
        );
    }
    if cfg.daemon.webhook_secret_env.is_none() && cfg.daemon.webhook_signing_token_env.is_none() {
        add(
            Severity::Warning,
            "daemon.webhook_secret_env",
            format!(
                "no webhook secret or signing token is configured, so /webhook answers 401 to every delivery; the poller still finds every issue (every {} s). To use webhooks, set daemon.webhook_secret_env (X-Gitlab-Token) or daemon.webhook_signing_token_env (whsec_...)",
                cfg.daemon.poll_interval_secs.unwrap_or(60)
            ),
        );
    }
    if let Some(url) = &cfg.daemon.queue_url {
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            add(
                error,
                "daemon.queue_url",
                format!("{url:?}: use sqlite://FILE or postgres://USER@HOST/DB"),
            );
        }
    }
    let zero = [
        (cfg.daemon.workers == Some(0), "daemon.workers", "0 workers would never process a job; use 1 or more"),
        (cfg.daemon.max_attempts == Some(0), "daemon.max_attempts", "0 attempts would dead-letter every job before it runs; use 1 or more (default 8)"),
        (cfg.daemon.poll_interval_secs == Some(0), "daemon.poll_interval_secs", "0 would poll GitLab without pause; use 10 or more (default 60)"),
        (cfg.daemon.lease_secs == Some(0), "daemon.lease_secs", "a 0-second lease expires at once, so jobs would run twice; use 60 or more (default 300)"),
        (cfg.limits.max_report_bytes == Some(0), "limits.max_report_bytes", "0 would refuse every report; use e.g. 1048576 (1 MiB, the default)"),
    ];
    for (bad, key, message) in zero {
        if bad {
            add(error, key, message.into());
        }
    }
    let defaults = ConfirmPolicy::default();
    let virt = cfg
        .daemon
        .labels
        .virtualization
        .clone()
        .unwrap_or(defaults.virtualization_labels);
    let non_virt = cfg
        .daemon
        .labels
        .non_virtualization
        .clone()
        .unwrap_or(defaults.non_virtualization_labels);
    for (key, labels) in [
        ("daemon.labels.virtualization", &virt),
        ("daemon.labels.non_virtualization", &non_virt),
    ] {
        if labels.iter().any(|l| l.trim().is_empty()) {
            add(
                error,
                key,
                "holds an empty label: remove it or name a label".into(),
            );
        }
    }
    for label in virt.iter().filter(|l| non_virt.contains(l)) {
        add(
            error,
            "daemon.labels",
            format!("{label:?} is in both daemon.labels.virtualization and daemon.labels.non_virtualization, so the two confirmations would look the same on the issue: use different labels"),
        );
    }
    match cfg.llm_mode(llm_flag) {
        LlmMode::Openai => match cfg.llm_config(env, PromptKind::Adjudicate) {
            Ok(_) => {}
            Err(ConfigError::Value { key, value, fix }) if value.is_empty() => {
                add(error, &key, fix)
            }
            Err(ConfigError::Value { key, value, fix }) => {
                add(error, &key, format!("{value:?} is not valid: {fix}"))
            }
            Err(e) => add(error, "llm", e.to_string()),
        },
        LlmMode::None => {
            if let Some(hint) = cfg.unchosen_model_hint(llm_flag, env) {
                add(Severity::Warning, "llm.mode", hint);
            }
            // Unused while the model is off, but `--llm openai` would refuse it: say so now.
            if let Err(ConfigError::Value { key, value, fix }) =
                cfg.llm_config(env, PromptKind::Adjudicate)
            {
                let why = if value.is_empty() {
                    fix
                } else {
                    format!("{value:?} is not valid: {fix}")
                };
                add(
                    Severity::Warning,
                    &key,
                    format!("{why} (unused while the model is off; --llm openai would refuse it)"),
                );
            }
        }
    }
    if let Err(problems_of_review) = review_config(cfg, env) {
        for (key, message) in problems_of_review {
            add(error, &key, message);
        }
    }
    problems
}

/// Default environment variables of `review.oauth_client_id_env` / `_secret_env`.
pub const ENV_OAUTH_CLIENT_ID: &str = "SECTRIAGE_OAUTH_CLIENT_ID";
pub const ENV_OAUTH_CLIENT_SECRET: &str = "SECTRIAGE_OAUTH_CLIENT_SECRET";

/// The `[review]` table resolved; `Ok(None)` when the pages are off, else every problem as
/// `(key, message)`.
pub fn review_config(
    cfg: &ConfigFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::review::ReviewConfig>, Vec<(String, String)>> {
    let r = &cfg.review;
    if !r.enabled.unwrap_or(false) {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let public_url = match r.public_url.as_deref().map(url::Url::parse) {
        None => {
            problems.push(("review.public_url".into(), "missing: set where maintainers reach this daemon, e.g. \"https://sectriage.example.org\"; the OAuth redirect URI is <public_url>/review/oauth/callback".into()));
            None
        }
        Some(Err(e)) => {
            problems.push((
                "review.public_url".into(),
                format!("not a URL ({e}): use e.g. \"https://sectriage.example.org\""),
            ));
            None
        }
        Some(Ok(u)) => {
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            if u.scheme() != "https" && !(u.scheme() == "http" && loopback) {
                problems.push(("review.public_url".into(), format!("{:?} is not https: session cookies would travel in clear; use https (plain http only for loopback)", u.as_str())));
            }
            if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
                problems.push((
                    "review.public_url".into(),
                    "must not carry credentials, a query or a fragment".into(),
                ));
            }
            Some(u)
        }
    };
    // (key, the variable it names, what GitLab calls the value).
    let mut secret = |key: &str, var: &str, what: &str| match env(var)
        .filter(|v| !v.trim().is_empty())
    {
        Some(v) => Some(v.trim().to_string()),
        None => {
            problems.push((key.to_string(), format!("the environment variable {var} is empty or unset: register an OAuth application on GitLab (scope read_user) and put its {what} there")));
            None
        }
    };
    let client_id = secret(
        "review.oauth_client_id_env",
        r.oauth_client_id_env
            .as_deref()
            .unwrap_or(ENV_OAUTH_CLIENT_ID),
        "Application ID",
    );
    let client_secret = secret(
        "review.oauth_client_secret_env",
        r.oauth_client_secret_env
            .as_deref()
            .unwrap_or(ENV_OAUTH_CLIENT_SECRET),
        "Secret",
    );
    let hours = r.session_hours.unwrap_or(8);
    if !(1..=168).contains(&hours) {
        problems.push((
            "review.session_hours".into(),
            format!("{hours} is out of range: use 1..168 (a sign-in lasts that many hours)"),
        ));
    }
    let gitlab_url = cfg
        .gitlab
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok());
    if gitlab_url.is_none() {
        problems.push((
            "review.enabled".into(),
            "the review pages sign in through gitlab.url, which is missing or invalid".into(),
        ));
    }
    match (public_url, client_id, client_secret, gitlab_url) {
        (Some(public_url), Some(client_id), Some(client_secret), Some(gitlab_url))
            if problems.is_empty() =>
        {
            Ok(Some(crate::review::ReviewConfig {
                public_url,
                gitlab_url,
                client_id,
                client_secret,
                session: Duration::from_secs(hours * 3600),
            }))
        }
        _ => Err(problems),
    }
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
    llm_flag: Option<LlmMode>,
    dry_run: bool,
) -> anyhow::Result<Daemon> {
    let problems = check(cfg, env, llm_flag);
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| format!("  - {p}"))
        .collect();
    if !errors.is_empty() {
        anyhow::bail!(
            "the configuration has problems (see `sectriage config check`):\n{}",
            errors.join("\n")
        );
    }
    let warnings = problems.len() - errors.len();
    if warnings > 0 {
        // A count only: `config check` has the wording, and the log stays free of key names.
        tracing::warn!(
            warnings,
            "the configuration has warnings; `sectriage config check` lists them"
        );
    }
    let use_llm = cfg.llm_mode(llm_flag) == LlmMode::Openai;
    let llm = if use_llm {
        let adjudicator = Adjudicator::new(cfg.llm_config(env, PromptKind::Adjudicate)?, None);
        probe_model(&adjudicator).await?;
        Some(adjudicator)
    } else {
        tracing::info!("no model chosen (llm.mode / --llm): suggestions are rules only");
        None
    };
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
        review: review_config(cfg, env).unwrap_or(None),
        reminders: {
            let r = &cfg.daemon.reminders;
            let hours = |h: u64| (h > 0).then(|| Duration::from_secs(h * 3600));
            super::ReminderPolicy {
                still_confidential_after: hours(r.public_after_hours.unwrap_or(24)),
                inactive_after: hours(r.inactive_days.unwrap_or(14) * 24),
                fix_posted: r.fix_posted.unwrap_or(true),
                max_per_pass: r.max_per_pass.unwrap_or(5),
                ..super::ReminderPolicy::default()
            }
        },
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

/// The chosen model's endpoint did not pass the startup probe.
#[derive(Debug, thiserror::Error)]
#[error("the model was chosen (llm.mode = \"openai\" or --llm openai) but its endpoint failed the startup check (GET /models): {0}. To run rules only instead, use --llm none or llm.mode = \"none\"")]
pub struct ModelProbeError(pub crate::llm::LlmError);

/// Asks the chosen model's endpoint for its model list once, at startup.
///
/// The operator chose the model, so a daemon that started anyway would post
/// rules-only notes for every issue while looking healthy: refuse instead,
/// saying what to do. A model name the endpoint does not list is only a
/// warning (some servers list aliases or file names).
///
/// # Errors
/// [`ModelProbeError`] when the endpoint does not answer `GET {base_url}/models`
/// with a model list.
pub async fn probe_model(adjudicator: &Adjudicator) -> Result<(), ModelProbeError> {
    let cfg = adjudicator.config();
    let models = adjudicator.probe().await.map_err(ModelProbeError)?;
    if !models.is_empty() && !models.iter().any(|m| m == &cfg.model) {
        tracing::warn!(
            model = %cfg.model,
            listed = models.len(),
            "the LLM endpoint does not list the configured model; calls may fail (check llm.model / SECTRIAGE_LLM_MODEL)"
        );
    }
    tracing::info!(model = %cfg.model, "LLM endpoint answered the startup probe");
    Ok(())
}
