//! OpenAI chat-completion JSON, kept at this edge: the request we send and the
//! validation of the reply into [`LlmOpinion`].

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::candidates::Candidate;
use super::{LlmError, FORMAT_JSON_OBJECT, FORMAT_JSON_SCHEMA};
use crate::triage::decide::{LlmOpinion, Question, TokenUsage};
use crate::triage::{Confidence, UseCase};

/// Longest rationale kept from the naive baseline's answer, in characters.
const MAX_RATIONALE_CHARS: usize = 400;

/// A request body whose keys go over the wire in the order written. serde_json's
/// `Value` sorts object keys, which would make a JSON-schema grammar ask for
/// `confidence` first and the reasoning last; this keeps `reasoning` first.
#[derive(Debug, Clone)]
pub struct Body(pub Box<RawValue>);

impl Body {
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).expect("built from serde_json output")
}

/// What the report says can happen, as the model reads it (a closed set).
pub const DAMAGE: [&str; 5] = [
    "memory-corruption",
    "info-leak",
    "escape",
    "crash-or-hang",
    "none",
];
/// Who can cause it, as the model reads it (a closed set).
pub const TRIGGER: [&str; 4] = ["guest", "remote-or-file", "monitor-or-host", "none"];

/// The adjudication answer's schema, keys in the order the model must write them:
/// the reasoning first, as closed codes (the pick, when candidates are offered,
/// the damage and who triggers it), then the verdict. No free text: nothing can
/// be cut mid-sentence, and the note's sentence is ours.
pub fn adjudication_schema(candidates: usize) -> String {
    let mut props = Vec::new();
    if candidates > 0 {
        props.push((
            "component",
            json!({"type": "integer", "minimum": 0, "maximum": candidates}),
        ));
    }
    props.push(("damage", json!({"type": "string", "enum": DAMAGE})));
    props.push(("trigger", json!({"type": "string", "enum": TRIGGER})));
    props.push((
        "use_case",
        json!({"type": "string", "enum": ["virtualization", "non-virtualization", "needs-judgement"]}),
    ));
    props.push((
        "confidence",
        json!({"type": "string", "enum": ["low", "medium", "high"]}),
    ));
    let properties: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{}:{}", json!(k), v))
        .collect();
    let required: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
    format!(
        "{{\"type\":\"object\",\"properties\":{{{}}},\"required\":{},\"additionalProperties\":false}}",
        properties.join(","),
        json!(required)
    )
}

/// The adjudication request, keys in order. `cache_prompt` (llama.cpp) keeps the
/// shared system-message prefix in the server's KV cache between calls.
pub fn adjudication_request(
    model: &str,
    messages: &[Value],
    max_tokens: u32,
    format_level: u8,
    candidates: usize,
    cache_prompt: bool,
) -> Body {
    let mut out = format!(
        "{{\"model\":{},\"messages\":{},\"temperature\":0,\"seed\":1,\"max_tokens\":{max_tokens},\"stream\":false",
        json!(model),
        Value::Array(messages.to_vec())
    );
    if cache_prompt {
        out.push_str(",\"cache_prompt\":true");
    }
    match format_level {
        FORMAT_JSON_SCHEMA => out.push_str(&format!(
            ",\"response_format\":{{\"type\":\"json_schema\",\"json_schema\":{{\"name\":\"triage_opinion\",\"strict\":true,\"schema\":{}}}}}",
            adjudication_schema(candidates)
        )),
        FORMAT_JSON_OBJECT => out.push_str(",\"response_format\":{\"type\":\"json_object\"}"),
        _ => {}
    }
    out.push('}');
    Body(raw(out))
}

/// The naive baseline's JSON schema (keys sorted, as recorded).
pub fn answer_schema() -> Value {
    let codes: Vec<&str> = Question::ALL.iter().map(|q| q.as_str()).collect();
    json!({
        "type": "object",
        "properties": {
            "use_case": {"type": "string", "enum": ["virtualization", "non-virtualization", "needs-judgement"]},
            "security_relevant": {"type": "boolean"},
            "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
            "questions": {"type": "array", "items": {"type": "string", "enum": codes}},
            "rationale": {"type": "string", "maxLength": MAX_RATIONALE_CHARS}
        },
        "required": ["use_case", "security_relevant", "confidence", "questions", "rationale"],
        "additionalProperties": false
    })
}

/// The naive baseline's chat request at the given response_format level.
pub fn chat_request(model: &str, messages: &[Value], max_tokens: u32, format_level: u8) -> Value {
    let mut req = json!({
        "model": model,
        "messages": messages,
        "temperature": 0,
        "seed": 1,
        "max_tokens": max_tokens,
        "stream": false,
    });
    match format_level {
        FORMAT_JSON_SCHEMA => {
            req["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "triage_opinion", "schema": answer_schema(), "strict": true}
            });
        }
        FORMAT_JSON_OBJECT => {
            req["response_format"] = json!({"type": "json_object"});
        }
        _ => {}
    }
    req
}

