//! The content type of a file guessed from its name.
//!
//! A table of the common kinds a chat client sends (images, video, audio,
//! documents, archives) instead of a crate such as `mime_guess`: the
//! message kind (`m.image`, `m.video`, `m.audio`, `m.file`) only needs
//! the broad type, a server re-checks what it stores, and a caller who
//! knows better passes the type. Anything not listed is
//! `application/octet-stream`, which is always correct if unhelpful.

use std::path::Path;

/// The type sent when nothing better is known.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Extension (lowercase) → content type.
const TABLE: &[(&str, &str)] = &[
    // Images
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("apng", "image/apng"),
    ("svg", "image/svg+xml"),
    ("bmp", "image/bmp"),
    ("ico", "image/x-icon"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("heic", "image/heic"),
    ("heif", "image/heif"),
    // Video
    ("mp4", "video/mp4"),
    ("m4v", "video/mp4"),
    ("webm", "video/webm"),
    ("mov", "video/quicktime"),
    ("mkv", "video/x-matroska"),
    ("ogv", "video/ogg"),
    ("avi", "video/x-msvideo"),
    // Audio
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    // Text and documents
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("pdf", "application/pdf"),
    ("rtf", "application/rtf"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    // Archives
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    ("bz2", "application/x-bzip2"),
    ("xz", "application/x-xz"),
    ("zst", "application/zstd"),
];

/// The content type for a file named `path`, from its extension (any
/// case); [`OCTET_STREAM`] when the extension is missing or not known.
///
/// ```
/// use quotient_client::media::guess_content_type;
/// assert_eq!(guess_content_type("holiday/Beach.JPG".as_ref()), "image/jpeg");
/// assert_eq!(guess_content_type("notes".as_ref()), "application/octet-stream");
/// ```
pub fn guess_content_type(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return OCTET_STREAM;
    };
    TABLE
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(ext))
        .map_or(OCTET_STREAM, |(_, ty)| ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_kinds_are_known_and_the_rest_is_octet_stream() {
        let guess = |name: &str| guess_content_type(Path::new(name));
        assert_eq!(guess("a.png"), "image/png");
        assert_eq!(guess("A.PnG"), "image/png");
        assert_eq!(guess("clip.webm"), "video/webm");
        assert_eq!(guess("song.flac"), "audio/flac");
        assert_eq!(guess("report.final.pdf"), "application/pdf");
        assert_eq!(guess("archive.tar.gz"), "application/gzip");
        assert_eq!(guess("README"), OCTET_STREAM);
        assert_eq!(guess(".bashrc"), OCTET_STREAM);
        assert_eq!(guess("x.unknownext"), OCTET_STREAM);
        for (ext, ty) in TABLE {
            assert_eq!(*ext, ext.to_ascii_lowercase(), "lowercase keys");
            assert!(ty.contains('/'), "{ty}");
        }
    }
}
