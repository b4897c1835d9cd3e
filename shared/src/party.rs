//! The people and organisations on a claim, each with a role: who is paid,
//! who is called, who is on the other side. Their names and contact details
//! are personal data (sealed in the vault, masked on screen).

use serde::{Deserialize, Serialize};

use crate::macros::str_enum;
use crate::{
    FieldErrors,
    contact::{Email, Phone},
    validation,
};

str_enum! {
    pub enum PartyRole {
        Claimant => "claimant", "Claimant";
        Insured => "insured", "Insured";
        Driver => "driver", "Driver";
        Witness => "witness", "Witness";
        OtherParty => "other_party", "Other party";
        /// The other party's insurer (the one subrogation recovers from).
        OtherInsurer => "other_insurer", "Other party's insurer";
        RepairShop => "repair_shop", "Repair shop";
        MedicalProvider => "medical_provider", "Medical provider";
        Attorney => "attorney", "Attorney";
    }
}

/// The longest party name: a person's or an organisation's ("AutoFix 24
/// Ltd & Sons"), so not [`crate::contact::PersonName`]'s letters-only rule.
pub const NAME_MAX_CHARS: usize = 120;

/// A party as the form or the API submits it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartyInput {
    pub role: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A checked party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParty {
    pub role: PartyRole,
    pub name: String,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
}

impl NewParty {
    pub fn parse(input: &PartyInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let role = errors.check(PartyRole::parse("role", &input.role));
        let name = errors.check(validation::text(
            "name",
            &input.name,
            1,
            NAME_MAX_CHARS,
            false,
        ));
        let present = |raw: &Option<String>| {
            raw.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let email = present(&input.email).map(|raw| errors.check(Email::parse("email", &raw)));
        let phone = present(&input.phone).map(|raw| errors.check(Phone::parse("phone", &raw)));
        errors.finish(|| {
            Some(Self {
                role: role?,
                name: name?,
                email: match email {
                    Some(parsed) => Some(parsed?),
                    None => None,
                },
                phone: match phone {
                    Some(parsed) => Some(parsed?),
                    None => None,
                },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repair_shop_may_have_digits_and_an_ampersand_in_its_name() {
        let party = NewParty::parse(&PartyInput {
            role: "repair_shop".into(),
            name: "AutoFix 24 Ltd & Sons".into(),
            email: Some(" ".into()),
            phone: None,
        })
        .unwrap();
        assert_eq!(party.role, PartyRole::RepairShop);
        assert_eq!(party.email, None);
    }

    #[test]
    fn a_party_without_a_role_or_name_and_with_a_bad_email_names_all_three_fields() {
        let errors = NewParty::parse(&PartyInput {
            role: "cousin".into(),
            name: "  ".into(),
            email: Some("not-an-email".into()),
            phone: None,
        })
        .unwrap_err();
        assert!(errors.for_field("role").unwrap().contains("repair_shop"));
        assert_eq!(errors.for_field("name"), Some("is required"));
        assert!(errors.for_field("email").is_some());
    }
}
