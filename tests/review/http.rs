//! HTTP-level checks: the redirect to GitLab, every refusal, and the headers of every page.

use std::time::Duration;

use crate::harness::{csrf_of, field_of, Browser, Env, PROJECT, SECOND};

fn assert_hardened(page: &crate::harness::Page, what: &str) {
    let h = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h("cache-control"), "no-store", "{what}: Cache-Control");
    let csp = h("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp:?}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert_eq!(h("x-frame-options"), "DENY", "{what}: X-Frame-Options");
    assert_eq!(
        h("referrer-policy"),
        "no-referrer",
        "{what}: Referrer-Policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_review_redirects_to_gitlab_with_pkce_and_state() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut b = Browser::default();
    let page = b.get(&format!("{}/review", env.base)).await;
    assert_eq!(page.status, 303);
    assert_hardened(&page, "the redirect");
    let to = url::Url::parse(&page.location()).unwrap();
    assert_eq!(
        to.as_str().split('?').next().unwrap(),
        format!("{}/oauth/authorize", env.fake.base_url)
    );
    let q: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(q.get("code_challenge").is_some_and(|c| c.len() >= 43));
    assert!(q.get("state").is_some_and(|s| s.len() >= 16));
    assert_eq!(q.get("scope").map(String::as_str), Some("read_user"));
    assert_eq!(q.get("response_type").map(String::as_str), Some("code"));
    // A second visit gets a different state and challenge.
    let again = url::Url::parse(
        &Browser::default()
            .get(&format!("{}/review", env.base))
            .await
            .location(),
    )
    .unwrap();
    let q2: std::collections::HashMap<_, _> = again.query_pairs().into_owned().collect();
    assert_ne!(q.get("state"), q2.get("state"));
    assert_ne!(q.get("code_challenge"), q2.get("code_challenge"));
    // No title or report text in any URL.
    assert!(!page.location().contains("virtio"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_hardened_and_shows_escaped_titles() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut b = Browser::default();
    let landed = b.sign_in(&env, &env.maintainer).await;
    assert_eq!(landed.status, 303, "{}", landed.body);
    assert_hardened(&landed, "the callback");
    let session = landed
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("sectriage_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(session.contains("Max-Age=3600"), "{session}");
    // Plain http on loopback: no Secure flag (https public_url sets it).
    assert!(!session.contains("Secure"), "{session}");
    // The cookie is encrypted: the username is not readable in it.
    assert!(!session.contains("maint"), "{session}");
    for path in [
        "/review".to_string(),
        "/review?sort=confidence&class=virtualization".into(),
        "/review/decided".into(),
        "/review/stats".into(),
        format!("/review/issue/{PROJECT}/{}", env.virtio_iid),
        format!("/review/issue/{PROJECT}/{}", env.evil_iid),
        format!("/review/issue/{SECOND}/{}", env.second_iid),
        "/review/nonexistent".into(),
    ] {
        let page = b.get(&format!("{}{path}", env.base)).await;
        assert!(
            [200, 403, 404].contains(&page.status),
            "{path}: {}",
            page.status
        );
        assert_hardened(&page, &path);
        assert!(!page.body.contains("<script"), "{path} carries a script");
        assert!(!page.body.contains("<img"), "{path} carries report markup");
    }
    let pending = b.get(&format!("{}/review", env.base)).await;
    assert!(
        pending.body.contains("virtio-net: heap buffer overflow"),
        "{}",
        pending.body
    );
    // Report text is escaped (and defanged as in notes), never markup.
    assert!(
        pending.body.contains("img src=x onerror=alert(1)") && !pending.body.contains("<img src=x"),
        "{}",
        pending.body
    );
    assert!(
        !pending.body.contains("@root"),
        "a mention survived: {}",
        pending.body
    );
    let evil = b
        .get(&format!(
            "{}/review/issue/{PROJECT}/{}",
            env.base, env.evil_iid
        ))
        .await;
    assert_eq!(evil.status, 200);
    assert!(!evil.body.contains("<script>alert"), "{}", evil.body);
    // The note as posted is shown as text: its own HTML comment marker arrives escaped.
    assert!(
        evil.body.contains("&lt;!-- sectriage:suggestion"),
        "{}",
        evil.body
    );
    assert!(!evil.body.contains("<!-- sectriage"), "{}", evil.body);
    // A watched project where this member has no access stays invisible.
    assert!(
        !pending.body.contains(&format!("{SECOND}#")),
        "{}",
        pending.body
    );
    let other = b
        .get(&format!(
            "{}/review/issue/{SECOND}/{}",
            env.base, env.second_iid
        ))
        .await;
    assert_eq!(other.status, 403);
    let user_mode = b
        .get(&format!("{}/review?class=non-virtualization", env.base))
        .await;
    assert!(
        user_mode
            .body
            .contains("linux-user: crash in the ELF loader"),
        "{}",
        user_mode.body
    );
    assert!(!user_mode.body.contains("virtio-net: heap buffer overflow"));
    let issue = b
        .get(&format!(
            "{}/review/issue/{PROJECT}/{}",
            env.base, env.user_mode_iid
        ))
        .await;
    assert!(issue.body.contains("non-virtualization"), "{}", issue.body);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_and_foreign_states_and_a_wrong_verifier_are_refused() {
    let env = Env::start(Duration::from_secs(3600)).await;
    // Forged: a state this server never issued.
    let mut b = Browser::default();
    let forged = b
        .get(&format!(
            "{}/review/oauth/callback?code=abc&state=forged",
            env.base
        ))
        .await;
    assert_eq!(forged.status, 400);
    assert!(forged.body.contains("could not be verified"));
    // Replayed: the same callback twice.
    let mut b = Browser::default();
    let callback = b.authorize(&env, &env.maintainer).await;
    let cookies = b.cookies.clone();
    let first = b.get(&callback).await;
    assert_eq!(first.status, 303);
    let mut replay = Browser { cookies };
    let second = replay.get(&callback).await;
    assert_eq!(second.status, 400, "a replayed state must be refused");
    // Foreign: a valid, unused state and code presented by another browser (no state
    // cookie) is refused, and does not spend the real sign-in.
    let mut owner = Browser::default();
    let owner_callback = owner.authorize(&env, &env.maintainer).await;
    let stolen = Browser::default().get(&owner_callback).await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert_eq!(
        owner.get(&owner_callback).await.status,
        303,
        "the owner's sign-in still works"
    );
    // Foreign: a code GitLab issued for another sign-in's PKCE challenge, injected into this
    // browser's callback with this browser's state. The verifier does not match.
    let mut victim = Browser::default();
    let victim_start = victim.get(&format!("{}/review", env.base)).await;
    let victim_state = url::Url::parse(&victim_start.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut attacker = Browser::default();
    let attacker_callback =
        url::Url::parse(&attacker.authorize(&env, &env.maintainer).await).unwrap();
    let code = attacker_callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let injected = victim
        .get(&format!(
            "{}/review/oauth/callback?code={code}&state={victim_state}",
            env.base
        ))
        .await;
    assert_eq!(injected.status, 400, "{}", injected.body);
    assert!(
        env.fake.oauth_refusals().iter().any(|r| r.contains("PKCE")),
        "{:?}",
        env.fake.oauth_refusals()
    );
    assert!(!victim.cookies.contains_key("sectriage_session"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_and_non_members_are_refused() {
    let env = Env::start(Duration::from_secs(3600)).await;
    for who in [env.guest.clone(), env.outsider.clone()] {
        let mut b = Browser::default();
        let page = b.sign_in(&env, &who).await;
        assert_eq!(page.status, 403, "{who}: {}", page.body);
        assert!(page.body.contains("Access denied"));
        assert!(
            !b.cookies.contains_key("sectriage_session"),
            "{who} got a session"
        );
        assert_eq!(b.get(&format!("{}/review", env.base)).await.status, 303);
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_csrf_or_from_another_origin_changes_nothing() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut b = Browser::default();
    b.sign_in(&env, &env.maintainer).await;
    let url = format!(
        "{}/review/issue/{PROJECT}/{}/decide",
        env.base, env.virtio_iid
    );
    let missing = b
        .post(
            &url,
            &[("action", "confirm-virtualization"), ("action_id", "7")],
            None,
        )
        .await;
    assert_eq!(missing.status, 403);
    let page = b
        .get(&format!(
            "{}/review/issue/{PROJECT}/{}",
            env.base, env.virtio_iid
        ))
        .await;
    let csrf = csrf_of(&page.body);
    let action_id = field_of(&page.body, "action_id");
    let form = |id: &str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("action".into(), "confirm-virtualization".into()),
            ("action_id".into(), id.to_string()),
        ]
    };
    let pairs = |f: &Vec<(String, String)>| {
        f.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    let good = pairs(&form(&action_id));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let foreign = b.post(&url, &good, Some("http://evil.example")).await;
    assert_eq!(foreign.status, 403);
    let cross_site = b
        .post_with(&url, &good, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross_site.status, 403);
    // A project the member cannot review, even with a good token.
    let other = b
        .post(
            &format!(
                "{}/review/issue/{SECOND}/{}/decide",
                env.base, env.second_iid
            ),
            &[("csrf", &csrf), ("action", "reject"), ("action_id", "1")],
            None,
        )
        .await;
    assert_eq!(other.status, 403);
    // A made-up form id is stale: nothing happens.
    let made_up = b
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("action", "confirm-virtualization"),
                ("action_id", "12345"),
            ],
            None,
        )
        .await;
    assert!(
        made_up.location().contains("done=stale"),
        "{}",
        made_up.location()
    );
    assert!(
        env.labels(env.virtio_iid).is_empty(),
        "labels changed by a refused POST"
    );
    // The genuine form works.
    let ok = b.post(&url, &good, Some(&env.base)).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(ok.location().contains("done=decided"), "{}", ok.location());
    let shown = b.get(&format!("{}{}", env.base, ok.location())).await;
    assert!(shown.body.contains("Decision recorded"), "{}", shown.body);
    // The same form again (Back, a second tab) is stale after the decision.
    let twice = b.post(&url, &good, Some(&env.base)).await;
    assert!(
        twice.location().contains("done=stale"),
        "{}",
        twice.location()
    );
    // An outcome in a link without its tag shows nothing.
    let forged = b
        .get(&format!(
            "{}/review/issue/{PROJECT}/{}?done=published",
            env.base, env.virtio_iid
        ))
        .await;
    assert!(
        !forged.body.contains("published after a clean scrub"),
        "{}",
        forged.body
    );
    assert_eq!(
        env.labels(env.virtio_iid),
        vec!["cve::required".to_string()]
    );
    let acks: Vec<_> = env
        .fake
        .notes(PROJECT, env.virtio_iid)
        .into_iter()
        .filter(|n| n.author.id == env.bot_id && n.body.contains("review page"))
        .collect();
    assert_eq!(acks.len(), 1, "one audit note");
    assert!(acks[0].internal, "the audit note is internal");
    assert!(
        acks[0].body.contains("maint"),
        "the audit note names the member"
    );
    // The issue's decision stands: it left Pending.
    let pending = b.get(&format!("{}/review", env.base)).await;
    assert!(!pending.body.contains("virtio-net: heap buffer overflow"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_refused_and_sign_out_ends_one() {
    let env = Env::start(Duration::from_secs(2)).await;
    let mut b = Browser::default();
    b.sign_in(&env, &env.maintainer).await;
    let page = b
        .get(&format!(
            "{}/review/issue/{PROJECT}/{}",
            env.base, env.virtio_iid
        ))
        .await;
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);
    let action_id = field_of(&page.body, "action_id");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        b.get(&format!("{}/review", env.base)).await.status,
        303,
        "an expired session must sign in again"
    );
    let url = format!(
        "{}/review/issue/{PROJECT}/{}/decide",
        env.base, env.virtio_iid
    );
    let late = b
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("action", "reject"),
                ("action_id", &action_id),
            ],
            None,
        )
        .await;
    assert_eq!(late.status, 403);
    assert!(env.labels(env.virtio_iid).is_empty());
    assert!(env
        .fake
        .notes(PROJECT, env.virtio_iid)
        .iter()
        .all(|n| !n.body.contains("rejected by")));
    // Sign-out, and a copy of the cookie taken before it.
    let mut b = Browser::default();
    b.sign_in(&env, &env.maintainer).await;
    let page = b.get(&format!("{}/review", env.base)).await;
    let csrf = csrf_of(&page.body);
    let copy = b.cookies.clone();
    let out = b
        .post(
            &format!("{}/review/logout", env.base),
            &[("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(out.status, 200);
    assert!(!b.cookies.contains_key("sectriage_session"));
    assert_eq!(b.get(&format!("{}/review", env.base)).await.status, 303);
    let mut thief = Browser { cookies: copy };
    assert_eq!(
        thief.get(&format!("{}/review", env.base)).await.status,
        303,
        "a signed-out session is dead"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited_per_address() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(
            Browser::default()
                .get(&format!("{}/review", env.base))
                .await
                .status,
        );
    }
    assert!(statuses.iter().all(|s| *s == 303), "{statuses:?}");
    let limited = Browser::default()
        .get(&format!("{}/review", env.base))
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers.get("retry-after").unwrap(), "60");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_access_is_removed_loses_the_pages_at_once() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut b = Browser::default();
    b.sign_in(&env, &env.maintainer).await;
    let page = b
        .get(&format!(
            "{}/review/issue/{PROJECT}/{}",
            env.base, env.virtio_iid
        ))
        .await;
    assert_eq!(page.status, 200);
    let (csrf, action_id) = (csrf_of(&page.body), field_of(&page.body, "action_id"));
    env.fake.set_access_level(PROJECT, env.maintainer_id, 10);
    let now = b.get(&format!("{}/review", env.base)).await;
    assert_eq!(now.status, 403, "{}", now.body);
    assert!(
        !now.body.contains("virtio-net"),
        "no report data after demotion"
    );
    let url = format!(
        "{}/review/issue/{PROJECT}/{}/decide",
        env.base, env.virtio_iid
    );
    let post = b
        .post(
            &url,
            &[
                ("csrf", &csrf),
                ("action", "confirm-virtualization"),
                ("action_id", &action_id),
            ],
            None,
        )
        .await;
    assert_eq!(post.status, 403);
    assert!(env.labels(env.virtio_iid).is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pending_list_reuses_what_gitlab_said_and_the_issue_page_does_not() {
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut b = Browser::default();
    b.sign_in(&env, &env.maintainer).await;
    let list = format!("{}/review", env.base);
    let before = env.fake.request_count();
    let first = b.get(&list).await;
    let first_calls = env.fake.request_count() - before;
    assert_eq!(first.status, 200, "{}", first.body);
    // The daemon polls GitLab in the background too, so its calls can land in
    // any window: the fewest of three views is the list's own cost.
    let mut second_calls = u64::MAX;
    let mut second_body = String::new();
    for _ in 0..3 {
        let before = env.fake.request_count();
        let second = b.get(&list).await;
        second_calls = second_calls.min(env.fake.request_count() - before);
        assert_eq!(second.status, 200, "{}", second.body);
        second_body = second.body;
    }
    // The first view asks for each pending issue and its notes (two calls per
    // issue, several issues); the second only re-checks the member's access.
    assert!(
        first_calls >= second_calls + 4,
        "first view {first_calls} GitLab calls, second {second_calls}"
    );
    assert!(
        second_body.contains("virtio-net: heap buffer overflow"),
        "{}",
        second_body
    );
    // The issue page reads GitLab afresh each time: besides the access check,
    // the issue and its notes, on every view.
    let issue = format!("{}/review/issue/{PROJECT}/{}", env.base, env.virtio_iid);
    for view in 0..2 {
        let before = env.fake.request_count();
        b.get(&issue).await;
        let calls = env.fake.request_count() - before;
        assert!(calls >= 3, "issue page view {view}: {calls} GitLab calls");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sign_ins_started_in_one_browser_both_work() {
    // Two tabs open the review page before either signs in: each sign-in keeps
    // its own state cookie, so finishing the first one still works.
    let env = Env::start(Duration::from_secs(3600)).await;
    let mut b = Browser::default();
    let first = b.authorize(&env, &env.maintainer).await;
    let second = b.authorize(&env, &env.maintainer).await;
    assert_ne!(first, second);
    let landed = b.get(&first).await;
    assert_eq!(
        landed.status, 303,
        "the first tab's sign-in: {}",
        landed.body
    );
    assert!(b.cookies.contains_key("sectriage_session"));
    let mut other = Browser::default();
    let foreign = other.get(&second).await;
    assert_ne!(
        foreign.status, 303,
        "another browser cannot finish this browser's sign-in"
    );
    env.stop().await;
}
