//! Embargo requests: does the reporter ask us to keep the issue confidential
//! until a date, to publish on their schedule, to coordinate disclosure with
//! others, or to meet a disclosure deadline?
//!
//! QEMU's policy (security-process.md, "Embargo policy") limits the time an
//! issue stays confidential to what a fix needs and rejects arbitrary embargo
//! requests unless high severity and extenuating circumstances are shown, so
//! a maintainer wants such a request flagged. The detector works like the
//! provenance one: clauses (sentences of unwrapped paragraphs), per-kind
//! lexicons in several languages (English, German, French, Spanish, Chinese,
//! Japanese, Russian), and a negation / waiver scope so that "no embargo
//! needed" or "feel free to make this public" is not a request. Quoted text
//! (`>` lines, code blocks, HTML comments) and the policy's own wording are
//! never a request. The result holds fixed enums and numbers parsed from the
//! text, never the text itself.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::provenance::{Lexicon, Span};

/// What the reporter asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbargoKind {
    /// Keep the issue embargoed / confidential (until a date, for a time).
    Embargo,
    /// The reporter names the date on which they (or we) will publish.
    DisclosureDate,
    /// Coordinated disclosure (with distributions, other vendors, a list).
    Coordinated,
    /// A disclosure deadline ("90-day deadline").
    Deadline,
}

impl EmbargoKind {
    /// How the note names the request.
    pub fn words(self) -> &'static str {
        match self {
            EmbargoKind::Embargo => "an embargo",
            EmbargoKind::DisclosureDate => "a disclosure date",
            EmbargoKind::Coordinated => "coordinated disclosure",
            EmbargoKind::Deadline => "a disclosure deadline",
        }
    }
}

/// A request found in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbargoRequest {
    /// The first request in report order.
    pub kind: EmbargoKind,
    /// Every kind requested, in report order, without duplicates.
    pub kinds: Vec<EmbargoKind>,
    /// A date the request names, formatted by us (`YYYY-MM-DD`) from the parsed numbers.
    pub date: Option<String>,
    /// A number of days the request names ("90-day deadline").
    pub days: Option<u32>,
    /// 1-based line of the first request.
    pub line: usize,
}

// ---------------------------------------------------------------------------
// Lexicons
// ---------------------------------------------------------------------------

/// Asking for an embargo, or for confidentiality until / for a time.
static EMBARGO: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        concat!(
            r"embargo\w*|sperrfrist\w*|эмбарго|",
            r"keep(?:ing)?\s+(?:this|it|the\s+(?:issue|report|details|bug|vulnerability))\s+(?:\w+\s+)?(?:confidential|private|non-public|secret|under\s+wraps)\s+(?:until|till|through|for|before)|",
            r"(?:do\s+not|don't|please\s+don't|not\s+to)\s+(?:make\s+(?:this|it)\s+public|publish\w*|disclose\w*|release\w*|open\s+(?:this|it))\s+(?:\w+\s+){0,3}?(?:before|until|till|prior\s+to)|",
            r"(?:vertraulich|geheim)\w*\s+(?:\w+\s+){0,2}?bis|nicht\s+(?:vor|bis)\s+(?:\w+\s+){0,3}?veröffentlich\w*|",
            r"confidentiel\w*\s+(?:\w+\s+){0,2}?jusqu\w*|ne\s+pas\s+(?:\w+\s+){0,2}?publier\s+avant|",
            r"confidencial\w*\s+(?:\w+\s+){0,2}?hasta|no\s+(?:lo\s+)?(?:publiquen|publicar|divulgar|divulguen)\s+(?:\w+\s+){0,2}?antes|",
            r"конфиденциальн\w*\s+(?:\w+\s+){0,2}?до|не\s+(?:публиковать|раскрывать|публикуйте|раскрывайте)\s+(?:\w+\s+){0,2}?до"
        ),
        r"禁运期?|保密期|保密至|保密到|暂不公开|暂时不要公开|请勿公开|不要公开|在.{0,20}之前(?:不要|请勿|暂不)(?:公开|披露)|エンバーゴ|公開しないで|公開を控え|非公開(?:のまま|に)|まで(?:は)?(?:公開|開示)しない",
    )
});

