#[test]
fn the_readme_draws_the_workflow_the_state_machine_defines() {
    let readme = include_str!("../../../README.md");
    let diagram = ClaimStatus::diagram();
    assert!(
        readme.contains(&diagram),
        "update the README's claim workflow diagram to:\n{diagram}"
    );
}

use super::*;
use ClaimAction as A;
use ClaimStatus as S;

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::USD)
}

fn usd_input(amount: i64) -> MoneyInput {
    MoneyInput::from(usd(amount))
}

fn date(raw: &str) -> Date {
    Date::parse("date", raw).unwrap()
}

#[test]
fn claim_numbers_parse_normalize_and_format() {
    let number = ClaimNumber::parse("claim_number", "clm-2025-000042").unwrap();
    assert_eq!(number.as_str(), "CLM-2025-000042");
    assert_eq!((number.year(), number.sequence()), (2025, 42));
    assert_eq!(ClaimNumber::format(2025, 42), Some(number));
}

#[test]
fn claim_numbers_outside_the_pattern_are_rejected() {
    for bad in [
        "",
        "CLM-2025-42",
        "POL-2025-000042",
        "CLM-2025-000042 x",
        "CLM 2025 000042",
    ] {
        assert_eq!(
            ClaimNumber::parse("claim_number", bad),
            Err(FieldError::new(
                "claim_number",
                "must look like CLM-2025-000123"
            )),
            "{bad:?}"
        );
    }
}

#[test]
fn the_claim_workflow_allows_exactly_the_documented_moves() {
    let legal = [
        (S::Submitted, A::Triage, S::Triaged),
        (S::Triaged, A::StartReview, S::InReview),
        (S::InReview, A::Approve, S::Approved),
        (S::InReview, A::Deny, S::Denied),
        (S::InReview, A::RequestInfo, S::InfoRequested),
        (S::InfoRequested, A::ProvideInfo, S::InReview),
        (S::Approved, A::Pay, S::Paid),
        (S::Paid, A::Close, S::Closed),
        (S::Denied, A::Close, S::Closed),
        (S::Closed, A::Reopen, S::InReview),
        (S::Denied, A::Reopen, S::InReview),
    ];
    for status in ClaimStatus::ALL {
        for action in ClaimAction::ALL {
            let expected = legal
                .iter()
                .find(|(from, via, _)| *from == status && *via == action)
                .map(|(_, _, to)| *to);
            let result = status.apply(action, Some("the claimant sent receipts"));
            assert_eq!(result.ok(), expected, "{status:?} {action:?}");
        }
    }
    assert_eq!(ClaimStatus::INITIAL, S::Submitted);
}

#[test]
fn reopening_denying_and_requesting_info_need_a_non_blank_reason() {
    for (status, action) in [
        (S::Closed, A::Reopen),
        (S::InReview, A::Deny),
        (S::InReview, A::RequestInfo),
    ] {
        for reason in [None, Some(""), Some("   ")] {
            assert_eq!(
                status.apply(action, reason),
                Err(TransitionError::ReasonRequired {
                    action: action.as_str()
                })
            );
        }
    }
    assert_eq!(
        S::Closed.apply(A::Reopen, Some("new evidence")),
        Ok(S::InReview)
    );
    assert_eq!(S::Approved.apply(A::Pay, None), Ok(S::Paid));
    // Legality is checked first: a reason cannot make an illegal move legal.
    assert!(matches!(
        S::Submitted.apply(A::Reopen, None),
        Err(TransitionError::NotAllowed { .. })
    ));
}

#[test]
fn refused_claim_moves_say_why_in_words() {
    assert_eq!(
        S::Submitted
            .apply(A::Approve, None)
            .unwrap_err()
            .to_string(),
        "cannot approve: only possible when the claim is in review; it is submitted"
    );
    assert_eq!(
        S::InReview.apply(A::Close, None).unwrap_err().to_string(),
        "cannot close: only possible when the claim is paid or denied; it is in review"
    );
    assert_eq!(
        S::InReview
            .apply(A::ProvideInfo, None)
            .unwrap_err()
            .to_string(),
        "cannot provide info: only possible when the claim is waiting for information; \
         it is in review"
    );
}

