//! The command line as a user meets it (issue 8, defects 12-15): the model is an
//! explicit choice, `config check` catches broken configs, repaired input says
//! so, untrusted dates never panic, a closed stdout ends a command quietly, and
//! shell completions exist.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use sectriage::config::{ConfigFile, LlmMode};

const XHCI: &str = "eval/examples/xhci-disclosure.md";
/// Nothing listens on the discard port: any model call fails at once.
const CLOSED: &str = "http://127.0.0.1:9/v1";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with a clean LLM environment plus `env`, feeding `stdin`.
fn run(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sectriage"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in [
        "SECTRIAGE_CONFIG",
        "SECTRIAGE_LLM_BASE_URL",
        "SECTRIAGE_LLM_MODEL",
        "SECTRIAGE_LLM_API_KEY",
        "OPENAI_API_KEY",
        "SECTRIAGE_GITLAB_TOKEN",
        "SECTRIAGE_LOG",
        "SECTRIAGE_LOG_FORMAT",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

// --- Defect 12: the model is an explicit choice; a failure leaks nothing into the note.

#[test]
fn triage_without_a_model_choice_is_rules_only_and_says_why() {
    // A base URL in the environment is not a choice: no silent call to a server that isn't there.
    let out = run(
        &["triage", XHCI],
        &[("SECTRIAGE_LLM_BASE_URL", CLOSED)],
        b"",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("rules only (no model)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("failed"), "{}", out.stdout);
    assert!(
        out.stderr.contains("no model was chosen") && out.stderr.contains("--llm openai"),
        "{}",
        out.stderr
    );
    // Without any model setting there is nothing to warn about.
    let out = run(&["triage", XHCI], &[], b"");
    assert!(out.stdout.contains("rules only (no model)"));
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn llm_mode_in_the_config_chooses_the_model_and_the_flag_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "c.toml",
        &format!("[llm]\nmode = \"openai\"\nbase_url = \"{CLOSED}\"\n"),
    );
    // A report the model is asked about (the bundled example is settled by the rules,
    // so no call would be made for it): a guest trigger, no damage word.
    let asked = write(
        dir.path(),
        "asked.md",
        "hw/usb/hcd-xhci: ring walk\n\nA malicious guest can make the ring walk read the wrong entry.\n",
    );
    let out = run(&["--config", &cfg, "triage", &asked], &[], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("was unavailable (endpoint not reachable)")
            && out.stdout.contains("This is the rules-only verdict."),
        "{}",
        out.stdout
    );
    for leak in ["127.0.0.1", "cannot reach", "error sending"] {
        assert!(
            !out.stdout.contains(leak),
            "note leaks {leak}: {}",
            out.stdout
        );
    }
    // The detail is in the log, as structured fields.
    assert!(
        out.stderr.contains("kind") && out.stderr.contains("cannot reach"),
        "{}",
        out.stderr
    );
    let out = run(
        &["--config", &cfg, "triage", &asked, "--llm", "none"],
        &[],
        b"",
    );
    assert!(
        out.stdout.contains("rules only (no model)"),
        "{}",
        out.stdout
    );
    // The JSON keeps the fixed kind beside the detail.
    let out = run(
        &["--config", &cfg, "triage", &asked, "--format", "json"],
        &[],
        b"",
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["llm"]["status"], "failed");
    assert_eq!(v["llm"]["kind"], "unavailable");
}

#[test]
fn the_model_choice_resolves_flag_then_config_then_none() {
    let off = ConfigFile::default();
    assert_eq!(off.llm_mode(None), LlmMode::None);
    let on: ConfigFile = toml::from_str("[llm]\nmode = \"openai\"\n").unwrap();
    assert_eq!(on.llm_mode(None), LlmMode::Openai);
    assert_eq!(on.llm_mode(Some(LlmMode::None)), LlmMode::None);
}

#[test]
fn serve_refuses_to_start_when_the_chosen_model_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "c.toml",
        &format!(
            "[gitlab]\nurl = \"https://gitlab.example\"\nprojects = [1]\n\
             [daemon]\nqueue_url = \"sqlite://{}\"\nwebhook_secret_env = \"HOOK_SECRET\"\n\
             [llm]\nmode = \"openai\"\nbase_url = \"{CLOSED}\"\n",
            dir.path().join("q.db").display()
        ),
    );
    let out = run(
        &["--config", &cfg, "serve"],
        &[
            ("SECTRIAGE_GITLAB_TOKEN", "glpat-test"),
            ("HOOK_SECRET", "s3cret-s3cret"),
        ],
        b"",
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("startup check") && out.stderr.contains("--llm none"),
        "{}",
        out.stderr
    );
}