/// Coordinated disclosure.
static COORDINATED: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        concat!(
            r"coordinated\s+(?:vulnerability\s+|public\s+)?(?:disclosure|release|publication)|",
            r"coordinate\s+(?:the\s+|a\s+)?(?:public\s+)?(?:disclosure|release|publication|announcement)|",
            r"linux-distros|distros\s+(?:mailing\s+)?list|",
            r"koordinierte\w*\s+(?:offenlegung|veröffentlichung)|",
            r"divulgation\s+coordonnée|publication\s+coordonnée|",
            r"divulgación\s+coordinada|publicación\s+coordinada|",
            r"скоординированн\w*\s+(?:раскрыти\w*|публикаци\w*)|координированн\w*\s+(?:раскрыти\w*|публикаци\w*)"
        ),
        r"协调披露|协同披露|协调公开|协调发布|協調(?:的な)?(?:開示|公開)|調整された開示",
    )
});

/// Deadline words and day counts; a deadline only with a disclosure word in the clause.
static DEADLINE: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        concat!(
            r"\d{1,3}[- ]?days?|deadline|disclosure\s+(?:timeline|window)|",
            r"\d{1,3}[- ]?tage\w*|frist\w*|\d{1,3}\s+jours|délai\w*|\d{1,3}\s+días|plazo\w*|",
            r"\d{1,3}\s+дн\w*|срок\w*"
        ),
        r"\d{1,3}\s*天|\d{1,3}\s*日(?:間|以内|後)|期限",
    )
});

/// Disclosure / publication words.
static DISCLOSURE: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        concat!(
            r"disclos\w*|publish\w*|publication|public|release\w*|blog\w*|advisory|announce\w*|",
            r"offenleg\w*|veröffentlich\w*|bekanntgabe|publik\w*|",
            r"divulg\w*|publier|publierons|publiera\w*|publié\w*|publication|",
            r"publicar\w*|publicaremos|publicación|publique\w*|",
            r"раскрыт\w*|раскрыв\w*|опубликов\w*|публикац\w*|публик\w*"
        ),
        r"公开|披露|发布|公布|公開|開示|発表",
    )
});

/// Intent or request: a disclosure date is a request only with one of these.
static INTENT: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        concat!(
            r"plan|plans|planned|planning|intend\w*|will|shall|going\s+to|would\s+like|want|wish|please|",
            r"request\w*|ask\w*|schedul\w*|expect\w*|propos\w*|until|till|no\s+earlier\s+than|not\s+before|",
            r"date|target\w*|",
            r"werden|wird|planen|geplant|beabsichtig\w*|möchte\w*|bitte|bis|",
            r"allons|prévoyons|prévu\w*|comptons|souhait\w*|jusqu\w*|veuillez|",
            r"planeamos|vamos|previsto|prevista|queremos|hasta|por\s+favor|",
            r"планируем|собираемся|будет|будем|хотим|просим|просьба|пожалуйста|до"
        ),
        r"计划|打算|将于|将在|之前|预计|请|日期|予定|まで|ください|お願い",
    )
});

/// Past tense: "CVE-2021-1234 was published on ..." is history, not a request.
static PAST: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        r"was|were|has\s+been|had\s+been|became|already|wurde|wurden|a\s+été|ont\s+été|fue|fueron|был\w*|уже",
        r"已经|已于|已|された|済み",
    )
});

/// Negations before a trigger ("no embargo", "not under embargo", "kein Embargo").
static NEGATIONS: LazyLock<Lexicon> = LazyLock::new(|| {
    Lexicon::new(
        concat!(
            r"no|not|never|without|nor|neither|none|\w+n['’]t|no\s+need|",
            r"kein\w*|nicht|ohne|pas|aucun\w*|sans|ni|ningún|ninguna|sin|нет|не|без|никак\w*"
        ),
        r"不需要|无需|不必|没有|并非|不是|无|ない|なし",
    )
});

/// Negations after a trigger ("embargo is not needed", "Embargo: none").
static TRAIL_NEG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^[^.;!?。]{0,30}?(?:",
        r"(?:is|are|was)\s+not|isn't|aren't|not\s+(?:needed|required|necessary|requested|wanted)|unnecessary|",
        r"\bnone\b|\bn/?a\b|:\s*no\b|",
        r"nicht\s+(?:nötig|notwendig|erforderlich|gewünscht)|pas\s+(?:nécessaire|requis|besoin)|",
        r"no\s+(?:es\s+)?necesari|не\s+(?:нужн|требу|обязательн)|",
        r"不需要|没有必要|不必要|は不要|不要です|必要(?:は)?ありません|必要ない)"
    ))
    .unwrap()
});

