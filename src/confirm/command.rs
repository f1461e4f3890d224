//! Reply commands: `sectriage confirm <use case>`, `sectriage reject`, `sectriage publish`,
//! `sectriage ask`, on the first non-empty line of a note (case-insensitive, surrounding
//! whitespace allowed), and the near misses a maintainer deserves an answer to.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use crate::kb::UseCase;

/// A command a member can give by replying to a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Confirm a use case (the suggested one or another).
    Confirm(UseCase),
    /// Reject the suggestion: no labels; a maintainer decides.
    Reject,
    /// Re-run the scrub check and publish a confirmed non-virtualization issue.
    Publish,
    /// Post the suggestion's questions for the reporter as an ordinary note.
    Ask,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Confirm(u) => write!(f, "sectriage confirm {u}"),
            Command::Reject => f.write_str("sectriage reject"),
            Command::Publish => f.write_str("sectriage publish"),
            Command::Ask => f.write_str("sectriage ask"),
        }
    }
}

/// What the first line of a note says to sectriage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// An exact command.
    Command(Command),
    /// Close to a command but not exact (a leading `/`, a typo, British spelling): answered
    /// with how to write it, never acted on. `None` when no single command is meant.
    NearMiss(Option<Command>),
    /// Not addressed to sectriage.
    Other,
}

static EXACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*sectriage\s+(?:confirm\s+(virtualization|non-virtualization|needs-judgement)|(reject|publish|ask))\s*$",
    )
    .expect("command regex")
});

const VERBS: [&str; 4] = ["confirm", "reject", "publish", "ask"];

fn class_of(word: &str) -> Option<UseCase> {
    let w: String = word
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .replace("virtualisation", "virtualization")
        .replace("judgment", "judgement");
    let candidates = [
        ("virtualization", UseCase::Virtualization),
        ("nonvirtualization", UseCase::NonVirtualization),
        ("needsjudgement", UseCase::NeedsJudgement),
        ("virt", UseCase::Virtualization),
        ("nonvirt", UseCase::NonVirtualization),
    ];
    candidates
        .iter()
        .filter(|(name, _)| strsim::levenshtein(&w, name) <= if name.len() > 6 { 2 } else { 0 })
        .min_by_key(|(name, _)| strsim::levenshtein(&w, name))
        .map(|&(_, u)| u)
}

/// Reads the first non-empty line of a note.
pub fn parse(body: &str) -> Parsed {
    let Some(first) = body.lines().find(|l| !l.trim().is_empty()) else {
        return Parsed::Other;
    };
    if let Some(c) = EXACT.captures(first) {
        return Parsed::Command(match (c.get(1), c.get(2)) {
            (Some(class), _) => match class.as_str().to_ascii_lowercase().parse() {
                Ok(u) => Command::Confirm(u),
                Err(_) => return Parsed::NearMiss(None),
            },
            (None, Some(verb)) => match verb.as_str().to_ascii_lowercase().as_str() {
                "reject" => Command::Reject,
                "publish" => Command::Publish,
                _ => Command::Ask,
            },
            (None, None) => return Parsed::Other,
        });
    }
    // Near misses: the line must start with (something close to) "sectriage".
    let line = first.trim().trim_start_matches(['/', '!', '@']).to_ascii_lowercase();
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let Some(head) = words.first() else {
        return Parsed::Other;
    };
    if strsim::levenshtein(head, "sectriage") > 2 {
        return Parsed::Other;
    }
    let verb = words.get(1).and_then(|w| {
        VERBS
            .iter()
            .filter(|v| strsim::levenshtein(w, v) <= if v.len() > 4 { 2 } else { 1 })
            .min_by_key(|v| strsim::levenshtein(w, v))
    });
    let understood = match verb.copied() {
        Some("confirm") => {
            // "non virtualization", "non-virtualisation", "needs judgment", ...
            let rest: String = words[2..].join("-");
            class_of(&rest).map(Command::Confirm)
        }
        Some("reject") if words.len() == 2 => Some(Command::Reject),
        Some("publish") if words.len() == 2 => Some(Command::Publish),
        Some("ask") if words.len() == 2 => Some(Command::Ask),
        _ => None,
    };
    Parsed::NearMiss(understood)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Command::*;
    use UseCase::*;

    fn check(input: &str, want: Parsed) {
        assert_eq!(parse(input), want, "{input:?}");
    }

    #[test]
    fn exact_commands_are_case_insensitive_and_stand_alone() {
        check("sectriage confirm virtualization", Parsed::Command(Confirm(Virtualization)));
        check("\n  SecTriage Confirm NON-virtualization \nthanks", Parsed::Command(Confirm(NonVirtualization)));
        check("sectriage confirm needs-judgement", Parsed::Command(Confirm(NeedsJudgement)));
        check("sectriage reject", Parsed::Command(Reject));
        check("sectriage publish", Parsed::Command(Publish));
        check(" sectriage  ask ", Parsed::Command(Ask));
        check("I would not sectriage confirm virtualization", Parsed::Other);
        check("looks fine to me", Parsed::Other);
        check("", Parsed::Other);
    }

    #[test]
    fn near_misses_are_understood_but_not_commands() {
        check("/sectriage confirm virtualization", Parsed::NearMiss(Some(Confirm(Virtualization))));
        check("sectriage confirm virtualisation", Parsed::NearMiss(Some(Confirm(Virtualization))));
        check("sectriage confirm non virtualization", Parsed::NearMiss(Some(Confirm(NonVirtualization))));
        check("sectriage confirm needs-judgment", Parsed::NearMiss(Some(Confirm(NeedsJudgement))));
        check("sectraige confirm virtualization", Parsed::NearMiss(Some(Confirm(Virtualization))));
        check("sectriage confirn non-virtualization", Parsed::NearMiss(Some(Confirm(NonVirtualization))));
        check("sectriage confirm virtualization please", Parsed::NearMiss(None));
        check("sectriage confirm", Parsed::NearMiss(None));
        check("sectriage: reject", Parsed::NearMiss(Some(Reject)));
        check("sectriage help", Parsed::NearMiss(None));
    }
}
