//! The review pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver: sign in through the fake GitLab, confirm a suggestion from the
//! issue page, see the label on GitLab and the issue under Decided; refusals too.
//! Screenshots of each page go to `target/review-screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::harness::{Env, PROJECT};

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// chromedriver and chromium, or `None` (a failure under `CI=true`).
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let driver = std::env::var_os("SECTRIAGE_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_on_path(&["chromedriver"]));
    let chrome = std::env::var_os("SECTRIAGE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| find_on_path(&["chromium", "chromium-browser", "google-chrome"]));
    match (driver, chrome) {
        (Some(d), Some(c)) => Some((d, c)),
        _ => {
            let msg = "a browser is not available: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver), or set SECTRIAGE_CHROMEDRIVER and SECTRIAGE_CHROMIUM";
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{msg}; CI=true requires it");
            }
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

struct Driver {
    child: Child,
    client: Client,
}

impl Driver {
    async fn start(driver: &PathBuf, chrome: &PathBuf) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap().keep();
        let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())]
            }
        }))
        .unwrap();
        let started = Instant::now();
        loop {
            match ClientBuilder::rustls()
                .expect("rustls")
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => return Driver { child, client },
                Err(e) if started.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver did not start a session: {e}"),
            }
        }
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn screenshot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/review-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The page's text. A page still loading can replace its body between the
/// lookup and the read (a stale element): look it up again.
async fn text(c: &Client) -> String {
    for _ in 0..20 {
        let body = c.find(Locator::Css("body")).await.unwrap();
        // Chromium reports a body replaced mid-read as a stale element or as
        // an inspector error ("Node ... does not belong to the document").
        match body.text().await {
            Ok(t) => return t,
            Err(fantoccini::error::CmdError::Standard(_)) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("reading the page: {e}"),
        }
    }
    panic!("the page kept changing while its text was read")
}