/// Waivers: the reporter is fine with publication.
static WAIVER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)feel\s+free\s+to\s+(?:make|publish|disclose|open)|",
        r"(?:can|may|could)\s+be\s+(?:made\s+public|published|disclosed|opened)\s+(?:right\s+away|immediately|now|at\s+any\s+time|whenever)|",
        r"(?:ok|okay|fine|happy)\s+(?:for|with|to)\s+(?:this|it|you)?\s*(?:to\s+)?(?:be\s+|being\s+)?(?:made\s+public|go\s+public|publish|making\s+(?:it|this)\s+public|public)|",
        r"no\s+objection\s+to\s+(?:making|publishing|disclosing)|",
        r"darf\s+(?:sofort\s+|gerne\s+)?veröffentlicht|kann\s+(?:sofort\s+|gerne\s+)?veröffentlicht|",
        r"peut\s+être\s+(?:rendu\w*\s+public\w*|publié\w*)|",
        r"puede\s+(?:hacerse\s+público|publicarse|ser\s+publicad\w*)|",
        r"можно\s+(?:сразу\s+)?(?:опубликовать|раскрыть|публиковать)|",
        r"可以(?:直接|立即)?公开|随时公开|公開して(?:も)?(?:構いません|かまいません|大丈夫)"
    ))
    .unwrap()
});

/// The policy's own wording (quoted or paraphrased by the reporter).
static POLICY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)security-process|embargo\s+policy|(?:qemu|project)(?:'s)?\s+(?:project\s+)?(?:embargo\s+)?policy|",
        r"reject\w*\s+(?:\w+\s+){0,3}?(?:requests?\s+for\s+)?(?:arbitrary\s+)?embargo|arbitrary\s+embargo|",
        r"your\s+(?:embargo\s+|disclosure\s+)?policy|(?:I|we)\s+understand\s+(?:that\s+)?(?:the\s+|your\s+)?(?:embargo|polic)"
    ))
    .unwrap()
});

/// "If you need an embargo, let me know": an offer, not a request. "If possible" is
/// taken out first (it softens a request rather than making it conditional).
static CONDITIONAL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}])(?:if|whether|unless|wenn|falls|ob|si|если|ли)(?:[^\p{L}]|$)|如果|もし|なら|場合").unwrap()
});
static IF_POSSIBLE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)if\s+(?:at\s+all\s+)?possible|if\s+you\s+can|wenn\s+möglich|falls\s+möglich|si\s+(?:c'est\s+|es\s+)?possible|если\s+возможно|如果可能|可能であれば|できれば").unwrap()
});

// ---------------------------------------------------------------------------
// Dates and day counts
// ---------------------------------------------------------------------------

const MONTHS: &[(&str, u8)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("enero", 1),
    ("января", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("febrero", 2),
    ("февраля", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("марта", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("abril", 4),
    ("апреля", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("мая", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("июня", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("julio", 7),
    ("июля", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("agosto", 8),
    ("августа", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("сентября", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("октября", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("ноября", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("décembre", 12),
    ("diciembre", 12),
    ("декабря", 12),
];

const MONTH_WORD: &str = r"[a-zA-ZäéûÄÉА-яЁё]{3,10}";

static ISO_DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\d])(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[^\d]|$)").unwrap()
});
static DOT_DATE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[^\d]|$)").unwrap());
static CJK_DATE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日").unwrap());
static MONTH_FIRST_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:^|[^\p{{L}}])({MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?:[^\d]|$)"
    ))
    .unwrap()
});
static DAY_FIRST_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:^|[^\d])(\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?({MONTH_WORD})\.?,?\s+(?:de\s+)?(\d{{4}})(?:[^\d]|$)"
    ))
    .unwrap()
});
static DAYS_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(\d{1,3})\s*[- ]?\s*(?:days?|tage\w*|jours|días|dias|дн\w*|天|日(?:間|以内|後)?)",
    )
    .unwrap()
});

