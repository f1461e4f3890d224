//! Scrub check: private data that must go before a confidential issue is made public.
//!
//! QEMU's security process says every disclosure filed as a confidential issue
//! will eventually be made public, and whatever the reporter considers private
//! must be scrubbed first. [`scrub`] looks over the parts of an issue that
//! would become public (title, description, each non-internal note) and
//! reports what a maintainer should look at before flipping the flag.
//!
//! # Invariants
//! - **Pure.** No IO, clock, environment or network; the same input always
//!   gives the same findings, in the same order (by place, then position).
//! - **Never echoes the secret.** A [`Finding`] holds a kind, a place, a line
//!   and a byte range into the caller's text; its description
//!   ([`Finding::describe`]) is built only from our own words. Nothing here
//!   returns, formats or logs matched text, so a report of findings can be
//!   posted (as an internal note) or logged without leaking what it found.
//! - **At most one finding per stretch of text.** Where detectors overlap
//!   (a GitLab token inside `password=...`, an address inside a URL with a
//!   password) the most specific kind wins.
//!
//! # What counts as private
//! - **E-mail addresses**, except the project's public mailing lists
//!   (`qemu-*@nongnu.org`: qemu-devel, qemu-security, qemu-stable, ...),
//!   addresses at domains reserved for documentation (RFC 2606/6761:
//!   `example.com`/`.net`/`.org` and their subdomains, `.example`, `.test`,
//!   `.invalid`, `.localhost`), syzbot's reporting address, Message-IDs
//!   inside public archive URLs (`lore.kernel.org/.../id@host/`), and logins
//!   (`git@gitlab.com:...`, `ssh user@host`, `scp f user@host:/path`), whose
//!   host is checked as a host name instead. None of those is a personal
//!   address.
//! - **Trailer e-mail addresses** (`Signed-off-by:`, `Reported-by:`, `Cc:`,
//!   ...) are their own kind. They are personal data: the issue may be made
//!   public before, or instead of, the patch being merged, and the reporter
//!   may have signed with an address they never meant to publish. The
//!   separate kind lets a maintainer dismiss them at a glance when the patch
//!   is already on the public list.
//! - **Credentials and tokens**: GitLab (`glpat-`, `gloas-`, `glrt-`,
//!   `glptt-`, `gldt-`, ... and runner registration tokens), GitHub (`ghp_`,
//!   `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`), AWS access key ids,
//!   Google API keys, Slack tokens and webhooks, private key blocks, JWTs
//!   (values marked as examples, like AWS's `AKIAIOSFODNN7EXAMPLE`, are not),
//!   credentials in HTTP authorization headers, `password=`/`secret:`/
//!   `token=` style assignments with a real value (not `on`/`off`, `NULL`,
//!   `<placeholder>`, `$VAR`, `***`, `0x` pointers; crypt hashes like
//!   `$6$...` do count), passwords in URLs, HMP `set_password` and the
//!   `data=` of a QEMU `-object secret`.
//! - **Private addresses**: IPv4 10/8, 172.16/12, 192.168/16 and IPv6
//!   fc00::/7, fe80::/10. Not loopback or `0.0.0.0`, not QEMU's user-mode
//!   network defaults (10.0.2.0/24, identical on every machine), not the
//!   bare ranges themselves (`10.0.0.0/8`).
//! - **Internal host names**: names under `.internal`, `.corp`, `.lan`,
//!   `.local`, `.intranet`, `.intra`, `.localdomain`, `.home.arpa`, or with a
//!   `corp`/`internal`/`intranet` label (`ci.corp.bigco.com`), except a few
//!   generic names every installation shares (`localhost.localdomain`,
//!   `host.docker.internal`, `metadata.google.internal`, ...) and reserved
//!   documentation domains.
//! - **Upload links** (`/uploads/<32 hex>/file`, GitLab's attachment
//!   Markdown): an attachment is not checked here, so a maintainer has to
//!   open it before publishing.
//! - **Phone numbers**: `+CC` international forms with separators (or
//!   11+ digits compact), US `(555) 010-4477` / `555-010-4477`, and
//!   national forms only after a cue word (phone, mobile, Telefon, téléphone,
//!   ...). Version numbers, dates, hex, PCI ids and decimals do not qualify.
//! - **Privacy requests**: the reporter asking not to be named or credited,
//!   to keep details private, or marking text confidential / not to be
//!   shared, in English, German, French, Spanish, Italian, Portuguese,
//!   Russian, Chinese and Japanese. The request itself must be honoured (and
//!   usually removed) before publishing.
//!
//! Invisible characters (zero-width, bidi, tags, controls) are ignored while
//! matching, so a token split by U+200B is still found; spans and lines refer
//! to the text as given. Asking to wait for a fix before publishing (an
//! embargo) is not a privacy request. Attachments are not read.
//! Run the check on the same text that would be published.

use std::net::Ipv6Addr;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

/// A named part of an issue that becomes public with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    Title,
    Description,
    /// A non-internal note (comment), by its GitLab note id.
    Note(u64),
}

impl Place {
    fn phrase(self) -> String {
        match self {
            Place::Title => "the title".into(),
            Place::Description => "the description".into(),
            Place::Note(id) => format!("note {id}"),
        }
    }
}

/// What kind of private data a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    PrivateKey,
    GitlabToken,
    GithubToken,
    AwsAccessKey,
    GoogleApiKey,
    SlackToken,
    Jwt,
    /// A credential in an HTTP authorization header (`Authorization: Bearer ...`, `PRIVATE-TOKEN:`).
    BearerToken,
    /// A password, secret or token assigned a value, or a password in a URL.
    Credential,
    UploadLink,
    /// An e-mail address in a commit trailer (`Signed-off-by:` and friends).
    TrailerEmail,
    Email,
    PrivateIp,
    InternalHost,
    PhoneNumber,
    PrivacyRequest,
}

