//! Customers: what a form or the API submits, the checked values it parses
//! into, and the masked view every page and response shows.

use serde::{Deserialize, Serialize};

use crate::{
    contact::{Address, AddressInput, Email, NationalId, PersonName, Phone},
    dates::Date,
    validation::{FieldError, FieldErrors},
};

/// A new customer as submitted. Missing fields deserialize as empty and come
/// back as field errors rather than a JSON error.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewCustomerInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<String>,
    pub address: Option<AddressInput>,
    pub national_id: Option<String>,
}

impl std::fmt::Debug for NewCustomerInput {
    /// Personal data never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCustomerInput").finish_non_exhaustive()
    }
}

/// A customer whose every field passed its rule.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCustomer {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Option<Phone>,
    pub date_of_birth: Option<Date>,
    pub address: Option<Address>,
    pub national_id: Option<NationalId>,
}

impl std::fmt::Debug for NewCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCustomer").finish_non_exhaustive()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl NewCustomer {
    /// Parses every field, collecting all errors. `today` bounds the date of
    /// birth; the browser passes `None` (its clock is not trusted) and the
    /// server checks again with its own.
    pub fn parse(input: &NewCustomerInput, today: Option<Date>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let first_name = errors.check(PersonName::parse("first_name", &input.first_name));
        let last_name = errors.check(PersonName::parse("last_name", &input.last_name));
        let email = errors.check(Email::parse("email", &input.email));
        let phone = present(&input.phone).and_then(|raw| errors.check(Phone::parse("phone", raw)));
        let date_of_birth = present(&input.date_of_birth).and_then(|raw| {
            errors.check(Date::parse("date_of_birth", raw).and_then(|date| {
                if today.is_some_and(|today| date > today) {
                    Err(FieldError::new(
                        "date_of_birth",
                        "must not be in the future",
                    ))
                } else {
                    Ok(date)
                }
            }))
        });
        let address = match &input.address {
            Some(address) if *address != AddressInput::default() => {
                match Address::parse("address", address) {
                    Ok(address) => Some(address),
                    Err(found) => {
                        errors.0.extend(found.0);
                        None
                    }
                }
            }
            _ => None,
        };
        let national_id = present(&input.national_id)
            .and_then(|raw| errors.check(NationalId::parse("national_id", raw)));
        errors.clone().into_result()?;
        match (first_name, last_name, email) {
            (Some(first_name), Some(last_name), Some(email)) => Ok(Self {
                first_name,
                last_name,
                email,
                phone,
                date_of_birth,
                address,
                national_id,
            }),
            _ => Err(errors),
        }
    }
}

/// The personal-data fields of a customer, each encrypted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiField {
    FirstName,
    LastName,
    Email,
    Phone,
    DateOfBirth,
    Address,
    NationalId,
}

impl PiiField {
    pub const ALL: [PiiField; 7] = [
        PiiField::FirstName,
        PiiField::LastName,
        PiiField::Email,
        PiiField::Phone,
        PiiField::DateOfBirth,
        PiiField::Address,
        PiiField::NationalId,
    ];

    /// Also the column name.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiField::FirstName => "first_name",
            PiiField::LastName => "last_name",
            PiiField::Email => "email",
            PiiField::Phone => "phone",
            PiiField::DateOfBirth => "date_of_birth",
            PiiField::Address => "address",
            PiiField::NationalId => "national_id",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PiiField::FirstName => "First name",
            PiiField::LastName => "Last name",
            PiiField::Email => "Email",
            PiiField::Phone => "Phone",
            PiiField::DateOfBirth => "Date of birth",
            PiiField::Address => "Address",
            PiiField::NationalId => "National id",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be one of first_name, last_name, email, phone, date_of_birth, address, national_id",
                )
            })
    }
}

/// Why someone reveals a masked value. It goes into the audit trail next to
/// the reveal, so it must say something (at least [`Self::MIN_CHARS`]
/// characters once trimmed) and stay a reason, not a document (at most
/// [`Self::MAX_CHARS`], no control characters). Customers and claimants
/// share the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RevealReason(String);

