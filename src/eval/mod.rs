//! Offline evaluation against labelled cases (`sectriage eval`).

use std::process::ExitCode;

/// Flags of `sectriage eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Labelled-case files (JSON lines).
    #[arg(long, num_args = 1.., required = true)]
    pub cases: Vec<std::path::PathBuf>,
}

/// Runs an evaluation.
///
/// # Errors
/// When the cases cannot be read.
pub async fn run(_args: EvalArgs, _config: &crate::config::ConfigFile) -> anyhow::Result<ExitCode> {
    anyhow::bail!("sectriage eval is not implemented yet")
}
