use super::*;

#[test]
fn emails_are_trimmed_and_lower_cased() {
    let email = Email::parse("email", "  Jane.Doe@Example.COM ").unwrap();
    assert_eq!(email.as_str(), "jane.doe@example.com");
}

#[test]
fn look_alike_emails_fold_to_one_address_or_are_refused_naming_the_rule() {
    let parse = |raw: &str| Email::parse("email", raw).map(|e| e.0);
    assert_eq!(
        parse("\u{FF50}\u{FF41}\u{FF55}\u{FF4C}@example.com"),
        Ok("paul@example.com".into()),
        "fullwidth ｐａｕｌ is paul"
    );
    assert_eq!(
        parse("ＰＡＵＬ＠ＥＸＡＭＰＬＥ．ＣＯＭ"),
        Ok("paul@example.com".into())
    );
    assert_eq!(
        parse("ﬁona@example.com"),
        Ok("fiona@example.com".into()),
        "ligature"
    );
    assert_eq!(
        parse("павел@пример.рф"),
        Ok("павел@пример.рф".into()),
        "one script"
    );
    let refused = |raw: &str| Email::parse("staff.email", raw).unwrap_err();
    let cyrillic = refused("p\u{0430}ul@example.com");
    assert_eq!(cyrillic.field, "staff.email");
    assert_eq!(
        cyrillic.message,
        "must not mix scripts within a part of the address (Latin and Cyrillic letters look alike)"
    );
    assert!(
        refused("paul@ex\u{0430}mple.com")
            .message
            .contains("Cyrillic")
    );
    assert!(
        refused("\u{03BF}scar@example.com")
            .message
            .contains("Greek")
    );
    for invisible in [
        "pa\u{200D}ul@example.com",
        "paul\u{200B}@example.com",
        "\u{FEFF}paul@example.com",
        "pa\u{00AD}ul@example.com",
    ] {
        assert_eq!(
            refused(invisible).message,
            "must not contain invisible characters (such as a zero-width space or joiner)",
            "{invisible:?}"
        );
    }
    for bidi in [
        "paul\u{202E}moc.elpmaxe@x.com",
        "\u{2066}paul@example.com",
        "paul\u{200F}@example.com",
    ] {
        assert_eq!(
            refused(bidi).message,
            "must not contain bidirectional control characters (such as U+202E)",
            "{bidi:?}"
        );
    }
}

#[test]
fn malformed_emails_name_the_field_and_the_rule() {
    for bad in [
        "",
        "jane",
        "jane@",
        "@example.com",
        "jane@example",
        "ja ne@example.com",
        "a@b@c.com",
    ] {
        let error = Email::parse("contact.email", bad).unwrap_err();
        assert_eq!(error.field, "contact.email", "{bad:?}");
    }
}

#[test]
fn emails_mask_to_their_first_letter_and_domain() {
    let email = Email::parse("email", "jane.doe@example.com").unwrap();
    assert_eq!(email.mask(), "j***@example.com");
}

#[test]
fn names_mask_to_their_first_letter() {
    assert_eq!(mask_name("  Jane Doe"), "J***");
    assert_eq!(mask_name("Élodie"), "É***");
    assert_eq!(mask_name(""), "***");
}

#[test]
fn person_names_are_trimmed_collapsed_and_allow_any_script_and_punctuation() {
    let parse = |raw: &str| PersonName::parse("first_name", raw).map(|n| n.0);
    assert_eq!(
        parse("  Anne-Marie   O’Neil Jr. "),
        Ok("Anne-Marie O’Neil Jr.".into())
    );
    assert_eq!(parse("D'Arcy"), Ok("D'Arcy".into()));
    assert_eq!(parse("José"), Ok("José".into()));
    assert_eq!(parse("Jose\u{301}"), Ok("Jose\u{301}".into()));
    assert_eq!(parse("李小龍"), Ok("李小龍".into()));
    assert_eq!(parse(&"a".repeat(100)).map(|n| n.len()), Ok(100));
}

#[test]
fn person_names_with_digits_symbols_control_characters_or_bad_length_are_rejected() {
    let message = |raw: &str| PersonName::parse("last_name", raw).unwrap_err().message;
    assert_eq!(message(""), "is required");
    assert_eq!(message("   "), "is required");
    assert_eq!(message(&"a".repeat(101)), "must be at most 100 characters");
    assert_eq!(
        message("Jane\u{0}Doe"),
        "must not contain control characters"
    );
    assert_eq!(message("Jane\nDoe"), "must be a single line");
    assert_eq!(message("- ."), "must contain a letter");
    for bad in ["R2D2", "Jane@Doe", "Jane_Doe", "<script>"] {
        assert_eq!(
            message(bad),
            "may contain only letters, spaces, hyphens, apostrophes and full stops",
            "{bad:?}"
        );
    }
    let error = PersonName::parse("claimant.name", "1").unwrap_err();
    assert_eq!(error.field, "claimant.name");
}

#[test]
fn pii_types_never_debug_print_their_value() {
    let name = PersonName::parse("n", "Jane").unwrap();
    let phone = Phone::parse("p", "+1 555 123 4567").unwrap();
    let id = NationalId::parse("i", "123-45-6789").unwrap();
    assert_eq!(format!("{name:?}"), "PersonName(J***)");
    assert_eq!(format!("{phone:?}"), "Phone(***-***-4567)");
    assert_eq!(format!("{id:?}"), "NationalId(***-**-6789)");
    assert!(!format!("{:?}", valid_address()).contains("Evergreen"));
    assert!(!format!("{:?}", address_input()).contains("Evergreen"));
}

