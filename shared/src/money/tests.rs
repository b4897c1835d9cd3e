use super::*;

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::USD)
}

#[test]
fn currency_codes_are_trimmed_upper_cased_and_name_the_field() {
    assert_eq!(Currency::parse("currency", " usd "), Ok(Currency::USD));
    assert_eq!(Currency::parse("currency", "EUR").unwrap().as_str(), "EUR");
    for bad in ["", "US", "USDX", "U1D", "ÜSD", "U D"] {
        let error = Currency::parse("premium.currency", bad).unwrap_err();
        assert_eq!(error.field, "premium.currency", "{bad:?}");
    }
    assert_eq!(
        Currency::parse("currency", "").unwrap_err().message,
        "is required"
    );
}

#[test]
fn only_active_iso_4217_codes_are_currencies() {
    for fake in ["ABC", "XXX", "XTS", "XAU", "ZZZ", "HRK", "QQQ"] {
        let error = Currency::parse("currency", fake).unwrap_err();
        assert_eq!(error.field, "currency", "{fake:?}");
        assert_eq!(
            error.message, "must be an active ISO 4217 currency code like USD, EUR or JPY",
            "{fake:?}"
        );
    }
    let codes: Vec<&str> = ISO_4217
        .iter()
        .flat_map(|(_, codes)| codes.split_whitespace())
        .collect();
    assert_eq!(codes.len(), 164);
    for code in &codes {
        assert_eq!(
            Currency::parse("c", code).map(|c| c.to_string()),
            Ok((*code).to_owned())
        );
    }
    let mut unique = codes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "no code is listed twice");
    for code in ["XCG", "SLE", "ZWG", "VED", "CHE", "USN", "UYW"] {
        assert!(Currency::parse("c", code).is_ok(), "{code}");
    }
}

#[test]
fn minor_units_follow_iso_4217() {
    let units = |code: &str| Currency::parse("c", code).unwrap().minor_units();
    assert_eq!(Currency::JPY.minor_units(), 0);
    assert_eq!(Currency::KWD.minor_units(), 3);
    assert_eq!(Currency::USD.minor_units(), 2);
    for (code, expected) in [("KRW", 0), ("ISK", 0), ("XOF", 0), ("BHD", 3), ("TND", 3)] {
        assert_eq!(units(code), expected, "{code}");
    }
    assert_eq!((units("CLF"), units("UYW")), (4, 4));
    assert_eq!((units("EUR"), units("GBP"), units("INR")), (2, 2, 2));
}

#[test]
fn stored_codes_off_the_list_still_load_with_two_decimals() {
    let legacy = Currency::from_stored("currency", "ABC").unwrap();
    assert_eq!((legacy.as_str(), legacy.minor_units()), ("ABC", 2));
    assert_eq!(Currency::from_stored("currency", "JPY"), Ok(Currency::JPY));
    assert!(Currency::from_stored("currency", "usd!").is_err());
    assert!(Currency::from_stored("currency", "").is_err());
}

#[test]
fn json_refuses_a_currency_off_the_list() {
    let bad = serde_json::from_str::<Money>(r#"{"amount":1,"currency":"ABC"}"#);
    assert!(bad.unwrap_err().to_string().contains("ISO 4217"));
}

#[test]
fn money_serializes_as_minor_units_and_an_iso_code() {
    let json = serde_json::to_value(usd(12345)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "amount": 12345, "currency": "USD" })
    );
    let back: Money = serde_json::from_value(json).unwrap();
    assert_eq!(back, usd(12345));
    let bad = serde_json::from_str::<Money>(r#"{"amount":1,"currency":"dollars"}"#);
    assert!(bad.is_err());
}

#[test]
fn arithmetic_refuses_mixed_currencies_and_overflow() {
    assert_eq!(usd(150).checked_add(usd(50)), Ok(usd(200)));
    assert_eq!(usd(150).checked_sub(usd(200)), Ok(usd(-50)));
    let eur = Money::new(1, Currency::EUR);
    let mismatch = usd(1).checked_add(eur).unwrap_err();
    assert_eq!(
        mismatch,
        MoneyError::CurrencyMismatch {
            left: Currency::USD,
            right: Currency::EUR
        }
    );
    assert_eq!(
        mismatch.at("lines[1].amount.currency").message,
        "must be in USD like the other amounts, not EUR"
    );
    assert!(usd(1).checked_sub(eur).is_err());
    assert!(usd(1).checked_cmp(eur).is_err());
    assert_eq!(usd(1).checked_cmp(usd(2)), Ok(Ordering::Less));
    assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
    assert_eq!(usd(i64::MIN).checked_sub(usd(1)), Err(MoneyError::Overflow));
}

#[test]
fn sums_need_at_least_one_amount_of_a_single_currency() {
    assert_eq!(Money::sum([usd(1), usd(2), usd(3)]), Ok(usd(6)));
    assert_eq!(Money::sum([]), Err(MoneyError::Empty));
    assert!(Money::sum([usd(1), Money::new(1, Currency::GBP)]).is_err());
}

