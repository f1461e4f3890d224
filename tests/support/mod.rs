//! Test support: a fake OpenAI-compatible chat server on 127.0.0.1:0.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the fake answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A chat completion whose message content is this string.
    Content(String),
    /// An HTTP error with an OpenAI-style error body.
    Error(u16, String),
    /// Wait, then answer.
    Slow(Duration, Box<Reply>),
}

/// Decides the reply from the request body and the number of requests so far.
pub type Script = Arc<dyn Fn(&Value, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct AppState {
    script: Script,
    requests: Arc<Mutex<Vec<Value>>>,
}

pub struct FakeLlm {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    pub async fn start(script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> FakeLlm {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            script: Arc::new(script),
            requests: requests.clone(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeLlm {
            base_url: format!("http://{addr}/v1"),
            requests,
            _task: task,
        }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

/// `GET /v1/models`, as OpenAI-compatible servers list what they serve.
async fn models() -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "test"}]}),
    )
}

async fn chat(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let n = {
        let mut r = state.requests.lock().unwrap();
        r.push(body.clone());
        r.len() - 1
    };
    let mut reply = (state.script)(&body, n);
    loop {
        match reply {
            Reply::Slow(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            Reply::Error(status, message) => {
                return (
                    StatusCode::from_u16(status).unwrap(),
                    Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})),
                )
                    .into_response()
            }
            Reply::Content(content) => {
                return Json(json!({
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050, "prompt_tokens_details": {"cached_tokens": 900}}
                }))
                .into_response()
            }
        }
    }
}

/// A valid answer with the given use case.
pub fn answer(use_case: &str) -> String {
    json!({"use_case": use_case, "security_relevant": true, "confidence": "high", "questions": ["affected-version"], "rationale": "See @admin and #12 at https://evil.example"}).to_string()
}

/// An optional test dependency (PostgreSQL, a QEMU tree, a model): its value when present.
/// When missing, the test says so and returns `None`, except under CI (`CI=true`), where a
/// missing dependency fails the run instead of passing silently.
pub fn require(var: &str, what: &str, how: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            let msg = format!("{what} is not available: set {var} ({how})");
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{msg}; CI=true requires it");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

/// The PostgreSQL test server's URL, through [`require`].
pub fn postgres_url() -> Option<String> {
    require(
        "SECTRIAGE_TEST_POSTGRES_URL",
        "PostgreSQL",
        "export SECTRIAGE_TEST_POSTGRES_URL=$(scripts/ci-postgres)",
    )
}

/// Runs the `sectriage` binary with `args`, feeding `stdin`: (exit code, stdout, stderr).
pub fn run(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
