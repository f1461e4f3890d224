//! A fake GitLab with members of each role, the daemon with its review pages against it, and
//! a small cookie-keeping HTTP client that follows no redirects.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sectriage::daemon::{Daemon, DaemonConfig};
use sectriage::engine::Engine;
use sectriage::gitlab::fake::FakeGitLab;
use sectriage::gitlab::{Client, GitLabConfig, Token};
use sectriage::kb::Kb;
use sectriage::queue::{Queue, QueueConfig};
use sectriage::review::{ReviewConfig, CALLBACK_PATH};
use sectriage::triage::hygiene::Limits;

pub const PROJECT: u64 = 4242;
pub const OTHER_PROJECT: u64 = 777;
/// Watched too, but `maint` is no member of it.
pub const SECOND: u64 = 4343;
pub const EVIL_TITLE: &str =
    "xHCI: heap overflow <img src=x onerror=alert(1)> & \"quotes\" @root #1";

pub const VIRTIO_REPORT: &str = "virtio-net: heap buffer overflow in virtio_net_receive_rcu()\n\nA guest with a crafted receive buffer layout makes QEMU write past the end of a heap buffer in hw/net/virtio-net.c.\n\nqemu-system-x86_64 -machine q35,accel=kvm -device virtio-net-pci,netdev=n0 -netdev user,id=n0\n\nASAN: heap-buffer-overflow in virtio_net_receive_rcu hw/net/virtio-net.c:1950";
pub const USER_MODE_REPORT: &str = "linux-user: crash in the ELF loader on a malformed program header\n\nRunning qemu-aarch64 (user-mode emulation) on a crafted binary crashes in linux-user/elfload.c load_elf_image(): the guest binary is untrusted input but only under linux-user.";

pub struct Env {
    pub fake: FakeGitLab,
    pub base: String,
    pub bot_id: u64,
    pub maintainer_id: u64,
    pub maintainer: String,
    pub guest: String,
    pub outsider: String,
    pub virtio_iid: u64,
    pub user_mode_iid: u64,
    pub evil_iid: u64,
    pub second_iid: u64,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn start(session: Duration) -> Env {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT);
        let (bot_id, bot_token) = fake.add_user("sectriage-bot", PROJECT, 20);
        let (reporter_id, _) = fake.add_user("reporter", PROJECT, 10);
        let (maintainer_id, _) = fake.add_user("maint", PROJECT, 20);
        fake.set_access_level(SECOND, bot_id, 20);
        fake.add_user("guesty", PROJECT, 10);
        fake.add_user("stranger", OTHER_PROJECT, 30);
        let (vt, vb) = VIRTIO_REPORT.split_once("\n\n").unwrap();
        let virtio_iid = fake.create_issue(PROJECT, reporter_id, vt, vb, true);
        let (ut, ub) = USER_MODE_REPORT.split_once("\n\n").unwrap();
        let user_mode_iid = fake.create_issue(PROJECT, reporter_id, ut, ub, true);
        let evil_iid = fake.create_issue(
            PROJECT,
            reporter_id,
            EVIL_TITLE,
            "qemu-system-x86_64 -M q35 -accel kvm -device qemu-xhci: the guest overflows a heap buffer in hw/usb/hcd-xhci.c <script>alert(2)</script>",
            true,
        );
        let second_iid = fake.create_issue(SECOND, reporter_id, vt, vb, true);

        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::connect(
            &format!("sqlite://{}", dir.path().join("q.db").display()),
            QueueConfig::default(),
        )
        .await
        .unwrap();
        let gitlab = Client::new(GitLabConfig {
            base_url: fake.base_url.clone(),
            token: Token::new(bot_token),
            timeout: Duration::from_secs(10),
            max_retries: 2,
            notes_per_minute: 600,
        })
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let (client_id, client_secret) = fake.register_oauth_app(&format!("{base}{CALLBACK_PATH}"));
        let config = DaemonConfig {
            listen: format!("127.0.0.1:{port}"),
            poll_interval: Duration::from_millis(200),
            decision_sweep: Duration::from_millis(300),
            shutdown_grace: Duration::from_secs(3),
            review: Some(ReviewConfig {
                public_url: url::Url::parse(&base).unwrap(),
                gitlab_url: url::Url::parse(&fake.base_url).unwrap(),
                client_id,
                client_secret,
                session,
            }),
            ..DaemonConfig::new(vec![PROJECT, SECOND])
        };
        let engine = Engine {
            kb: Kb::embedded(),
            limits: Limits::default(),
            llm: None,
        };
        let daemon = Daemon::new(config, gitlab, queue, engine);
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(sectriage::daemon::run(daemon, async move {
            let _ = stop_rx.await;
        }));
        let env = Env {
            fake,
            base,
            bot_id,
            maintainer_id,
            maintainer: "maint".into(),
            guest: "guesty".into(),
            outsider: "stranger".into(),
            virtio_iid,
            user_mode_iid,
            evil_iid,
            second_iid,
            stop: Some(stop),
            running: Some(running),
            _dir: dir,
        };
        // Both suggestions posted, and recorded, before any test looks at the pages.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let posted = [
                (PROJECT, virtio_iid),
                (PROJECT, user_mode_iid),
                (PROJECT, evil_iid),
                (SECOND, second_iid),
            ]
            .iter()
            .all(|(p, iid)| {
                env.fake
                    .notes(*p, *iid)
                    .iter()
                    .any(|n| n.author.id == bot_id && n.body.contains("sectriage:suggestion"))
            });
            if posted {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return env;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the daemon posted no suggestions within 30 s");
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(r) = self.running.take() {
            let _ = r.await;
        }
    }

    pub fn labels(&self, iid: u64) -> Vec<String> {
        self.fake
            .issue(PROJECT, iid)
            .map(|i| i.labels)
            .unwrap_or_default()
    }
}

/// An HTTP client with a cookie jar (names only; enough for one host and one fake GitLab).
#[derive(Default)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        for value in resp.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or_default();
            let first = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = first.split_once('=') {
                let removed = value.is_empty() || text.contains("Max-Age=0");
                if removed {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let resp = http()
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        self.post_with(url, form, &headers).await
    }

    pub async fn post_with(
        &mut self,
        url: &str,
        form: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Page {
        let mut req = http()
            .post(url)
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish(),
            );
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        self.finish(resp).await
    }

    /// GET `/review` to the fake GitLab's sign-in, as `username`: the callback URL GitLab
    /// redirects to (not yet followed).
    pub async fn authorize(&mut self, env: &Env, username: &str) -> String {
        let start = self.get(&format!("{}/review", env.base)).await;
        assert_eq!(
            start.status, 303,
            "anonymous /review must redirect to GitLab"
        );
        let authorize = url::Url::parse(&start.location()).unwrap();
        let mut form: Vec<(String, String)> = authorize
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("username".into(), username.into()));
        form.push(("decision".into(), "authorize".into()));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = self
            .post(
                &format!("{}/oauth/authorize", env.fake.base_url),
                &pairs,
                None,
            )
            .await;
        assert!(
            (300..400).contains(&answer.status),
            "the fake GitLab did not redirect back: {} {}",
            answer.status,
            answer.body
        );
        answer.location()
    }

    /// The whole sign-in as `username`: the callback's response.
    pub async fn sign_in(&mut self, env: &Env, username: &str) -> Page {
        let callback = self.authorize(env, username).await;
        self.get(&callback).await
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_of(body: &str) -> String {
    field_of(body, "csrf")
}

/// The value of the first hidden field `name` in a page.
pub fn field_of(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = body
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} field"))
        + needle.len();
    body[at..].split('"').next().unwrap().to_string()
}