// --- Defect 13: config check.

/// A config, extra environment, the expected line's start and a word it must hold.
type BrokenCase = (
    String,
    Vec<(&'static str, &'static str)>,
    &'static str,
    &'static str,
);

const GOOD: &str = "[gitlab]\nurl = \"https://gitlab.example\"\nprojects = [1]\n";

fn check(config: &str, env: &[(&str, &str)]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", config);
    run(&["--config", &cfg, "config", "check"], env, b"")
}

#[test]
fn config_check_refuses_each_broken_value_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty_file = write(dir.path(), "empty-token", "  \n");
    let cases: Vec<BrokenCase> = vec![
        (GOOD.into(), vec![("SECTRIAGE_GITLAB_TOKEN", "")], "error: gitlab.token_env", "set but empty"),
        (
            format!("{GOOD}token_file = \"{}\"\n", dir.path().join("missing").display()),
            vec![],
            "error: gitlab.token_file",
            "does not exist",
        ),
        (format!("{GOOD}token_file = \"{empty_file}\"\n"), vec![], "error: gitlab.token_file", "is empty"),
        (format!("{GOOD}notes_per_minute = 0\n"), vec![], "error: gitlab.notes_per_minute", "0"),
        (format!("{GOOD}[daemon]\nlisten = \"localhost:abc\"\n"), vec![], "error: daemon.listen", "numeric port"),
        (format!("{GOOD}[daemon]\nmax_attempts = 0\n"), vec![], "error: daemon.max_attempts", "0"),
        (format!("{GOOD}[limits]\nmax_report_bytes = 0\n"), vec![], "error: limits.max_report_bytes", "0"),
        (
            format!("{GOOD}[daemon.labels]\nvirtualization = [\"sec\"]\nnon_virtualization = [\"sec\"]\n"),
            vec![],
            "error: daemon.labels",
            "in both",
        ),
        (
            format!("{GOOD}[llm]\nmode = \"openai\"\nbase_url = \"http://127.0.0.1:8080\"\n"),
            vec![],
            "error: llm.base_url",
            "/v1",
        ),
        (
            format!("{GOOD}[llm]\nmode = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n"),
            vec![],
            "error: llm.api_key_env",
            "OPENAI_API_KEY",
        ),
        (
            "[gitlab]\nprojects = [1]\n".into(),
            vec![],
            "error: gitlab.url",
            "missing",
        ),
        (
            format!("{GOOD}[daemon]\nwebhook_secret_env = \"HOOK\"\n"),
            vec![("HOOK", "")],
            "error: daemon.webhook_secret_env",
            "set but empty",
        ),
        (
            format!("{GOOD}[daemon]\nwebhook_signing_token_env = \"SIGN\"\n"),
            vec![("SIGN", "whsec_")],
            "error: daemon.webhook_signing_token_env",
            "nothing after whsec_",
        ),
        (
            format!("{GOOD}[daemon]\nwebhook_signing_token_env = \"SIGN\"\n"),
            vec![("SIGN", "whsec_not*base64!")],
            "error: daemon.webhook_signing_token_env",
            "not base64",
        ),
        (
            format!("{GOOD}[daemon]\nwebhook_signing_token_env = \"SIGN\"\n"),
            vec![("SIGN", "whsec_AAECAw==")],
            "error: daemon.webhook_signing_token_env",
            "fewer than 16",
        ),
        (
            format!("{GOOD}[review]\nenabled = true\n"),
            vec![("SECTRIAGE_OAUTH_CLIENT_ID", "id"), ("SECTRIAGE_OAUTH_CLIENT_SECRET", "s")],
            "error: review.public_url",
            "/review/oauth/callback",
        ),
        (
            format!("{GOOD}[review]\nenabled = true\npublic_url = \"http://review.example.org\"\n"),
            vec![("SECTRIAGE_OAUTH_CLIENT_ID", "id"), ("SECTRIAGE_OAUTH_CLIENT_SECRET", "s")],
            "error: review.public_url",
            "not https",
        ),
        (
            format!("{GOOD}[review]\nenabled = true\npublic_url = \"https://review.example.org\"\n"),
            vec![("SECTRIAGE_OAUTH_CLIENT_ID", "id")],
            "error: review.oauth_client_secret_env",
            "SECTRIAGE_OAUTH_CLIENT_SECRET",
        ),
        (
            format!("{GOOD}[review]\nenabled = true\npublic_url = \"https://review.example.org\"\nsession_hours = 0\n"),
            vec![("SECTRIAGE_OAUTH_CLIENT_ID", "id"), ("SECTRIAGE_OAUTH_CLIENT_SECRET", "s")],
            "error: review.session_hours",
            "1..168",
        ),
    ];
    for (config, extra_env, line, words) in cases {
        let mut env = vec![("SECTRIAGE_GITLAB_TOKEN", "glpat-test")];
        // A case's own value for a variable replaces the default.
        env.retain(|(k, _)| !extra_env.iter().any(|(e, _)| e == k));
        if config.contains("token_file") {
            env.clear();
        }
        env.extend(extra_env);
        let out = check(&config, &env);
        assert_eq!(out.code, 2, "{config}\n{}{}", out.stdout, out.stderr);
        let hit = out
            .stdout
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line:?} for\n{config}\n{}", out.stdout));
        assert!(hit.contains(words), "{hit}");
        // Keys that exist, never the client's internal name.
        assert!(!out.stdout.contains(" base_url"), "{}", out.stdout);
    }
}

