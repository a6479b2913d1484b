//! Metadata values for humans (one line) and for JSON, with long arrays abbreviated.

use bague::gguf::Value;
use serde_json::{Value as Json, json};

/// Arrays longer than this are shown as their length and first [`HEAD`] items.
pub const LONG_ARRAY: usize = 16;
/// Items shown of a long array.
pub const HEAD: usize = 8;
/// Characters of a string shown in text output before it is cut.
const TEXT_STR_CHARS: usize = 100;

/// An f32 as the shortest decimal that reads back as the same f32 (1e-6, not
/// 9.999999974752427e-7), or `null` for NaN and infinities (JSON has neither).
pub fn f32_json(v: f32) -> Json {
    v.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Json::Null, Json::Number)
}

/// JSON of a value: numbers, bools, strings as themselves; arrays of up to [`LONG_ARRAY`]
/// items in full, longer ones as `{"len": n, "head": [first HEAD items]}`.
pub fn to_json(v: &Value<'_>) -> Json {
    match v {
        Value::U8(x) => json!(x),
        Value::I8(x) => json!(x),
        Value::U16(x) => json!(x),
        Value::I16(x) => json!(x),
        Value::U32(x) => json!(x),
        Value::I32(x) => json!(x),
        Value::U64(x) => json!(x),
        Value::I64(x) => json!(x),
        Value::F32(x) => f32_json(*x),
        Value::F64(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Bool(x) => json!(x),
        Value::Str(s) => json!(s),
        Value::Array(a) => {
            if a.len() <= LONG_ARRAY {
                Json::Array(a.iter().map(|e| to_json(&e)).collect())
            } else {
                let head: Vec<Json> = a.iter().take(HEAD).map(|e| to_json(&e)).collect();
                json!({ "len": a.len(), "head": head })
            }
        }
    }
}

/// Type as shown in the text table: `u32`, `string`, `[string; 151936]`.
pub fn type_text(v: &Value<'_>) -> String {
    match v {
        Value::Array(a) => format!("[{}; {}]", a.elem_type(), a.len()),
        v => v.ty().to_string(),
    }
}

/// One-line text of a value: strings quoted and escaped (cut after 100 characters, with
/// their length), long arrays as their first items then `…`.
pub fn to_text(v: &Value<'_>) -> String {
    match v {
        Value::Str(s) => {
            let n = s.chars().count();
            if n <= TEXT_STR_CHARS {
                format!("{s:?}")
            } else {
                let cut: String = s.chars().take(TEXT_STR_CHARS).collect();
                format!("{cut:?}… ({n} chars)")
            }
        }
        Value::Array(a) => {
            let shown = if a.len() <= LONG_ARRAY { a.len() } else { HEAD };
            let items: Vec<String> = a.iter().take(shown).map(|e| to_text(&e)).collect();
            let more = if shown < a.len() { ", …" } else { "" };
            format!("[{}{more}]", items.join(", "))
        }
        Value::F32(x) => x.to_string(),
        Value::F64(x) => x.to_string(),
        other => to_json(other).to_string(),
    }
}
