//! Contact details and personal identifiers: email addresses, names, phone
//! numbers, national ids and postal addresses, and how each is masked.
//!
//! These are PII: encrypted at rest and masked by default in the UI and the
//! API. Each type's `mask()` is the only form shown without a reveal, and
//! the types added here print masked in `Debug` too, so a stray `{:?}` or
//! `#[instrument]` cannot put personal data in a log line.

use serde::{Deserialize, Serialize};

use unicode_normalization::UnicodeNormalization;

use crate::unicode;
use crate::validation::{self, FieldError, FieldErrors};

/// A syntactically plausible email address in one canonical form, so that
/// addresses which look alike on screen are one address (or refused).
///
/// The form is NFKC then lower case (`ＰＡＵＬ@example.com` is
/// `paul@example.com`), which is what the staff login's unique index and the
/// customers' blind index compare. What NFKC cannot fold is refused: bidi
/// controls and invisible characters anywhere, and a local part or domain
/// label that mixes scripts (`pаul` with a Cyrillic `а`). All of it runs in
/// the browser and on the server alike.
///
/// Stored addresses need no migration: they were trimmed and lower-cased
/// before, and NFKC leaves such ASCII addresses as they are. A stored
/// non-ASCII look-alike (if one was ever created) keeps its row but no
/// longer matches any sign-in or search, since input now folds to the
/// address it imitates; SQL cannot apply NFKC (nor recompute the customers'
/// keyed blind index), so finding such rows is an application-side check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.chars().any(unicode::is_bidi_control) {
            return Err(FieldError::new(
                field,
                "must not contain bidirectional control characters (such as U+202E)",
            ));
        }
        if trimmed.chars().any(unicode::is_invisible) {
            return Err(FieldError::new(
                field,
                "must not contain invisible characters (such as a zero-width space or joiner)",
            ));
        }
        // Lower-casing can leave a string that NFKC would change again (a
        // few compatibility letters), hence the second pass.
        let value: String = trimmed
            .nfkc()
            .collect::<String>()
            .to_lowercase()
            .nfkc()
            .collect();
        if value.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let Some((local, domain)) = value.split_once('@').filter(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }) else {
            return Err(FieldError::new(
                field,
                "must be an email address like name@example.com",
            ));
        };
        let parts = std::iter::once(local).chain(domain.split('.'));
        if let Some((first, second)) = parts.filter_map(unicode::mixed_scripts).next() {
            return Err(FieldError::new(
                field,
                format!(
                    "must not mix scripts within a part of the address \
                     ({first} and {second} letters look alike)"
                ),
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `j***@example.com`: enough to recognise a mailbox, not to use it.
    pub fn mask(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => format!("{}@{domain}", mask_name(local)),
            None => "***".to_owned(),
        }
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("email", &value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// A name masked for display: its first letter and `***` (`Jane` -> `J***`).
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        Some(first) => format!("{first}***"),
        None => "***".to_owned(),
    }
}

/// `***-***-4567` style: the last four characters, which is what people use
/// to confirm "is this the right one?".
fn mask_last_four(value: &str, hidden: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let last: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{hidden}{last}")
}

/// A person's name (given, family or full): 1–100 characters after trimming,
/// with runs of spaces collapsed so the same name always compares (and
/// blind-indexes) equal.
///
/// Letters of any script are allowed, with spaces, hyphens, apostrophes
/// (' and ’) and full stops: enough for "Anne-Marie O’Neil Jr." and
/// "José", without digits or symbols that point to a mistyped field.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = validation::text(field, raw, 1, Self::MAX_CHARS, false)?;
        let value = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        // Combining accents (U+0300–U+036F) come with decomposed input such
        // as "e" + "\u{301}" for "é".
        let allowed = |c: char| {
            c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.' | '’' | '\u{300}'..='\u{36f}')
        };
        if !value.chars().all(allowed) {
            return Err(FieldError::new(
                field,
                "may contain only letters, spaces, hyphens, apostrophes and full stops",
            ));
        }
        if !value.chars().any(char::is_alphabetic) {
            return Err(FieldError::new(field, "must contain a letter"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `J***`.
    pub fn mask(&self) -> String {
        mask_name(&self.0)
    }
}

impl std::fmt::Debug for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonName({})", self.mask())
    }
}

impl TryFrom<String> for PersonName {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("name", &value)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> Self {
        name.0
    }
}

/// A phone number in international form, stored as `+` and 7–15 digits
/// (E.164's length), e.g. `+15551234567`.
///
/// Spaces, dashes, dots and parentheses are dropped; a leading `00` (the
/// international call prefix in most of the world) counts as `+`. The
/// digits must begin with the country code: a number starting with `0` is a
/// national number whose country we would only be guessing, so it is refused
/// with an example rather than stored wrongly.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub const MIN_DIGITS: usize = 7;
    pub const MAX_DIGITS: usize = 15;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        let (plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if rest
            .chars()
            .any(|c| !c.is_ascii_digit() && !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        {
            return Err(FieldError::new(
                field,
                "may contain only digits, spaces, dashes, dots, parentheses and a leading +",
            ));
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let digits = match digits.strip_prefix("00") {
            Some(international) if !plus => international.to_owned(),
            _ => digits,
        };
        if digits.starts_with('0') {
            return Err(FieldError::new(
                field,
                "must start with the country code, like +44 20 7946 0958",
            ));
        }
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&digits.len()) {
            return Err(FieldError::new(
                field,
                format!(
                    "must have {} to {} digits including the country code",
                    Self::MIN_DIGITS,
                    Self::MAX_DIGITS
                ),
            ));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The normalized form, `+15551234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `***-***-4567`.
    pub fn mask(&self) -> String {
        mask_last_four(&self.0, "***-***-")
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.mask())
    }
}

impl TryFrom<String> for Phone {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("phone", &value)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> Self {
        phone.0
    }
}

/// A national identifier (SSN, National Insurance number, tax id...): 4–20
/// letters and digits once spaces and dashes are removed, upper-cased, so
/// `123-45-6789` and `123 45 6789` are the same id for the blind index.
/// Formats differ by country, so only that common shape is checked.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NationalId(String);

impl NationalId {
    pub const MIN_CHARS: usize = 4;
    pub const MAX_CHARS: usize = 20;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value: String = raw
            .chars()
            .filter(|&c| !c.is_whitespace() && c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                field,
                "may contain only letters and digits (spaces and dashes are ignored)",
            ));
        }
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&value.len()) {
            return Err(FieldError::new(
                field,
                format!(
                    "must have {} to {} letters or digits",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(value))
    }

    /// The normalized form, `123456789`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `***-**-6789`.
    pub fn mask(&self) -> String {
        mask_last_four(&self.0, "***-**-")
    }
}

impl std::fmt::Debug for NationalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NationalId({})", self.mask())
    }
}

impl TryFrom<String> for NationalId {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("national_id", &value)
    }
}

impl From<NationalId> for String {
    fn from(id: NationalId) -> Self {
        id.0
    }
}

/// ISO 3166-1 alpha-2 codes: the 249 assigned ones, plus `XK` (Kosovo),
/// user-assigned but used by banks, carriers and the EU alike.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
    BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY \
    CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN \
    GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH \
    KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO \
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL \
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV \
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN \
    VU WF WS XK YE YT ZA ZM ZW";

/// A postal address as submitted; blank optional parts count as absent.
/// Missing fields deserialize as empty, so they come back as field errors.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressInput {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

impl std::fmt::Debug for AddressInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressInput").finish_non_exhaustive()
    }
}

/// A postal address. `country` is an upper-case ISO 3166-1 alpha-2 code;
/// `postal_code` is upper-cased (UK and Canadian codes compare equal
/// however they were typed).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "AddressInput")]
pub struct Address {
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
}

impl Address {
    pub const LINE_MAX_CHARS: usize = 100;
    pub const POSTAL_CODE_MAX_CHARS: usize = 16;

    /// Checks every part and reports every problem, each on
    /// `{field}.line1`, `{field}.city`, ... (`field` is usually `address`).
    pub fn parse(field: &str, raw: &AddressInput) -> Result<Self, FieldErrors> {
        let name = |part: &str| format!("{field}.{part}");
        let line = |part: &str, value: &str| {
            validation::text(&name(part), value, 1, Self::LINE_MAX_CHARS, false)
        };
        let optional = |part: &str, value: Option<&str>| {
            validation::optional_text(&name(part), value, Self::LINE_MAX_CHARS, false)
        };
        let mut errors = FieldErrors::new();
        let line1 = errors.check(line("line1", &raw.line1));
        let line2 = errors.check(optional("line2", raw.line2.as_deref()));
        let city = errors.check(line("city", &raw.city));
        let region = errors.check(optional("region", raw.region.as_deref()));
        let postal_code = errors.check(Self::parse_postal_code(
            &name("postal_code"),
            &raw.postal_code,
        ));
        let country = errors.check(Self::parse_country(&name("country"), &raw.country));
        errors.finish(|| {
            Some(Self {
                line1: line1?,
                line2: line2?,
                city: city?,
                region: region?,
                postal_code: postal_code?,
                country: country?,
            })
        })
    }

    fn parse_postal_code(field: &str, raw: &str) -> Result<String, FieldError> {
        let value = validation::text(field, raw, 1, Self::POSTAL_CODE_MAX_CHARS, false)?;
        if value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        {
            Ok(value.to_ascii_uppercase())
        } else {
            Err(FieldError::new(
                field,
                "may contain only letters, digits, spaces and dashes",
            ))
        }
    }

    fn parse_country(field: &str, raw: &str) -> Result<String, FieldError> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        let known = value.len() == 2
            && value.bytes().all(|b| b.is_ascii_uppercase())
            && COUNTRY_CODES.split_whitespace().any(|code| code == value);
        if known {
            Ok(value)
        } else {
            Err(FieldError::new(
                field,
                "must be a two-letter country code like US or GB",
            ))
        }
    }

    pub fn line1(&self) -> &str {
        &self.line1
    }

    pub fn line2(&self) -> Option<&str> {
        self.line2.as_deref()
    }

    pub fn city(&self) -> &str {
        &self.city
    }

    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    pub fn postal_code(&self) -> &str {
        &self.postal_code
    }

    /// ISO 3166-1 alpha-2, upper case.
    pub fn country(&self) -> &str {
        &self.country
    }

    /// `Springfield, US`: the town is useful context for staff (which
    /// branch, which catastrophe zone) without locating the person.
    pub fn mask(&self) -> String {
        format!("{}, {}", self.city, self.country)
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Address({})", self.mask())
    }
}

impl TryFrom<AddressInput> for Address {
    type Error = FieldErrors;

    fn try_from(raw: AddressInput) -> Result<Self, Self::Error> {
        Self::parse("address", &raw)
    }
}

impl From<Address> for AddressInput {
    fn from(address: Address) -> Self {
        Self {
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            region: address.region,
            postal_code: address.postal_code,
            country: address.country,
        }
    }
}

#[cfg(test)]
mod tests;
