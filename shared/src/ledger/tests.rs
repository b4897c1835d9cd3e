use super::*;
use crate::test_support::Lcg;

const USD: fn() -> Currency = || Currency::parse("c", "USD").unwrap();

fn bucket(cost_type: CostType, category: CostCategory) -> Bucket {
    Bucket {
        cost_type,
        category,
    }
}

fn entry(kind: EntryKind, bucket: Bucket, amount: i64) -> Entry {
    Entry {
        kind,
        bucket,
        amount,
    }
}

fn payment(bucket: Bucket, amount: i64) -> NewPayment {
    NewPayment {
        bucket,
        payee_id: "p".into(),
        method: PaymentMethod::BankTransfer,
        payment_type: PaymentType::Partial,
        amount: Money::new(amount, USD()),
        reference: None,
    }
}

fn limits(max_payable: i64, approved: Option<i64>) -> PaymentLimits {
    PaymentLimits {
        max_payable: Money::new(max_payable, USD()),
        approved: approved.map(|a| Money::new(a, USD())),
    }
}

#[test]
fn a_payment_erodes_its_reserve_and_incurred_is_paid_plus_outstanding_less_recovered() {
    let body = bucket(CostType::ClaimCost, CostCategory::Body);
    let legal = bucket(CostType::Expense, CostCategory::Legal);
    let totals = Totals::from_entries(
        USD(),
        &[
            entry(EntryKind::Reserve, body, 500_000),
            entry(EntryKind::Reserve, legal, 80_000),
            entry(EntryKind::Payment, body, 200_000),
            entry(EntryKind::Recovery, body, 50_000),
            entry(EntryKind::Reserve, body, -100_000),
        ],
    );
    let body_figures = totals.bucket(body);
    assert_eq!(body_figures.outstanding.amount, 200_000);
    assert_eq!(body_figures.paid.amount, 200_000);
    assert_eq!(body_figures.incurred.amount, 350_000);
    assert_eq!(totals.claim_cost, body_figures);
    assert_eq!(totals.expense.outstanding.amount, 80_000);
    assert_eq!(totals.total.incurred.amount, 430_000);
    assert_eq!(
        totals
            .buckets
            .iter()
            .map(|b| b.bucket.label())
            .collect::<Vec<_>>(),
        ["Claim cost · Body damage", "Expense · Legal"]
    );
}

#[test]
fn an_empty_ledger_is_all_zero_in_the_policy_currency() {
    let totals = Totals::from_entries(USD(), &[]);
    assert!(totals.buckets.is_empty());
    assert_eq!(totals.total.incurred, Money::zero(USD()));
    assert_eq!(
        totals
            .bucket(bucket(CostType::Expense, CostCategory::Other))
            .outstanding,
        Money::zero(USD())
    );
}

#[test]
fn a_payment_over_the_outstanding_reserve_is_refused_with_the_reserve_named() {
    let body = bucket(CostType::ClaimCost, CostCategory::Body);
    let totals = Totals::from_entries(USD(), &[entry(EntryKind::Reserve, body, 100_000)]);
    let error = payment(body, 100_001)
        .check(&totals, limits(1_000_000, Some(1_000_000)))
        .unwrap_err();
    assert_eq!(error.field, "amount");
    assert!(
        error
            .message
            .contains("USD 1,000.00 on Claim cost · Body damage"),
        "{}",
        error.message
    );
    assert!(
        payment(body, 100_000)
            .check(&totals, limits(1_000_000, Some(1_000_000)))
            .is_ok()
    );
}

#[test]
fn claim_costs_wait_for_an_approval_and_stay_within_it_while_expenses_do_not() {
    let body = bucket(CostType::ClaimCost, CostCategory::Body);
    let legal = bucket(CostType::Expense, CostCategory::Legal);
    let totals = Totals::from_entries(
        USD(),
        &[
            entry(EntryKind::Reserve, body, 900_000),
            entry(EntryKind::Reserve, legal, 900_000),
            entry(EntryKind::Payment, body, 300_000),
        ],
    );
    assert_eq!(
        payment(body, 1)
            .check(&totals, limits(5_000_000, None))
            .unwrap_err()
            .field,
        "cost_type"
    );
    let over = payment(body, 200_001)
        .check(&totals, limits(5_000_000, Some(500_000)))
        .unwrap_err();
    assert!(
        over.message.contains("over the approved USD 5,000.00"),
        "{}",
        over.message
    );
    assert!(
        payment(legal, 600_000)
            .check(&totals, limits(5_000_000, None))
            .is_ok()
    );
}

#[test]
fn every_payment_together_stays_within_the_limit_less_deductible() {
    let legal = bucket(CostType::Expense, CostCategory::Legal);
    let totals = Totals::from_entries(
        USD(),
        &[
            entry(EntryKind::Reserve, legal, 900_000),
            entry(EntryKind::Payment, legal, 400_000),
        ],
    );
    let error = payment(legal, 100_001)
        .check(&totals, limits(500_000, None))
        .unwrap_err();
    assert!(
        error.message.contains("USD 5,000.00 this policy pays"),
        "{}",
        error.message
    );
    assert!(
        payment(legal, 100_000)
            .check(&totals, limits(500_000, None))
            .is_ok()
    );
}

#[test]
fn a_recovery_cannot_exceed_what_was_paid_from_its_bucket() {
    let body = bucket(CostType::ClaimCost, CostCategory::Body);
    let totals = Totals::from_entries(
        USD(),
        &[
            entry(EntryKind::Reserve, body, 500_000),
            entry(EntryKind::Payment, body, 200_000),
            entry(EntryKind::Recovery, body, 150_000),
        ],
    );
    let recovery = |amount| NewRecovery {
        bucket: body,
        recovery_type: RecoveryType::Subrogation,
        amount: Money::new(amount, USD()),
        reference: None,
    };
    assert!(recovery(50_000).check(&totals).is_ok());
    assert_eq!(recovery(50_001).check(&totals).unwrap_err().field, "amount");
}

