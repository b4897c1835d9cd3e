//! What the policy and claim state machines share: the error of an illegal
//! transition and the answer to "why can't I press this button?".
//!
//! Each machine is a table from action to (statuses it may start from,
//! status it leads to). Legality, the list of available actions and the
//! reasons for blocked ones are all derived from that one table, so the UI
//! can never offer an action the server would refuse.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action is not legal from the current status (a conflict: the
    /// record changed under the user, or the UI was bypassed).
    #[error("cannot {}: {reason}", .action.replace('_', " "))]
    NotAllowed {
        /// The action's wire name, e.g. `start_review`.
        action: &'static str,
        /// The current status's wire name, e.g. `submitted`.
        from: &'static str,
        /// In words, e.g. "only possible when the claim is in review; it is submitted".
        reason: String,
    },
    /// The action is legal but needs a written reason, and none was given.
    #[error("a reason is required to {}", .action.replace('_', " "))]
    ReasonRequired { action: &'static str },
}

impl TransitionError {
    /// For forms and `problem+json`: a missing reason belongs to the
    /// `reason` field, anything else to the `action` the user chose.
    pub fn to_field_error(&self) -> FieldError {
        match self {
            TransitionError::NotAllowed { .. } => FieldError::new("action", self.to_string()),
            TransitionError::ReasonRequired { action } => FieldError::new(
                "reason",
                format!("is required to {}", action.replace('_', " ")),
            ),
        }
    }
}

/// An action the current status does not allow, with the reason to show
/// beside the disabled button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked<A> {
    pub action: A,
    pub reason: String,
}

/// The table-driven machine behind `PolicyStatus` and `ClaimStatus`.
pub(crate) trait StateMachine: Copy + PartialEq + 'static {
    type Action: Copy + PartialEq + 'static;

    /// "policy" or "claim", for the reasons.
    const ENTITY: &'static str;
    const ACTIONS: &'static [Self::Action];

    /// The statuses `action` may start from, and the status it leads to.
    fn rule(action: Self::Action) -> (&'static [Self], Self);
    /// The status as it reads after "the claim is": "in review", "a quote".
    fn phrase(self) -> &'static str;
    fn status_name(self) -> &'static str;
    fn action_name(action: Self::Action) -> &'static str;

    fn transition(self, action: Self::Action) -> Result<Self, TransitionError> {
        let (from, to) = Self::rule(action);
        if from.contains(&self) {
            return Ok(to);
        }
        Err(TransitionError::NotAllowed {
            action: Self::action_name(action),
            from: self.status_name(),
            reason: self.reason_blocked(from),
        })
    }

    /// The machine as a Mermaid state diagram, drawn from the same table
    /// (the README embeds it; a test keeps the two equal).
    fn mermaid(initial: Self) -> String {
        let mut out = format!("stateDiagram-v2\n    [*] --> {}\n", initial.status_name());
        for &action in Self::ACTIONS {
            let (from, to) = Self::rule(action);
            for status in from {
                out.push_str(&format!(
                    "    {} --> {}: {}\n",
                    status.status_name(),
                    to.status_name(),
                    Self::action_name(action)
                ));
            }
        }
        out
    }

    fn available(self) -> Vec<Self::Action> {
        Self::ACTIONS
            .iter()
            .copied()
            .filter(|&action| Self::rule(action).0.contains(&self))
            .collect()
    }

    fn blocked(self) -> Vec<Blocked<Self::Action>> {
        Self::ACTIONS
            .iter()
            .copied()
            .filter_map(|action| {
                let (from, _) = Self::rule(action);
                (!from.contains(&self)).then(|| Blocked {
                    action,
                    reason: self.reason_blocked(from),
                })
            })
            .collect()
    }

    fn reason_blocked(self, allowed_from: &[Self]) -> String {
        // A status nothing leads out of gets one plain answer rather than a
        // list of prerequisites the user can no longer meet.
        if self.available().is_empty() {
            return format!("the {} is {}, which is final", Self::ENTITY, self.phrase());
        }
        let allowed: Vec<&str> = allowed_from.iter().map(|s| s.phrase()).collect();
        format!(
            "only possible when the {} is {}; it is {}",
            Self::ENTITY,
            join_or(&allowed),
            self.phrase()
        )
    }
}

/// "a", "a or b", "a, b or c".
fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_statuses_read_as_plain_english() {
        assert_eq!(join_or(&["a"]), "a");
        assert_eq!(join_or(&["a", "b"]), "a or b");
        assert_eq!(join_or(&["a", "b", "c"]), "a, b or c");
    }

    #[test]
    fn transition_errors_name_the_action_in_words_and_map_to_a_field() {
        let error = TransitionError::NotAllowed {
            action: "start_review",
            from: "submitted",
            reason: "only possible when the claim is triaged; it is submitted".into(),
        };
        assert_eq!(
            error.to_string(),
            "cannot start review: only possible when the claim is triaged; it is submitted"
        );
        assert_eq!(error.to_field_error().field, "action");
        let missing = TransitionError::ReasonRequired { action: "reopen" };
        assert_eq!(missing.to_string(), "a reason is required to reopen");
        assert_eq!(
            missing.to_field_error(),
            FieldError::new("reason", "is required to reopen")
        );
    }
}
