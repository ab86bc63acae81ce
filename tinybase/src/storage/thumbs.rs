//! Thumbnails of uploaded images (`?thumb=WxH`): made once, on first request, and kept in
//! the store beside other thumbnails of the same file, so later requests are plain reads.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, ImageReader, Limits};

use crate::{Error, Result};

/// The largest thumbnail side, in pixels.
pub const MAX_THUMB_SIDE: u32 = 2000;
/// What [`ThumbSize::parse`] accepts, as a regular expression for the API's schema: two
/// sides of at most [`MAX_THUMB_SIDE`] (leading zeros allowed), not both 0 — written as
/// "a non-zero width and any height, or a zero width and a non-zero height", without
/// look-around, so every regex engine clients use can read it.
pub const THUMB_PATTERN: &str = concat!(
    "^0*([1-9][0-9]{0,2}|1[0-9]{3}|2000)x0*([0-9]{1,3}|1[0-9]{3}|2000)$",
    "|^0+x0*([1-9][0-9]{0,2}|1[0-9]{3}|2000)$",
);
/// The most thumbnail sizes kept per file: any size may be asked for, so this bounds the
/// disk a client can fill by asking for many; later new sizes get the original image.
pub const MAX_THUMBS_PER_FILE: usize = 16;
/// The largest image a thumbnail is made from, in bytes; a larger one is served whole.
pub const MAX_SOURCE_BYTES: u64 = 32 * 1024 * 1024;
/// The largest decoded image, in pixels per side, and the memory decoding may take.
const MAX_DECODED_SIDE: u32 = 16_384;
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// JPEG thumbnails' quality (1–100).
const JPEG_QUALITY: u8 = 85;

/// Locks that make one thumbnail at a time per key: a key takes the lock of its hash, so a
/// fixed number of locks serves any number of keys (two keys rarely share one, and then
/// only wait for each other).
static MAKING: [tokio::sync::Mutex<()>; 64] = [const { tokio::sync::Mutex::const_new(()) }; 64];

/// Waits until no other request is making the thumbnail `key`, and holds it off until the
/// guard is dropped.
pub async fn making(key: &str) -> tokio::sync::MutexGuard<'static, ()> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    // The remainder is below 64, so it fits in usize and indexes the array.
    let slot = (hasher.finish() % MAKING.len() as u64) as usize;
    MAKING[slot].lock().await
}

/// A requested thumbnail size: `WxH` with one side 0 meaning "keep the aspect ratio".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbSize {
    /// Width in pixels; 0 follows the height.
    pub width: u32,
    /// Height in pixels; 0 follows the width.
    pub height: u32,
}

impl ThumbSize {
    /// Parses `100x100`, `0x300` or `300x0`.
    ///
    /// # Errors
    /// 400 naming the accepted form.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::bad_request(format!(
                "thumb must be WxH, e.g. 100x100 or 0x300 (each side at most {MAX_THUMB_SIDE}, \
                 not both 0)"
            ))
        };
        let (width, height) = text.split_once('x').ok_or_else(bad)?;
        let side = |s: &str| {
            s.parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_THUMB_SIDE && s.bytes().all(|b| b.is_ascii_digit()))
        };
        match (side(width), side(height)) {
            (Some(0), Some(0)) | (None, _) | (_, None) => Err(bad()),
            (Some(width), Some(height)) => Ok(Self { width, height }),
        }
    }

    /// The size as written in keys and URLs: `100x100`.
    pub fn label(self) -> String {
        format!("{}x{}", self.width, self.height)
    }
}

/// Whether thumbnails are made for content of type `mime`.
pub fn is_thumbable(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/webp" | "image/gif"
    )
}

