//! Claim attachments: which files are accepted, decided by their content
//! (magic bytes), never by the name or the `Content-Type` the sender chose,
//! and how a file name is made safe to store and to offer for download.

use crate::FieldError;
use crate::macros::str_enum;

/// The size limit when `VANGUARD_ATTACHMENT_MAX_BYTES` is not set: 10 MiB,
/// enough for a phone photo or a scanned invoice.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The longest file name kept (in characters); longer names are cut.
pub const FILENAME_MAX_CHARS: usize = 120;

str_enum! {
    /// A file type Vanguard accepts on a claim: documents and photos an
    /// adjuster can open in a browser. Executables, archives, office
    /// documents with macros and SVG (which can carry script) are refused.
    pub enum AttachmentKind {
        Pdf => "pdf", "PDF document";
        Png => "png", "PNG image";
        Jpeg => "jpeg", "JPEG image";
        Webp => "webp", "WebP image";
        Heic => "heic", "HEIC photo";
    }
}

impl AttachmentKind {
    /// The type of `bytes` from their first bytes, or `None` when it is not
    /// one Vanguard accepts.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if bytes.len() >= 12
            && &bytes[4..8] == b"ftyp"
            && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"msf1")
        {
            Some(Self::Heic)
        } else {
            None
        }
    }

    /// The media type a download is served with.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
        }
    }

    /// The rule, as a field error names it.
    pub fn accepted() -> String {
        let labels: Vec<&str> = Self::ALL.iter().map(|kind| kind.label()).collect();
        format!(
            "must be one of: {} (checked by content, not by name)",
            labels.join(", ")
        )
    }
}

/// Checks an upload before it is stored: not empty, within `max_bytes`
/// (the caller answers 413 for that one), and of an accepted type.
pub fn check(bytes: &[u8], max_bytes: u64) -> Result<AttachmentKind, AttachmentError> {
    if bytes.is_empty() {
        return Err(AttachmentError::Invalid(FieldError::new(
            "file",
            "must not be empty",
        )));
    }
    if bytes.len() as u64 > max_bytes {
        return Err(AttachmentError::TooLarge { max_bytes });
    }
    AttachmentKind::sniff(bytes).ok_or_else(|| {
        AttachmentError::Invalid(FieldError::new("file", AttachmentKind::accepted()))
    })
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentError {
    /// Larger than the configured limit (`413`).
    TooLarge { max_bytes: u64 },
    /// Empty or of a type not accepted (`422`).
    Invalid(FieldError),
}

impl AttachmentError {
    pub fn message(&self) -> String {
        match self {
            Self::TooLarge { max_bytes } => format!(
                "file: must be at most {} (this file is larger)",
                human_size(*max_bytes)
            ),
            Self::Invalid(error) => error.to_string(),
        }
    }
}

/// The name to store and to offer for download: the last path component,
/// without control characters, quotes or path separators, at most
/// [`FILENAME_MAX_CHARS`] characters; `attachment` when nothing is left.
///
/// Bidi controls and invisible characters are dropped too: `U+202E` makes
/// `invoice\u{202E}fdp.exe` read "invoiceexe.pdf" on every screen that lists
/// it. Dropping them (rather than refusing the upload) keeps a claimant's
/// photo from a phone that adds marks to names, and leaves the name as it
/// really reads, `invoicefdp.exe`.
pub fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !crate::unicode::is_invisible(c))
        .filter(|c| !matches!(c, '"' | ';' | '<' | '>' | '|' | '*' | '?'))
        .take(FILENAME_MAX_CHARS)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// `2.4 MB`, `512 KB`, `12 bytes`: sizes as staff read them.
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    if bytes >= MB {
        let tenths = bytes * 10 / MB;
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else if bytes >= KB {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_types_are_recognised_by_their_magic_bytes() {
        assert_eq!(
            AttachmentKind::sniff(b"%PDF-1.7\n..."),
            Some(AttachmentKind::Pdf)
        );
        assert_eq!(
            AttachmentKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(AttachmentKind::Png)
        );
        assert_eq!(
            AttachmentKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(AttachmentKind::Jpeg)
        );
        assert_eq!(
            AttachmentKind::sniff(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some(AttachmentKind::Webp)
        );
        assert_eq!(
            AttachmentKind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Some(AttachmentKind::Heic)
        );
    }

    #[test]
    fn a_file_named_like_a_pdf_but_holding_something_else_is_refused() {
        for bytes in [
            &b"MZ\x90\0 this is a Windows executable"[..],
            b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>",
            b"PK\x03\x04 zip or docx",
            b"%PD",
            b"RIFF\0\0\0\0WAVE",
        ] {
            let refused = check(bytes, DEFAULT_MAX_BYTES).unwrap_err();
            assert!(
                matches!(&refused, AttachmentError::Invalid(e) if e.field == "file" && e.message.contains("PDF document")),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn empty_and_oversized_files_are_refused_with_the_rule() {
        assert!(matches!(
            check(b"", 10),
            Err(AttachmentError::Invalid(e)) if e.message == "must not be empty"
        ));
        let too_large = check(b"%PDF-1.7 and more", 8).unwrap_err();
        assert_eq!(too_large, AttachmentError::TooLarge { max_bytes: 8 });
        assert_eq!(
            too_large.message(),
            "file: must be at most 8 bytes (this file is larger)"
        );
        assert_eq!(check(b"%PDF-1.7", 8), Ok(AttachmentKind::Pdf));
    }

    #[test]
    fn file_names_lose_their_path_and_anything_a_header_or_shell_would_misread() {
        assert_eq!(clean_filename("C:\\Users\\me\\photo 1.jpg"), "photo 1.jpg");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("in\"voice\r\n;.pdf"), "invoice.pdf");
        assert_eq!(clean_filename("..."), "attachment");
        assert_eq!(clean_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(
            clean_filename(
                "\u{2066}a\u{2069}\u{200E}b\u{200F}c\u{061C}\u{202A}d\u{200B}\u{FEFF}.pdf"
            ),
            "abcd.pdf"
        );
        assert_eq!(clean_filename("\u{202E}\u{200D}"), "attachment");
        assert_eq!(clean_filename(""), "attachment");
        assert_eq!(
            clean_filename(&"a".repeat(500)).chars().count(),
            FILENAME_MAX_CHARS
        );
    }

    #[test]
    fn sizes_read_the_way_staff_expect() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(512 * 1024), "512 KB");
        assert_eq!(human_size(DEFAULT_MAX_BYTES), "10.0 MB");
        assert_eq!(human_size(2_500_000), "2.3 MB");
    }
}
