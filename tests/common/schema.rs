//! A small JSON Schema validator for the schemas faultbox ships
//! (`schema/*.schema.json`).

use serde_json::Value;

/// A validator for the part of JSON Schema that schemars writes: `$ref`,
/// `type`, `properties`, `required`, `additionalProperties`, `items`
/// (`prefixItems` too), `enum`, `const`, `oneOf`, `anyOf`, `allOf`, and the
/// `pattern`s faultbox's schemas use (an unknown one is an error, never
/// ignored).
pub fn validate(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else { return };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local refs only");
        validate(root, &root["$defs"][name], v, at, errors);
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => true,
        };
        if !types.iter().any(|t| fits(t)) {
            errors.push(format!("{at}: {v} is not {types:?}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != v {
            errors.push(format!("{at}: {v} is not {c}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{at}: {v} not among {e:?}"));
        }
    }
    for (key, need) in [("oneOf", 1usize), ("anyOf", 0)] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let passing = alts
                .iter()
                .filter(|alt| {
                    let mut e = Vec::new();
                    validate(root, alt, v, at, &mut e);
                    e.is_empty()
                })
                .count();
            if (need == 1 && passing != 1) || passing == 0 {
                errors.push(format!("{at}: {passing} of the {key} alternatives fit {v}"));
            }
        }
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            validate(root, sub, v, at, errors);
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{at}: required `{r}` missing"));
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(sub) => validate(root, sub, val, &format!("{at}.{k}"), errors),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: unknown field `{k}`")),
                    Some(sub @ Value::Object(_)) => validate(root, sub, val, &format!("{at}.{k}"), errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(p), Some(text)) = (s.get("pattern").and_then(Value::as_str), v.as_str()) {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let fits = match p {
            "^-?[0-9]+$" => digits(text.strip_prefix('-').unwrap_or(text)),
            "^[0-9]+$" => digits(text),
            "^SIG[A-Z0-9]+$" => text.strip_prefix("SIG").is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())),
            other => {
                errors.push(format!("{at}: the test's validator does not know the pattern {other:?}"));
                true
            }
        };
        if !fits {
            errors.push(format!("{at}: {v} does not match {p:?}"));
        }
    }
    if let (Some(items), Some(arr)) = (s.get("prefixItems").and_then(Value::as_array), v.as_array()) {
        for (i, (item, sub)) in arr.iter().zip(items).enumerate() {
            validate(root, sub, item, &format!("{at}[{i}]"), errors);
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(root, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}
