//! OpenAI chat-completion JSON, kept at this edge: the request we send and the
//! validation of the reply into [`LlmOpinion`].

use std::str::FromStr;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{LlmError, FORMAT_JSON_OBJECT, FORMAT_JSON_SCHEMA};
use crate::triage::decide::{LlmOpinion, Question, TokenUsage};
use crate::triage::{Confidence, UseCase};

/// Longest rationale kept from the model, in characters.
const MAX_RATIONALE_CHARS: usize = 400;

/// The JSON schema the answer must follow.
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

/// A deterministic chat request at the given response_format level.
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
    })
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
}
