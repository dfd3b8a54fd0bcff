//! How the benchmark JSON files are laid out on the page: serde_json writes every value;
//! this only chooses the line breaks, as the files have always had them — nested objects
//! and arrays on lines of their own, two spaces per level, but an object of scalars (one
//! benchmark, one `@@BENCH` object) and an array of scalars on one line, so a result file
//! reads and diffs one benchmark per line.

use serde::Serialize;
use serde_json::Value;

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Whether `v`, `depth` levels in, goes on one line.
fn one_line(v: &Value, depth: usize) -> bool {
    match v {
        Value::Array(items) => items.iter().all(is_scalar),
        Value::Object(members) => {
            members.is_empty()
                || depth > 0
                    && members.values().all(|m| {
                        is_scalar(m) || m.as_array().is_some_and(|a| a.iter().all(is_scalar))
                    })
        }
        _ => true,
    }
}

fn write(out: &mut String, v: &Value, depth: usize) {
    if one_line(v, depth) {
        out.push_str(&v.to_string());
        return;
    }
    let pad = |n: usize| "  ".repeat(n);
    let (open, close) = if v.is_array() { ('[', ']') } else { ('{', '}') };
    out.push(open);
    out.push('\n');
    let items: Vec<(Option<&String>, &Value)> = match v {
        Value::Array(items) => items.iter().map(|i| (None, i)).collect(),
        Value::Object(members) => members.iter().map(|(k, m)| (Some(k), m)).collect(),
        _ => Vec::new(),
    };
    for (i, (key, item)) in items.iter().enumerate() {
        out.push_str(&pad(depth + 1));
        if let Some(key) = key {
            out.push_str(&Value::from(key.as_str()).to_string());
            out.push_str(": ");
        }
        write(out, item, depth + 1);
        out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
    }
    out.push_str(&pad(depth));
    out.push(close);
}

/// `value` as JSON text in this layout, ending with a newline.
pub fn to_text<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    let mut out = String::new();
    write(&mut out, &value, 0);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_of_scalars_stay_on_one_line_below_the_top() {
        let v = json!({
            "format": "x",
            "empty": [],
            "list": [
                {"id": "a", "exits_per_iter": [0, 10], "note": "a \"b\"\n"},
                {"id": "b", "nested": {"deep": 1}}
            ],
            "pair": [1, 2]
        });
        assert_eq!(
            to_text(&v),
            r#"{
  "format": "x",
  "empty": [],
  "list": [
    {"id":"a","exits_per_iter":[0,10],"note":"a \"b\"\n"},
    {
      "id": "b",
      "nested": {"deep":1}
    }
  ],
  "pair": [1,2]
}
"#
        );
        assert_eq!(serde_json::from_str::<Value>(&to_text(&v)).unwrap(), v);
        assert_eq!(to_text(&json!({})), "{}\n");
    }
}