#[test]
fn available_and_blocked_claim_actions_partition_all_actions() {
    assert_eq!(S::Submitted.available_actions(), vec![A::Triage]);
    assert_eq!(
        S::InReview.available_actions(),
        vec![A::Approve, A::Deny, A::RequestInfo]
    );
    assert_eq!(S::Denied.available_actions(), vec![A::Close, A::Reopen]);
    assert_eq!(S::Closed.available_actions(), vec![A::Reopen]);
    for status in ClaimStatus::ALL {
        assert!(
            !status.available_actions().is_empty(),
            "{status:?} is a dead end"
        );
        let blocked = status.blocked_actions();
        assert_eq!(
            blocked.len() + status.available_actions().len(),
            ClaimAction::ALL.len()
        );
    }
    let pay = S::InReview
        .blocked_actions()
        .into_iter()
        .find(|b| b.action == A::Pay)
        .unwrap();
    assert_eq!(
        pay.reason,
        "only possible when the claim is approved; it is in review"
    );
    let json = serde_json::to_value(&pay).unwrap();
    assert_eq!(json["action"], "pay");
}

#[test]
fn claim_enums_use_snake_case_names_and_human_labels() {
    assert_eq!(
        serde_json::to_string(&S::InfoRequested).unwrap(),
        r#""info_requested""#
    );
    assert_eq!(S::InReview.label(), "In review");
    assert_eq!(A::StartReview.as_str(), "start_review");
    assert_eq!(A::RequestInfo.label(), "Request information");
    for status in ClaimStatus::ALL {
        assert_eq!(ClaimStatus::parse("status", status.as_str()), Ok(status));
    }
    assert!(ClaimStatus::parse("status", "In review").is_err());
    assert!(A::Reopen.requires_reason() && !A::Approve.requires_reason());
}

#[test]
fn urgent_claims_sort_first() {
    let mut queue = vec![Priority::Low, Priority::Urgent, Priority::Standard];
    queue.sort();
    assert_eq!(
        queue,
        vec![Priority::Urgent, Priority::Standard, Priority::Low]
    );
    assert_eq!(Priority::parse("priority", "urgent"), Ok(Priority::Urgent));
    assert_eq!(
        Priority::parse("priority", "high").unwrap_err().message,
        "must be one of urgent, standard, low"
    );
}

fn line(code: &str, amount: MoneyInput) -> ClaimLineInput {
    ClaimLineInput {
        code: code.into(),
        description: None,
        amount,
    }
}

#[test]
fn claim_lines_upper_case_their_code_and_need_a_positive_amount() {
    let parsed = ClaimLine::parse(
        "lines[0]",
        &ClaimLineInput {
            code: " water_damage-2 ".into(),
            description: Some(" Kitchen floor ".into()),
            amount: usd_input(45_000),
        },
    )
    .unwrap();
    assert_eq!(parsed.code(), "WATER_DAMAGE-2");
    assert_eq!(parsed.description(), Some("Kitchen floor"));
    assert_eq!(parsed.amount(), usd(45_000));

    let errors = ClaimLine::parse("lines[3]", &line("", usd_input(0))).unwrap_err();
    assert_eq!(errors.for_field("lines[3].code"), Some("is required"));
    assert_eq!(
        errors.for_field("lines[3].amount.amount"),
        Some("must be greater than zero")
    );
    let too_long = "X".repeat(33);
    for bad in ["WATER DAMAGE", "Ü", "A.B", too_long.as_str()] {
        let errors = ClaimLine::parse("lines[0]", &line(bad, usd_input(1))).unwrap_err();
        assert_eq!(
            errors.for_field("lines[0].code"),
            Some("must be 1 to 32 letters, digits, dashes or underscores"),
            "{bad:?}"
        );
    }
    assert!(ClaimLine::parse("lines[0]", &line(&"X".repeat(32), usd_input(1))).is_ok());
    let long = ClaimLineInput {
        description: Some("d".repeat(501)),
        ..line("GLASS", usd_input(1))
    };
    assert!(ClaimLine::parse("lines[0]", &long).is_err());
}

#[test]
fn claim_totals_add_up_lines_of_one_currency_only() {
    let a = ClaimLine::parse("l", &line("A", usd_input(100))).unwrap();
    let b = ClaimLine::parse("l", &line("B", usd_input(250))).unwrap();
    let eur = ClaimLine::parse(
        "l",
        &line(
            "C",
            MoneyInput {
                amount: 1,
                currency: "EUR".into(),
            },
        ),
    )
    .unwrap();
    assert_eq!(claim_total(&[a.clone(), b]), Ok(usd(350)));
    assert!(matches!(
        claim_total(&[a, eur]),
        Err(MoneyError::CurrencyMismatch { .. })
    ));
    assert_eq!(claim_total(&[]), Err(MoneyError::Empty));
}