/// True when an error message is about the response_format the server cannot honour.
pub fn mentions_response_format(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("response_format")
        || m.contains("json_schema")
        || m.contains("json schema")
        || m.contains("grammar")
        || m.contains("unsupported")
}

#[derive(Deserialize)]
struct Reply {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

/// The content of the first choice and the usage the server reports.
///
/// # Errors
/// [`LlmError::Invalid`] when the reply has no choice or no content.
pub fn parse_reply(reply: &Value) -> Result<(String, TokenUsage), LlmError> {
    let r: Reply = serde_json::from_value(reply.clone())
        .map_err(|e| LlmError::Invalid(format!("not a chat completion: {e}")))?;
    let content = r
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .ok_or_else(|| LlmError::Invalid("the reply has no message content".into()))?;
    let usage = r.usage.map(|u| TokenUsage {
        prompt: u.prompt_tokens.unwrap_or(0),
        completion: u.completion_tokens.unwrap_or(0),
        cached: u.prompt_tokens_details.and_then(|d| d.cached_tokens),
        counted_locally: 0,
        counted_fixed: 0,
    });
    Ok((content, usage.unwrap_or_default()))
}

/// Finds the JSON object in a reply that may wrap it in prose or code fences.
fn extract_json(content: &str) -> Option<&str> {
    let start = content.find('{')?;
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in content[start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(&content[start..start + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Validates the model's answer into fixed enums.
///
/// # Errors
/// A short description of what is wrong, used for the repair prompt.
pub fn parse_opinion(content: &str) -> Result<LlmOpinion, String> {
    let json = extract_json(content).ok_or("no JSON object in the answer")?;
    let v: Value =
        serde_json::from_str(json).map_err(|e| format!("the JSON does not parse ({e})"))?;
    let obj = v.as_object().ok_or("the answer is not a JSON object")?;
    let use_case = obj
        .get("use_case")
        .and_then(Value::as_str)
        .ok_or("use_case is missing")
        .and_then(|s| {
            UseCase::from_str(s).map_err(|_| "use_case is not one of the three values")
        })?;
    let security_relevant = match obj.get("security_relevant") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("yes") =>
        {
            true
        }
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("no") =>
        {
            false
        }
        _ => return Err("security_relevant must be true or false".into()),
    };
    let confidence = match obj
        .get("confidence")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("low") => Confidence::Low,
        Some("medium") => Confidence::Medium,
        Some("high") => Confidence::High,
        _ => return Err("confidence must be low, medium or high".into()),
    };
    // Unknown question codes are dropped, not fatal: they carry no action.
    let questions = obj
        .get("questions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| Question::ALL.iter().copied().find(|q| q.as_str() == s))
                .collect()
        })
        .unwrap_or_default();
    let rationale = obj
        .get("rationale")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(MAX_RATIONALE_CHARS)
        .collect();
    Ok(LlmOpinion {
        use_case,
        security_relevant,
        confidence,
        questions,
        rationale,
        pick: None,
    })
}

/// Validates an adjudication answer; the pick is resolved against the candidates
/// offered, so its class is the knowledge base's. Security relevance follows from
/// the codes: a damage kind and a guest, remote or file trigger. (An answer with a
/// plain `security_relevant` and no codes, as other servers may give, is read too.)
/// Questions come from the rules; the rationale is our sentence from the codes.
///
/// # Errors
/// A short description of what is wrong, used for the repair prompt.
pub fn parse_adjudication(content: &str, candidates: &[Candidate]) -> Result<LlmOpinion, String> {
    let json = extract_json(content).ok_or("no JSON object in the answer")?;
    let v: Value =
        serde_json::from_str(json).map_err(|e| format!("the JSON does not parse ({e})"))?;
    let code = |key: &str, allowed: &[&str]| -> Result<Option<String>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim().to_ascii_lowercase();
                if allowed.contains(&s.as_str()) {
                    Ok(Some(s))
                } else {
                    Err(format!("{key} must be one of {}", allowed.join(", ")))
                }
            }
            Some(_) => Err(format!("{key} must be one of {}", allowed.join(", "))),
        }
    };
    let damage = code("damage", &DAMAGE)?;
    let trigger = code("trigger", &TRIGGER)?;
    let mut obj = v
        .as_object()
        .cloned()
        .ok_or("the answer is not a JSON object")?;
    if let (Some(d), Some(t)) = (&damage, &trigger) {
        let relevant = d != "none" && (t == "guest" || t == "remote-or-file");
        obj.insert("security_relevant".into(), Value::Bool(relevant));
    } else if !obj.contains_key("security_relevant") {
        return Err("damage and trigger are missing".into());
    }
    let mut op = parse_opinion(&Value::Object(obj).to_string())?;
    op.rationale = match (&damage, &trigger) {
        (Some(d), Some(t)) => format!("damage: {d}; trigger: {t}"),
        _ => String::new(),
    };
    op.questions.clear();
    let pick = match v.get("component") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_u64().ok_or("component must be a whole number")?,
        Some(Value::String(s)) => s.trim().parse().map_err(|_| "component must be a number")?,
        Some(_) => return Err("component must be a number".into()),
    } as usize;
    if pick > candidates.len() {
        return Err(format!("component must be 0 to {}", candidates.len()));
    }
    op.pick = pick.checked_sub(1).map(|i| candidates[i].pick.clone());
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_answer_in_a_code_fence() {
        let op = parse_opinion("Sure:\n```json\n{\"use_case\": \"non-virtualization\", \"security_relevant\": false, \"confidence\": \"High\", \"questions\": [\"reproduce-with-kvm\", \"rm -rf\"], \"rationale\": \"TCG {only}\"}\n```").unwrap();
        assert_eq!(op.use_case, UseCase::NonVirtualization);
        assert_eq!(op.confidence, Confidence::High);
        assert_eq!(op.questions, [Question::ReproduceWithKvm]);
        assert_eq!(op.rationale, "TCG {only}");
    }

    #[test]
    fn invalid_answers_say_what_is_wrong() {
        assert!(parse_opinion("I think it is fine")
            .unwrap_err()
            .contains("no JSON"));
        assert!(parse_opinion(r#"{"use_case": "escape"}"#)
            .unwrap_err()
            .contains("use_case"));
        assert!(
            parse_opinion(r#"{"use_case": "virtualization", "security_relevant": "maybe"}"#)
                .unwrap_err()
                .contains("security_relevant")
        );
    }

    #[test]
    fn request_carries_the_schema_then_steps_down() {
        let m = vec![json!({"role": "user", "content": "x"})];
        let r = chat_request("m", &m, 100, FORMAT_JSON_SCHEMA);
        assert_eq!(r["response_format"]["type"], "json_schema");
        assert_eq!(
            r["response_format"]["json_schema"]["schema"]["properties"]["use_case"]["enum"][1],
            "non-virtualization"
        );
        assert_eq!(
            chat_request("m", &m, 100, FORMAT_JSON_OBJECT)["response_format"]["type"],
            "json_object"
        );
        assert!(chat_request("m", &m, 100, 2)
            .get("response_format")
            .is_none());
    }

    fn candidate(class: UseCase) -> Candidate {
        Candidate {
            path: "hw/net/msf2-emac.c".into(),
            matched: "msf2-emac".into(),
            word: "msf2-mac".into(),
            section: None,
            score: 4,
            pick: crate::triage::decide::Pick {
                subject: "hw/net/msf2-emac.c".into(),
                class,
                fact: "only unlisted machine types build it".into(),
                title_match: true,
                decisive: true,
            },
        }
    }

    #[test]
    fn adjudication_keys_go_over_the_wire_reasoning_first() {
        let m = vec![json!({"role": "user", "content": "x"})];
        let body = adjudication_request("m", &m, 120, FORMAT_JSON_SCHEMA, 2, true);
        let text = body.as_str();
        let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
        assert!(at("component") < at("damage"));
        assert!(at("damage") < at("trigger"));
        assert!(at("trigger") < at("use_case"));
        assert!(at("use_case") < at("confidence"));
        assert!(text.contains("\"cache_prompt\":true") && text.contains("\"max_tokens\":120"));
        // The body is valid JSON and the required list keeps the order too.
        let v: Value = serde_json::from_str(text).unwrap();
        let req = &v["response_format"]["json_schema"]["schema"]["required"];
        assert_eq!(req[0], "component");
        assert_eq!(req[1], "damage");
        // Without candidates there is no component key.
        let none = adjudication_request("m", &m, 120, FORMAT_JSON_SCHEMA, 0, false);
        assert!(!none.as_str().contains("component") && !none.as_str().contains("cache_prompt"));
    }

    #[test]
    fn adjudication_answers_resolve_the_pick_and_derive_relevance_from_codes() {
        let c = [candidate(UseCase::NonVirtualization)];
        let op = parse_adjudication(r#"{"component": 1, "damage": "crash-or-hang", "trigger": "guest", "use_case": "non-virtualization", "confidence": "medium"}"#, &c).unwrap();
        assert_eq!(op.pick.as_ref().unwrap().class, UseCase::NonVirtualization);
        assert!(op.security_relevant);
        assert_eq!(op.rationale, "damage: crash-or-hang; trigger: guest");
        let none = parse_adjudication(r#"{"component": 0, "damage": "escape", "trigger": "monitor-or-host", "use_case": "needs-judgement", "confidence": "low"}"#, &c).unwrap();
        assert!(none.pick.is_none());
        assert!(
            !none.security_relevant,
            "a monitor-only trigger is not relevant"
        );
        let err = parse_adjudication(r#"{"damage": "pwned", "trigger": "guest", "use_case": "virtualization", "confidence": "low"}"#, &c).unwrap_err();
        assert!(err.contains("damage must be one of"), "{err}");
        let err = parse_adjudication(r#"{"component": 3, "damage": "none", "trigger": "none", "use_case": "virtualization", "confidence": "low"}"#, &c).unwrap_err();
        assert!(err.contains("0 to 1"), "{err}");
    }
}