#[test]
fn config_check_warnings_do_not_fail_and_say_what_the_webhook_does() {
    let out = check(GOOD, &[("SECTRIAGE_GITLAB_TOKEN", "glpat-test")]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let warning = out
        .stdout
        .lines()
        .find(|l| l.starts_with("warning: daemon.webhook_secret_env"))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    // What authenticate() does with neither configured: every delivery gets 401.
    assert!(warning.contains("401 to every delivery"), "{warning}");
    assert!(out.stdout.contains("configuration OK (1 warning(s) above)"));
    let with_secret = check(
        &format!("{GOOD}[daemon]\nwebhook_secret_env = \"HOOK\"\n"),
        &[
            ("SECTRIAGE_GITLAB_TOKEN", "glpat-test"),
            ("HOOK", "a-long-secret"),
        ],
    );
    assert_eq!(with_secret.code, 0);
    assert_eq!(with_secret.stdout, "configuration OK\n");
}

#[test]
fn config_check_warns_when_the_confirming_role_is_below_reporter() {
    let env = [
        ("SECTRIAGE_GITLAB_TOKEN", "glpat-test"),
        ("HOOK", "a-long-secret"),
    ];
    let low = check(
        &format!("{GOOD}[daemon]\nwebhook_secret_env = \"HOOK\"\nconfirm_min_access_level = 10\n"),
        &env,
    );
    assert_eq!(low.code, 0, "a warning, not an error: {}", low.stdout);
    assert!(
        low.stdout
            .contains("warning: daemon.confirm_min_access_level: 10 is below 20 (Reporter)"),
        "{}",
        low.stdout
    );
    let reporter = check(
        &format!("{GOOD}[daemon]\nwebhook_secret_env = \"HOOK\"\nconfirm_min_access_level = 20\n"),
        &env,
    );
    assert_eq!(reporter.stdout, "configuration OK\n");
}

#[tokio::test]
async fn serve_setup_refuses_what_config_check_refuses() {
    let cfg: ConfigFile = toml::from_str(&format!(
        "{GOOD}notes_per_minute = 0\n[daemon]\nwebhook_secret_env = \"HOOK\"\nlisten = \"localhost:abc\"\n"
    ))
    .unwrap();
    let env = |k: &str| match k {
        "SECTRIAGE_GITLAB_TOKEN" => Some("glpat-test".to_string()),
        "HOOK" => Some(String::new()),
        _ => None,
    };
    let Err(err) = sectriage::daemon::setup::build(&cfg, &env, None, true).await else {
        panic!("a broken config must not build a daemon");
    };
    let msg = err.to_string();
    for key in [
        "gitlab.notes_per_minute",
        "daemon.webhook_secret_env",
        "daemon.listen",
    ] {
        assert!(msg.contains(key), "{msg}");
    }
}

// --- Defect 14: what was repaired or assumed is said, never echoed.

fn triage_json(input: &[u8]) -> serde_json::Value {
    let out = run(&["triage", "-", "--format", "json"], &[], input);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn warning_codes(v: &serde_json::Value) -> Vec<String> {
    v["input_warnings"]
        .as_array()
        .expect("input_warnings is always present")
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn triage_says_what_it_repaired_or_assumed() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR SECRETWORD hw/usb/hcd-xhci.c",
            "binary",
        ),
        (
            b"hw/net/e1000e_core.c SECRETWORD \xff\xfe crash\n",
            "invalid-utf8",
        ),
        (
            b"{\"title\": \"SECRETWORD hw/usb/hcd-xhci\", \"description\": ",
            "malformed-json",
        ),
        (
            br#"{"body": "SECRETWORD hw/usb/hcd-xhci.c overflow"}"#,
            "unrecognized-json",
        ),
        (
            br#"{"description": "hw/usb/hcd-xhci.c: SECRETWORD overflow"}"#,
            "missing-title",
        ),
        (
            br#"{"title": "hw/usb/hcd-xhci: SECRETWORD overflow", "description": null}"#,
            "missing-description",
        ),
    ];
    for (input, code) in cases {
        let v = triage_json(input);
        assert!(
            warning_codes(&v).iter().any(|c| c == code),
            "{code}: {:?}",
            v["input_warnings"]
        );
        let out = run(&["triage", "-"], &[], input);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let warnings: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("Input warning: "))
            .collect();
        assert!(
            !warnings.is_empty(),
            "{code}: no warning line\n{}",
            out.stdout
        );
        assert!(
            warnings.iter().all(|l| !l.contains("SECRETWORD")),
            "{warnings:?}"
        );
        sectriage::publish::check_note(&out.stdout).unwrap();
    }
    // Clean input: the field is there, and empty; the note has no warning line.
    let v = triage_json(
        br#"{"title": "hw/usb/hcd-xhci: overflow", "description": "guest triggers it"}"#,
    );
    assert_eq!(v["input_warnings"], serde_json::json!([]));
}