impl Kind {
    /// Every kind, in priority order (the first wins where two overlap).
    pub const ALL: [Kind; 16] = [
        Kind::PrivateKey,
        Kind::GitlabToken,
        Kind::GithubToken,
        Kind::AwsAccessKey,
        Kind::GoogleApiKey,
        Kind::SlackToken,
        Kind::Jwt,
        Kind::BearerToken,
        Kind::Credential,
        Kind::UploadLink,
        Kind::TrailerEmail,
        Kind::Email,
        Kind::PrivateIp,
        Kind::InternalHost,
        Kind::PhoneNumber,
        Kind::PrivacyRequest,
    ];
}

/// One piece of private data: where it is, never what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub place: Place,
    /// 1-based line within the part.
    pub line: usize,
    /// Byte range within the part's text (for the caller's own redaction).
    pub span: Range<usize>,
    /// Our noun phrase for it ("GitLab personal access token"), never report text.
    pub what: &'static str,
}

impl Finding {
    /// A sentence safe to show anywhere: "GitLab personal access token on line 12 of the description".
    pub fn describe(&self) -> String {
        match self.place {
            Place::Title => format!("{} in the title", self.what),
            p => format!("{} on line {} of {}", self.what, self.line, p.phrase()),
        }
    }
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Finding", 6)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("place", &self.place)?;
        st.serialize_field("line", &self.line)?;
        st.serialize_field("start", &self.span.start)?;
        st.serialize_field("end", &self.span.end)?;
        st.serialize_field("description", &self.describe())?;
        st.end()
    }
}

/// Checks each part and returns every finding, ordered by place then position.
pub fn scrub(parts: &[(Place, &str)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for &(place, text) in parts {
        let (visible, map) = without_invisible(text);
        let mut cands = candidates(&visible);
        cands.retain(|c| !c.span.is_empty());
        if let Some(map) = &map {
            for c in &mut cands {
                c.span = map[c.span.start]..map[c.span.end - 1] + 1;
            }
        }
        // Most specific kind first, then earliest, then longest.
        cands.sort_by_key(|c| (priority(c.kind), c.span.start, usize::MAX - c.span.len()));
        // Kept spans are disjoint, so only the neighbours by start can overlap.
        let mut kept: std::collections::BTreeMap<usize, Cand> = std::collections::BTreeMap::new();
        for c in cands {
            let clear_before = kept
                .range(..=c.span.start)
                .next_back()
                .is_none_or(|(_, k)| k.span.end <= c.span.start);
            let clear_after = kept
                .range(c.span.start..)
                .next()
                .is_none_or(|(_, k)| k.span.start >= c.span.end);
            if clear_before && clear_after {
                kept.insert(c.span.start, c);
            }
        }
        // Line numbers by one forward scan, not one scan per finding.
        let mut line_at = {
            let (mut pos, mut line) = (0, 1);
            move |text: &str, at: usize| {
                line += text[pos..at].matches('\n').count();
                pos = at;
                line
            }
        };
        out.extend(kept.into_values().map(|c| Finding {
            kind: c.kind,
            place,
            line: line_at(text, c.span.start),
            span: c.span,
            what: c.what,
        }));
    }
    out
}

/// The parts of an issue given as the CLI reads it: a GitLab issue JSON
/// (`title`, `description`, and optionally `notes`, of which internal and
/// system notes are skipped), an eval-case line (`report`), or plain text (the
/// description). Invalid UTF-8 is replaced, not refused.
pub fn issue_parts(bytes: &[u8]) -> Vec<(Place, String)> {
    use serde_json::Value;
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(trimmed) {
            let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
            if let Some(description) = text("description") {
                let mut parts = vec![
                    (Place::Title, text("title").unwrap_or_default()),
                    (Place::Description, description),
                ];
                for note in obj
                    .get("notes")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let flag = |k: &str| note.get(k).and_then(Value::as_bool).unwrap_or(false);
                    if flag("internal") || flag("confidential") || flag("system") {
                        continue;
                    }
                    if let (Some(id), Some(body)) = (
                        note.get("id").and_then(Value::as_u64),
                        note.get("body").and_then(Value::as_str),
                    ) {
                        parts.push((Place::Note(id), body.to_string()));
                    }
                }
                return parts;
            }
            if let Some(report) = text("report") {
                return vec![(Place::Description, report)];
            }
        }
    }
    vec![(
        Place::Description,
        String::from_utf8_lossy(bytes).into_owned(),
    )]
}

/// Characters that do not show but can split a token so that no rule sees it
/// (`glpat-` + U+200B + ...): zero-width, bidi, tag and other format characters,
/// and control characters other than newline and tab.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
        || (c.is_control() && c != '\n' && c != '\t')
}

/// The text with invisible characters removed and, when any were, a map from
/// each byte of the result to its byte in `text`.
fn without_invisible(text: &str) -> (std::borrow::Cow<'_, str>, Option<Vec<usize>>) {
    if !text.chars().any(invisible) {
        return (std::borrow::Cow::Borrowed(text), None);
    }
    let mut visible = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if !invisible(c) {
            visible.push(c);
            map.extend(i..i + c.len_utf8());
        }
    }
    (std::borrow::Cow::Owned(visible), Some(map))
}

struct Cand {
    kind: Kind,
    span: Range<usize>,
    what: &'static str,
}

fn priority(k: Kind) -> usize {
    Kind::ALL.iter().position(|x| *x == k).unwrap_or(usize::MAX)
}

fn candidates(text: &str) -> Vec<Cand> {
    let mut c = Vec::new();
    private_keys(text, &mut c);
    tokens(text, &mut c);
    headers(text, &mut c);
    assignments(text, &mut c);
    uploads(text, &mut c);
    emails(text, &mut c);
    ipv4(text, &mut c);
    ipv6(text, &mut c);
    hosts(text, &mut c);
    phones(text, &mut c);
    privacy(text, &mut c);
    c
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("scrub pattern compiles")
}