#[test]
fn a_reserve_is_set_to_a_new_outstanding_amount_recorded_as_the_difference() {
    let body = bucket(CostType::ClaimCost, CostCategory::Body);
    let totals = Totals::from_entries(
        USD(),
        &[
            entry(EntryKind::Reserve, body, 500_000),
            entry(EntryKind::Payment, body, 200_000),
        ],
    );
    let change = ReserveChange::parse(
        &ReserveInput {
            cost_type: "claim_cost".into(),
            category: "body".into(),
            amount: AmountInput::Major("1,000.00".into()),
            reason: "Supplement from the shop".into(),
        },
        USD(),
    )
    .unwrap();
    assert_eq!(change.delta(&totals), Ok(-200_000));
    let same = ReserveChange {
        outstanding: Money::new(300_000, USD()),
        ..change
    };
    assert_eq!(same.delta(&totals).unwrap_err().field, "amount");
}

#[test]
fn bad_financial_input_names_every_field_and_its_rule() {
    let errors = NewPayment::parse(
        &PaymentInput {
            cost_type: "fees".into(),
            category: "body".into(),
            payee_id: " ".into(),
            method: "bitcoin".into(),
            payment_type: "final".into(),
            amount: AmountInput::Minor(MoneyInput {
                amount: 100,
                currency: "EUR".into(),
            }),
            reference: Some("x".repeat(101)),
        },
        USD(),
    )
    .unwrap_err();
    assert!(
        errors
            .for_field("cost_type")
            .unwrap()
            .contains("claim_cost, expense")
    );
    assert!(errors.for_field("payee_id").is_some());
    assert!(
        errors
            .for_field("method")
            .unwrap()
            .contains("bank_transfer")
    );
    assert_eq!(
        errors.for_field("amount.currency"),
        Some("must be USD, the policy's currency")
    );
    assert_eq!(
        errors.for_field("reference"),
        Some("must be at most 100 characters")
    );

    let zero = NewRecovery::parse(
        &RecoveryInput {
            cost_type: "claim_cost".into(),
            category: "body".into(),
            recovery_type: "salvage".into(),
            amount: AmountInput::Major("0".into()),
            reference: None,
        },
        USD(),
    )
    .unwrap_err();
    assert_eq!(zero.for_field("amount"), Some("must be greater than zero"));
    let jpy = Currency::parse("c", "JPY").unwrap();
    let fraction = AmountInput::Major("10.5".into()).parse(jpy, 1).unwrap_err();
    assert_eq!(
        fraction.for_field("amount"),
        Some("must be a whole number of JPY")
    );
    let reason = ReserveChange::parse(&ReserveInput::default(), USD()).unwrap_err();
    assert_eq!(reason.for_field("reason"), Some("is required"));
}

#[test]
fn whatever_lines_the_rules_accept_outstanding_never_goes_negative_and_the_figures_add_up() {
    let mut rng = Lcg(17);
    for currency in ["USD", "JPY", "BHD"] {
        let currency = Currency::parse("c", currency).unwrap();
        for _ in 0..200 {
            let mut entries: Vec<Entry> = Vec::new();
            let approved = i64::try_from(rng.next(5_000_000)).unwrap();
            let limits = PaymentLimits {
                max_payable: Money::new(4_000_000, currency),
                approved: (approved % 2 == 0).then(|| Money::new(approved, currency)),
            };
            for _ in 0..30 {
                let bucket = Bucket {
                    cost_type: CostType::ALL[rng.next(2) as usize],
                    category: CostCategory::ALL[rng.next(7) as usize],
                };
                let amount = i64::try_from(rng.next(2_000_000)).unwrap() + 1;
                let totals = Totals::from_entries(currency, &entries);
                match rng.next(3) {
                    0 => {
                        let change = ReserveChange {
                            bucket,
                            outstanding: Money::new(amount, currency),
                            reason: "r".into(),
                        };
                        if let Ok(delta) = change.delta(&totals) {
                            entries.push(entry(EntryKind::Reserve, bucket, delta));
                        }
                    }
                    1 => {
                        let mut new = payment(bucket, amount);
                        new.amount = Money::new(amount, currency);
                        if new.check(&totals, limits).is_ok() {
                            entries.push(entry(EntryKind::Payment, bucket, amount));
                        }
                    }
                    _ => {
                        let new = NewRecovery {
                            bucket,
                            recovery_type: RecoveryType::Salvage,
                            amount: Money::new(amount, currency),
                            reference: None,
                        };
                        if new.check(&totals).is_ok() {
                            entries.push(entry(EntryKind::Recovery, bucket, amount));
                        }
                    }
                }
            }
            let totals = Totals::from_entries(currency, &entries);
            for figures in totals
                .buckets
                .iter()
                .map(|b| b.figures)
                .chain([totals.total])
            {
                assert!(figures.outstanding.amount >= 0);
                assert!(figures.recovered.amount <= figures.paid.amount);
                assert_eq!(
                    figures.incurred.amount,
                    figures.paid.amount + figures.outstanding.amount - figures.recovered.amount
                );
                assert_eq!(figures.incurred.currency, currency);
            }
            assert!(totals.total.paid.amount <= 4_000_000);
            match limits.approved {
                Some(approved) => assert!(totals.claim_cost.paid.amount <= approved.amount),
                None => assert_eq!(totals.claim_cost.paid.amount, 0),
            }
        }
    }
}
