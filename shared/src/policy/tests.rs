use super::*;
use crate::dates::Date;
use PolicyAction::*;
use PolicyStatus::*;

#[test]
fn policy_numbers_parse_normalize_and_format() {
    let number = PolicyNumber::parse("policy_number", " pol-2025-000123 ").unwrap();
    assert_eq!(number.as_str(), "POL-2025-000123");
    assert_eq!((number.year(), number.sequence()), (2025, 123));
    assert_eq!(PolicyNumber::format(2025, 123), Some(number.clone()));
    assert_eq!(number.to_string(), "POL-2025-000123");
    assert_eq!(
        serde_json::to_string(&number).unwrap(),
        r#""POL-2025-000123""#
    );
    assert_eq!(
        PolicyNumber::format(2026, 999_999).unwrap().as_str(),
        "POL-2026-999999"
    );
}

#[test]
fn policy_numbers_outside_the_pattern_are_rejected() {
    for bad in [
        "",
        "POL-2025-123",
        "POL-25-000123",
        "POL-2025-0001234",
        "CLM-2025-000123",
        "POL2025000123",
        "POL-2025-00012A",
        "POL-0999-000001",
        "POL-2025-000000",
        "POL-2025-000123-1",
        "POL--2025-000123",
    ] {
        assert_eq!(
            PolicyNumber::parse("policy_number", bad),
            Err(FieldError::new(
                "policy_number",
                "must look like POL-2025-000123"
            )),
            "{bad:?}"
        );
    }
    assert!(serde_json::from_str::<PolicyNumber>(r#""POL-1""#).is_err());
    assert_eq!(PolicyNumber::format(2025, 0), None);
    assert_eq!(PolicyNumber::format(2025, 1_000_000), None);
    assert_eq!(PolicyNumber::format(999, 1), None);
    assert_eq!(PolicyNumber::format(10_000, 1), None);
}

#[test]
fn lines_of_business_round_trip_and_unknown_lines_list_the_choices() {
    for line in LineOfBusiness::ALL {
        assert_eq!(LineOfBusiness::parse("line", line.as_str()), Ok(line));
        let json = serde_json::to_string(&line).unwrap();
        assert_eq!(json, format!("\"{}\"", line.as_str()));
    }
    assert_eq!(LineOfBusiness::Marine.label(), "Marine");
    assert_eq!(
        LineOfBusiness::parse("line", "boat").unwrap_err().message,
        "must be one of auto, home, health, life, liability, marine, fleet"
    );
}

#[test]
fn the_policy_lifecycle_allows_exactly_the_documented_moves() {
    let legal = [
        (Quote, Activate, Active),
        (Quote, Cancel, Cancelled),
        (Active, Lapse, Lapsed),
        (Active, Cancel, Cancelled),
        (Active, Expire, Expired),
        (Lapsed, Reinstate, Active),
    ];
    for status in PolicyStatus::ALL {
        for action in PolicyAction::ALL {
            let expected = legal
                .iter()
                .find(|(from, via, _)| *from == status && *via == action)
                .map(|(_, _, to)| *to);
            assert_eq!(status.apply(action).ok(), expected, "{status:?} {action:?}");
        }
    }
}

#[test]
fn refused_policy_moves_say_why_in_words() {
    let error = Lapsed.apply(Cancel).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot cancel: only possible when the policy is a quote or active; it is lapsed"
    );
    assert_eq!(
        error,
        TransitionError::NotAllowed {
            action: "cancel",
            from: "lapsed",
            reason: "only possible when the policy is a quote or active; it is lapsed".into(),
        }
    );
    assert_eq!(
        Cancelled.apply(Reinstate).unwrap_err().to_string(),
        "cannot reinstate: the policy is cancelled, which is final"
    );
}

#[test]
fn available_and_blocked_actions_partition_all_actions() {
    assert_eq!(Quote.available_actions(), vec![Activate, Cancel]);
    assert_eq!(Active.available_actions(), vec![Lapse, Cancel, Expire]);
    assert_eq!(Lapsed.available_actions(), vec![Reinstate]);
    assert!(Expired.available_actions().is_empty());
    for status in PolicyStatus::ALL {
        let available = status.available_actions();
        let blocked = status.blocked_actions();
        assert_eq!(available.len() + blocked.len(), PolicyAction::ALL.len());
        assert!(blocked.iter().all(|b| !available.contains(&b.action)));
    }
    let blocked = Quote.blocked_actions();
    assert_eq!(
        blocked[0],
        Blocked {
            action: Lapse,
            reason: "only possible when the policy is active; it is a quote".into()
        }
    );
    assert!(
        Expired
            .blocked_actions()
            .iter()
            .all(|b| b.reason == "the policy is expired, which is final")
    );
}

#[test]
fn only_active_or_expired_policies_renew_into_the_following_term() {
    let term = DateRange::parse("2025-01-01", "2025-12-31").unwrap();
    let next = DateRange::parse("2026-01-01", "2026-12-31").unwrap();
    assert_eq!(Active.renew(&term), Ok(next));
    assert_eq!(Expired.renew(&term), Ok(next));
    for status in [Quote, Lapsed, Cancelled] {
        assert!(!status.can_renew());
        let error = status.renew(&term).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot renew: only possible when the policy is active or expired")
        );
    }
    assert_eq!(next_term(&term), next);
    assert_eq!(PolicyStatus::INITIAL, Quote);
}

fn usd(amount: i64) -> MoneyInput {
    MoneyInput {
        amount,
        currency: "USD".into(),
    }
}