#[test]
fn phone_numbers_are_normalized_to_plus_and_digits() {
    let parse = |raw: &str| Phone::parse("phone", raw).map(|p| p.as_str().to_owned());
    assert_eq!(parse("+1 (555) 123-4567"), Ok("+15551234567".into()));
    assert_eq!(parse("+44 20.7946.0958"), Ok("+442079460958".into()));
    assert_eq!(parse("0044 20 7946 0958"), Ok("+442079460958".into()));
    assert_eq!(parse("1 555 123 4567"), Ok("+15551234567".into()));
    assert_eq!(parse("+1234567"), Ok("+1234567".into()));
    assert_eq!(parse("+123456789012345"), Ok("+123456789012345".into()));
    let phone = Phone::parse("phone", "+1 555 123 4567").unwrap();
    assert_eq!(phone.mask(), "***-***-4567");
}

#[test]
fn phone_numbers_without_country_code_with_letters_or_bad_length_are_rejected() {
    let message = |raw: &str| Phone::parse("phone", raw).unwrap_err().message;
    assert_eq!(message(""), "is required");
    assert_eq!(
        message("020 7946 0958"),
        "must start with the country code, like +44 20 7946 0958"
    );
    assert_eq!(
        message("+0 555 1234"),
        "must start with the country code, like +44 20 7946 0958"
    );
    assert_eq!(
        message("+123456"),
        "must have 7 to 15 digits including the country code"
    );
    assert_eq!(
        message("+1234567890123456"),
        "must have 7 to 15 digits including the country code"
    );
    for bad in [
        "+1 555 CALL NOW",
        "1+5551234567",
        "++15551234567",
        "+1/555/1234567",
    ] {
        assert_eq!(
            message(bad),
            "may contain only digits, spaces, dashes, dots, parentheses and a leading +",
            "{bad:?}"
        );
    }
}

#[test]
fn national_ids_drop_separators_upper_case_and_mask_to_the_last_four() {
    let id = NationalId::parse("national_id", " ab 12-34-56 c ").unwrap();
    assert_eq!(id.as_str(), "AB123456C");
    assert_eq!(id.mask(), "***-**-456C");
    assert_eq!(
        NationalId::parse("national_id", "123-45-6789")
            .unwrap()
            .as_str(),
        "123456789"
    );
    let message = |raw: &str| NationalId::parse("national_id", raw).unwrap_err().message;
    assert_eq!(message(" - "), "is required");
    assert_eq!(message("123"), "must have 4 to 20 letters or digits");
    assert_eq!(
        message(&"9".repeat(21)),
        "must have 4 to 20 letters or digits"
    );
    assert_eq!(
        message("123/45/6789"),
        "may contain only letters and digits (spaces and dashes are ignored)"
    );
    assert_eq!(
        message("１２３４５"),
        "may contain only letters and digits (spaces and dashes are ignored)"
    );
}

fn address_input() -> AddressInput {
    AddressInput {
        line1: " 742 Evergreen Terrace ".into(),
        line2: Some("  ".into()),
        city: "Springfield".into(),
        region: Some("OR".into()),
        postal_code: "97477".into(),
        country: "us".into(),
    }
}

fn valid_address() -> Address {
    Address::parse("address", &address_input()).unwrap()
}

#[test]
fn addresses_are_trimmed_normalized_and_mask_to_city_and_country() {
    let address = valid_address();
    assert_eq!(address.line1(), "742 Evergreen Terrace");
    assert_eq!(address.line2(), None);
    assert_eq!(address.region(), Some("OR"));
    assert_eq!(address.country(), "US");
    assert_eq!(address.mask(), "Springfield, US");
    let uk = Address::parse(
        "address",
        &AddressInput {
            postal_code: "sw1a 1aa".into(),
            country: "GB".into(),
            region: None,
            ..address_input()
        },
    )
    .unwrap();
    assert_eq!(uk.postal_code(), "SW1A 1AA");
}

#[test]
fn addresses_report_every_broken_part_by_its_dotted_name() {
    let errors = Address::parse("customer.address", &AddressInput::default()).unwrap_err();
    for part in ["line1", "city", "postal_code", "country"] {
        assert_eq!(
            errors.for_field(&format!("customer.address.{part}")),
            Some("is required"),
            "{part}"
        );
    }
    let bad = AddressInput {
        line2: Some("x".repeat(101)),
        postal_code: "97477!".into(),
        country: "ZZ".into(),
        ..address_input()
    };
    let errors = Address::parse("address", &bad).unwrap_err();
    assert_eq!(
        errors.for_field("address.line2"),
        Some("must be at most 100 characters")
    );
    assert_eq!(
        errors.for_field("address.postal_code"),
        Some("may contain only letters, digits, spaces and dashes")
    );
    assert_eq!(
        errors.for_field("address.country"),
        Some("must be a two-letter country code like US or GB")
    );
    let eszett = AddressInput {
        postal_code: "straße".into(),
        ..address_input()
    };
    assert!(Address::parse("address", &eszett).is_err());
    for country in ["USA", "U", "1A"] {
        let input = AddressInput {
            country: country.into(),
            ..address_input()
        };
        assert!(Address::parse("address", &input).is_err(), "{country}");
    }
}

#[test]
fn pii_values_round_trip_through_json_and_are_validated_on_the_way_in() {
    let address = valid_address();
    let json = serde_json::to_string(&address).unwrap();
    assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
    assert!(serde_json::from_str::<Address>(r#"{"line1":"x"}"#).is_err());
    let phone: Phone = serde_json::from_str(r#""+1 555 123 4567""#).unwrap();
    assert_eq!(serde_json::to_string(&phone).unwrap(), r#""+15551234567""#);
    assert!(serde_json::from_str::<NationalId>(r#""12""#).is_err());
    assert!(serde_json::from_str::<PersonName>(r#""R2D2""#).is_err());
    assert_eq!(AddressInput::from(address.clone()).country, "US");
}