fn before(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

fn after(text: &str, i: usize) -> Option<char> {
    text[i..].chars().next()
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn line_bounds(text: &str, i: usize) -> Range<usize> {
    let start = text[..i].rfind('\n').map_or(0, |p| p + 1);
    let end = text[i..].find('\n').map_or(text.len(), |p| i + p);
    start..end
}

// ---------------------------------------------------------------- secrets

static PRIVATE_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"));
static KEY_END: LazyLock<Regex> =
    LazyLock::new(|| re(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"));

fn private_keys(text: &str, out: &mut Vec<Cand>) {
    for m in PRIVATE_KEY.find_iter(text) {
        let end = KEY_END
            .find_at(text, m.end())
            .map_or_else(|| line_bounds(text, m.end()).end, |e| e.end());
        out.push(Cand {
            kind: Kind::PrivateKey,
            span: m.start()..end.max(m.end()),
            what: "private key block",
        });
    }
}

static GITLAB: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:(glpat|gloas|gldt|glrt|glcbt|glptt|glft|glimt|glagent|glsoat|glffct|glwt)-[0-9A-Za-z_.\-]{20,}|(GR1348941)[0-9A-Za-z_\-]{20,})",
    )
});
static GITHUB: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|(github_pat)_[A-Za-z0-9_]{22,})")
});
static AWS: LazyLock<Regex> = LazyLock::new(|| re(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"));
static GOOGLE: LazyLock<Regex> = LazyLock::new(|| re(r"\bAIza[0-9A-Za-z_\-]{35}"));
static SLACK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\bxox[abprs]-[0-9A-Za-z\-]{10,}|\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+",
    )
});
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*"));

fn gitlab_what(prefix: &str) -> &'static str {
    match prefix {
        "glpat" => "GitLab personal access token",
        "gloas" => "GitLab OAuth application secret",
        "gldt" => "GitLab deploy token",
        "glrt" => "GitLab runner authentication token",
        "glcbt" => "GitLab CI/CD job token",
        "glptt" => "GitLab pipeline trigger token",
        "glft" => "GitLab feed token",
        "glimt" => "GitLab incoming e-mail token",
        "glagent" => "GitLab agent token",
        "glsoat" => "GitLab SCIM token",
        "glffct" => "GitLab feature flags client token",
        "glwt" => "GitLab workspace token",
        _ => "GitLab runner registration token",
    }
}

fn github_what(prefix: &str) -> &'static str {
    match prefix {
        "ghp" => "GitHub personal access token",
        "gho" => "GitHub OAuth token",
        "ghu" => "GitHub user-to-server token",
        "ghs" => "GitHub server-to-server token",
        "ghr" => "GitHub refresh token",
        _ => "GitHub fine-grained personal access token",
    }
}

/// The end of a token, without a sentence's final dots.
fn trim_dots(text: &str, m: Range<usize>) -> Range<usize> {
    let t = text[m.clone()].trim_end_matches(['.', '-']);
    m.start..m.start + t.len()
}

fn tokens(text: &str, out: &mut Vec<Cand>) {
    for caps in GITLAB.captures_iter(text) {
        let m = caps.get(0).expect("match");
        let prefix = caps.get(1).or(caps.get(2)).map_or("", |p| p.as_str());
        out.push(Cand {
            kind: Kind::GitlabToken,
            span: trim_dots(text, m.range()),
            what: gitlab_what(prefix),
        });
    }
    for caps in GITHUB.captures_iter(text) {
        let m = caps.get(0).expect("match");
        let prefix = caps.get(1).or(caps.get(2)).map_or("", |p| p.as_str());
        out.push(Cand {
            kind: Kind::GithubToken,
            span: m.range(),
            what: github_what(prefix),
        });
    }
    for caps in AWS.captures_iter(text) {
        let m = caps.get(0).expect("match");
        if m.as_str().ends_with("EXAMPLE") {
            continue; // AWS's documentation key, AKIAIOSFODNN7EXAMPLE
        }
        out.push(Cand {
            kind: Kind::AwsAccessKey,
            span: m.range(),
            what: if &caps[1] == "ASIA" {
                "AWS temporary access key id"
            } else {
                "AWS access key id"
            },
        });
    }
    for m in GOOGLE.find_iter(text) {
        if !is_word(after(text, m.end())) && after(text, m.end()) != Some('-') {
            out.push(Cand {
                kind: Kind::GoogleApiKey,
                span: m.range(),
                what: "Google API key",
            });
        }
    }
    for m in SLACK.find_iter(text) {
        out.push(Cand {
            kind: Kind::SlackToken,
            span: m.range(),
            what: if m.as_str().starts_with("https") {
                "Slack webhook URL"
            } else {
                "Slack token"
            },
        });
    }
    for m in JWT.find_iter(text) {
        out.push(Cand {
            kind: Kind::Jwt,
            span: trim_dots(text, m.range()),
            what: "JSON Web Token",
        });
    }
}

static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:proxy-)?authorization\s*:\s*(?:bearer|token|basic|digest|negotiate)\s+([A-Za-z0-9._~+/=\-]{8,})|\b(?:private-token|job-token|x-gitlab-token|x-api-key|x-auth-token)\s*:\s*([A-Za-z0-9._~+/=\-]{8,})|\b[Bb]earer\s+([A-Za-z0-9._~+/\-]{20,}=*)",
    )
});

/// A crypt(3) password hash (`$6$salt$hash`): crackable, so private, though it starts with `$`.
static CRYPT_HASH: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\$(?:1|2[aby]?|5|6|y|gy|7|sha1|md5)\$[^\s$]*\$?[./A-Za-z0-9$=]{8,}"));

/// Values that stand for a secret without being one.
fn placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'' || c == '`');
    let lower = v.to_ascii_lowercase();
    v.chars().count() < 4
        || (v.starts_with(['<', '$', '%', '{', '[', '(']) && !CRYPT_HASH.is_match(v))
        || (v.starts_with("0x") && v[2..].chars().all(|c| c.is_ascii_hexdigit()))
        || v.chars()
            .all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '…' | '#' | '-' | '_'))
        || lower.contains("example")
        || lower.contains("redacted")
        || lower.contains("placeholder")
        || lower.contains("your")
        || matches!(
            lower.as_str(),
            "true"
                | "false"
                | "null"
                | "none"
                | "empty"
                | "unset"
                | "hidden"
                | "removed"
                | "omitted"
                | "required"
                | "optional"
                | "string"
                | "secret"
                | "password"
                | "passwd"
                | "token"
                | "dummy"
                | "changeme"
        )
}