fn month_number(word: &str) -> Option<u8> {
    let w = word.to_lowercase();
    MONTHS.iter().find(|(m, _)| *m == w).map(|&(_, n)| n)
}

fn valid(y: u32, m: u32, d: u32) -> Option<String> {
    ((1990..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// The first date in `clause`, formatted `YYYY-MM-DD`.
fn find_date(clause: &str) -> Option<String> {
    let num = |c: &regex::Captures, i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let mut found: Vec<(usize, String)> = Vec::new();
    for c in ISO_DATE_RE
        .captures_iter(clause)
        .chain(CJK_DATE_RE.captures_iter(clause))
    {
        if let (Some(y), Some(m), Some(d)) = (num(&c, 1), num(&c, 2), num(&c, 3)) {
            if let Some(s) = valid(y, m, d) {
                found.push((c.get(1).map_or(0, |m| m.start()), s));
            }
        }
    }
    for c in DOT_DATE_RE.captures_iter(clause) {
        if let (Some(d), Some(m), Some(y)) = (num(&c, 1), num(&c, 2), num(&c, 3)) {
            if let Some(s) = valid(y, m, d) {
                found.push((c.get(1).map_or(0, |m| m.start()), s));
            }
        }
    }
    for c in MONTH_FIRST_RE.captures_iter(clause) {
        let m = c.get(1).and_then(|w| month_number(w.as_str()));
        if let (Some(m), Some(d), Some(y)) = (m, num(&c, 2), num(&c, 3)) {
            if let Some(s) = valid(y, u32::from(m), d) {
                found.push((c.get(1).map_or(0, |m| m.start()), s));
            }
        }
    }
    for c in DAY_FIRST_RE.captures_iter(clause) {
        let m = c.get(2).and_then(|w| month_number(w.as_str()));
        if let (Some(d), Some(m), Some(y)) = (num(&c, 1), m, num(&c, 3)) {
            if let Some(s) = valid(y, u32::from(m), d) {
                found.push((c.get(1).map_or(0, |m| m.start()), s));
            }
        }
    }
    found.sort();
    found.into_iter().next().map(|(_, s)| s)
}

fn find_days(clause: &str) -> Option<u32> {
    DAYS_RE
        .captures(clause)
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().parse().ok())
        .filter(|&d| d > 0)
}

// ---------------------------------------------------------------------------
// Clauses
// ---------------------------------------------------------------------------

/// A sentence of an unwrapped paragraph, with the line it starts on.
struct Clause {
    text: String,
    line: usize,
}

/// Unwraps paragraphs (quoted lines, code blocks, HTML comments and trace or
/// command lines left out) and cuts them into sentences.
fn clauses(text: &str) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut in_comment = false;
    let mut para = String::new();
    let mut para_lines: Vec<(usize, usize)> = Vec::new(); // (byte offset in para, line)
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("```") || line.starts_with("~~~") {
            in_fence = !in_fence;
            flush(&mut para, &mut para_lines, &mut out);
            continue;
        }
        let mut visible = line.to_string();
        if in_comment {
            match visible.find("-->") {
                Some(e) => {
                    visible = visible[e + 3..].to_string();
                    in_comment = false;
                }
                None => continue,
            }
        }
        while let Some(s) = visible.find("<!--") {
            match visible[s..].find("-->") {
                Some(e) => visible.replace_range(s..s + e + 3, " "),
                None => {
                    visible.truncate(s);
                    in_comment = true;
                }
            }
        }
        let visible = visible.trim();
        let codeish = visible.starts_with('>')
            || (visible.starts_with('#') && visible[1..].starts_with(|c: char| c.is_ascii_digit()))
            || visible.starts_with("==")
            || visible.starts_with('$')
            || raw.starts_with("    ")
            || raw.starts_with('\t');
        if in_fence || visible.is_empty() || codeish {
            flush(&mut para, &mut para_lines, &mut out);
            continue;
        }
        if !para.is_empty() {
            para.push(' ');
        }
        para_lines.push((para.len(), i + 1));
        para.push_str(visible);
        // A `Key: value` line or a heading stands alone.
        if visible.starts_with('#') || visible.starts_with("- ") || visible.starts_with("* ") {
            flush(&mut para, &mut para_lines, &mut out);
        }
    }
    flush(&mut para, &mut para_lines, &mut out);
    out
}