#[test]
fn an_issue_without_a_title_is_not_said_to_name_code_in_its_title() {
    let v = triage_json(
        br#"{"description": "hw/usb/hcd-xhci.c: heap overflow in xhci_kick_epctx\nA guest triggers it."}"#,
    );
    let rationale = v["rationale"].as_str().unwrap();
    assert!(!rationale.contains("named in the title"), "{rationale}");
    assert!(
        v["evidence"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["role"] != "title"),
        "{}",
        v["evidence"]["components"]
    );
    // Plain text still reads its first line as the title.
    let out = run(
        &["triage", "-", "--format", "json"],
        &[],
        b"hw/usb/hcd-xhci.c: heap overflow\n\nA guest triggers it.\n",
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["evidence"]["components"][0]["role"], "title");
}

// --- Defect 15: untrusted dates and closed pipes.

#[test]
fn non_ascii_hook_dates_are_refused_not_a_panic() {
    use sectriage::gitlab::webhook::normalize_hook_date;
    for bad in [
        "2026-01-0é",
        "2015-05-17 17:06:4€ UTC",
        "２０２６-01-01T00:00:00Z",
    ] {
        assert_eq!(normalize_hook_date(bad), None, "{bad}");
    }
    assert_eq!(
        normalize_hook_date("2015-05-17 17:06:40 UTC").as_deref(),
        Some("2015-05-17T17:06:40.000Z")
    );
}

/// Runs the binary with stdout a pipe whose reader is already gone, so the first
/// write fails with EPIPE, as under `| head` once head has exited.
fn run_with_closed_stdout(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(args)
        .env_remove("SECTRIAGE_LLM_BASE_URL")
        .env_remove("SECTRIAGE_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn printing_commands_end_quietly_when_stdout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "c.toml", GOOD);
    let commands: [&[&str]; 7] = [
        &["kb", "explain", "hw/ide/ahci.c"],
        &["kb", "explain", "hw/ide/ahci.c", "--format", "json"],
        &["triage", XHCI],
        &["triage", XHCI, "--format", "json"],
        &["completions", "bash"],
        &["--config", &cfg, "config", "check"],
        &["--help"],
    ];
    for args in commands {
        let (code, stderr) =
            run_with_closed_stdout(args, &[("SECTRIAGE_GITLAB_TOKEN", "glpat-test")]);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    // `scrub` ends quietly too, and its exit code still tells clean (0) from findings (1).
    let open = run(&["scrub", XHCI], &[], b"");
    let (code, stderr) = run_with_closed_stdout(&["scrub", XHCI], &[]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(open.code), "{stderr}");
}

// --- Shell completions.

#[test]
fn completions_mention_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell], &[], b"");
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for sub in [
            "triage",
            "serve",
            "demo",
            "queue",
            "config",
            "eval",
            "kb",
            "completions",
        ] {
            assert!(out.stdout.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = run(&["completions", "powershell-ish"], &[], b"");
    assert_eq!(out.code, 2);
}

#[test]
fn the_example_config_passes_the_check() {
    let out = run(
        &["--config", "sectriage.example.toml", "config", "check"],
        &[
            ("SECTRIAGE_GITLAB_TOKEN", "glpat-test"),
            ("SECTRIAGE_WEBHOOK_SECRET", "a-long-secret"),
        ],
        b"",
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, "configuration OK\n");
}