fn headers(text: &str, out: &mut Vec<Cand>) {
    for caps in AUTH_HEADER.captures_iter(text) {
        let m = caps.get(0).expect("match");
        let v = caps
            .get(1)
            .or(caps.get(2))
            .or(caps.get(3))
            .map_or("", |v| v.as_str());
        let bare = caps.get(3).is_some();
        if placeholder(v)
            || (bare
                && !(v.chars().any(|c| c.is_ascii_digit()) && v.chars().any(char::is_alphabetic)))
        {
            continue;
        }
        out.push(Cand {
            kind: Kind::BearerToken,
            span: trim_dots(text, m.range()),
            what: "credential in an HTTP authorization header",
        });
    }
}

static ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:^|[^\w.>*\-])["']?(aws_secret_access_key|client[_-]?secret|secret[_-]?key|(?:private|access|auth|refresh|api)[_-]?token|api[_-]?key|apikey|password|passwd|passwort|secret|token)["']?[ \t]*([:=])([ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s,;&"'<>`]+)"#,
    )
});
/// HMP `set_password vnc|spice PASSWORD` (QMP's form is a JSON `"password":` assignment).
static HMP_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bset_password\s+(?:vnc|spice)\s+([^\s'\x22`]+)"));
static QEMU_SECRET: LazyLock<Regex> = LazyLock::new(|| re(r"secret,(?:[^\s,]+,)*?data=([^,\s]+)"));
static URL_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:([^/\s@]+)@"));

fn assignments(text: &str, out: &mut Vec<Cand>) {
    for caps in ASSIGN.captures_iter(text) {
        let key = caps.get(1).expect("key");
        let sep = &caps[2];
        let spaced = !caps[3].is_empty()
            || text[..key.end()]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
        let value = caps.get(4).expect("value");
        let v = value.as_str().trim_end_matches(['.', ')', ']']);
        let quoted = v.starts_with(['"', '\'']);
        if placeholder(v) || after(text, value.end()) == Some('(') {
            continue;
        }
        // `password: see below` is prose; a spaced or `:` form needs the
        // value to stand alone at the end of its line (or be quoted).
        let alone = text[value.end()..]
            .chars()
            .find(|c| !matches!(c, ' ' | '\t' | '.' | ',' | ';'))
            .is_none_or(|c| c == '\n' || c == '\r');
        if (sep == ":" || spaced) && !quoted && !alone {
            continue;
        }
        let lower = v.to_ascii_lowercase();
        if matches!(lower.as_str(), "on" | "off" | "yes" | "no") {
            continue;
        }
        out.push(Cand {
            kind: Kind::Credential,
            span: key.start()..value.start() + v.len(),
            what: "credential assigned a value",
        });
    }
    for caps in QEMU_SECRET.captures_iter(text) {
        let v = caps.get(1).expect("value");
        if placeholder(v.as_str()) {
            continue;
        }
        out.push(Cand {
            kind: Kind::Credential,
            span: v.range(),
            what: "secret in a QEMU -object secret,data= option",
        });
    }
    for caps in HMP_PASSWORD.captures_iter(text) {
        let v = caps.get(1).expect("value");
        if placeholder(v.as_str()) {
            continue;
        }
        out.push(Cand {
            kind: Kind::Credential,
            span: v.range(),
            what: "password in an HMP set_password command",
        });
    }
    for caps in URL_PASSWORD.captures_iter(text) {
        let v = caps.get(1).expect("password");
        let m = caps.get(0).expect("match");
        if placeholder(v.as_str()) || !after(text, m.end()).is_some_and(|c| c.is_alphanumeric()) {
            continue;
        }
        out.push(Cand {
            kind: Kind::Credential,
            span: m.range(),
            what: "password in a URL",
        });
    }
}

// ---------------------------------------------------------------- links

static UPLOAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:https?://[^\s/()\[\]<>"']+(?:/[^\s/()\[\]<>"']+)*?)?/uploads/[0-9a-f]{32}/[^\s)\]>"']+"#,
    )
});

fn uploads(text: &str, out: &mut Vec<Cand>) {
    for m in UPLOAD.find_iter(text) {
        out.push(Cand {
            kind: Kind::UploadLink,
            span: m.range(),
            what: "uploaded attachment link (open the attachment and check it before publishing)",
        });
    }
}

// ---------------------------------------------------------------- people

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b[a-z0-9][a-z0-9._%+\-]*@(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,24}\b")
});
static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?im)^[ \t]*(?:signed-off-by|reported-by|tested-by|reviewed-by|acked-by|suggested-by|co-developed-by|co-authored-by|reported-and-tested-by|cc)[ \t]*:[^\n]*",
    )
});

/// Domains reserved for documentation and testing (RFC 2606, RFC 6761).
fn reserved_domain(domain: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    let d = d.trim_end_matches('.');
    ["example.com", "example.net", "example.org"]
        .iter()
        .any(|r| d == *r || d.ends_with(&format!(".{r}")))
        || [".example", ".test", ".invalid", ".localhost"]
            .iter()
            .any(|t| d.ends_with(t))
        || matches!(d, "example" | "test" | "invalid" | "localhost")
}

fn public_list(local: &str, domain: &str) -> bool {
    let (l, d) = (local.to_ascii_lowercase(), domain.to_ascii_lowercase());
    (d == "nongnu.org" && l.starts_with("qemu-"))
        // syzbot's reporting address: a bot, public by design.
        || (d == "syzkaller.appspotmail.com" && l.starts_with("syzbot"))
}

