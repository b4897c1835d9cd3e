//! A record's details as an investigator reads them: `key: value` pairs,
//! money as money ("USD 1,250.00" rather than `{"amount":125000,...}`),
//! before and after side by side ("status: In review → Approved").

use serde_json::Value;
use shared::money::{Currency, Money};

/// `{"amount": 125000, "currency": "USD"}` as "USD 1,250.00".
fn money(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    if object.len() != 2 {
        return None;
    }
    let amount = object.get("amount")?.as_i64()?;
    let currency = Currency::parse("currency", object.get("currency")?.as_str()?).ok()?;
    Some(Money::new(amount, currency).format())
}

fn scalar(value: &Value) -> String {
    if let Some(money) = money(value) {
        return money;
    }
    match value {
        Value::Null => "none".to_owned(),
        Value::String(text) => text.clone(),
        Value::Object(object) => object
            .iter()
            .map(|(key, value)| format!("{key} {}", scalar(value)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The stored details JSON in words; text that is not JSON is shown as it
/// is.
pub fn readable(details: &str) -> String {
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(details) else {
        return details.to_owned();
    };
    let mut parts = Vec::new();
    let before = object.remove("before");
    let after = object.remove("after");
    match (before, after) {
        (Some(Value::Object(before)), Some(Value::Object(after))) => {
            for (key, new) in &after {
                match before.get(key) {
                    Some(old) if old != new => {
                        parts.push(format!("{key}: {} → {}", scalar(old), scalar(new)));
                    }
                    _ => parts.push(format!("{key}: {}", scalar(new))),
                }
            }
        }
        (before, after) => {
            for (label, side) in [("before", before), ("after", after)] {
                if let Some(side) = side.filter(|s| s.as_object().is_none_or(|o| !o.is_empty())) {
                    parts.push(format!("{label}: {}", scalar(&side)));
                }
            }
        }
    }
    for (key, value) in &object {
        parts.push(format!("{key}: {}", scalar(value)));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_money_and_changes_as_before_and_after() {
        let details = r#"{"before":{"status":"triaged","version":3},"after":{"status":"in_review","version":4,"assignee":"Sam"},"reason":"Covering Florida","amount":{"amount":125000,"currency":"USD"}}"#;
        assert_eq!(
            readable(details),
            "assignee: Sam; status: triaged → in_review; version: 3 → 4; amount: USD 1,250.00; reason: Covering Florida"
        );
        assert_eq!(
            readable(r#"{"after":{"total":{"amount":500,"currency":"JPY"}}}"#),
            "after: total JPY 500"
        );
        assert_eq!(readable("not json"), "not json");
        assert_eq!(readable("{}"), "");
    }
}
