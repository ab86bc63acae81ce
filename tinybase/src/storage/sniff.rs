//! What a file is, judged from its first bytes rather than its name, and whether a
//! browser may show it inline.
//!
//! Uploads are checked against a field's `mime_types` with [`content_type`], so a text
//! file named `x.png` is text. Serving uses the same judgement; only for content that
//! says nothing more specific than "text" or "binary" does the name's extension refine it.

/// How many leading bytes [`content_type`] looks at.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// Binary signatures: (offset, magic bytes, content type).
const SIGNATURES: &[(usize, &[u8], &str)] = &[
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"\x00\x00\x01\x00", "image/x-icon"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"wOFF", "font/woff"),
    (0, b"wOF2", "font/woff2"),
    (0, b"\x00asm", "application/wasm"),
    (0, b"\x7fELF", "application/x-executable"),
    (0, b"MZ", "application/x-msdownload"),
];

/// The content type of a file whose first bytes are `head` (at most [`SNIFF_BYTES`]
/// matter). Unknown binary content is `application/octet-stream`; UTF-8 text is
/// `text/plain` unless it is recognisably HTML, SVG, XML or JSON.
pub fn content_type(head: &[u8]) -> &'static str {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    for (offset, magic, mime) in SIGNATURES {
        if head.get(*offset..offset + magic.len()) == Some(*magic) {
            return mime;
        }
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" {
        match &head[8..12] {
            b"WEBP" => return "image/webp",
            b"WAVE" => return "audio/wav",
            b"AVI " => return "video/x-msvideo",
            _ => {}
        }
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"avif" | b"avis" => "image/avif",
            b"heic" | b"heix" | b"mif1" => "image/heic",
            b"qt  " => "video/quicktime",
            b"M4A " => "audio/mp4",
            _ => "video/mp4",
        };
    }
    text_type(head).unwrap_or("application/octet-stream")
}

/// For text: HTML, SVG, XML, JSON or plain text; `None` for binary content.
fn text_type(head: &[u8]) -> Option<&'static str> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // A multi-byte character cut at the end of the sample is still text.
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&head[..err.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
    {
        return None;
    }
    let start = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = start
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    // What a browser would treat as markup: the same openings its own sniffer looks for.
    const HTML_OPENINGS: &[&str] = &[
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<iframe",
        "<h1",
        "<div",
        "<font",
        "<table",
        "<a ",
        "<style",
        "<title",
        "<b>",
        "<br",
        "<p>",
        "<p ",
        "<!--",
    ];
    if lower.contains("<svg") {
        return Some("image/svg+xml");
    }
    if HTML_OPENINGS
        .iter()
        .any(|opening| lower.starts_with(opening))
    {
        return Some("text/html");
    }
    if lower.starts_with("<?xml") {
        return Some("application/xml");
    }
    if (start.starts_with('{') || start.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(text.trim()).is_ok()
    {
        return Some("application/json");
    }
    Some("text/plain")
}

/// Content types a browser shows inline without running anything: images (not SVG),
/// audio, video, PDF, plain text and JSON. Everything else is served as an attachment,
/// so an uploaded HTML, SVG or script file can never run on the API's origin.
pub fn is_inline_safe(mime: &str) -> bool {
    const SAFE: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
        "application/pdf",
        "text/plain",
        "application/json",
    ];
    SAFE.contains(&mime) || mime.starts_with("audio/") || mime.starts_with("video/")
}

