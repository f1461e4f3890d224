//! The LLM edge against a fake OpenAI-compatible server, and against the real
//! local model when one is up (`scripts/local-llm start`).

mod support;

use std::time::Duration;

use sectriage::engine::Engine;
use sectriage::intake::parse_input;
use sectriage::kb::{Kb, UseCase};
use sectriage::llm::{Adjudicator, CacheMode, LlmConfig, PromptKind, ResponseCache};
use sectriage::publish::{check_note, render_note};
use sectriage::triage::decide::LlmOutcome;
use sectriage::triage::hygiene::Limits;
use support::{answer, FakeLlm, Reply};

const XHCI: &str = include_str!("../eval/examples/xhci-disclosure.md");
/// A report the engine asks the model about: virtualization code a guest can
/// reach, but no damage word, so the model may add security relevance.
const ASKED: &str = "hw/usb/hcd-xhci: ring walk\n\nA malicious guest can make the ring walk read the wrong entry.\n";

fn engine(base_url: &str, timeout: Duration, cache: Option<ResponseCache>) -> Engine {
    let cfg = LlmConfig {
        base_url: base_url.to_string(),
        model: "fake-model".into(),
        api_key: "test".into(),
        timeout,
        max_prompt_tokens: 6000,
        max_completion_tokens: 200,
        prompt: PromptKind::Adjudicate,
    };
    Engine {
        kb: Kb::embedded(),
        limits: Limits::default(),
        llm: Some(Adjudicator::new(cfg, cache)),
    }
}

#[tokio::test]
async fn json_schema_answer_is_used_with_usage_and_prompt_version() {
    let fake = FakeLlm::start(|_, _| Reply::Content(answer("virtualization"))).await;
    let s = engine(&fake.base_url, Duration::from_secs(10), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    assert_eq!(s.use_case, UseCase::Virtualization);
    let LlmOutcome::Answered {
        usage,
        prompt_version,
        response_format,
        ..
    } = &s.llm
    else {
        panic!("{:?}", s.llm)
    };
    assert_eq!(
        (usage.prompt, usage.completion, usage.cached),
        (1000, 50, Some(900))
    );
    assert!(
        usage.counted_locally > 500,
        "tiktoken count {}",
        usage.counted_locally
    );
    assert!(prompt_version.starts_with("adjudicate-v2+"));
    assert_eq!(response_format, "json_schema");
    let req = &fake.requests()[0];
    assert_eq!(req["response_format"]["type"], "json_schema");
    assert_eq!(req["messages"][0]["role"], "system");
    // The model's rationale carried a mention, a reference and a link: the note defangs them.
    let note = render_note(&s, None).unwrap();
    check_note(&note).unwrap();
    assert!(!note.contains("@admin") && !note.contains("https://"));
}

/// Issue 11: where no answer could change the suggestion (a described guest-triggered
/// overflow in a device a listed machine builds in), the model is not asked.
#[tokio::test]
async fn a_settled_report_is_not_sent_to_the_model() {
    let fake = FakeLlm::start(|_, _| Reply::Content(answer("non-virtualization"))).await;
    let s = engine(&fake.base_url, Duration::from_secs(10), None)
        .triage(&parse_input(XHCI.as_bytes()))
        .await
        .unwrap();
    assert!(fake.requests().is_empty(), "the model was asked");
    assert!(matches!(s.llm, LlmOutcome::Skipped { .. }), "{:?}", s.llm);
    assert_eq!(s.use_case, UseCase::Virtualization);
    assert!(s.security_relevant);
    let note = render_note(&s, None).unwrap();
    assert!(note.contains("the model was not asked"), "{note}");
}

#[tokio::test]
async fn server_without_json_schema_falls_back_to_json_object() {
    let fake = FakeLlm::start(|req, _| {
        if req["response_format"]["type"] == "json_schema" {
            Reply::Error(400, "response_format json_schema is not supported".into())
        } else {
            Reply::Content(format!("```json\n{}\n```", answer("virtualization")))
        }
    })
    .await;
    let e = engine(&fake.base_url, Duration::from_secs(10), None);
    let s = e.triage(&parse_input(ASKED.as_bytes())).await.unwrap();
    let LlmOutcome::Answered {
        response_format, ..
    } = &s.llm
    else {
        panic!("{:?}", s.llm)
    };
    assert_eq!(response_format, "json_object");
    // The fallback is remembered: the next report goes straight to json_object.
    e.triage(&parse_input(ASKED.as_bytes())).await.unwrap();
    let types: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r["response_format"]["type"].clone())
        .collect();
    assert_eq!(types, ["json_schema", "json_object", "json_object"]);
}

