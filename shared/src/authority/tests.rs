use super::*;
use crate::test_support::Lcg;

fn currency(code: &str) -> Currency {
    Currency::parse("c", code).unwrap()
}

#[test]
fn a_limit_covers_amounts_up_to_itself_in_its_own_currency_only() {
    let mut rng = Lcg(17);
    for code in ["USD", "JPY", "BHD", "EUR"] {
        let other = currency(if code == "USD" { "EUR" } else { "USD" });
        let currency = currency(code);
        for _ in 0..500 {
            let limit = i64::try_from(rng.next(10_000_000)).unwrap();
            let amount = i64::try_from(rng.next(20_000_000)).unwrap();
            let authority = Authority {
                currency,
                reserve: Some(Money::new(limit, currency)),
                payment: Some(Money::new(limit, currency)),
            };
            let money = Money::new(amount, currency);
            assert_eq!(
                authority.covers_payment(money),
                amount <= limit,
                "{code} {amount} vs {limit}"
            );
            assert_eq!(authority.covers_reserve(money), amount <= limit);
            let elsewhere = Money::new(amount.min(limit), other);
            assert!(
                !authority.covers_payment(elsewhere),
                "a limit in {code} says nothing of other currencies"
            );
        }
    }
}

#[test]
fn the_same_figure_is_a_different_limit_in_each_currency() {
    let input = |code: &str| LimitInput {
        subject_kind: "role".into(),
        subject: "adjuster".into(),
        currency: code.into(),
        reserve: "25,000".into(),
        payment: String::new(),
    };
    let usd = NewLimit::parse(&input("USD")).unwrap().authority;
    let jpy = NewLimit::parse(&input("JPY")).unwrap().authority;
    assert_eq!(usd.reserve.unwrap().amount, 2_500_000, "cents");
    assert_eq!(
        jpy.reserve.unwrap().amount,
        25_000,
        "yen have no minor unit"
    );
    assert_eq!(usd.payment, None, "empty is no limit");
    assert_eq!(
        usd.describe(),
        "reserves up to USD 25,000.00, payments without limit"
    );
}

#[test]
fn without_a_configured_limit_only_administrators_have_authority() {
    let usd = currency("USD");
    let one_cent = Money::new(1, usd);
    assert!(Authority::default_for(Role::Admin, usd).covers_payment(Money::new(i64::MAX, usd)));
    let adjuster = Authority::default_for(Role::Adjuster, usd);
    assert!(!adjuster.covers_payment(one_cent));
    assert!(!adjuster.covers_reserve(one_cent));
    assert!(adjuster.covers_payment(Money::new(0, usd)));
}

#[test]
fn a_limit_names_each_broken_rule() {
    let errors = NewLimit::parse(&LimitInput {
        subject_kind: "role".into(),
        subject: "auditor".into(),
        currency: "XYZ".into(),
        reserve: "12.345".into(),
        payment: "-1".into(),
    })
    .unwrap_err();
    assert!(
        errors
            .for_field("subject")
            .unwrap()
            .contains("decides claims")
    );
    assert!(errors.for_field("currency").is_some());
    let fractions = NewLimit::parse(&LimitInput {
        subject_kind: "user".into(),
        subject: String::new(),
        currency: "USD".into(),
        reserve: "12.345".into(),
        payment: "-1".into(),
    })
    .unwrap_err();
    assert!(fractions.for_field("subject").is_some());
    assert!(fractions.for_field("reserve").is_some());
    assert!(fractions.for_field("payment").is_some());
    let kind = NewLimit::parse(&LimitInput::default()).unwrap_err();
    assert!(kind.for_field("subject_kind").is_some());
}