fn valid_claim() -> NewClaimInput {
    NewClaimInput {
        policy_number: "POL-2025-000123".into(),
        incident_date: "2025-03-14".into(),
        description: "Burst pipe flooded the kitchen.\nPlumber's report attached.".into(),
        claimant: None,
        lines: vec![
            line("WATER_DAMAGE", usd_input(45_000)),
            line("PLUMBER", usd_input(5_000)),
        ],
    }
}

const TODAY: &str = "2025-03-20";

#[test]
fn a_valid_new_claim_parses_with_its_total() {
    let claim = NewClaim::parse(&valid_claim(), date(TODAY)).unwrap();
    assert_eq!(claim.policy_number.as_str(), "POL-2025-000123");
    assert_eq!(claim.incident_date, date("2025-03-14"));
    assert_eq!(claim.lines.len(), 2);
    assert_eq!(claim.total, usd(50_000));
    assert!(claim.claimant.is_none());
    let today_is_fine = NewClaimInput {
        incident_date: TODAY.into(),
        ..valid_claim()
    };
    assert!(NewClaim::parse(&today_is_fine, date(TODAY)).is_ok());
}

#[test]
fn new_claims_report_every_broken_rule_with_positional_line_names() {
    let errors = NewClaim::parse(&NewClaimInput::default(), date(TODAY)).unwrap_err();
    assert_eq!(
        errors.for_field("policy_number"),
        Some("must look like POL-2025-000123")
    );
    assert_eq!(errors.for_field("incident_date"), Some("is required"));
    assert_eq!(errors.for_field("description"), Some("is required"));
    assert_eq!(
        errors.for_field("lines"),
        Some("must have at least one line")
    );

    let input = NewClaimInput {
        incident_date: "2025-03-21".into(),
        description: "x".repeat(2001),
        lines: vec![
            line("OK", usd_input(1)),
            line("BAD CODE", usd_input(-5)),
            line(
                "EURO",
                MoneyInput {
                    amount: 1,
                    currency: "EUR".into(),
                },
            ),
        ],
        ..valid_claim()
    };
    let errors = NewClaim::parse(&input, date(TODAY)).unwrap_err();
    assert_eq!(
        errors.for_field("incident_date"),
        Some("must not be in the future")
    );
    assert_eq!(
        errors.for_field("description"),
        Some("must be at most 2000 characters")
    );
    assert!(errors.for_field("lines[1].code").is_some());
    assert_eq!(
        errors.for_field("lines[1].amount.amount"),
        Some("must be greater than zero")
    );
    assert_eq!(
        errors.for_field("lines[2].amount.currency"),
        Some("must be USD like the other lines")
    );
    assert_eq!(errors.for_field("lines[0].code"), None);
}

#[test]
fn new_claims_hold_at_most_one_hundred_lines() {
    let lines = |n| vec![line("ITEM", usd_input(1)); n];
    let hundred = NewClaimInput {
        lines: lines(100),
        ..valid_claim()
    };
    assert_eq!(
        NewClaim::parse(&hundred, date(TODAY)).unwrap().total,
        usd(100)
    );
    let too_many = NewClaimInput {
        lines: lines(101),
        ..valid_claim()
    };
    let errors = NewClaim::parse(&too_many, date(TODAY)).unwrap_err();
    assert_eq!(
        errors.0,
        vec![FieldError::new("lines", "must have at most 100 lines")]
    );
}

#[test]
fn a_claim_total_too_large_to_count_is_reported_on_lines() {
    let input = NewClaimInput {
        lines: vec![line("A", usd_input(i64::MAX)), line("B", usd_input(1))],
        ..valid_claim()
    };
    let errors = NewClaim::parse(&input, date(TODAY)).unwrap_err();
    assert_eq!(errors.for_field("lines"), Some("is too large"));
}

#[test]
fn claimants_are_optional_but_validated_and_masked_in_debug_output() {
    let input = NewClaimInput {
        claimant: Some(ClaimantInput {
            name: "Jane Doe".into(),
            email: Some("jane@example.com".into()),
            phone: Some("  ".into()),
        }),
        ..valid_claim()
    };
    let claim = NewClaim::parse(&input, date(TODAY)).unwrap();
    let claimant = claim.claimant.as_ref().unwrap();
    assert_eq!(claimant.name.as_str(), "Jane Doe");
    assert_eq!(claimant.phone, None);
    let debug = format!("{claim:?} {input:?}");
    assert!(
        !debug.contains("Jane Doe") && !debug.contains("jane@"),
        "{debug}"
    );

    let bad = NewClaimInput {
        claimant: Some(ClaimantInput {
            name: String::new(),
            email: Some("jane".into()),
            phone: Some("12".into()),
        }),
        ..valid_claim()
    };
    let errors = NewClaim::parse(&bad, date(TODAY)).unwrap_err();
    for field in ["claimant.name", "claimant.email", "claimant.phone"] {
        assert!(errors.for_field(field).is_some(), "{field}");
    }
}