fn valid_input() -> NewPolicyInput {
    NewPolicyInput {
        customer_id: "0192f3c4-7a1b-7c2d-9e3f-a4b5c6d7e8f9".into(),
        line: "home".into(),
        starts_on: "2025-01-01".into(),
        ends_on: "2025-12-31".into(),
        premium: usd(120_000),
        coverage_limit: usd(50_000_000),
        deductible: usd(100_000),
        jurisdiction: "us-fl".into(),
    }
}

#[test]
fn a_valid_new_policy_parses_into_typed_values() {
    let policy = NewPolicy::parse(&valid_input()).unwrap();
    assert_eq!(policy.line, LineOfBusiness::Home);
    assert_eq!(
        policy.term.starts_on(),
        Date::parse("d", "2025-01-01").unwrap()
    );
    assert_eq!(policy.premium, Money::new(120_000, Currency::USD));
    assert_eq!(policy.deductible.amount, 100_000);
    assert_eq!(
        policy.jurisdiction.as_ref().map(Jurisdiction::as_str),
        Some("US-FL")
    );
    let zero_deductible = NewPolicyInput {
        deductible: usd(0),
        ..valid_input()
    };
    assert!(NewPolicy::parse(&zero_deductible).is_ok());
}

#[test]
fn new_policies_report_every_broken_rule_at_once() {
    let errors = NewPolicy::parse(&NewPolicyInput::default()).unwrap_err();
    for field in [
        "customer_id",
        "line",
        "starts_on",
        "ends_on",
        "premium.amount",
        "premium.currency",
        "coverage_limit.amount",
        "coverage_limit.currency",
        "deductible.currency",
    ] {
        assert!(errors.for_field(field).is_some(), "{field}: {errors}");
    }
    let from_json: NewPolicyInput = serde_json::from_str(r#"{"line":"auto"}"#).unwrap();
    assert_eq!(from_json.line, "auto");
}

#[test]
fn premium_and_coverage_must_be_positive_and_the_deductible_below_the_limit() {
    let check = |input: NewPolicyInput, field: &str, message: &str| {
        let errors = NewPolicy::parse(&input).unwrap_err();
        assert_eq!(errors.for_field(field), Some(message), "{errors}");
        assert_eq!(errors.0.len(), 1, "{errors}");
    };
    check(
        NewPolicyInput {
            premium: usd(0),
            ..valid_input()
        },
        "premium.amount",
        "must be greater than zero",
    );
    check(
        NewPolicyInput {
            coverage_limit: usd(-5),
            ..valid_input()
        },
        "coverage_limit.amount",
        "must be greater than zero",
    );
    check(
        NewPolicyInput {
            deductible: usd(-1),
            ..valid_input()
        },
        "deductible.amount",
        "must not be negative",
    );
    check(
        NewPolicyInput {
            deductible: usd(50_000_000),
            ..valid_input()
        },
        "deductible.amount",
        "must be less than the coverage limit",
    );
    check(
        NewPolicyInput {
            ends_on: "2024-12-31".into(),
            ..valid_input()
        },
        "ends_on",
        "must be after the start date",
    );
    check(
        NewPolicyInput {
            line: "pets".into(),
            ..valid_input()
        },
        "line",
        "must be one of auto, home, health, life, liability, marine, fleet",
    );
    check(
        NewPolicyInput {
            customer_id: "../etc/passwd".into(),
            ..valid_input()
        },
        "customer_id",
        "must be an id of up to 64 letters, digits, dashes or underscores",
    );
}

#[test]
fn mixed_currencies_are_reported_on_the_later_field() {
    let eur = |amount| MoneyInput {
        amount,
        currency: "EUR".into(),
    };
    let errors = NewPolicy::parse(&NewPolicyInput {
        deductible: eur(100_000),
        ..valid_input()
    })
    .unwrap_err();
    assert_eq!(
        errors.0,
        vec![FieldError::new(
            "deductible.currency",
            "must be USD like the premium"
        )]
    );

    let errors = NewPolicy::parse(&NewPolicyInput {
        coverage_limit: eur(50_000_000),
        deductible: eur(100_000),
        ..valid_input()
    })
    .unwrap_err();
    assert_eq!(
        errors.for_field("coverage_limit.currency"),
        Some("must be USD like the premium")
    );
    assert_eq!(
        errors.for_field("deductible.currency"),
        Some("must be USD like the premium")
    );

    // With the premium's currency unreadable, the limit sets the standard.
    let errors = NewPolicy::parse(&NewPolicyInput {
        premium: MoneyInput {
            amount: 1,
            currency: "?".into(),
        },
        deductible: eur(100_000),
        ..valid_input()
    })
    .unwrap_err();
    assert!(errors.for_field("premium.currency").is_some());
    assert_eq!(
        errors.for_field("deductible.currency"),
        Some("must be USD like the coverage limit")
    );
}

#[test]
fn public_ids_are_bounded_and_plain() {
    assert_eq!(parse_public_id("id", " abc-123_X "), Ok("abc-123_X".into()));
    assert_eq!(
        parse_public_id("id", "").unwrap_err().message,
        "is required"
    );
    assert!(parse_public_id("id", &"a".repeat(65)).is_err());
    assert!(parse_public_id("id", "a b").is_err());
}

#[test]
fn a_jurisdiction_is_optional_but_must_be_an_iso_code_when_given() {
    let none = NewPolicy::parse(&NewPolicyInput {
        jurisdiction: " ".into(),
        ..valid_input()
    })
    .unwrap();
    assert_eq!(none.jurisdiction, None);
    let errors = NewPolicy::parse(&NewPolicyInput {
        jurisdiction: "Florida".into(),
        ..valid_input()
    })
    .unwrap_err();
    assert!(errors.for_field("jurisdiction").is_some(), "{errors:?}");
}
