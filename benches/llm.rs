//! `cargo bench --bench llm`: the model's cost per call on AI-era-length reports.
//!
//! Always: the prompt each dev case would get, in tokens (tiktoken), split into the
//! fixed system-message prefix and the per-case part, and how many of the dev cases
//! the engine would ask the model about at all (call skipping).
//!
//! With a model up (`SECTRIAGE_LLM_BASE_URL`, default `http://127.0.0.1:8080/v1`,
//! e.g. `scripts/local-llm start qwen`): one adjudication per AI-era dev case
//! (`eval/cases/dev-ai-cases.jsonl`), asked directly so skipping does not hide the
//! cost, after one warm-up call that fills the server's prompt cache with the fixed
//! prefix; prints the median and p95 wall time per call and the server's token
//! counts. Run it when the machine is otherwise idle (`uptime` load below ~1.5);
//! the numbers are printed, not asserted.

use std::time::{Duration, Instant};

use sectriage::engine::Engine;
use sectriage::intake::parse_input;
use sectriage::kb::Kb;
use sectriage::llm::{candidates, prompt, skip, Adjudicator, LlmConfig, PromptKind};
use sectriage::triage::decide::LlmOutcome;
use sectriage::triage::hygiene::Limits;

const DEV: &str = include_str!("../eval/cases/dev-cases.jsonl");
const DEV_AI: &str = include_str!("../eval/cases/dev-ai-cases.jsonl");

fn pct(sorted: &[u64], p: usize) -> u64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn main() {
    let kb = Kb::embedded();
    let engine = Engine {
        kb,
        limits: Limits::default(),
        llm: None,
    };
    let mut rows = Vec::new();
    for (file, text) in [("dev-cases", DEV), ("dev-ai-cases", DEV_AI)] {
        let (mut asked, mut n, mut fixed, mut per_case) = (0, 0, 0, Vec::new());
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (evidence, report) = engine
                .evidence(&parse_input(line.as_bytes()))
                .expect("dev case accepted");
            let cands = candidates::find(&evidence, &report, kb);
            n += 1;
            if skip::reason(&evidence, &cands).is_none() {
                asked += 1;
            }
            let p = prompt::build_adjudication(
                &evidence,
                &report,
                &cands,
                sectriage::llm::DEFAULT_MAX_PROMPT_TOKENS,
            );
            fixed = p.fixed_tokens;
            per_case.push((p.tokens - p.fixed_tokens) as u64);
            if file == "dev-ai-cases" {
                let label: serde_json::Value = serde_json::from_str(line).expect("case JSON");
                let label = label["label"]["use_case"]
                    .as_str()
                    .unwrap_or("")
                    .replace("unclear", "needs-judgement");
                rows.push((evidence, report, cands, label));
            }
        }
        per_case.sort();
        let mean = per_case.iter().sum::<u64>() as f64 / per_case.len() as f64;
        println!(
            "{file}: {n} cases, model asked on {asked} ({} skipped); prompt tokens fixed {fixed}, per case mean {mean:.0} / p50 {} / max {}",
            n - asked,
            pct(&per_case, 50),
            per_case[per_case.len() - 1]
        );
    }

    let base_url = std::env::var("SECTRIAGE_LLM_BASE_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/v1".into());
    let model = std::env::var("SECTRIAGE_LLM_MODEL")
        .unwrap_or_else(|_| "qwen2.5-coder-1.5b-instruct".into());
    let adj = Adjudicator::new(
        LlmConfig {
            base_url: base_url.clone(),
            model,
            api_key: "none".into(),
            timeout: Duration::from_secs(300),
            max_prompt_tokens: sectriage::llm::DEFAULT_MAX_PROMPT_TOKENS,
            max_completion_tokens: sectriage::llm::DEFAULT_MAX_COMPLETION_TOKENS,
            prompt: PromptKind::Adjudicate,
        },
        None,
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if rt.block_on(adj.probe()).is_err() {
        println!("no model at {base_url}: live timing skipped (start one with scripts/local-llm start qwen)");
        return;
    }
    // Warm-up: fills the server's prompt cache with the fixed prefix.
    let (e, r, c, _) = &rows[0];
    rt.block_on(adj.adjudicate(e, r, c));
    let (mut ms, mut prompt_t, mut completion, mut cached, mut failed, mut right) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0, 0);
    for (e, r, c, label) in &rows {
        let t = Instant::now();
        let out = rt.block_on(adj.adjudicate(e, r, c));
        ms.push(t.elapsed().as_millis() as u64);
        match out {
            LlmOutcome::Answered { usage, opinion, .. } => {
                right += usize::from(opinion.use_case.as_str() == label);
                prompt_t.push(usage.prompt);
                completion.push(usage.completion);
                cached.push(usage.cached.unwrap_or(0));
            }
            _ => failed += 1,
        }
    }
    ms.sort();
    completion.sort();
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
    println!(
        "live, {} AI-era reports: per call p50 {} ms, p95 {} ms, max {} ms; server prompt tokens mean {:.0} (cached {:.0}), completion mean {:.0} / max {}; {failed} failed; the model's own use case matched the label on {right} of {}",
        rows.len(),
        pct(&ms, 50),
        pct(&ms, 95),
        ms[ms.len() - 1],
        mean(&prompt_t),
        mean(&cached),
        mean(&completion),
        completion.last().copied().unwrap_or(0),
        rows.len()
    );
}