fn emails(text: &str, out: &mut Vec<Cand>) {
    let trailers: Vec<Range<usize>> = TRAILER.find_iter(text).map(|m| m.range()).collect();
    for m in EMAIL.find_iter(text) {
        let (local, domain) = m.as_str().split_once('@').expect("an @");
        if public_list(local, domain) || reserved_domain(domain) {
            continue;
        }
        // A login (`ssh fuzz@nas01.lan`, `git@gitlab.com:qemu-project/qemu.git`,
        // `scp f admin@box:/srv`) is not an address; an internal host in it is
        // still found as one.
        let word_before = text[..m.start()]
            .trim_end()
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or("");
        if after(text, m.end()) == Some(':')
            || matches!(word_before, "ssh" | "sftp" | "mosh" | "ssh-copy-id" | "-l")
        {
            continue;
        }
        // A Message-ID in a public archive URL path.
        let token_start = text[..m.start()]
            .rfind(|c: char| c.is_whitespace() || c == '<' || c == '(')
            .map_or(0, |p| p + 1);
        let token = &text[token_start..m.start()];
        if token.contains("://") && token.ends_with('/') {
            continue;
        }
        let i = trailers.partition_point(|t| t.end < m.end());
        let trailer = trailers.get(i).is_some_and(|t| t.start <= m.start());
        out.push(Cand {
            kind: if trailer {
                Kind::TrailerEmail
            } else {
                Kind::Email
            },
            span: m.range(),
            what: if trailer {
                "e-mail address in a commit trailer"
            } else {
                "e-mail address"
            },
        });
    }
}

// ---------------------------------------------------------------- network

static IPV4: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(/\d{1,2})?"));

fn ipv4(text: &str, out: &mut Vec<Cand>) {
    for caps in IPV4.captures_iter(text) {
        let m = caps.get(0).expect("match");
        let prev = before(text, m.start());
        if prev.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_' || c == '-') {
            continue;
        }
        let rest = &text[m.end()..];
        if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            || (rest.starts_with('.') && rest[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            continue;
        }
        let o: Vec<u16> = (1..=4).map(|i| caps[i].parse().unwrap_or(999)).collect();
        if o.iter().any(|&x| x > 255) {
            continue;
        }
        let private = o[0] == 10
            || (o[0] == 172 && (16..=31).contains(&o[1]))
            || (o[0] == 192 && o[1] == 168);
        if !private {
            continue;
        }
        // QEMU user-mode networking gives every guest the same 10.0.2.0/24.
        if o[0] == 10 && o[1] == 0 && o[2] == 2 {
            continue;
        }
        // The ranges themselves (10.0.0.0/8) are no one's address.
        let prefix = caps.get(5).map(|p| p.as_str());
        if matches!(
            (o.as_slice(), prefix),
            ([10, 0, 0, 0], Some("/8"))
                | ([172, 16, 0, 0], Some("/12"))
                | ([192, 168, 0, 0], Some("/16"))
        ) {
            continue;
        }
        out.push(Cand {
            kind: Kind::PrivateIp,
            span: m.range(),
            what: "private IPv4 address",
        });
    }
}

static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:f[cd][0-9a-f]{2}|fe[89ab][0-9a-f]):[0-9a-f:]*[0-9a-f:](?:%[A-Za-z0-9_.]+)?(?:/\d{1,3})?",
    )
});

fn ipv6(text: &str, out: &mut Vec<Cand>) {
    for m in IPV6.find_iter(text) {
        let prev = before(text, m.start());
        if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == ':' || c == '.' || c == '_') {
            continue;
        }
        if after(text, m.end()).is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let s = m.as_str();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = addr.split('%').next().unwrap_or(addr);
        if addr.matches(':').count() < 2 || addr.parse::<Ipv6Addr>().is_err() {
            continue;
        }
        // The ranges themselves (fc00::/7, fe80::/10).
        if prefix.is_some() && addr.ends_with("::") && addr.matches(':').count() == 2 {
            continue;
        }
        out.push(Cand {
            kind: Kind::PrivateIp,
            span: m.range(),
            what: if addr.to_ascii_lowercase().starts_with("fe") {
                "link-local IPv6 address"
            } else {
                "unique-local IPv6 address"
            },
        });
    }
}

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)+")
});
static INTERNAL_LABEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:[a-z0-9]+-)?(?:corp|internal|intranet)(?:-[a-z0-9]+)?$"));

/// Names every installation shares; they say nothing about the reporter.
const GENERIC_HOSTS: &[&str] = &[
    "localhost.localdomain",
    "host.docker.internal",
    "gateway.docker.internal",
    "metadata.google.internal",
    "kubernetes.default.svc.cluster.local",
    "host.containers.internal",
    // Not hosts at all, but file names shaped like them.
    "rc.local",
];

fn hosts(text: &str, out: &mut Vec<Cand>) {
    for m in HOSTNAME.find_iter(text) {
        let name = m.as_str();
        let labels: Vec<&str> = name.split('.').collect();
        let last = *labels.last().expect("a label");
        let internal_tld = matches!(
            last,
            "internal" | "corp" | "lan" | "local" | "intranet" | "intra" | "localdomain"
        ) || name.ends_with(".home.arpa");
        let internal_label = labels.len() >= 3
            && last.len() >= 2
            && last.chars().all(|c| c.is_ascii_lowercase())
            && labels[..labels.len() - 1]
                .iter()
                .any(|l| INTERNAL_LABEL.is_match(l));
        if !(internal_tld || internal_label) {
            continue;
        }
        if GENERIC_HOSTS.contains(&name) || reserved_domain(name) {
            continue;
        }
        // Code, paths and e-mail domains are not host names in prose.
        let prev = before(text, m.start());
        let head = &text[..m.start()];
        if prev.is_some_and(|c| {
            c.is_alphanumeric() || matches!(c, '_' | '.' | '&' | '*' | '!' | '-' | '$')
        }) || head.ends_with("->")
            || (prev == Some('/') && !head.ends_with("//"))
        {
            continue;
        }
        let tail = &text[m.end()..];
        if tail.starts_with(['(', '[', ';', '_'])
            || tail.starts_with("->")
            || tail.starts_with(|c: char| c.is_ascii_uppercase())
        {
            continue;
        }
        out.push(Cand {
            kind: Kind::InternalHost,
            span: m.range(),
            what: "internal host name",
        });
    }
}

