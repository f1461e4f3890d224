//! The `sectriage` command line: a thin layer that parses flags and hands off.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

use sectriage::config::{ConfigFile, LlmMode};
use sectriage::engine::Engine;
use sectriage::intake::parse_input;
use sectriage::kb::{build, Kb};
use sectriage::llm::{Adjudicator, CacheMode, PromptKind, ResponseCache};
use sectriage::output;
use sectriage::publish::render_note;
use sectriage::triage::hygiene::Limits;

#[derive(Parser)]
#[command(
    name = "sectriage",
    version,
    about = "First-step triage of QEMU security disclosures"
)]
struct Cli {
    /// Config file (TOML); environment variables override it.
    #[arg(long, global = true, env = "SECTRIAGE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Triage one disclosure and print the suggested note.
    Triage {
        /// Plain text/Markdown, a GitLab issue JSON, or one eval-case line; `-` reads stdin.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Check an issue for private data to scrub before it is made public (exit 1 on findings).
    Scrub {
        /// Plain text/Markdown (the description), a GitLab issue JSON (title, description,
        /// notes; internal notes skipped), or one eval-case line; `-` reads stdin.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Run the daemon beside GitLab: poll, receive webhooks, post suggestions.
    Serve {
        /// Compute and log suggestions without posting anything.
        #[arg(long)]
        dry_run: bool,
        /// Ask the model (overrides llm.mode; rules only when neither is set).
        #[arg(long, value_enum)]
        llm: Option<LlmMode>,
    },
    /// A fake GitLab with realistic disclosures, the daemon against it, the suggestions it posts.
    Demo {
        /// Ask the model (overrides llm.mode; rules only when neither is set).
        #[arg(long, value_enum)]
        llm: Option<LlmMode>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
        /// Keep the fake GitLab and the daemon up afterwards and print the review pages' URL.
        #[arg(long)]
        keep_running: bool,
    },
    /// Inspect the job queue and retry dead jobs.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Maintainers' decisions on suggestions.
    Decisions {
        #[command(subcommand)]
        command: DecisionsCommand,
    },
    /// How suggestions fare in use: acceptance, suggestion against decision, time to decision.
    Stats {
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Show or clear the safety alarms that stop posting (they survive restarts).
    Alarm {
        #[command(subcommand)]
        command: AlarmCommand,
    },
    /// Check the configuration and explain each problem.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Evaluate the engine on labelled cases.
    Eval(sectriage::eval::EvalArgs),
    /// The boundary knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Print a shell completion script (e.g. `sectriage completions bash > /etc/bash_completion.d/sectriage`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Derive the knowledge base from a QEMU source tree.
    Build {
        /// Top of a QEMU source tree (scripts/fetch-qemu-src fetches Debian's).
        #[arg(long)]
        qemu_src: PathBuf,
        /// An older QEMU tree (repeatable): the files, machines and functions
        /// it has and --qemu-src no longer has are added, classified by its own
        /// build files (`scripts/fetch-qemu-src --suite bookworm` fetches 7.2).
        #[arg(long, value_name = "DIR")]
        history: Vec<PathBuf>,
        /// The security document whose machine list applies.
        #[arg(long, default_value = "kb/docs/security.rst")]
        security_rst: PathBuf,
        /// Where to write the data file.
        #[arg(long, default_value = "kb/qemu-kb.json")]
        out: PathBuf,
    },
    /// Print the evidence chain for a path, directory, device, machine, accelerator or function.
    ///
    /// A machine may come with its target, as on a command line
    /// (`qemu-system-m68k -M virt`, `-M isapc`, `m68k/virt`); options of the
    /// command (`--format`) may come before or after it.
    Explain {
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// What to explain; several words are joined with spaces.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
        subject: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DecisionsCommand {
    /// Write decided issues as labelled eval cases (CONFIDENTIAL: they hold report text),
    /// re-reading each issue from GitLab; `sectriage eval --cases FILE` scores them.
    Export {
        /// Output file (mode 0600); `-` for standard output.
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// List the recorded decisions.
    List {
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum AlarmCommand {
    /// List the raised alarms.
    List {
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Clear every alarm once its cause is fixed; posting resumes.
    Clear,
}

#[derive(Subcommand)]
enum QueueCommand {
    /// List jobs, newest first (all, or one state: pending, running, done, dead).
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// `markdown` prints a table; `json` one object per job.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
    /// Put a dead job back in the queue.
    Retry { id: i64 },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the config file and environment without connecting anywhere.
    Check {
        /// Check as `serve --llm ...` would run (overrides llm.mode).
        #[arg(long, value_enum)]
        llm: Option<LlmMode>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Markdown,
    Json,
}

#[derive(clap::Args)]
struct LlmArgs {
    /// Ask the model (overrides llm.mode; rules only when neither is set).
    #[arg(long, value_enum)]
    llm: Option<LlmMode>,
    /// Record/replay LLM responses in this directory.
    #[arg(long)]
    cache: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = CacheMode::ReadWrite)]
    cache_mode: CacheMode,
    /// Override limits.max_report_bytes.
    #[arg(long)]
    max_report_bytes: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SECTRIAGE_LOG").unwrap_or_else(|_| {
            // The daemon reports its work at info; one-shot commands stay quiet.
            tracing_subscriber::EnvFilter::new(if matches!(cli.command, Command::Serve { .. }) {
                "info"
            } else {
                "warn"
            })
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = match std::env::var("SECTRIAGE_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok(_) => false,
        Err(_) => matches!(cli.command, Command::Serve { .. }),
    };
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    match try_main(cli) {
        Ok(code) => code,
        // The reader of our output went away (`| head`): a normal end, not an error.
        Err(err) if err.chain().any(output::is_closed) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sectriage: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn try_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let file_config = ConfigFile::load(cli.config.as_deref())?;
    match cli.command {
        Command::Triage { file, format, llm } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let engine = make_engine(&file_config, &llm, PromptKind::Adjudicate)?;
            let bytes = read_input(&file)?;
            let raw = parse_input(&bytes);
            let suggestion = runtime
                .block_on(engine.triage(&raw))
                .with_context(|| format!("cannot triage {}", file.display()))?;
            match format {
                Format::Json => output::println(&serde_json::to_string_pretty(&suggestion)?)?,
                Format::Markdown => output::print(&render_note(&suggestion, None)?)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scrub { file, format } => {
            use sectriage::publish::scrub::{issue_parts, scrub};
            let parts = issue_parts(&read_input(&file)?);
            let refs: Vec<_> = parts.iter().map(|(p, t)| (*p, t.as_str())).collect();
            let findings = scrub(&refs);
            let text = match format {
                Format::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "clean": findings.is_empty(),
                        "findings": findings,
                    }))?
                ),
                Format::Markdown if findings.is_empty() => {
                    format!("clean: nothing to scrub in {} part(s)\n", parts.len())
                }
                Format::Markdown => {
                    let mut text = format!(
                        "{} finding(s) to scrub before publishing:\n",
                        findings.len()
                    );
                    for f in &findings {
                        text.push_str(&format!("- {}\n", f.describe()));
                    }
                    text
                }
            };
            // A closed stdout is a quiet end, but the exit code still says whether it is clean.
            match output::print(&text) {
                Err(output::OutputError::Closed) => {}
                other => other?,
            }
            Ok(if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Kb { command } => kb_command(command),
        Command::Serve { dry_run, llm } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async {
                let env = |k: &str| std::env::var(k).ok();
                let daemon =
                    sectriage::daemon::setup::build(&file_config, &env, llm, dry_run).await?;
                sectriage::daemon::run(daemon, sectriage::daemon::termination_signal()).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            llm,
            timeout_secs,
            keep_running,
        } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            warn_unchosen_model(&file_config, llm);
            let adjudicator = match file_config.llm_mode(llm) {
                LlmMode::None => None,
                LlmMode::Openai => Some(Adjudicator::new(
                    file_config.llm_config(&|k| std::env::var(k).ok(), PromptKind::Adjudicate)?,
                    None,
                )),
            };
            if let Some(adj) = &adjudicator {
                // As `serve` does: a chosen model that does not answer stops here, not in every note.
                runtime.block_on(sectriage::daemon::setup::probe_model(adj))?;
            }
            runtime.block_on(sectriage::demo::run(
                adjudicator,
                std::time::Duration::from_secs(timeout_secs),
                keep_running,
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Queue { command } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(queue_command(&file_config, command))
        }
        Command::Decisions { command } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(decisions_command(&file_config, command))
        }
        Command::Stats { format } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async {
                let queue = open_existing_queue(&file_config).await?;
                let stats = sectriage::confirm::stats::Stats::of(&queue.decisions(None).await?);
                match format {
                    Format::Json => {
                        sectriage::output::println(&serde_json::to_string_pretty(&stats)?)?
                    }
                    Format::Markdown => print!("{}", stats.render()),
                }
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Alarm { command } => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(alarm_command(&file_config, command))
        }
        Command::Config {
            command: ConfigCommand::Check { llm },
        } => {
            let problems =
                sectriage::daemon::setup::check(&file_config, &|k| std::env::var(k).ok(), llm);
            output::print(&sectriage::daemon::setup::report(&problems))?;
            // Any error is a bad configuration: exit 2, as for every other error.
            Ok(if problems.iter().any(|p| p.is_error()) {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "sectriage",
                &mut script,
            );
            output::print(&String::from_utf8_lossy(&script))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(args) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(sectriage::eval::run(args, &file_config))
        }
    }
}

fn make_engine(config: &ConfigFile, args: &LlmArgs, prompt: PromptKind) -> anyhow::Result<Engine> {
    let limits = Limits {
        max_report_bytes: args
            .max_report_bytes
            .unwrap_or_else(|| config.max_report_bytes()),
    };
    warn_unchosen_model(config, args.llm);
    let llm = match config.llm_mode(args.llm) {
        LlmMode::None => None,
        LlmMode::Openai => {
            let cfg = config.llm_config(&|k| std::env::var(k).ok(), prompt)?;
            let cache = args
                .cache
                .as_deref()
                .map(|dir| ResponseCache::open(dir, args.cache_mode))
                .transpose()
                .context("cannot open the LLM cache directory")?;
            Some(Adjudicator::new(cfg, cache))
        }
    };
    Ok(Engine {
        kb: Kb::embedded(),
        limits,
        llm,
    })
}

/// Says so on stderr when model settings are present but no model was chosen.
fn warn_unchosen_model(config: &ConfigFile, flag: Option<LlmMode>) {
    if let Some(hint) = config.unchosen_model_hint(flag, &|k| std::env::var(k).ok()) {
        tracing::warn!("{hint}");
    }
}

async fn open_existing_queue(config: &ConfigFile) -> anyhow::Result<sectriage::queue::Queue> {
    use sectriage::queue::{Queue, QueueConfig};
    let url = config
        .daemon
        .queue_url
        .clone()
        .unwrap_or_else(|| sectriage::daemon::setup::DEFAULT_QUEUE_URL.to_string());
    // Inspecting never creates a database: a missing file means a wrong queue_url.
    Ok(Queue::connect_existing(&url, QueueConfig::default()).await?)
}

async fn decisions_command(
    config: &ConfigFile,
    command: DecisionsCommand,
) -> anyhow::Result<ExitCode> {
    use sectriage::confirm::stats::{export_case, export_header, latest_per_issue};
    let queue = open_existing_queue(config).await?;
    let decisions = queue.decisions(None).await?;
    match command {
        DecisionsCommand::List { format } => {
            match format {
                Format::Json => {
                    sectriage::output::println(&serde_json::to_string_pretty(&decisions)?)?
                }
                Format::Markdown => {
                    sectriage::output::println(&format!(
                        "{:<19}  {:>7}  {:>5}  {:<6}  {:<18}  {:<18}  {:<10}  by",
                        "decided (UTC)",
                        "project",
                        "issue",
                        "via",
                        "suggested",
                        "decided",
                        "outcome"
                    ))?;
                    for d in &decisions {
                        let class = |c: Option<sectriage::kb::UseCase>| {
                            c.map_or("-".to_string(), |c| c.to_string())
                        };
                        sectriage::output::println(&format!(
                            "{:<19}  {:>7}  {:>5}  {:<6}  {:<18}  {:<18}  {:<10}  {} ({})",
                            fmt_time(d.decided_at_ms),
                            d.project_id,
                            d.issue_iid,
                            d.via.as_str(),
                            class(d.suggested),
                            class(d.final_class),
                            d.outcome.as_str(),
                            d.username,
                            d.user_id
                        ))?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DecisionsCommand::Export { out } => {
            let gitlab =
                sectriage::daemon::setup::gitlab_client(config, &|k| std::env::var(k).ok())?;
            let engine = Engine {
                kb: Kb::embedded(),
                limits: Limits {
                    max_report_bytes: config.max_report_bytes(),
                },
                llm: None,
            };
            let mut lines = Vec::new();
            let latest = latest_per_issue(&decisions);
            for (i, d) in latest.iter().enumerate() {
                eprintln!(
                    "[{}/{}] project {} issue {}",
                    i + 1,
                    latest.len(),
                    d.project_id,
                    d.issue_iid
                );
                let issue = gitlab
                    .issue(d.project_id, d.issue_iid)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot read issue {} of project {}",
                            d.issue_iid, d.project_id
                        )
                    })?;
                let description = issue.description.clone().unwrap_or_default();
                // Security relevance is not part of a decision: the engine's own reading.
                let raw = sectriage::intake::RawReport {
                    title: issue.title.clone(),
                    body: description.clone().into_bytes(),
                    format: "gitlab-issue",
                };
                let relevant = engine
                    .triage(&raw)
                    .await
                    .map(|s| s.security_relevant)
                    .unwrap_or(true);
                if let Some(line) = export_case(d, &issue.title, &description, relevant) {
                    lines.push(line);
                }
            }
            let mut text = export_header(lines.len());
            text.push('\n');
            for l in &lines {
                text.push_str(l);
                text.push('\n');
            }
            if out == Path::new("-") {
                print!("{text}");
            } else {
                write_private(&out, &text)?;
                eprintln!(
                    "wrote {} case(s) to {} (confidential: keep it private)",
                    lines.len(),
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn alarm_command(config: &ConfigFile, command: AlarmCommand) -> anyhow::Result<ExitCode> {
    let queue = open_existing_queue(config).await?;
    match command {
        AlarmCommand::List { format } => {
            let alarms = queue.alarms().await?;
            match format {
                Format::Json => {
                    sectriage::output::println(&serde_json::to_string_pretty(&alarms)?)?
                }
                Format::Markdown if alarms.is_empty() => {
                    sectriage::output::println("no alarms: posting is allowed")?
                }
                Format::Markdown => {
                    for a in &alarms {
                        sectriage::output::println(&format!(
                            "{}  {}  (raised {} by {})",
                            a.name,
                            a.detail,
                            fmt_time(a.raised_at_ms),
                            a.raised_by
                        ))?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AlarmCommand::Clear => {
            let n = queue.clear_alarms().await?;
            sectriage::output::println(&format!(
                "cleared {n} alarm(s); running daemons resume posting at their next job"
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SSZ`.
fn fmt_time(ms: i64) -> String {
    let iso = sectriage::intake::timefmt::format_ms(ms);
    iso.get(..19)
        .map_or(iso.clone(), |s| format!("{}Z", s.replace('T', " ")))
}

async fn queue_command(config: &ConfigFile, command: QueueCommand) -> anyhow::Result<ExitCode> {
    use sectriage::queue::JobState;
    let queue = open_existing_queue(config).await?;
    match command {
        QueueCommand::List {
            state,
            limit,
            format,
        } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(s.parse::<JobState>().map_err(anyhow::Error::msg)?),
            };
            let rows = queue.list(state, limit).await?;
            if format == Format::Json {
                sectriage::output::println(&serde_json::to_string_pretty(&rows)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            sectriage::output::println(&format!(
                "{:>6}  {:<7}  {:>7}  {:>5}  {:<3}  {:<19}  {:<20}  {:<18}  last error",
                "job", "state", "project", "issue", "try", "updated (UTC)", "outcome", "verdict"
            ))?;
            for row in rows {
                sectriage::output::println(&format!(
                    "{:>6}  {:<7}  {:>7}  {:>5}  {:<3}  {:<19}  {:<20}  {:<18}  {}",
                    row.id,
                    row.state.as_str(),
                    row.project_id,
                    row.issue_iid,
                    row.attempts,
                    fmt_time(row.updated_at_ms),
                    row.outcome.as_deref().unwrap_or("-"),
                    row.verdict.as_deref().unwrap_or("-"),
                    row.last_error.as_deref().unwrap_or("")
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        QueueCommand::Retry { id } => {
            if queue.retry_dead(id).await? {
                sectriage::output::println(&format!("job {id} is pending again"))?;
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("job {id} is not a dead job; `sectriage queue list --state dead` lists them")
            }
        }
    }
}

fn read_input(file: &Path) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read the report from standard input")?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    Ok(bytes)
}

fn kb_command(command: KbCommand) -> anyhow::Result<ExitCode> {
    match command {
        KbCommand::Build {
            qemu_src,
            history,
            security_rst,
            out,
        } => {
            let rst = std::fs::read_to_string(&security_rst)
                .with_context(|| format!("cannot read {}", security_rst.display()))?;
            let data = build::build_with_history(&qemu_src, &history, &rst)?;
            let json = build::to_json(&data);
            std::fs::write(&out, &json)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let count = |c| data.files.values().filter(|f| f.class == c).count();
            eprintln!(
                "wrote {} (QEMU {}{}, {} files: {} virtualization, {} non-virtualization, {} needs-judgement; {} functions; {} listed machines, {} resolved)",
                out.display(),
                data.qemu_version,
                if data.history.is_empty() {
                    String::new()
                } else {
                    format!(
                        " with {} files no longer in it from QEMU {}",
                        data.files.values().filter(|f| f.last_release.is_some()).count(),
                        data.history.join(", ")
                    )
                },
                data.files.len(),
                count(sectriage::kb::UseCase::Virtualization),
                count(sectriage::kb::UseCase::NonVirtualization),
                count(sectriage::kb::UseCase::NeedsJudgement),
                data.functions.len(),
                data.listed_machines.len(),
                data.listed_machines.iter().filter(|m| m.symbol.is_some()).count(),
            );
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::Explain { subject, format } => {
            // The subject takes every word after it (a command line has `-M`),
            // so a `--format` given after it is read here.
            let mut format = format;
            let mut words = Vec::new();
            let mut it = subject.into_iter();
            while let Some(w) = it.next() {
                let value = if w == "--format" {
                    it.next()
                } else {
                    w.strip_prefix("--format=").map(str::to_string)
                };
                match value {
                    Some(v) => {
                        format = <Format as ValueEnum>::from_str(&v, true)
                            .map_err(|e| anyhow::anyhow!("--format {v}: {e} (markdown or json)"))?
                    }
                    None => words.push(w),
                }
            }
            let subject = words.join(" ");
            let kb = Kb::embedded();
            // The structural rules (tree layout, historical paths) on top of the lookup.
            let Some(finding) = sectriage::triage::structure::explain(kb, &subject) else {
                bail!("nothing in the knowledge base matches '{subject}'; try a source path (hw/usb/hcd-xhci.c), a directory (linux-user/), a device (e1000e), a machine (q35, qemu-system-m68k -M virt), an accelerator (kvm), a tool (qemu-img) or a function (xhci_kick_epctx)");
            };
            match format {
                Format::Json => output::println(&serde_json::to_string_pretty(&finding)?)?,
                Format::Markdown => {
                    let mut text = format!(
                        "{}: {}{}\n",
                        finding.subject,
                        finding.class,
                        if finding.from_overlay {
                            " (overlay)"
                        } else {
                            ""
                        }
                    );
                    for fact in &finding.facts {
                        text.push_str(&format!("  - {} [{}]\n", fact.text, fact.source));
                    }
                    output::print(&text)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