/// Through the fake GitLab's sign-in form as `username`: the page text after it, and the
/// OAuth `state` the form carried.
async fn sign_in(c: &Client, env: &Env, username: &str) -> (String, String) {
    c.goto(&format!("{}/review", env.base)).await.unwrap();
    let field = c.wait().for_element(Locator::Id("username")).await.unwrap();
    let state = c
        .find(Locator::Css("input[name=state]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    field.send_keys(username).await.unwrap();
    c.find(Locator::Id("authorize"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The sign-in form's page has a <main> too: wait until the redirects have
    // brought the browser back to the review server, then for its page.
    for _ in 0..100 {
        let url = c.current_url().await.unwrap();
        if url.as_str().starts_with(&format!("{}/", env.base)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.wait().for_element(Locator::Css("main")).await.unwrap();
    (text(c).await, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_maintainer_confirms_a_suggestion_from_the_page() {
    let Some((driver, chrome)) = browser_binaries() else {
        return;
    };
    let env = Env::start(Duration::from_secs(3600)).await;
    let d = Driver::start(&driver, &chrome).await;
    let c = &d.client;

    c.goto(&format!("{}/review", env.base)).await.unwrap();
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&env.fake.base_url),
        "anonymous /review goes to GitLab's sign-in"
    );
    screenshot(c, "0-gitlab-sign-in").await;
    let (body, _) = sign_in(c, &env, &env.maintainer).await;
    assert!(body.contains("Pending suggestions"), "{body}");
    assert!(body.contains("virtio-net: heap buffer overflow"), "{body}");
    assert!(body.contains("Signed in as maint"), "{body}");
    screenshot(c, "1-pending").await;

    // Sorting and filtering keep working without JavaScript.
    c.goto(&format!("{}/review?class=non-virtualization", env.base))
        .await
        .unwrap();
    let filtered = text(c).await;
    assert!(
        !filtered.contains("virtio-net: heap buffer overflow"),
        "{filtered}"
    );

    c.goto(&format!("{}/review", env.base)).await.unwrap();
    c.find(Locator::LinkText(&format!("{PROJECT}#{}", env.virtio_iid)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("evidence")).await.unwrap();
    let issue = text(c).await;
    assert!(
        issue.contains("Revision history") && issue.contains("Decisive fact"),
        "{issue}"
    );
    screenshot(c, "2-issue").await;

    c.find(Locator::Id("confirm-virtualization"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if c.wait().for_element(Locator::Id("outcome")).await.is_err() {
        screenshot(c, "3-decide-failed").await;
        panic!(
            "no outcome after the button: {} at {}",
            text(c).await,
            c.current_url().await.unwrap()
        );
    }
    let after = text(c).await;
    assert!(after.contains("Decision recorded"), "{after}");
    // The decisions table names the member and the review page as the source.
    let decisions = c
        .find(Locator::Id("decisions"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        decisions.contains("maint")
            && decisions.contains("review")
            && decisions.contains("accepted"),
        "{decisions}"
    );
    screenshot(c, "3-decided-on-issue").await;
    assert_eq!(
        env.labels(env.virtio_iid),
        vec!["cve::required".to_string()],
        "the label is on GitLab"
    );
    let audit = env
        .fake
        .notes(PROJECT, env.virtio_iid)
        .into_iter()
        .filter(|n| n.author.id == env.bot_id && n.body.contains("review page"))
        .collect::<Vec<_>>();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].internal && audit[0].body.contains("maint"));

    c.goto(&format!("{}/review/decided", env.base))
        .await
        .unwrap();
    let decided = text(c).await;
    assert!(
        decided.contains(&format!("{PROJECT}#{}", env.virtio_iid)),
        "{decided}"
    );
    assert!(decided.contains("accepted"), "{decided}");
    screenshot(c, "4-decided").await;
    c.goto(&format!("{}/review", env.base)).await.unwrap();
    let pending = text(c).await;
    assert!(
        !pending.contains(&format!("{PROJECT}#{} ", env.virtio_iid))
            && !pending.contains("virtio-net: heap buffer overflow"),
        "the decided issue left Pending: {pending}"
    );

    c.goto(&format!("{}/review/stats", env.base)).await.unwrap();
    let stats = text(c).await;
    assert!(stats.contains("Acceptance rate: 100 %"), "{stats}");
    assert!(c.find(Locator::Css("figure svg")).await.is_ok());
    screenshot(c, "5-stats").await;

    c.find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Css("main")).await.unwrap();
    assert!(text(c).await.contains("Signed out"));
    d.stop().await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_is_refused_for_guests_strangers_and_forged_or_replayed_states() {
    let Some((driver, chrome)) = browser_binaries() else {
        return;
    };
    let env = Env::start(Duration::from_secs(3600)).await;
    let d = Driver::start(&driver, &chrome).await;
    let c = &d.client;
    for (who, shot) in [
        (env.guest.clone(), "6-guest-refused"),
        (env.outsider.clone(), "7-stranger-refused"),
    ] {
        let (body, _) = sign_in(c, &env, &who).await;
        assert!(body.contains("Access denied"), "{who}: {body}");
        screenshot(c, shot).await;
        c.goto(&format!("{}/review/decided", env.base))
            .await
            .unwrap();
        c.wait().for_element(Locator::Id("username")).await.unwrap();
        assert!(
            c.current_url()
                .await
                .unwrap()
                .as_str()
                .starts_with(&env.fake.base_url),
            "{who} has no session"
        );
    }
    // Forged state.
    c.goto(&format!(
        "{}/review/oauth/callback?code=x&state=forged",
        env.base
    ))
    .await
    .unwrap();
    let forged = text(c).await;
    assert!(forged.contains("could not be verified"), "{forged}");
    screenshot(c, "8-forged-state").await;
    // Replayed: a real sign-in, then its callback (same code, same state) again.
    let (body, state) = sign_in(c, &env, &env.maintainer).await;
    assert!(body.contains("Pending suggestions"), "{body}");
    let code = env.fake.oauth_codes().last().cloned().unwrap();
    c.goto(&format!(
        "{}/review/oauth/callback?code={code}&state={state}",
        env.base
    ))
    .await
    .unwrap();
    let replayed = text(c).await;
    assert!(replayed.contains("could not be verified"), "{replayed}");
    screenshot(c, "9-replayed-state").await;
    d.stop().await;
    env.stop().await;
}
