//! Money: an integer count of minor units (cents, pence, yen) plus an
//! ISO-4217 currency.
//!
//! No floats anywhere: `0.1 + 0.2` must not reach a ledger. Amounts in
//! different currencies never mix; arithmetic refuses them instead of
//! converting. On the wire an amount is `{ "amount": 12345, "currency": "USD" }`
//! (minor units), which is also what forms submit after [`Money::parse_major`]
//! has read what the user typed.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, FieldErrors};

/// An active ISO 4217 currency such as `USD`, with its minor unit.
///
/// [`Currency::parse`] (every form, API body and JSON value) accepts only the
/// codes of [`ISO_4217`]: a quote in `ABC` or `XXX` ("no currency") is a
/// mistake, and an amount's decimals are only known for a real currency.
/// Rows already stored in a code since withdrawn are read back with
/// [`Currency::from_stored`], so old records stay readable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// ISO 4217 list one: every active currency and fund code (164), grouped by
/// its minor unit (the digits after the decimal point). Left out: the codes
/// without one (gold `XAU`, silver, platinum, palladium, the SDR `XDR`, the
/// bond-market units `XBA`–`XBD`, `XSU`, `XUA`, the test code `XTS` and `XXX`),
/// and the recent withdrawals `ANG` (now `XCG`), `BGN` (the euro since 2026),
/// `CUC`, `HRK` (the euro since 2023), `SLL` (now `SLE`) and `ZWL` (now `ZWG`).
pub const ISO_4217: [(u32, &str); 4] = [
    (
        2,
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN \
         BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD \
         FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW \
         KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR \
         MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG \
         SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD \
         USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG",
    ),
    (
        0,
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    ),
    (3, "BHD IQD JOD KWD LYD OMR TND"),
    (4, "CLF UYW"),
];

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const CHF: Currency = Currency(*b"CHF");
    pub const CAD: Currency = Currency(*b"CAD");
    pub const AUD: Currency = Currency(*b"AUD");
    pub const JPY: Currency = Currency(*b"JPY");
    pub const KWD: Currency = Currency(*b"KWD");

    /// Trims and upper-cases, then requires an active ISO 4217 code.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        iso_minor_units(&value)
            .and_then(|_| <[u8; 3]>::try_from(value.as_bytes()).ok())
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be an active ISO 4217 currency code like USD, EUR or JPY",
                )
            })
    }

    /// A code read back from the database: any three letters A–Z, so a row
    /// written before the ISO list was enforced (or in a code ISO has since
    /// withdrawn) still loads. Such a currency has 2 decimals.
    pub fn from_stored(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::parse(field, raw).or_else(|error| match <[u8; 3]>::try_from(raw.as_bytes()) {
            Ok(code) if code.iter().all(u8::is_ascii_uppercase) => Ok(Self(code)),
            _ => Err(error),
        })
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII by construction; "XXX" is ISO's own "no currency".
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point (the ISO 4217 "minor unit"): 0 for
    /// JPY, 3 for KWD, 2 for most, from [`ISO_4217`]; 2 for a stored code
    /// that is not on the list.
    pub fn minor_units(self) -> u32 {
        iso_minor_units(self.as_str()).unwrap_or(2)
    }
}

/// The minor unit of an active ISO 4217 code, `None` for anything else.
fn iso_minor_units(code: &str) -> Option<u32> {
    ISO_4217
        .iter()
        .find(|(_, codes)| codes.split_whitespace().any(|c| c == code))
        .map(|&(units, _)| units)
}

impl std::fmt::Debug for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("currency", &value)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

/// Why two amounts could not be combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} and {right} amounts")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("the amount is too large")]
    Overflow,
    #[error("there are no amounts to add up")]
    Empty,
}

impl MoneyError {
    /// The same problem, reported against the input field that caused it.
    pub fn at(self, field: &str) -> FieldError {
        let message = match self {
            MoneyError::CurrencyMismatch { left, right } => {
                format!("must be in {left} like the other amounts, not {right}")
            }
            MoneyError::Overflow => "is too large".to_owned(),
            MoneyError::Empty => "needs at least one amount".to_owned(),
        };
        FieldError::new(field, message)
    }
}