/// A thumbnail of the image `source` (blocking: run it off the async executor). Both
/// sides given: scaled to cover the box and cropped to it, centred. One side 0: scaled to
/// the other side, aspect kept. JPEG stays JPEG; the others become PNG.
///
/// # Errors
/// 422 for content that does not decode as an image within the limits.
pub fn make(source: &[u8], size: ThumbSize) -> Result<Vec<u8>> {
    let mut reader = ImageReader::new(Cursor::new(source))
        .with_guessed_format()
        .map_err(|err| Error::internal(err.to_string()))?;
    let format = reader.format();
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|err| {
        Error::new(
            crate::ErrorKind::Validation,
            format!("cannot make a thumbnail: the image does not decode ({err})"),
        )
    })?;
    let (width, height) = (image.width().max(1), image.height().max(1));
    let resized = match (size.width, size.height) {
        (0, h) => image.resize(
            scaled(width, h, height),
            h,
            image::imageops::FilterType::Triangle,
        ),
        (w, 0) => image.resize(
            w,
            scaled(height, w, width),
            image::imageops::FilterType::Triangle,
        ),
        (w, h) => image.resize_to_fill(w, h, image::imageops::FilterType::Triangle),
    };
    let mut out = Cursor::new(Vec::new());
    let written = if format == Some(ImageFormat::Jpeg) {
        let encoder = JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        resized.to_rgb8().write_with_encoder(encoder)
    } else {
        resized.write_to(&mut out, ImageFormat::Png)
    };
    written.map_err(|err| Error::internal(format!("cannot encode a thumbnail: {err}")))?;
    Ok(out.into_inner())
}

/// `side * target / reference`, at least 1 pixel and within the thumbnail bound.
fn scaled(side: u32, target: u32, reference: u32) -> u32 {
    let value = u64::from(side) * u64::from(target) / u64::from(reference.max(1));
    u32::try_from(value)
        .unwrap_or(MAX_THUMB_SIDE)
        .clamp(1, MAX_THUMB_SIDE)
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, GenericImageView, RgbImage};

    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(RgbImage::new(width, height))
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    fn dimensions(bytes: &[u8]) -> (u32, u32) {
        image::load_from_memory(bytes).unwrap().dimensions()
    }

    #[test]
    fn sizes_parse_within_bounds() {
        assert_eq!(ThumbSize::parse("100x50").unwrap().label(), "100x50");
        assert_eq!(ThumbSize::parse("0x300").unwrap().width, 0);
        for bad in [
            "", "100", "0x0", "x100", "100x", "-1x5", "+1x5", "2001x1", "1x1x1", "axb",
        ] {
            assert!(ThumbSize::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ThumbSize::parse("0100x2000").unwrap().label(), "100x2000");
        // The schema's pattern spells the limit out; it must be this one.
        assert!(THUMB_PATTERN.contains(&format!("|{MAX_THUMB_SIDE})x")));
    }

    #[test]
    fn the_schema_pattern_accepts_exactly_what_parse_accepts() {
        let pattern = regex::Regex::new(THUMB_PATTERN).unwrap();
        let sides = [
            "", "0", "00", "1", "01", "9", "10", "99", "100", "0100", "999", "1000", "1999",
            "2000", "02000", "2001", "3000", "10000", "-1", "+1", "a", " 1",
        ];
        for width in sides {
            for height in sides {
                let text = format!("{width}x{height}");
                assert_eq!(
                    pattern.is_match(&text),
                    ThumbSize::parse(&text).is_ok(),
                    "{text}"
                );
            }
        }
        for text in ["", "x", "100", "1x1x1", "100X100"] {
            assert!(
                !pattern.is_match(text) && ThumbSize::parse(text).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn thumbnails_fill_or_keep_the_aspect_ratio() {
        let source = png(400, 200);
        assert_eq!(
            dimensions(
                &make(
                    &source,
                    ThumbSize {
                        width: 100,
                        height: 100
                    }
                )
                .unwrap()
            ),
            (100, 100)
        );
        assert_eq!(
            dimensions(
                &make(
                    &source,
                    ThumbSize {
                        width: 0,
                        height: 50
                    }
                )
                .unwrap()
            ),
            (100, 50)
        );
        assert_eq!(
            dimensions(
                &make(
                    &source,
                    ThumbSize {
                        width: 40,
                        height: 0
                    }
                )
                .unwrap()
            ),
            (40, 20)
        );
    }

    #[test]
    fn content_that_is_no_image_is_refused() {
        let err = make(
            b"not an image",
            ThumbSize {
                width: 10,
                height: 10,
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Validation);
    }
}