fn flush(para: &mut String, lines: &mut Vec<(usize, usize)>, out: &mut Vec<Clause>) {
    if !para.is_empty() {
        split_sentences(para, lines, out);
    }
    para.clear();
    lines.clear();
}

fn split_sentences(para: &str, lines: &[(usize, usize)], out: &mut Vec<Clause>) {
    let line_of = |off: usize| {
        lines
            .iter()
            .take_while(|(o, _)| *o <= off)
            .last()
            .map_or(1, |&(_, l)| l)
    };
    let mut start = 0;
    let mut chars = para.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let end_here = match c {
            '。' | '！' | '？' | '；' => true,
            // "1. März 2027": a period after a day number does not end the sentence.
            '.' => {
                next.is_none_or(char::is_whitespace)
                    && !para[..i]
                        .rsplit(char::is_whitespace)
                        .next()
                        .is_some_and(|w| {
                            !w.is_empty() && w.len() <= 2 && w.bytes().all(|b| b.is_ascii_digit())
                        })
            }
            '!' | '?' | ';' => next.is_none_or(char::is_whitespace),
            _ => false,
        };
        if end_here {
            let e = i + c.len_utf8();
            push_clause(para, start, e, &line_of, out);
            start = e;
        }
    }
    push_clause(para, start, para.len(), &line_of, out);
}

fn push_clause(
    para: &str,
    s: usize,
    e: usize,
    line_of: &dyn Fn(usize) -> usize,
    out: &mut Vec<Clause>,
) {
    let t = para[s..e].trim();
    if !t.is_empty() {
        let lead = para[s..e].len() - para[s..e].trim_start().len();
        out.push(Clause {
            text: t.to_string(),
            line: line_of(s + lead),
        });
    }
}

// ---------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------

/// How far back (chars) a negation may stand before a trigger.
const NEG_BACK_CHARS: usize = 40;

fn negated_before(clause: &str, negs: &[Span], trigger: Span) -> bool {
    negs.iter()
        .any(|&(_, e)| e <= trigger.0 && clause[e..trigger.0].chars().count() <= NEG_BACK_CHARS)
}

fn negated_after(clause: &str, trigger: Span) -> bool {
    TRAIL_NEG_RE.is_match(&clause[trigger.1..])
}

/// The kinds a clause requests, in the order they appear.
fn clause_kinds(raw: &str) -> Vec<(usize, EmbargoKind)> {
    if POLICY_RE.is_match(raw) || WAIVER_RE.is_match(raw) {
        return Vec::new();
    }
    let clause = IF_POSSIBLE_RE.replace_all(raw, "");
    let clause = clause.as_ref();
    let conditional = CONDITIONAL_RE.is_match(clause);
    let negs = NEGATIONS.spans(clause);
    let live = |t: Span| !negated_before(clause, &negs, t) && !negated_after(clause, t);
    let mut out = Vec::new();

    for t in EMBARGO.spans(clause) {
        // A trigger that carries its own negation ("do not publish before") is
        // only negated by something in front of it.
        let own_negation = negs.iter().any(|&(s, _)| s >= t.0 && s < t.1);
        let ok = if own_negation {
            !negated_before(clause, &negs, t)
        } else {
            live(t)
        };
        if ok && !conditional {
            out.push((t.0, EmbargoKind::Embargo));
            break;
        }
    }
    let disclosure = DISCLOSURE.spans(clause);
    let has_disclosure = !disclosure.is_empty();
    for t in COORDINATED.spans(clause) {
        if live(t) && !conditional {
            out.push((t.0, EmbargoKind::Coordinated));
            break;
        }
    }
    if has_disclosure && !conditional {
        for t in DEADLINE.spans(clause) {
            if live(t) {
                out.push((t.0, EmbargoKind::Deadline));
                break;
            }
        }
    }
    if has_disclosure && !conditional && PAST.spans(clause).is_empty() {
        let dated = find_date(clause).is_some();
        let intent = !INTENT.spans(clause).is_empty();
        if dated && intent {
            if let Some(&t) = disclosure.iter().find(|&&t| live(t)) {
                out.push((t.0, EmbargoKind::DisclosureDate));
            }
        }
    }
    out.sort();
    out
}

