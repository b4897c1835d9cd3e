//! Declarative helpers for the shapes that repeat across the domain: named
//! enums and `PREFIX-YYYY-NNNNNN` reference numbers. One definition keeps the
//! JSON name, the database name and the parse rule from drifting apart.

/// An enum whose values have a `snake_case` wire name and a human label.
///
/// Generates the enum (with `Debug, Clone, Copy, PartialEq, Eq, Hash` and
/// serde under the wire names) plus `ALL`, `as_str`, `label` and
/// `parse(field, raw)`, whose error lists every choice.
macro_rules! str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident => $wire:literal, $label:literal;
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[serde(rename = $wire)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in the order the UI lists them.
            pub const ALL: [$name; [$($wire),+].len()] = [$($name::$variant),+];

            /// The `snake_case` name used in JSON, URLs and the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The name shown to people.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// Parses the `snake_case` name; the error lists every choice.
            pub fn parse(field: &str, raw: &str) -> Result<Self, $crate::FieldError> {
                let raw = raw.trim();
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str() == raw)
                    .ok_or_else(|| {
                        $crate::FieldError::new(
                            field,
                            format!("must be one of {}", [$($wire),+].join(", ")),
                        )
                    })
            }
        }
    };
}

/// A human-facing reference number `PREFIX-YYYY-NNNNNN` (year of issue and a
/// six-digit sequence within it), stored upper-case.
macro_rules! reference_number {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $default_field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// The largest sequence number one year can hold.
            pub const MAX_SEQUENCE: u32 = 999_999;

            /// Accepts surrounding spaces and lower case (people type these
            /// from letters and phone calls); anything else must match exactly.
            pub fn parse(field: &str, raw: &str) -> Result<Self, $crate::FieldError> {
                let value = raw.trim().to_ascii_uppercase();
                let parts = value
                    .strip_prefix(concat!($prefix, "-"))
                    .and_then(|rest| rest.split_once('-'));
                let valid = match parts {
                    Some((year, sequence)) => {
                        year.len() == 4
                            && sequence.len() == 6
                            && year.bytes().chain(sequence.bytes()).all(|b| b.is_ascii_digit())
                            && !year.starts_with('0')
                            && sequence != "000000"
                    }
                    None => false,
                };
                if valid {
                    Ok(Self(value))
                } else {
                    Err($crate::FieldError::new(
                        field,
                        concat!("must look like ", $prefix, "-2025-000123"),
                    ))
                }
            }

            /// Builds the number for a year and its sequence; `None` when the
            /// year is not four digits or the sequence is outside
            /// `1..=MAX_SEQUENCE` (the year's numbers are used up).
            pub fn format(year: i32, sequence: u32) -> Option<Self> {
                ((1000..=9999).contains(&year) && (1..=Self::MAX_SEQUENCE).contains(&sequence))
                    .then(|| Self(format!(concat!($prefix, "-{}-{:06}"), year, sequence)))
            }

            pub fn year(&self) -> i32 {
                // Positions are fixed by `parse`/`format`: `PREFIX-YYYY-`.
                let start = $prefix.len() + 1;
                self.0.get(start..start + 4).and_then(|y| y.parse().ok()).unwrap_or_default()
            }

            pub fn sequence(&self) -> u32 {
                let start = $prefix.len() + 6;
                self.0.get(start..start + 6).and_then(|s| s.parse().ok()).unwrap_or_default()
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::FieldError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse($default_field, &value)
            }
        }

        impl From<$name> for String {
            fn from(number: $name) -> Self {
                number.0
            }
        }
    };
}

pub(crate) use {reference_number, str_enum};