#[test]
fn amounts_below_the_minimum_are_rejected_in_words() {
    assert_eq!(Money::parse_amount("premium.amount", 0, 0), Ok(0));
    assert_eq!(Money::parse_amount("premium.amount", 5, 1), Ok(5));
    let negative = Money::parse_amount("deductible.amount", -1, 0).unwrap_err();
    assert_eq!(negative.field, "deductible.amount");
    assert_eq!(negative.message, "must not be negative");
    assert_eq!(
        Money::parse_amount("premium.amount", 0, 1)
            .unwrap_err()
            .message,
        "must be greater than zero"
    );
    assert_eq!(
        Money::parse_amount("x", 99, 100).unwrap_err().message,
        "must be at least 100 in minor units"
    );
}

#[test]
fn typed_amounts_become_minor_units() {
    let parse = |raw: &str| Money::parse_major("amount", raw, Currency::USD, false);
    assert_eq!(parse("1,234.56"), Ok(usd(123_456)));
    assert_eq!(parse(" 1234.5 "), Ok(usd(123_450)));
    assert_eq!(parse("1234"), Ok(usd(123_400)));
    assert_eq!(parse(".5"), Ok(usd(50)));
    assert_eq!(parse("0"), Ok(usd(0)));
    assert_eq!(parse("1,000,000"), Ok(usd(100_000_000)));
    assert_eq!(
        Money::parse_major("amount", "-12.30", Currency::USD, true),
        Ok(usd(-1230))
    );
    assert_eq!(
        Money::parse_major("amount", "1,234", Currency::JPY, false),
        Ok(Money::new(1234, Currency::JPY))
    );
    assert_eq!(
        Money::parse_major("amount", "12.345", Currency::KWD, false),
        Ok(Money::new(12_345, Currency::KWD))
    );
    let bhd = Currency::parse("c", "BHD").unwrap();
    assert_eq!(
        Money::parse_major("amount", "1.234", bhd, false),
        Ok(Money::new(1234, bhd))
    );
}

#[test]
fn typed_amounts_that_are_malformed_negative_too_precise_or_too_large_are_rejected() {
    let message = |raw: &str, currency| {
        Money::parse_major("premium", raw, currency, false)
            .unwrap_err()
            .message
    };
    assert_eq!(message("", Currency::USD), "is required");
    assert_eq!(message("-5", Currency::USD), "must not be negative");
    assert_eq!(
        message("1.234", Currency::USD),
        "must have at most 2 decimal places for USD"
    );
    assert_eq!(
        message("12.5", Currency::JPY),
        "must be a whole number of JPY"
    );
    assert_eq!(
        message("1.2345", Currency::KWD),
        "must have at most 3 decimal places for KWD"
    );
    assert_eq!(
        message("99999999999999999999", Currency::USD),
        "is too large"
    );
    assert_eq!(
        message("92233720368547758.08", Currency::USD),
        "is too large"
    );
    for bad in [
        "abc", "1.2.3", "12,34.00", "1,2345", ",123", "1,", "1.", ".", "-", "+5", "1 000",
        "1.234,56", "$5", "1e3", "٣",
    ] {
        assert_eq!(
            message(bad, Currency::USD),
            "must be an amount like 1,234.56",
            "{bad:?}"
        );
    }
    assert_eq!(message("x", Currency::JPY), "must be an amount like 1,234");
}

#[test]
fn amounts_display_with_code_grouping_and_the_currency_decimals() {
    assert_eq!(usd(123_456).format(), "USD 1,234.56");
    assert_eq!(usd(5).format(), "USD 0.05");
    assert_eq!(usd(-100_000).format(), "USD -1,000.00");
    assert_eq!(usd(100).to_string(), "USD 1.00");
    assert_eq!(
        Money::new(1_234_567, Currency::JPY).format(),
        "JPY 1,234,567"
    );
    assert_eq!(
        Money::new(1_234_567, Currency::KWD).format(),
        "KWD 1,234.567"
    );
    assert_eq!(usd(i64::MIN).format_major(), "-92,233,720,368,547,758.08");
}

#[test]
fn formatted_amounts_parse_back_to_the_same_money() {
    for amount in [0, 1, 99, 100, 123_456, 100_000_000, i64::MAX] {
        let money = usd(amount);
        assert_eq!(
            Money::parse_major("amount", &money.format_major(), Currency::USD, false),
            Ok(money)
        );
    }
}

#[test]
fn submitted_amounts_report_amount_and_currency_errors_together() {
    let input = MoneyInput {
        amount: -1,
        currency: "dollars".into(),
    };
    let errors = input.parse("premium", 1).unwrap_err();
    assert_eq!(
        errors.for_field("premium.amount"),
        Some("must be greater than zero")
    );
    assert!(errors.for_field("premium.currency").is_some());
    let ok = MoneyInput::from(usd(500)).parse("premium", 1);
    assert_eq!(ok, Ok(usd(500)));
    let missing: MoneyInput = serde_json::from_str("{}").unwrap();
    assert_eq!(missing, MoneyInput::default());
}