/// Finds the reporter's embargo request, if any.
pub fn detect(text: &str) -> Option<EmbargoRequest> {
    let mut first: Option<EmbargoRequest> = None;
    for c in clauses(text) {
        let kinds = clause_kinds(&c.text);
        if kinds.is_empty() {
            continue;
        }
        let date = find_date(&c.text);
        let days = find_days(&c.text).filter(|_| {
            kinds
                .iter()
                .any(|(_, k)| matches!(k, EmbargoKind::Deadline | EmbargoKind::Embargo))
        });
        match &mut first {
            None => {
                let mut ks: Vec<EmbargoKind> = Vec::new();
                for (_, k) in &kinds {
                    if !ks.contains(k) {
                        ks.push(*k);
                    }
                }
                first = Some(EmbargoRequest {
                    kind: ks[0],
                    kinds: ks,
                    date,
                    days,
                    line: c.line,
                });
            }
            Some(r) => {
                for (_, k) in &kinds {
                    if !r.kinds.contains(k) {
                        r.kinds.push(*k);
                    }
                }
                r.date = r.date.take().or(date);
                r.days = r.days.or(days);
            }
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use EmbargoKind::*;

    /// The kind and the date expected, or `None` for no request.
    type Expect = Option<(EmbargoKind, Option<&'static str>)>;

    const BODY: &str = "\n\nSummary\nThe device reads past the end of its buffer.\n\nImpact\nGuest-triggerable crash.\n";

    /// Runs `detect` on a report whose first body line is `line` and compares
    /// the kind and the date (`None` expects no request).
    fn check(line: &str, expect: Option<(EmbargoKind, Option<&str>)>) {
        let text = format!("hw/foo: out-of-bounds write in foo_write()\n\n{line}{BODY}");
        let got = detect(&text);
        let got_short = got.as_ref().map(|r| (r.kind, r.date.as_deref()));
        assert_eq!(got_short, expect, "text: {line:?}\nfull: {got:#?}");
    }

    #[test]
    fn requests_in_english() {
        let cases: &[(&str, Expect)] = &[
            (
                "Please keep this embargoed until 2027-01-15.",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "We request an embargo until January 15, 2027.",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "Embargo: until 15 March 2027",
                Some((Embargo, Some("2027-03-15"))),
            ),
            (
                "Is an embargo possible? Our customers need time to patch.",
                Some((Embargo, None)),
            ),
            (
                "Please keep the issue confidential until our talk on 2027-02-03.",
                Some((Embargo, Some("2027-02-03"))),
            ),
            (
                "Please do not make this public before 2027-04-01.",
                Some((Embargo, Some("2027-04-01"))),
            ),
            (
                "We plan to publish our findings on 2027-03-01.",
                Some((DisclosureDate, Some("2027-03-01"))),
            ),
            (
                "Our advisory will be released on March 3rd, 2027.",
                Some((DisclosureDate, Some("2027-03-03"))),
            ),
            (
                "Planned public disclosure date: 2027-05-20",
                Some((DisclosureDate, Some("2027-05-20"))),
            ),
            (
                "We would like coordinated disclosure with the distributions.",
                Some((Coordinated, None)),
            ),
            (
                "Please coordinate the disclosure with linux-distros.",
                Some((Coordinated, None)),
            ),
            (
                "This report is subject to our 90-day disclosure deadline.",
                Some((Deadline, None)),
            ),
            (
                "Per our policy, details will be published 90 days after this report.",
                Some((Deadline, None)),
            ),
            (
                "If possible, please keep it under embargo for 30 days.",
                Some((Embargo, None)),
            ),
        ];
        for (line, exp) in cases {
            check(line, *exp);
        }
    }

    #[test]
    fn requests_in_other_languages() {
        let cases: &[(&str, Expect)] = &[
            (
                "Bitte halten Sie das Problem bis zum 15.01.2027 unter Embargo.",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "Wir planen die Veröffentlichung am 1. März 2027.",
                Some((DisclosureDate, Some("2027-03-01"))),
            ),
            (
                "Wir bitten um eine koordinierte Offenlegung mit den Distributionen.",
                Some((Coordinated, None)),
            ),
            (
                "Nous demandons un embargo jusqu'au 15 janvier 2027.",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "Nous prévoyons de publier l'avis le 3 mars 2027.",
                Some((DisclosureDate, Some("2027-03-03"))),
            ),
            (
                "Nous souhaitons une divulgation coordonnée.",
                Some((Coordinated, None)),
            ),
            (
                "Solicitamos un embargo hasta el 15 de enero de 2027.",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "Planeamos publicar el aviso el 2 de febrero de 2027.",
                Some((DisclosureDate, Some("2027-02-02"))),
            ),
            (
                "Preferimos una divulgación coordinada con los distribuidores.",
                Some((Coordinated, None)),
            ),
            (
                "请在2027年1月15日之前保密，暂不公开。",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "我们计划于2027年3月1日公开披露此漏洞。",
                Some((DisclosureDate, Some("2027-03-01"))),
            ),
            ("希望与各发行版进行协调披露。", Some((Coordinated, None))),
            (
                "2027年1月15日までエンバーゴをお願いします。",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "2027年3月1日に公開する予定です。",
                Some((DisclosureDate, Some("2027-03-01"))),
            ),
            ("協調開示を希望します。", Some((Coordinated, None))),
            (
                "Просим эмбарго до 15 января 2027 года.",
                Some((Embargo, Some("2027-01-15"))),
            ),
            (
                "Мы планируем опубликовать отчёт 1 марта 2027.",
                Some((DisclosureDate, Some("2027-03-01"))),
            ),
            (
                "Предлагаем скоординированное раскрытие с дистрибутивами.",
                Some((Coordinated, None)),
            ),
        ];
        for (line, exp) in cases {
            check(line, *exp);
        }
    }

    #[test]
    fn mentions_that_are_not_requests() {
        let none: &[&str] = &[
            "No embargo needed.",
            "This is not under embargo.",
            "An embargo is not needed; fix it whenever convenient.",
            "Embargo: none",
            "Feel free to make this public.",
            "This can be made public right away.",
            "I'm fine with it being made public.",
            "I understand the QEMU maintainers will generally reject requests for arbitrary embargoes.",
            "QEMU's embargo policy limits the confidential period to the minimum needed.",
            "CVE-2021-3409 was published on 2021-03-09.",
            "The fix was released in QEMU 8.0 on 2023-04-20.",
            "If you need an embargo, let me know.",
            "The loop runs for 90 days of guest time before the counter wraps.",
            "The public API is stable since 2020-01-01.",
            "We don't require an embargo.",
            "Kein Embargo nötig.",
            "Das Problem darf sofort veröffentlicht werden.",
            "Pas besoin d'embargo.",
            "No se necesita embargo.",
            "不需要禁运。",
            "エンバーゴは不要です。",
            "Эмбарго не нужно.",
            "> Please keep this embargoed until 2027-01-15.",
        ];
        for line in none {
            check(line, None);
        }
    }

    #[test]
    fn quoted_code_and_hidden_text_are_not_requests() {
        let t = "hw/foo: crash\n\n```\nembargo until 2027-01-15\n```\n<!-- embargo until 2027-01-15 -->\nThe device crashes.";
        assert_eq!(detect(t), None);
    }

    #[test]
    fn kinds_and_days_are_collected_across_clauses() {
        let t = "hw/foo: crash\n\nWe follow a 90-day disclosure deadline.\nWe would also like coordinated disclosure with distros.";
        let r = detect(t).unwrap();
        assert_eq!(r.kind, Deadline);
        assert_eq!(r.kinds, [Deadline, Coordinated]);
        assert_eq!(r.days, Some(90));
        assert_eq!(r.line, 3);
    }

    #[test]
    fn wrapped_paragraphs_are_read_as_one_sentence() {
        let t = "hw/foo: crash\n\nPlease keep this report\nembargoed until\n2027-01-15 so vendors can patch.";
        let r = detect(t).unwrap();
        assert_eq!(
            (r.kind, r.date.as_deref(), r.line),
            (Embargo, Some("2027-01-15"), 3)
        );
    }

    #[test]
    fn huge_input_is_fast() {
        let para = "Please keep this embargoed until 2027-01-15. No embargo needed; we plan to publish on 2027-02-01 after a 90-day deadline.\n";
        let text = format!("hw/foo: crash\n\n{}", para.repeat(8_000));
        let start = std::time::Instant::now();
        let r = detect(&text).unwrap();
        assert_eq!(r.kind, Embargo);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }
}