#[tokio::test]
async fn invalid_answer_gets_one_repair_retry() {
    let fake = FakeLlm::start(|_, n| {
        if n == 0 {
            Reply::Content("{\"use_case\": \"escape-the-vm\"}".into())
        } else {
            Reply::Content(answer("virtualization"))
        }
    })
    .await;
    let s = engine(&fake.base_url, Duration::from_secs(10), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    let LlmOutcome::Answered { repaired, .. } = &s.llm else {
        panic!("{:?}", s.llm)
    };
    assert!(repaired);
    let second = &fake.requests()[1];
    assert!(second["messages"][3]["content"]
        .as_str()
        .unwrap()
        .contains("not valid"));
}

#[tokio::test]
async fn persistent_garbage_falls_back_to_the_rules_verdict() {
    let fake = FakeLlm::start(|_, _| Reply::Content("no idea".into())).await;
    let s = engine(&fake.base_url, Duration::from_secs(10), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    assert!(matches!(s.llm, LlmOutcome::Failed { .. }));
    assert_eq!(s.use_case, UseCase::Virtualization, "rules verdict stands");
    assert_eq!(fake.requests().len(), 2, "one call plus one repair retry");
    assert!(render_note(&s, None)
        .unwrap()
        .contains("rules-only verdict"));
}

#[tokio::test]
async fn slow_server_times_out_with_a_clear_reason() {
    let fake = FakeLlm::start(|_, _| {
        Reply::Slow(
            Duration::from_secs(5),
            Box::new(Reply::Content(answer("virtualization"))),
        )
    })
    .await;
    let s = engine(&fake.base_url, Duration::from_millis(300), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    let LlmOutcome::Failed { reason, .. } = &s.llm else {
        panic!("{:?}", s.llm)
    };
    assert!(reason.contains("did not answer within"), "{reason}");
}

#[tokio::test]
async fn endpoint_down_is_reported_not_fatal() {
    let s = engine("http://127.0.0.1:9/v1", Duration::from_secs(5), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    let LlmOutcome::Failed { reason, .. } = &s.llm else {
        panic!("{:?}", s.llm)
    };
    assert!(reason.contains("cannot reach the LLM endpoint"), "{reason}");
    assert_eq!(s.use_case, UseCase::Virtualization);
}

/// Issue 8, defect 12: a failed call's note says the model was unavailable and the
/// verdict is rules-only, with no URL or transport error (those go to the log).
#[tokio::test]
async fn failed_call_note_carries_no_url_or_transport_error() {
    let slow = FakeLlm::start(|_, _| {
        Reply::Slow(
            Duration::from_secs(5),
            Box::new(Reply::Content(answer("virtualization"))),
        )
    })
    .await;
    let refusing =
        FakeLlm::start(|_, _| Reply::Error(500, "socket hang up at 10.0.0.7".into())).await;
    for (base_url, timeout, words) in [
        (
            "http://127.0.0.1:9/v1",
            Duration::from_secs(5),
            "was unavailable (endpoint not reachable)",
        ),
        (
            slow.base_url.as_str(),
            Duration::from_millis(300),
            "was unavailable (no answer in time)",
        ),
        (
            refusing.base_url.as_str(),
            Duration::from_secs(5),
            "was unavailable (the endpoint returned an error)",
        ),
    ] {
        let s = engine(base_url, timeout, None)
            .triage(&parse_input(ASKED.as_bytes()))
            .await
            .unwrap();
        assert!(matches!(s.llm, LlmOutcome::Failed { .. }), "{:?}", s.llm);
        let note = render_note(&s, None).unwrap();
        assert!(note.contains(words), "{note}");
        assert!(note.contains("This is the rules-only verdict."), "{note}");
        for leak in [
            "127.0.0.1",
            "10.0.0.7",
            "http",
            "cannot reach",
            "error sending",
            "did not answer within",
            "hang up",
        ] {
            assert!(!note.contains(leak), "note leaks {leak:?}:\n{note}");
        }
    }
}

#[tokio::test]
async fn probe_lists_the_models_or_says_why_not() {
    let fake = FakeLlm::start(|_, _| Reply::Content(answer("virtualization"))).await;
    let e = engine(&fake.base_url, Duration::from_secs(5), None);
    let models = e.llm.as_ref().unwrap().probe().await.unwrap();
    assert_eq!(models, ["fake-model"]);
    // The probe costs no completion.
    assert!(fake.requests().is_empty());
    let down = engine("http://127.0.0.1:9/v1", Duration::from_secs(5), None);
    let err = down.llm.as_ref().unwrap().probe().await.unwrap_err();
    assert!(
        err.to_string().contains("cannot reach the LLM endpoint"),
        "{err}"
    );
    let no_v1 = engine(
        &fake.base_url.replace("/v1", ""),
        Duration::from_secs(5),
        None,
    );
    let err = no_v1.llm.as_ref().unwrap().probe().await.unwrap_err();
    assert!(err.to_string().contains("/v1"), "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_once() {
    let fake = FakeLlm::start(|_, n| {
        if n == 0 {
            Reply::Error(503, "overloaded".into())
        } else {
            Reply::Content(answer("virtualization"))
        }
    })
    .await;
    let s = engine(&fake.base_url, Duration::from_secs(10), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    assert!(matches!(s.llm, LlmOutcome::Answered { .. }));
}

#[tokio::test]
async fn recorded_responses_replay_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeLlm::start(|_, _| Reply::Content(answer("virtualization"))).await;
    let record = ResponseCache::open(dir.path(), CacheMode::ReadWrite).unwrap();
    let first = engine(&fake.base_url, Duration::from_secs(10), Some(record))
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    let replay = ResponseCache::open(dir.path(), CacheMode::Replay).unwrap();
    let second = engine(
        "http://127.0.0.1:9/v1",
        Duration::from_secs(5),
        Some(replay),
    )
    .triage(&parse_input(ASKED.as_bytes()))
    .await
    .unwrap();
    assert_eq!(first.llm.opinion(), second.llm.opinion());
    assert_eq!(first.use_case, second.use_case);
}

/// Runs against the real local model when `SECTRIAGE_TEST_LLM_URL` is set or a
/// server answers on 127.0.0.1:8080 (scripts/local-llm start). CI does not start a
/// model (building llama.cpp and fetching 1.1 GB of weights does not fit its
/// budget), so it skips there too; CI's model check is the replay of the recorded
/// evaluation (`tests/eval_gate.rs`).
#[tokio::test]
async fn real_local_model_when_available() {
    let url = std::env::var("SECTRIAGE_TEST_LLM_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/v1".into());
    let health = url.trim_end_matches("/v1").to_string() + "/health";
    let up = reqwest::Client::new()
        .get(&health)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    if !up {
        eprintln!("no local model at {url}; skipping (start one with scripts/local-llm start)");
        return;
    }
    let s = engine(&url, Duration::from_secs(300), None)
        .triage(&parse_input(ASKED.as_bytes()))
        .await
        .unwrap();
    let LlmOutcome::Answered { usage, opinion, .. } = &s.llm else {
        panic!("real model failed: {:?}", s.llm)
    };
    assert!(usage.prompt > 0);
    assert!(
        usage.completion <= 120,
        "completion {} tokens",
        usage.completion
    );
    assert!(
        !opinion.rationale.is_empty(),
        "the reasoning comes first and is kept whole"
    );
    check_note(&render_note(&s, None).unwrap()).unwrap();
}

#[tokio::test]
async fn the_daemons_tower_stack_times_out_and_reports_it() {
    use sectriage::llm::stack::{LlmStack, StackLimits};
    let fake = FakeLlm::start(|_, _| {
        Reply::Slow(
            Duration::from_secs(3),
            Box::new(Reply::Content(answer("virtualization"))),
        )
    })
    .await;
    let e = engine(&fake.base_url, Duration::from_secs(30), None);
    let stack = LlmStack::new(
        e.llm.clone().unwrap(),
        StackLimits {
            concurrency: 1,
            per_minute: 60,
            timeout: Duration::from_millis(300),
        },
    );
    let s = e
        .triage_via(&parse_input(ASKED.as_bytes()), Some(&stack))
        .await
        .unwrap();
    let LlmOutcome::Failed { reason, .. } = &s.llm else {
        panic!("{:?}", s.llm)
    };
    assert!(reason.contains("overall timeout"), "{reason}");
    assert_eq!(s.use_case, UseCase::Virtualization, "rules verdict stands");
}
