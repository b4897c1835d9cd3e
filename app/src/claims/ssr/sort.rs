//! The sorts of the claims list and their keyset cursors.
//!
//! `?after=<cursor>` reads the page that follows the row the cursor names,
//! straight from the sort's index (migration 0013), however deep in the
//! list: `?page=` has to skip every earlier row. Every page answers the
//! cursor of the page after it (`next_after`). A cursor is opaque to
//! clients: base64url of the sort's name and the last row's sort key,
//! which always ends with the claim id, so no two rows tie.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use shared::{FieldError, claim::Priority};

use crate::{
    claims::{ClaimSummary, sla::ssr::DUE_KEY},
    db::KeyValue,
};

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sort {
    Newest,
    Oldest,
    Priority,
    Amount,
    /// Soonest SLA breach first: the running deadline, decided claims last.
    Deadline,
}

/// The priority order: the expression of the priority index.
const PRIORITY_RANK: &str =
    "CASE cl.priority WHEN 'urgent' THEN 0 WHEN 'standard' THEN 1 WHEN 'low' THEN 2 ELSE 3 END";

#[derive(Serialize, Deserialize)]
struct Cursor {
    sort: String,
    key: Vec<KeyValue>,
}

impl Sort {
    /// `sort=` of the list (`None`: the default of the list or queue).
    pub(super) fn parse(raw: Option<&str>, queue: bool) -> Result<Self, FieldError> {
        match raw {
            None if queue => Ok(Self::Deadline),
            None | Some("newest") => Ok(Self::Newest),
            Some("oldest") => Ok(Self::Oldest),
            Some("priority") => Ok(Self::Priority),
            Some("amount") => Ok(Self::Amount),
            Some("deadline") => Ok(Self::Deadline),
            Some(_) => Err(FieldError::new(
                "sort",
                "must be one of newest, oldest, priority, amount, deadline",
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Priority => "priority",
            Self::Amount => "amount",
            Self::Deadline => "deadline",
        }
    }

    /// The sort key: (expression, descending) from first to last.
    pub(super) fn keys(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::Newest => &[("cl.created_at", true), ("cl.id", true)],
            Self::Oldest => &[("cl.created_at", false), ("cl.id", false)],
            Self::Priority => &[
                (PRIORITY_RANK, false),
                ("cl.created_at", false),
                ("cl.id", false),
            ],
            Self::Amount => &[("cl.total_claimed", true), ("cl.id", false)],
            Self::Deadline => &[(DUE_KEY, false), ("cl.id", false)],
        }
    }

    /// The `ORDER BY` of this sort.
    pub(super) fn order(self) -> String {
        self.keys()
            .iter()
            .map(|(key, descending)| {
                if *descending {
                    format!("{key} DESC")
                } else {
                    (*key).to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cursor of the page after `last`.
    pub(super) fn cursor_after(self, last: &ClaimSummary) -> String {
        let id = KeyValue::Text(last.id.clone());
        let created = KeyValue::Int(last.created_at);
        let key = match self {
            Self::Newest | Self::Oldest => vec![created, id],
            Self::Priority => {
                let rank = match last.priority {
                    Some(Priority::Urgent) => 0,
                    Some(Priority::Standard) => 1,
                    Some(Priority::Low) => 2,
                    None => 3,
                };
                vec![KeyValue::Int(rank), created, id]
            }
            Self::Amount => vec![KeyValue::Int(last.total_claimed.amount), id],
            Self::Deadline => {
                let due = last.deadline.map_or(i64::MAX, |d| d.due_at);
                vec![KeyValue::Int(due), id]
            }
        };
        let cursor = Cursor {
            sort: self.name().to_owned(),
            key,
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }

    /// The sort key an `after=` cursor of this sort names.
    pub(super) fn parse_cursor(self, raw: &str) -> Result<Vec<KeyValue>, FieldError> {
        let invalid = || {
            FieldError::new(
                "after",
                format!(
                    "must be the next_after of a page of this list sorted by {}",
                    self.name()
                ),
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let shape_fits =
            cursor.key.len() == self.keys().len()
                && cursor.key.iter().zip(self.keys()).all(|(value, (key, _))| {
                    matches!(value, KeyValue::Text(_)) == (*key == "cl.id")
                });
        if cursor.sort != self.name() || !shape_fits {
            return Err(invalid());
        }
        Ok(cursor.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_names_its_sort_and_is_refused_by_another() {
        let key = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Cursor {
                sort: "newest".into(),
                key: vec![KeyValue::Int(5), KeyValue::Text("c1".into())],
            })
            .unwrap(),
        );
        assert_eq!(
            Sort::Newest.parse_cursor(&key).unwrap(),
            [KeyValue::Int(5), KeyValue::Text("c1".into())]
        );
        let refused = Sort::Oldest.parse_cursor(&key).unwrap_err();
        assert_eq!(refused.field, "after");
        assert!(Sort::Newest.parse_cursor("not a cursor").is_err());
        assert!(Sort::Amount.parse_cursor(&key).is_err());
    }

    #[test]
    fn each_sort_orders_by_its_whole_key() {
        assert_eq!(Sort::Newest.order(), "cl.created_at DESC, cl.id DESC");
        assert_eq!(Sort::Amount.order(), "cl.total_claimed DESC, cl.id");
        assert!(
            Sort::Priority
                .order()
                .ends_with("END, cl.created_at, cl.id")
        );
        assert_eq!(Sort::parse(None, true), Ok(Sort::Deadline));
        assert_eq!(
            Sort::Deadline.order(),
            "COALESCE(cl.sla_due_at, 9223372036854775807), cl.id"
        );
        assert!(Sort::parse(Some("random"), false).is_err());
    }
}