#[test]
fn new_claims_deserialize_from_the_api_shape() {
    let json = r#"{
        "policy_number": "POL-2025-000123",
        "incident_date": "2025-03-14",
        "description": "Hail",
        "lines": [{ "code": "ROOF", "amount": { "amount": 120000, "currency": "USD" } }]
    }"#;
    let input: NewClaimInput = serde_json::from_str(json).unwrap();
    let claim = NewClaim::parse(&input, date(TODAY)).unwrap();
    assert_eq!(claim.total, usd(120_000));
}

fn decide(kind: &str, amount: Option<MoneyInput>, reason: &str) -> Result<Decision, FieldErrors> {
    let input = DecisionInput {
        kind: kind.into(),
        amount,
        reason: reason.into(),
    };
    // Limit 10,000.00 less a 1,000.00 deductible: at most 9,000.00.
    Decision::parse(&input, usd(1_000_000), usd(100_000))
}

#[test]
fn approvals_must_be_positive_and_within_the_limit_less_the_deductible() {
    let approved = decide("approve", Some(usd_input(900_000)), "").unwrap();
    assert_eq!(
        approved,
        Decision::Approve {
            amount: usd(900_000)
        }
    );
    assert_eq!(approved.action(), A::Approve);
    assert_eq!(approved.amount(), Some(usd(900_000)));
    assert_eq!(
        serde_json::to_value(&approved).unwrap(),
        serde_json::json!({ "kind": "approve", "amount": { "amount": 900_000, "currency": "USD" } })
    );

    let message = |amount: Option<MoneyInput>, field: &str| {
        decide("approve", amount, "")
            .unwrap_err()
            .for_field(field)
            .map(str::to_owned)
    };
    assert_eq!(
        message(Some(usd_input(900_001)), "amount.amount").as_deref(),
        Some("must be at most USD 9,000.00 (the coverage limit less the deductible)")
    );
    assert_eq!(
        message(Some(usd_input(0)), "amount.amount").as_deref(),
        Some("must be greater than zero")
    );
    assert_eq!(
        message(
            Some(MoneyInput {
                amount: 5,
                currency: "EUR".into()
            }),
            "amount.currency"
        )
        .as_deref(),
        Some("must be USD like the policy's coverage")
    );
    assert_eq!(
        message(None, "amount").as_deref(),
        Some("is required to approve")
    );
}

#[test]
fn nothing_is_payable_when_the_deductible_reaches_the_limit() {
    assert_eq!(max_payable(usd(100), usd(150)), Ok(usd(0)));
    assert_eq!(max_payable(usd(150), usd(100)), Ok(usd(50)));
    assert_eq!(
        check_approved_amount("amount", usd(1), usd(100), usd(100))
            .unwrap_err()
            .message,
        "must be at most USD 0.00 (the coverage limit less the deductible)"
    );
    let mixed = check_approved_amount("amount", usd(1), usd(100), Money::new(1, Currency::EUR));
    assert_eq!(mixed.unwrap_err().field, "amount.amount");
}

#[test]
fn denials_and_information_requests_need_a_reason_of_ten_characters() {
    let denied = decide("deny", None, "  Not covered: flood excluded  ").unwrap();
    assert_eq!(denied.reason(), Some("Not covered: flood excluded"));
    assert_eq!(denied.action(), A::Deny);
    assert_eq!(denied.kind(), DecisionKind::Deny);
    let asked = decide("request_info", None, "Need receipts").unwrap();
    assert_eq!(asked.action(), A::RequestInfo);
    assert_eq!(
        S::InReview.apply(asked.action(), asked.reason()),
        Ok(S::InfoRequested)
    );

    for kind in ["deny", "request_info"] {
        assert_eq!(
            decide(kind, None, "no").unwrap_err().for_field("reason"),
            Some("must be at least 10 characters")
        );
        assert_eq!(
            decide(kind, None, "").unwrap_err().for_field("reason"),
            Some("is required")
        );
    }
    assert_eq!(
        decide("deny", None, &"x".repeat(10)).map(|d| d.kind()),
        Ok(DecisionKind::Deny)
    );
    assert_eq!(
        decide("maybe", None, "").unwrap_err().for_field("kind"),
        Some("must be one of approve, deny, request_info")
    );
}
