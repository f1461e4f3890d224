//! `cargo bench --bench engine`: the engine's own time per report (rules
//! only, no LLM) for a small and a 200 KiB report, prompt-building time, and
//! tokens per prompt counted with tiktoken.

use std::hint::black_box;
use std::time::{Duration, Instant};

use sectriage::engine::Engine;
use sectriage::intake::parse_input;
use sectriage::kb::Kb;
use sectriage::llm::prompt;
use sectriage::publish::render_note;
use sectriage::triage::decide::{decide, LlmOutcome};
use sectriage::triage::hygiene::Limits;

const SMALL: &str = include_str!("../eval/examples/xhci-disclosure.md");

fn big_report(target_bytes: usize) -> String {
    let mut s = String::from(SMALL);
    let mut i = 0;
    while s.len() < target_bytes {
        s.push_str(&format!(
            "\nParagraph {i}: while reviewing the ring handling we also looked at unrelated code paths, timers and the migration state; none of this matters for the bug.\n    #{} 0x55d3a10{i:05x} in xhci_fetch_trb ../hw/usb/hcd-xhci.c:{}\n",
            i % 40,
            700 + i % 50
        ));
        i += 1;
    }
    s
}

/// Median and p95 of `iterations` runs of `f`.
fn measure(iterations: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    (samples[iterations / 2], samples[iterations * 95 / 100])
}

fn main() {
    let engine = Engine {
        kb: Kb::embedded(),
        limits: Limits::default(),
        llm: None,
    };
    // Load the embedded KB and the tokenizer once, outside the measurements.
    let _ = engine.evidence(&parse_input(SMALL.as_bytes()));
    let _ = prompt::count_tokens("warm up");

    println!(
        "{:<28} {:>10} {:>12} {:>12} {:>14} {:>16}",
        "report", "bytes", "engine p50", "engine p95", "prompt build", "prompt tokens"
    );
    for (name, text, iterations) in [
        ("small (bundled example)", SMALL.to_string(), 200),
        ("200 KiB", big_report(200 * 1024), 20),
    ] {
        let raw = parse_input(text.as_bytes());
        let (p50, p95) = measure(iterations, || {
            let (evidence, _) = engine.evidence(black_box(&raw)).expect("report accepted");
            let suggestion = decide(evidence, LlmOutcome::NotUsed);
            black_box(render_note(&suggestion, None).expect("safe note"));
        });
        let (evidence, sanitized) = engine.evidence(&raw).expect("report accepted");
        let (build, _) = measure(iterations.min(20), || {
            black_box(prompt::build_adjudication(
                &evidence,
                &sanitized,
                &[],
                sectriage::llm::DEFAULT_MAX_PROMPT_TOKENS,
            ));
        });
        let p = prompt::build_adjudication(
            &evidence,
            &sanitized,
            &[],
            sectriage::llm::DEFAULT_MAX_PROMPT_TOKENS,
        );
        println!(
            "{:<28} {:>10} {:>10.2?} {:>10.2?} {:>12.2?} {:>9} ({} lines cut)",
            name,
            text.len(),
            p50,
            p95,
            build,
            p.tokens,
            p.omitted_lines
        );
    }
    let system = prompt::system_message();
    println!(
        "static prompt prefix (system message): {} tokens, identical for every report",
        prompt::count_tokens(&system)
    );
}