/// The type of a file named `name` whose first bytes are `head`: the sniffed type
/// ([`content_type`]), refined by the name's extension (`mime_guess`) only where the
/// content cannot say more. Plain text may become another text type (`.css` →
/// `text/css`), unknown binary another non-text type, a ZIP archive a ZIP-based document
/// (`.docx`, `.odt`, `.epub`). A text file named `x.png` stays `text/plain`.
pub fn file_type(head: &[u8], name: &str) -> String {
    let sniffed = content_type(head);
    let Some(guess) = mime_guess::from_path(name).first() else {
        return sniffed.to_owned();
    };
    let guessed = guess.essence_str();
    let guessed_text = guess.type_() == mime_guess::mime::TEXT;
    let refine = match sniffed {
        "text/plain" => guessed_text,
        // Not to a type the content would have shown: junk named `x.png` is no PNG.
        "application/octet-stream" => !guessed_text && !is_sniffable(guessed),
        "application/zip" => ZIP_BASED.contains(&guessed),
        _ => false,
    };
    if refine { guessed } else { sniffed }.to_owned()
}

/// Whether [`content_type`] recognises `mime` from content alone.
fn is_sniffable(mime: &str) -> bool {
    SIGNATURES.iter().any(|(_, _, known)| *known == mime)
        || matches!(
            mime,
            "image/webp"
                | "audio/wav"
                | "video/x-msvideo"
                | "image/avif"
                | "image/heic"
                | "video/quicktime"
                | "audio/mp4"
                | "video/mp4"
                | "image/svg+xml"
        )
}

/// Document formats that are ZIP archives inside.
const ZIP_BASED: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/epub+zip",
    "application/java-archive",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_formats_are_known_by_their_signatures() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(b"\xff\xd8\xff\xe0..JFIF"), "image/jpeg");
        assert_eq!(content_type(b"GIF89a...."), "image/gif");
        assert_eq!(content_type(b"RIFF\x00\x00\x00\x00WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"%PDF-1.7"), "application/pdf");
        assert_eq!(content_type(b"\x00\x00\x00\x18ftypmp42"), "video/mp4");
        assert_eq!(
            content_type(&[0, 1, 2, 3, 0xff]),
            "application/octet-stream"
        );
        assert_eq!(content_type(b""), "text/plain");
    }

    #[test]
    fn text_is_told_apart_by_its_markup() {
        assert_eq!(content_type(b"hello, world\n"), "text/plain");
        assert_eq!(content_type("héllo".as_bytes()), "text/plain");
        assert_eq!(content_type(b"  <!DOCTYPE html><p>x"), "text/html");
        assert_eq!(content_type(b"<script>alert(1)</script>"), "text/html");
        assert_eq!(
            content_type(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            "image/svg+xml"
        );
        assert_eq!(
            content_type(b"<?xml version=\"1.0\"?><a/>"),
            "application/xml"
        );
        assert_eq!(content_type(b"{\"a\": 1}"), "application/json");
        // Cut inside a multi-byte character: still text.
        assert_eq!(content_type(&"é".as_bytes()[..1]), "text/plain");
    }

    #[test]
    fn only_passive_types_are_inline() {
        for safe in ["image/png", "video/mp4", "application/pdf", "text/plain"] {
            assert!(is_inline_safe(safe), "{safe}");
        }
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xml",
            "text/javascript",
            "application/octet-stream",
            "text/css",
        ] {
            assert!(!is_inline_safe(active), "{active}");
        }
    }

    #[test]
    fn names_refine_generic_content_only() {
        assert_eq!(file_type(b"body { }", "site.css"), "text/css");
        assert_eq!(file_type(b"notes", "notes.txt"), "text/plain");
        assert_eq!(file_type(b"\x89PNG\r\n\x1a\n", "x.html"), "image/png");
        // A binary named like text stays binary; text named like an image stays text.
        assert_eq!(file_type(&[0, 1, 2], "x.txt"), "application/octet-stream");
        assert_eq!(file_type(b"just text", "x.png"), "text/plain");
        assert_eq!(file_type(&[0, 1, 2], "a.mid"), "audio/mid");
        assert_eq!(
            file_type(&[0, 1, 2], "junk.png"),
            "application/octet-stream"
        );
        assert_eq!(
            file_type(b"PK\x03\x04....", "a.docx"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(file_type(b"PK\x03\x04....", "a.exe"), "application/zip");
    }
}