/// An amount in minor units of one currency. Plain data: the rules for a
/// particular amount (positive, below a limit) live where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units: 12345 is USD 123.45, JPY 12,345 or BHD 12.345.
    pub amount: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    pub fn is_positive(&self) -> bool {
        self.amount > 0
    }

    pub fn is_negative(&self) -> bool {
        self.amount < 0
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// Compares two amounts of the same currency (there is no honest order
    /// between USD 5 and EUR 5, hence no `Ord`).
    pub fn checked_cmp(self, other: Money) -> Result<Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// The sum of one or more amounts of one currency.
    pub fn sum(amounts: impl IntoIterator<Item = Money>) -> Result<Money, MoneyError> {
        let mut amounts = amounts.into_iter();
        let first = amounts.next().ok_or(MoneyError::Empty)?;
        amounts.try_fold(first, Money::checked_add)
    }

    /// The rule for an amount submitted in minor units: at least
    /// `min_allowed` (0 for "not negative", 1 for "greater than zero").
    pub fn parse_amount(field: &str, amount: i64, min_allowed: i64) -> Result<i64, FieldError> {
        if amount >= min_allowed {
            return Ok(amount);
        }
        let message = match min_allowed {
            0 => "must not be negative".to_owned(),
            1 => "must be greater than zero".to_owned(),
            _ => format!("must be at least {min_allowed} in minor units"),
        };
        Err(FieldError::new(field, message))
    }

    /// Reads an amount as people type it: `1234.56`, `1,234.56`, `.5`,
    /// `-12` (only when `allow_negative`). Thousands separators must group
    /// by three, and there may be no more decimals than the currency has
    /// (a cent fraction would be silently lost otherwise).
    pub fn parse_major(
        field: &str,
        raw: &str,
        currency: Currency,
        allow_negative: bool,
    ) -> Result<Money, FieldError> {
        let units = currency.minor_units();
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let shape_error = || {
            // "1,234.56" in the currency's own decimals (units is at most 4).
            let example = 1234 * 10_i64.pow(units) + 5678 / 10_i64.pow(4 - units.min(4));
            let example = Money::new(example, currency);
            FieldError::new(
                field,
                format!("must be an amount like {}", example.format_major()),
            )
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (digits, None),
        };
        let whole = match (whole, fraction) {
            ("", Some(f)) if !f.is_empty() => "0",
            _ => whole,
        };
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped_well = groups.iter().enumerate().all(|(i, group)| {
            let len_ok = match (i, groups.len()) {
                (_, 1) => !group.is_empty(),
                (0, _) => (1..=3).contains(&group.len()),
                _ => group.len() == 3,
            };
            len_ok && group.bytes().all(|b| b.is_ascii_digit())
        });
        let fraction = fraction.unwrap_or_default();
        let fraction_ok = fraction.bytes().all(|b| b.is_ascii_digit())
            && !(fraction.is_empty() && digits.contains('.'));
        if !grouped_well || !fraction_ok {
            return Err(shape_error());
        }
        if negative && !allow_negative {
            return Err(FieldError::new(field, "must not be negative"));
        }
        if fraction.len() > units as usize {
            let message = match units {
                0 => format!("must be a whole number of {currency}"),
                1 => format!("must have at most 1 decimal place for {currency}"),
                n => format!("must have at most {n} decimal places for {currency}"),
            };
            return Err(FieldError::new(field, message));
        }
        // Whole digits, then the fraction padded to the currency's decimals.
        let padded = format!("{fraction:0<width$}", width = units as usize);
        let minor = groups
            .concat()
            .bytes()
            .chain(padded.bytes())
            .try_fold(0_i64, |acc, b| {
                acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
            })
            .ok_or_else(|| FieldError::new(field, "is too large"))?;
        Ok(Money::new(if negative { -minor } else { minor }, currency))
    }

    /// The amount without its currency, as a form field shows it: `1,234.56`.
    pub fn format_major(&self) -> String {
        let units = self.currency.minor_units();
        let scale = 10_u64.pow(units);
        let magnitude = self.amount.unsigned_abs();
        let whole = (magnitude / scale).to_string();
        let mut out = String::new();
        if self.amount < 0 {
            out.push('-');
        }
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(digit);
        }
        if units > 0 {
            let fraction = magnitude % scale;
            out.push_str(&format!(".{fraction:0width$}", width = units as usize));
        }
        out
    }

    /// For display: `USD 1,234.56`. The ISO code rather than a symbol, as
    /// `$` alone is ambiguous between USD, CAD and AUD.
    pub fn format(&self) -> String {
        format!("{} {}", self.currency, self.format_major())
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format())
    }
}

/// An amount as submitted (form or API), before its currency is checked.
/// Missing fields deserialize as empty so they come back as field errors
/// rather than a generic "bad JSON".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MoneyInput {
    pub amount: i64,
    pub currency: String,
}

impl MoneyInput {
    /// Checks `{field}.amount` (at least `min_allowed`, see
    /// [`Money::parse_amount`]) and `{field}.currency`, reporting both.
    pub fn parse(&self, field: &str, min_allowed: i64) -> Result<Money, FieldErrors> {
        let mut errors = FieldErrors::new();
        let amount = errors.check(Money::parse_amount(
            &format!("{field}.amount"),
            self.amount,
            min_allowed,
        ));
        let currency = errors.check(Currency::parse(
            &format!("{field}.currency"),
            &self.currency,
        ));
        errors.finish(|| Some(Money::new(amount?, currency?)))
    }
}

impl From<Money> for MoneyInput {
    fn from(money: Money) -> Self {
        Self {
            amount: money.amount,
            currency: money.currency.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
