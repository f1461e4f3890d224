//! The `sectriage` command line: a thin layer that parses flags and hands off.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

use sectriage::config::ConfigFile;
use sectriage::engine::Engine;
use sectriage::intake::parse_input;
use sectriage::kb::{build, Kb};
use sectriage::llm::{Adjudicator, CacheMode, PromptKind, ResponseCache};
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
    /// Evaluate the engine on labelled cases.
    Eval(sectriage::eval::EvalArgs),
    /// The boundary knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Derive the knowledge base from a QEMU source tree.
    Build {
        /// Top of a QEMU source tree (scripts/fetch-qemu-src fetches Debian's).
        #[arg(long)]
        qemu_src: PathBuf,
        /// The security document whose machine list applies.
        #[arg(long, default_value = "kb/docs/security.rst")]
        security_rst: PathBuf,
        /// Where to write the data file.
        #[arg(long, default_value = "kb/qemu-kb.json")]
        out: PathBuf,
    },
    /// Print the evidence chain for a path, directory, device, machine or accelerator.
    Explain {
        subject: String,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum LlmMode {
    /// Deterministic layers only.
    None,
    /// An OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp).
    Openai,
}

#[derive(clap::Args)]
struct LlmArgs {
    #[arg(long, value_enum, default_value_t = LlmMode::Openai)]
    llm: LlmMode,
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SECTRIAGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match try_main() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sectriage: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn try_main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
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
                Format::Json => println!("{}", serde_json::to_string_pretty(&suggestion)?),
                Format::Markdown => print!("{}", render_note(&suggestion, None)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Kb { command } => kb_command(command),
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
    let llm = match args.llm {
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
            security_rst,
            out,
        } => {
            let rst = std::fs::read_to_string(&security_rst)
                .with_context(|| format!("cannot read {}", security_rst.display()))?;
            let data = build::build(&qemu_src, &rst)?;
            let json = build::to_json(&data);
            std::fs::write(&out, &json)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let count = |c| data.files.values().filter(|f| f.class == c).count();
            eprintln!(
                "wrote {} (QEMU {}, {} files: {} virtualization, {} non-virtualization, {} needs-judgement; {} listed machines, {} resolved)",
                out.display(),
                data.qemu_version,
                data.files.len(),
                count(sectriage::kb::UseCase::Virtualization),
                count(sectriage::kb::UseCase::NonVirtualization),
                count(sectriage::kb::UseCase::NeedsJudgement),
                data.listed_machines.len(),
                data.listed_machines.iter().filter(|m| m.symbol.is_some()).count(),
            );
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::Explain { subject, format } => {
            let kb = Kb::embedded();
            let Some(finding) = kb.explain(&subject) else {
                bail!("nothing in the knowledge base matches '{subject}'; try a source path (hw/usb/hcd-xhci.c), a directory (linux-user/), a device (e1000e), a machine (q35) or an accelerator (kvm)");
            };
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&finding)?),
                Format::Markdown => {
                    println!(
                        "{}: {}{}",
                        finding.subject,
                        finding.class,
                        if finding.from_overlay {
                            " (overlay)"
                        } else {
                            ""
                        }
                    );
                    for fact in &finding.facts {
                        println!("  - {} [{}]", fact.text, fact.source);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