// ---------------------------------------------------------------- phones

static PHONE_INTL: LazyLock<Regex> = LazyLock::new(|| re(r"\+[1-9][0-9 ().\-]{6,22}[0-9]"));
static PHONE_US: LazyLock<Regex> =
    LazyLock::new(|| re(r"\(\d{3}\) ?\d{3}[\-. ]\d{4}\b|\b\d{3}-\d{3}-\d{4}\b"));
static PHONE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:phone|telephone|tel\.?|mobile|cell(?:phone)?|call\s+me(?:\s+(?:at|on))?|reach\s+me(?:\s+(?:at|on))?|text\s+me(?:\s+(?:at|on))?|whatsapp|sms|telefon|telefonnummer|handy|mobil|téléphone|portable|tél\.?|teléfono|móvil|celular|telefono|cellulare|телефон|тел\.?)(?:\s+(?:number|no\.?|nr\.?|nummer|numéro|número|numero))?[^\d+\n]{0,8}(\+?\d[0-9 ()./\-]{5,18}\d)|(?:电话|手机|電話)[^\d+\n]{0,4}(\+?\d[0-9 ()\-]{5,18}\d)",
    )
});
static DATE_LIKE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\d{4}[\-./]\d{1,2}[\-./]\d{1,2}|^\d{1,2}[\-./]\d{1,2}[\-./]\d{2,4}$"));

fn digits(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

fn phones(text: &str, out: &mut Vec<Cand>) {
    for m in PHONE_INTL.find_iter(text) {
        let s = m.as_str();
        let prev = before(text, m.start());
        if prev
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '+' | ')' | '.' | '_' | '<' | '-'))
            || after(text, m.end()).is_some_and(|c| {
                c.is_alphanumeric()
                    || c == '_'
                    || c == '.' && text[m.end() + 1..].starts_with(|d: char| d.is_ascii_digit())
            })
        {
            continue;
        }
        let n = digits(s);
        let seps: Vec<char> = s[1..].chars().filter(|c| !c.is_ascii_digit()).collect();
        if !(8..=15).contains(&n) || s.contains("  ") || s.contains("..") {
            continue;
        }
        // A decimal (`+12.345678`) or a short compact count (`+1000000000`)
        // is not a phone number; after a cue word the cue rule below finds it.
        if seps == ['.'] || (seps.is_empty() && n < 11) {
            continue;
        }
        out.push(Cand {
            kind: Kind::PhoneNumber,
            span: m.range(),
            what: "phone number",
        });
    }
    for m in PHONE_US.find_iter(text) {
        let prev = before(text, m.start());
        if prev.is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | ':' | '/' | '_'))
            || after(text, m.end())
                .is_some_and(|c| matches!(c, '-' | ':' | '/') || c.is_alphanumeric())
        {
            continue;
        }
        out.push(Cand {
            kind: Kind::PhoneNumber,
            span: m.range(),
            what: "phone number",
        });
    }
    for caps in PHONE_CUE.captures_iter(text) {
        let Some(num) = caps.get(1).or(caps.get(2)) else {
            continue;
        };
        let s = num.as_str();
        let n = digits(s);
        if !(7..=15).contains(&n) || DATE_LIKE.is_match(s) || s.contains("  ") {
            continue;
        }
        if after(text, num.end()).is_some_and(|c| c.is_alphanumeric() || c == ':') {
            continue;
        }
        out.push(Cand {
            kind: Kind::PhoneNumber,
            span: num.range(),
            what: "phone number",
        });
    }
}

// ---------------------------------------------------------------- privacy requests

