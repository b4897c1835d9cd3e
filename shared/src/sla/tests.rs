use super::*;
use crate::policy::Jurisdiction;

const HOUR: i64 = 3_600_000_000;

#[test]
fn time_left_reads_in_minutes_then_hours_then_days() {
    assert_eq!(in_words(0), "due now");
    assert_eq!(in_words(59_000_000), "due now");
    assert_eq!(in_words(40 * 60_000_000), "due in 40 min");
    assert_eq!(in_words(3 * HOUR + 10), "due in 3 h");
    assert_eq!(in_words(47 * HOUR), "due in 47 h");
    assert_eq!(in_words(50 * HOUR), "due in 2 days");
    assert_eq!(in_words(-2 * HOUR), "2 h overdue");
    assert_eq!(in_words(-(24 * 2 + 5) * HOUR), "2 days overdue");
    assert_eq!(
        in_words(i64::MIN),
        format!(
            "{} days overdue",
            i64::MIN.unsigned_abs() / HOUR.unsigned_abs() / 24
        )
    );
}

#[test]
fn a_deadline_past_now_is_breached_and_says_so() {
    let due = due_after(1_000, 24);
    let on_time = Deadline::new(SlaClock::Acknowledge, due, 1_000);
    assert!(!on_time.breached());
    assert_eq!(on_time.describe(), "Acknowledge due in 24 h");
    let late = Deadline::new(SlaClock::Decide, due, due + 3 * 24 * HOUR);
    assert!(late.breached());
    assert_eq!(late.describe(), "Decide 3 days overdue");
}

#[test]
fn jurisdictions_are_iso_3166_codes_stored_upper_case() {
    assert_eq!(
        Jurisdiction::parse("j", " us-fl ").unwrap().as_str(),
        "US-FL"
    );
    assert_eq!(Jurisdiction::parse("j", "GB").unwrap().as_str(), "GB");
    assert_eq!(
        Jurisdiction::parse("j", "FR-75C").unwrap().as_str(),
        "FR-75C"
    );
    for bad in ["", "U", "USA", "US-", "US-FLOR", "1S", "US FL", "US-F*"] {
        let error = Jurisdiction::parse("jurisdiction", bad).unwrap_err();
        assert_eq!(error.field, "jurisdiction", "{bad}");
    }
}

#[test]
fn a_rule_takes_any_for_blank_or_star_and_names_each_bad_field() {
    let rule = SlaRule::parse(&SlaRuleInput {
        jurisdiction: "*".into(),
        line: String::new(),
        acknowledge_hours: "360".into(),
        decide_hours: "720".into(),
    })
    .unwrap();
    assert_eq!(rule.key(), ("*".to_owned(), "*".to_owned()));
    let rule = SlaRule::parse(&SlaRuleInput {
        jurisdiction: "us-ca".into(),
        line: "home".into(),
        acknowledge_hours: "360".into(),
        decide_hours: "960".into(),
    })
    .unwrap();
    assert_eq!(rule.key(), ("US-CA".to_owned(), "home".to_owned()));

    let errors = SlaRule::parse(&SlaRuleInput {
        jurisdiction: "California".into(),
        line: "boats".into(),
        acknowledge_hours: "0".into(),
        decide_hours: "lots".into(),
    })
    .unwrap_err();
    for field in ["jurisdiction", "line", "acknowledge_hours", "decide_hours"] {
        assert!(errors.for_field(field).is_some(), "{field}: {errors:?}");
    }
    let errors = SlaRule::parse(&SlaRuleInput {
        acknowledge_hours: "48".into(),
        decide_hours: "24".into(),
        ..SlaRuleInput::default()
    })
    .unwrap_err();
    assert!(errors.for_field("decide_hours").is_some());
    assert!(
        SlaRule::parse(&SlaRuleInput {
            acknowledge_hours: (MAX_HOURS + 1).to_string(),
            decide_hours: (MAX_HOURS + 1).to_string(),
            ..SlaRuleInput::default()
        })
        .is_err()
    );
}

#[test]
fn deadlines_read_in_days_when_whole() {
    assert_eq!(hours_in_words(DEFAULT_ACKNOWLEDGE_HOURS), "15 days");
    assert_eq!(hours_in_words(24), "1 day");
    assert_eq!(hours_in_words(36), "36 h");
    assert_eq!(due_after(0, 1), HOUR);
    assert_eq!(due_after(i64::MAX, 1), i64::MAX);
}
