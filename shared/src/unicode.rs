//! Characters that make two different strings look the same on screen.
//!
//! An email address or a file name is read by a person who decides from its
//! look ("is this Paul's account?", "is this a PDF?"). Three families of
//! characters defeat that reading, and are what this module recognises:
//!
//! - bidirectional controls, which reorder what follows (`U+202E` turns
//!   `invoice\u{202E}fdp.exe` into "invoiceexe.pdf" on screen);
//! - invisible characters: zero-width spaces and joiners, the other format
//!   characters (general category `Cf`), variation selectors and fillers;
//! - letters of several scripts in one word (Cyrillic `а` among Latin letters),
//!   following the "highly restrictive" level of Unicode TS #39 §5.2.

use unicode_script::{Script, UnicodeScript};

/// The explicit bidirectional formatting characters (UAX #9 §2): embeddings
/// and overrides `U+202A–U+202E`, isolates `U+2066–U+2069`, and the marks
/// LRM, RLM and ALM.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Characters that draw nothing (or nothing of their own) yet make a string
/// differ: every format character (`Cf`) of Unicode 15, the variation
/// selectors, the combining grapheme joiner and the Hangul fillers. The bidi
/// controls are format characters too, so they count here as well.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        // Format characters (Cf), by block.
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
            // Not Cf, but invisible all the same.
            | '\u{034F}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180D}'
            | '\u{180F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

/// Scripts that are written together: Japanese mixes Han with the kana,
/// Chinese with Bopomofo and Korean with Hangul, each also with Latin
/// (TS #39's "highly restrictive" sets). Any other pair is a mix.
const WRITTEN_TOGETHER: [&[Script]; 3] = [
    &[
        Script::Latin,
        Script::Han,
        Script::Hiragana,
        Script::Katakana,
    ],
    &[Script::Latin, Script::Han, Script::Bopomofo],
    &[Script::Latin, Script::Han, Script::Hangul],
];

/// The first two scripts of `text` that are not written together, such as
/// `("Latin", "Cyrillic")` for `pаul` with a Cyrillic `а`; `None` when the
/// text keeps to one script (digits and punctuation belong to all).
pub fn mixed_scripts(text: &str) -> Option<(&'static str, &'static str)> {
    let mut seen: Vec<Script> = Vec::new();
    for script in text.chars().map(|c| c.script()) {
        if matches!(script, Script::Common | Script::Inherited | Script::Unknown)
            || seen.contains(&script)
        {
            continue;
        }
        seen.push(script);
        let together = seen.len() == 1
            || WRITTEN_TOGETHER
                .iter()
                .any(|set| seen.iter().all(|s| set.contains(s)));
        if !together {
            return Some((seen[0].full_name(), script.full_name()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_the_uax9_formatting_characters() {
        for c in [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert!(is_bidi_control(c), "{c:?}");
            assert!(is_invisible(c), "{c:?}");
        }
        assert!(!is_bidi_control('a'));
        assert!(
            !is_bidi_control('\u{05D0}'),
            "Hebrew letters are not controls"
        );
    }

    #[test]
    fn zero_width_and_format_characters_are_invisible_and_letters_are_not() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{3164}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', 'é', 'ж', '李', ' ', '-', '.'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }

    #[test]
    fn one_script_passes_and_latin_with_cyrillic_or_greek_is_a_mix() {
        assert_eq!(mixed_scripts("paul.smith-42"), None);
        assert_eq!(mixed_scripts("павел"), None);
        assert_eq!(mixed_scripts("josé"), None);
        assert_eq!(
            mixed_scripts("山田たろう"),
            None,
            "Japanese mixes Han and kana"
        );
        assert_eq!(mixed_scripts("kim김"), None, "Latin with Hangul is allowed");
        assert_eq!(mixed_scripts("p\u{0430}ul"), Some(("Latin", "Cyrillic")));
        assert_eq!(mixed_scripts("\u{03BF}scar"), Some(("Greek", "Latin")));
        assert_eq!(mixed_scripts("ab\u{05D0}"), Some(("Latin", "Hebrew")));
    }
}