static PRIVACY: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // English
        r"(?i)\bkeep\s+(?:my|our)\s+(?:real\s+|full\s+)?(?:name|names|identity|identities|e-?mail(?:\s+address)?|address|details|personal\s+details|contact\s+details|affiliation|employer|company|involvement)(?:\s+(?:and|or)\s+(?:my\s+|our\s+)?[\w-]+(?:\s+[\w-]+)?)?\s+(?:private|confidential|secret|hidden|anonymous|out\s+of)",
        r"(?i)\b(?:do\s+not|don'?t|dont|never)\s+(?:credit|name|mention|identify|thank|acknowledge)\s+(?:me|us|my\s+(?:name|employer|company|team))\b",
        r"(?i)\b(?:do\s+not|don'?t|dont)\s+(?:publish|share|disclose|reveal|release|post|make\s+public|expose)\s+(?:my|our)\s+(?:name|names|identity|e-?mail|address|details|personal|contact|affiliation|employer|company|phone|data|information|info|logs?|dump|core|files?|attachment|config)",
        r"(?i)\b(?:i|we)(?:'d|\s+would)?\s+(?:like|prefer|wish|want|ask|request)?\s*to\s+(?:remain|stay|be\s+kept|be\s+credited)\s+(?:anonymous|anonymously|unnamed|uncredited)",
        r"(?i)\b(?:credit|acknowledge)\s+(?:me|us|this)\s+(?:anonymously|as\s+anonymous)\b",
        r"(?i)\bconfidential\s*[,:;.\-–—]*\s*(?:please\s+)?(?:do\s+not|don'?t|not\s+to\s+be)\s+(?:share|shared|forward|forwarded|distribute|distributed|publish|published|disclose|disclosed)",
        r"(?i)\bnot\s+for\s+(?:public\s+)?(?:release|distribution|disclosure|publication)\b",
        r"(?i)\b(?:please\s+)?(?:redact|remove|strip|scrub)\s+(?:my|our)\s+(?:name|e-?mail|identity|details|contact|affiliation|phone|address|employer)",
        r"(?i)\bwithout\s+(?:mentioning|naming|crediting|identifying)\s+(?:me|us|my\s+(?:name|employer|company))",
        // German
        r"(?i)\b(?:meinen|unseren)\s+namen\s+(?:bitte\s+)?nicht\s+(?:nennen|veröffentlichen|erwähnen|angeben|publizieren)",
        r"(?i)\b(?:nennen|erwähnen|veröffentlichen)\s+sie\s+(?:bitte\s+)?(?:meinen|unseren)\s+namen\s+nicht",
        r"(?i)\b(?:ich\s+möchte|wir\s+möchten)\s+(?:bitte\s+)?anonym\s+bleiben",
        r"(?i)\bvertraulich\s*[,:;.\-–—]*\s*(?:bitte\s+)?nicht\s+(?:weitergeben|veröffentlichen|teilen|weiterleiten)",
        r"(?i)\bnicht\s+namentlich\s+(?:nennen|erwähnen|genannt|erwähnt)",
        // French
        r"(?i)\bne\s+(?:pas\s+)?(?:publier|publiez|mentionner|mentionnez|citer|citez|divulguer|divulguez|révéler|révélez)\s+(?:pas\s+)?(?:mon|notre)\s+(?:nom|identité)",
        r"(?i)\bne\s+me\s+(?:créditez|citez|nommez|mentionnez|remerciez)\s+pas",
        r"(?i)\b(?:garder|gardez)\s+mon\s+(?:nom|identité)\s+(?:confidentiel(?:le)?|privée?|secrète?)",
        r"(?i)\b(?:rester|demeurer)\s+anonyme",
        r"(?i)\bconfidentiel\w*\s*[,:;.\-–—]*\s*(?:merci\s+de\s+)?ne\s+pas\s+(?:diffuser|partager|publier|transmettre)",
        // Spanish
        r"(?i)\bno\s+(?:publiquen|publique|mencionen|mencione|incluyan|incluya|revelen|revele|divulguen|divulgue)\s+mi\s+(?:nombre|identidad|correo)",
        r"(?i)\bno\s+me\s+(?:acrediten|mencionen|nombren|citen)",
        r"(?i)\b(?:mantener|mantengan|mantenga)\s+mi\s+(?:nombre|identidad)\s+(?:en\s+)?(?:privado|confidencial|reserva|secreto)",
        r"(?i)\b(?:permanecer|quedar|mantenerme)\s+(?:en\s+el\s+)?anónimo",
        r"(?i)\bconfidencial\s*[,:;.\-–—]*\s*(?:por\s+favor\s+)?no\s+(?:compartir|difundir|publicar|divulgar)",
        // Italian
        r"(?i)\bnon\s+(?:pubblicate|pubblicare|citate|citare|menzionate|menzionare|divulgate|divulgare)\s+il\s+mio\s+nome",
        r"(?i)\b(?:rimanere|restare)\s+anonim[oa]",
        r"(?i)\briservat[oa]\s*[,:;.\-–—]*\s*(?:si\s+prega\s+di\s+)?non\s+(?:condividere|divulgare|diffondere|pubblicare)",
        // Portuguese
        r"(?i)\bnão\s+(?:publiquem|publique|divulguem|divulgue|mencionem|mencione)\s+(?:o\s+)?meu\s+nome",
        r"(?i)\b(?:permanecer|ficar)\s+(?:anônim[oa]|anónim[oa])",
        r"(?i)\bconfidencial\s*[,:;.\-–—]*\s*(?:por\s+favor\s+)?não\s+(?:compartilhe|compartilhar|divulgue|divulgar|partilhar)",
        // Russian
        r"(?i)\bне\s+(?:указывайте|публикуйте|упоминайте|называйте|раскрывайте)\s+(?:мо[её]\s+имя|меня)",
        r"(?i)\b(?:остаться|оставаться)\s+анонимн\w+",
        r"(?i)\bконфиденциально\s*[,:;.\-–—]*\s*не\s+(?:распространять|публиковать|пересылать)",
        // Chinese, Japanese
        r"请(?:不要|勿)(?:公开|公布|透露|披露)(?:我的)?(?:姓名|名字|身份|邮箱)",
        r"(?:不要|请勿)(?:署名|署我的名|致谢我)",
        r"保密[，,]?\s*请勿(?:外传|转发|公开)",
        r"(?:希望|请)(?:保持)?匿名",
        r"(?:名前|氏名)を(?:公開|掲載|記載)しないで",
        r"匿名(?:を希望|でお願い)",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