impl RevealReason {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 1_000;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if raw.trim().chars().count() < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!("must say why, in at least {} characters", Self::MIN_CHARS),
            ));
        }
        crate::validation::text(field, raw, Self::MIN_CHARS, Self::MAX_CHARS, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Masks a stored date of birth: the year only.
pub fn mask_date_of_birth(date: &Date) -> String {
    format!("{:04}-**-**", date.year())
}

/// A customer as pages and API responses show them: personal data masked
/// (`j***@example.com`, `***-**-6789`), or `erased` after crypto-shredding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    pub id: String,
    pub customer_number: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub date_of_birth: Option<String>,
    pub address: Option<String>,
    pub national_id: Option<String>,
    pub erased: bool,
    pub created_at: i64,
    pub version: i64,
    /// Fields whose stored value does not decrypt under this record (moved
    /// from another record or damaged): they show `unreadable`.
    #[serde(default)]
    pub unreadable_fields: Vec<String>,
}

impl CustomerView {
    /// Shows `field` as `unreadable` and lists it in `unreadable_fields`.
    pub fn set_unreadable(&mut self, field: PiiField) {
        let slot = match field {
            PiiField::FirstName => &mut self.first_name,
            PiiField::LastName => &mut self.last_name,
            PiiField::Email => &mut self.email,
            PiiField::Phone => self.phone.get_or_insert_default(),
            PiiField::DateOfBirth => self.date_of_birth.get_or_insert_default(),
            PiiField::Address => self.address.get_or_insert_default(),
            PiiField::NationalId => self.national_id.get_or_insert_default(),
        };
        UNREADABLE.clone_into(slot);
        self.unreadable_fields.push(field.as_str().to_owned());
    }
}

/// The text shown in place of erased personal data.
pub const ERASED: &str = "erased";

/// The text shown in place of personal data that does not decrypt under
/// its record (moved from another record or damaged).
pub const UNREADABLE: &str = "unreadable";

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::parse("today", "2026-11-23").unwrap()
    }

    fn input() -> NewCustomerInput {
        NewCustomerInput {
            first_name: "Jane".into(),
            last_name: "Doe".into(),
            email: " Jane.Doe@Example.com ".into(),
            phone: Some("+1 (555) 123-4567".into()),
            date_of_birth: Some("1980-02-29".into()),
            address: None,
            national_id: Some("123-45-6789".into()),
        }
    }

    #[test]
    fn a_reveal_reason_must_say_why_briefly_and_in_plain_text() {
        assert_eq!(
            RevealReason::parse("reason", "  Claimant called to confirm  ")
                .unwrap()
                .as_str(),
            "Claimant called to confirm"
        );
        let rule = |raw: &str| RevealReason::parse("reason", raw).unwrap_err().message;
        assert_eq!(
            rule("  because  "),
            "must say why, in at least 10 characters"
        );
        assert_eq!(rule(&"x".repeat(1_001)), "must be at most 1000 characters");
        assert_eq!(
            rule("Call from the\u{7}claimant"),
            "must not contain control characters"
        );
    }

    #[test]
    fn a_complete_customer_parses_into_normalised_values() {
        let customer = NewCustomer::parse(&input(), Some(today())).unwrap();
        assert_eq!(customer.email.as_str(), "jane.doe@example.com");
        assert_eq!(customer.phone.unwrap().as_str(), "+15551234567");
        assert_eq!(customer.national_id.unwrap().mask(), "***-**-6789");
    }

    #[test]
    fn blank_optional_fields_are_absent_not_errors() {
        let mut input = input();
        input.phone = Some("  ".into());
        input.date_of_birth = None;
        input.address = Some(AddressInput::default());
        let customer = NewCustomer::parse(&input, Some(today())).unwrap();
        assert!(customer.phone.is_none() && customer.address.is_none());
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_field() {
        let input = NewCustomerInput {
            email: "nope".into(),
            date_of_birth: Some("2030-01-01".into()),
            ..NewCustomerInput::default()
        };
        let errors = NewCustomer::parse(&input, Some(today())).unwrap_err();
        for field in ["first_name", "last_name", "email", "date_of_birth"] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors}");
        }
        assert_eq!(
            errors.for_field("date_of_birth"),
            Some("must not be in the future")
        );
    }

    #[test]
    fn personal_data_never_prints_through_debug() {
        assert!(!format!("{:?}", input()).contains("Jane"));
        assert!(
            !format!("{:?}", NewCustomer::parse(&input(), Some(today())).unwrap()).contains("Doe")
        );
    }
}