fn privacy(text: &str, out: &mut Vec<Cand>) {
    for r in PRIVACY.iter() {
        for m in r.find_iter(text) {
            out.push(Cand {
                kind: Kind::PrivacyRequest,
                span: m.range(),
                what: "request to keep something private or uncredited",
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        scrub(&[(Place::Description, text)])
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    fn fires(kind: Kind, texts: &[&str]) {
        for t in texts {
            assert_eq!(kinds(t), vec![kind], "{t:?}");
        }
    }

    fn silent(texts: &[&str]) {
        for t in texts {
            assert_eq!(kinds(t), Vec::<Kind>::new(), "{t:?}");
        }
    }

    #[test]
    fn emails_but_not_project_lists_reserved_domains_or_archives() {
        fires(
            Kind::Email,
            &[
                "Contact me at jane.doe@mailbox-fake.net for details.",
                "From: Wei Zhang <wzhang@bigco-fake.cn>",
            ],
        );
        silent(&[
            "I sent this to qemu-security@nongnu.org and qemu-devel@nongnu.org.",
            "Reply to reporter@example.com or ops@mail.example.org.",
            "git clone git@gitlab.com:qemu-project/qemu.git",
            "https://lore.kernel.org/qemu-devel/20260110.1234-1-jd@bigco-fake.com/",
            "memcpy@plt and memcpy@GLIBC_2.14",
        ]);
    }

    #[test]
    fn trailer_emails_are_their_own_kind() {
        fires(
            Kind::TrailerEmail,
            &[
                "Signed-off-by: Jane Doe <jane@fake-mail.de>",
                "  Reported-by: A B <ab@uni-fake.edu>",
            ],
        );
    }

    #[test]
    fn tokens_each_shape() {
        let glpat = format!("glpat-{}", "Fake0Fake1Fake2Fake3x");
        fires(
            Kind::GitlabToken,
            &[
                &format!("curl -H 'X: {glpat}'"),
                "glrt-t1_FAKEfakeFAKEfake1234",
            ],
        );
        fires(
            Kind::GithubToken,
            &[
                &format!("token ghp_{}", "A".repeat(36)),
                &format!("github_pat_{}", "1a".repeat(20)),
            ],
        );
        fires(Kind::AwsAccessKey, &["AKIAFAKEFAKEFAKE0000 in env"]);
        fires(
            Kind::GoogleApiKey,
            &[&format!("key AIza{}", "F".repeat(35))],
        );
        fires(Kind::SlackToken, &["xoxb-000000000-fakefakefake"]);
        fires(
            Kind::PrivateKey,
            &["-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAfake\n-----END OPENSSH PRIVATE KEY-----"],
        );
        fires(
            Kind::Jwt,
            &["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.ZmFrZXNpZ25hdHVyZQ"],
        );
        fires(
            Kind::BearerToken,
            &["Authorization: Bearer 0fake1fake2fake3fake"],
        );
    }

    #[test]
    fn credentials_need_a_value() {
        fires(
            Kind::Credential,
            &[
                "vnc password=Hunter2fake",
                "Password: s3cr3t-fake",
                "-object secret,id=sec0,data=letmein99",
                "https://admin:Fak3Pass@ci/",
                "passwd: $6$rounds=4096$FAKEsalt$FAKEhashFAKEhash",
                "(qemu) set_password vnc Fak3VncPw",
            ],
        );
        silent(&[
            "The VNC password is not checked before the handshake.",
            "-vnc :1,password=on",
            "-spice port=5900,password-secret=sec0",
            "password: see the attached config for what we used",
            "vs->password = g_strdup(password);",
            "token=<YOUR_TOKEN>",
            "secret=$SECRET",
            "fn(vs=0x555557a1c0f0, token=0x7ffd5e4a9b10)",
            "(qemu) set_password vnc <password>",
            "an HMP `set_password vnc PASSWORD` and `password=SECRET`",
        ]);
    }

    #[test]
    fn private_addresses_not_generic_ones() {
        fires(
            Kind::PrivateIp,
            &[
                "host 192.168.10.7 runs it",
                "fd12:3456:789a::1",
                "fe80::1ff:fe23:4567:890a%eth0",
            ],
        );
        silent(&[
            "127.0.0.1 and 0.0.0.0",
            "guest 10.0.2.15 via slirp",
            "QEMU 10.0.2 and 1:10.0.2+ds-2",
            "RFC 1918: 10.0.0.0/8, fc00::/7",
            "0xfd00 0x602000000010",
            "52:54:00:12:34:56",
        ]);
    }

    #[test]
    fn internal_hosts() {
        fires(
            Kind::InternalHost,
            &[
                "ssh build01.corp",
                "see ci.internal.bigco-fake.com",
                "nas.lan",
            ],
        );
        silent(&[
            "localhost",
            "localhost.localdomain",
            "s->dev.internal(x)",
            "ops.corp.example.com",
        ]);
    }

    #[test]
    fn upload_links() {
        fires(
            Kind::UploadLink,
            &["[poc.c](/uploads/0123456789abcdef0123456789abcdef/poc.c)"],
        );
        silent(&["/uploads/readme.txt"]);
    }

    #[test]
    fn phones_not_versions_dates_or_hex() {
        fires(
            Kind::PhoneNumber,
            &[
                "+49 30 12345678",
                "call me at (555) 010-4477",
                "Telefon: 030 1234567",
            ],
        );
        silent(&[
            "2026-01-10 09:41:07",
            "rip+0x1a/0x40",
            "[ +12.345678]",
            "8086:100e",
            "-m 4096",
            "qemu-system-x86_64 -netdev user,hostfwd=tcp::2222-:22",
            "signal 11",
        ]);
    }

    #[test]
    fn privacy_requests_in_several_languages() {
        fires(
            Kind::PrivacyRequest,
            &[
                "Please keep my name private.",
                "Please do not credit me.",
                "Don't publish my employer's name.",
                "Confidential, do not share.",
                "Bitte meinen Namen nicht veröffentlichen.",
                "Merci de ne pas publier mon nom.",
                "Por favor, no publiquen mi nombre.",
                "请不要公开我的姓名",
            ],
        );
        silent(&[
            "The device does not publish its state.",
            "Keep the lock private to the file.",
            "do not share memory",
        ]);
    }

    #[test]
    fn descriptions_never_carry_the_secret() {
        let secret = format!("glpat-{}", "Zz9Zz9Zz9Zz9Zz9Zz9Zz9");
        let text = format!("line one\nPRIVATE-TOKEN: {secret}\n");
        let f = scrub(&[(Place::Note(77), &text)]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].describe(),
            "GitLab personal access token on line 2 of note 77"
        );
        assert_eq!(&text[f[0].span.clone()], secret);
        let json = serde_json::to_string(&f).unwrap();
        assert!(!json.contains("Zz9"));
    }

    #[test]
    fn invisible_characters_do_not_hide_a_token() {
        let text = "x\u{200B}y\nkey glpat-\u{200B}FakeFake\u{2060}FakeFakeFake1234 end";
        let f = scrub(&[(Place::Description, text)]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, Kind::GitlabToken);
        assert_eq!(f[0].line, 2);
        assert_eq!(
            &text[f[0].span.clone()],
            "glpat-\u{200B}FakeFake\u{2060}FakeFakeFake1234"
        );
    }

    #[test]
    fn issue_parts_skip_internal_and_system_notes() {
        let parts = issue_parts(
            br#"{"title":"t","description":"d","notes":[{"id":1,"body":"a","internal":true},{"id":2,"body":"b","system":true},{"id":3,"body":"c"}]}"#,
        );
        assert_eq!(
            parts,
            vec![
                (Place::Title, "t".to_string()),
                (Place::Description, "d".to_string()),
                (Place::Note(3), "c".to_string())
            ]
        );
        assert_eq!(
            issue_parts(b"plain"),
            vec![(Place::Description, "plain".to_string())]
        );
    }
}
