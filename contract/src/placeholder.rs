//! Run-time placeholders: `{name.attribute}` in a case names something its setup made
//! (`{src.etag}`, `{up.id}`), resolved by the runner once the setup has run. Codegen
//! checks every one against this grammar and the setup steps; the runner resolves them
//! with the same parser.
//!
//! Grammar: `{` name `.` attribute [offset] `}` where an offset is `+N` or `-N` bytes on
//! `size` (`{src.size-1}`) or `+N`/`-N` with a unit s, m, h or d on a time
//! (`{src.last_modified+1d}`).

use std::time::{Duration, SystemTime};

/// A placeholder that does not follow the grammar, or names what the case lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarError(pub String);

impl std::fmt::Display for GrammarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GrammarError {}

impl From<GrammarError> for String {
    fn from(e: GrammarError) -> String {
        e.0
    }
}

fn fail<T>(message: String) -> Result<T, GrammarError> {
    Err(GrammarError(message))
}

/// What a name in a case stands for, which decides the attributes it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A bucket: the case's own (`bucket`) or one a `create-bucket` step made.
    Bucket,
    /// Names no case creates: `{missing.key}`, `{missing.upload_id}`, ….
    Missing,
    /// The case's SSE-C customer keys: `{sse.key}`, `{sse.other_key_md5}`, ….
    Sse,
    /// An object, or a part, that setup wrote.
    Object,
    /// A multipart upload that setup created.
    Upload,
}

/// Names every case has without a setup step.
pub const BUILT_IN: &[(&str, Kind)] = &[
    ("bucket", Kind::Bucket),
    ("missing", Kind::Missing),
    ("sse", Kind::Sse),
];

impl Kind {
    /// The attributes a placeholder may ask of a name of this kind.
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            Kind::Bucket => &["name"],
            Kind::Missing => &["bucket", "key", "upload_id", "version_id"],
            Kind::Sse => &["key", "key_md5", "other_key", "other_key_md5"],
            Kind::Object => &[
                "bucket",
                "key",
                "copy_source",
                "copy_source_version",
                "copy_source_delete_marker",
                "etag",
                "etag_unquoted",
                "version_id",
                "delete_marker",
                "last_modified",
                "last_modified_rfc3339",
                "size",
            ],
            // `{up.parts}` alone as a value is the part list of a Complete request.
            Kind::Upload => &["bucket", "key", "id", "parts", "size"],
        }
    }

    /// Attribute families that end in a checksum algorithm's name, in lower case:
    /// `{src.checksum_crc32}` (of the bytes; for an upload, its FULL_OBJECT value),
    /// `{up.composite_checksum_sha256}` (the COMPOSITE value, `…-N`).
    pub fn prefixed(self) -> &'static [&'static str] {
        match self {
            Kind::Object | Kind::Upload => &["checksum_", "composite_checksum_"],
            _ => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Bucket => "bucket",
            Kind::Missing => "missing",
            Kind::Sse => "sse",
            Kind::Object => "object",
            Kind::Upload => "upload",
        }
    }
}

/// A shift of a size or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// `{src.size-1}`: bytes.
    Bytes(i64),
    /// `{src.last_modified+1d}`: seconds, later or earlier.
    Seconds(i64),
}

impl Offset {
    /// A time moved by this offset (a byte offset is refused).
    pub fn shift(self, t: SystemTime) -> Result<SystemTime, GrammarError> {
        match self {
            Offset::Seconds(s) if s >= 0 => Ok(t + Duration::from_secs(s.unsigned_abs())),
            Offset::Seconds(s) => Ok(t - Duration::from_secs(s.unsigned_abs())),
            Offset::Bytes(_) => fail("a time offset needs a unit: s, m, h or d".into()),
        }
    }
}

/// One `{name.attribute[offset]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder<'a> {
    pub name: &'a str,
    pub attribute: &'a str,
    pub offset: Option<Offset>,
}

impl<'a> Placeholder<'a> {
    /// Parses what is between the braces.
    pub fn parse(inner: &'a str) -> Result<Placeholder<'a>, GrammarError> {
        let Some((name, rest)) = inner.split_once('.') else {
            return fail(format!(
                "placeholder {{{inner}}} must be {{name.attribute}}"
            ));
        };
        let (attribute, offset) = match rest.find(['+', '-']) {
            Some(i) => (&rest[..i], Some(parse_offset(&rest[i..])?)),
            None => (rest, None),
        };
        let word =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !word(name) || !word(attribute) {
            return fail(format!(
                "placeholder {{{inner}}} must be {{name.attribute}} (letters, digits, '_')"
            ));
        }
        let timed = attribute.starts_with("last_modified");
        match offset {
            Some(Offset::Bytes(_)) if attribute != "size" => fail(format!(
                "placeholder {{{inner}}}: only size takes a byte offset (times take +1d, -1h, …)"
            )),
            Some(Offset::Seconds(_)) if !timed => fail(format!(
                "placeholder {{{inner}}}: only last_modified takes a time offset"
            )),
            _ => Ok(Placeholder {
                name,
                attribute,
                offset,
            }),
        }
    }

    /// The checksum algorithm a prefixed attribute names (`checksum_crc32` → `crc32`) and
    /// whether it is the composite value.
    pub fn checksum(&self) -> Option<(&'a str, bool)> {
        if let Some(a) = self.attribute.strip_prefix("composite_checksum_") {
            return Some((a, true));
        }
        self.attribute.strip_prefix("checksum_").map(|a| (a, false))
    }

    /// Checks the name and attribute against what the case defines; `is_algorithm` says
    /// which checksum algorithms (in lower case) prefixed attributes may name.
    pub fn check(
        &self,
        kind_of: impl Fn(&str) -> Option<Kind>,
        is_algorithm: impl Fn(&str) -> bool,
    ) -> Result<(), GrammarError> {
        let Some(kind) = kind_of(self.name) else {
            return fail(format!(
                "placeholder {{{}.{}}}: no setup step defines {:?}",
                self.name, self.attribute, self.name
            ));
        };
        let prefixed = kind
            .prefixed()
            .iter()
            .any(|p| self.attribute.starts_with(p))
            && self.checksum().is_some_and(|(a, _)| is_algorithm(a));
        if !kind.attributes().contains(&self.attribute) && !prefixed {
            return fail(format!(
                "placeholder {{{}.{}}}: a {} has no attribute {:?} (has: {})",
                self.name,
                self.attribute,
                kind.name(),
                self.attribute,
                kind.attributes().join(", ")
            ));
        }
        Ok(())
    }
}

/// `+12`, `-1`, `+1d`, `-30m`.
fn parse_offset(text: &str) -> Result<Offset, GrammarError> {
    let (sign, rest) = text.split_at(1);
    let negative = sign == "-";
    let (digits, unit) = match rest.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => rest.split_at(i),
        None => (rest, ""),
    };
    let Ok(n) = digits.parse::<i64>() else {
        return fail(format!("offset {text:?} is not a number"));
    };
    let n = if negative { -n } else { n };
    let scale = match unit {
        "" => return Ok(Offset::Bytes(n)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return fail(format!("offset {text:?}: the unit must be s, m, h or d")),
    };
    Ok(Offset::Seconds(n * scale))
}

/// A text split into literal pieces and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Placeholder(Placeholder<'a>),
}

/// Every piece of a text, in order.
pub fn pieces(text: &str) -> Result<Vec<Piece<'_>>, GrammarError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}').map(|e| e + start) else {
            return fail(format!("unclosed placeholder in {text:?}"));
        };
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Placeholder(Placeholder::parse(
            &rest[start + 1..end],
        )?));
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// The text with every placeholder replaced by what `value` gives for it.
pub fn substitute<E: From<GrammarError>>(
    text: &str,
    mut value: impl FnMut(&Placeholder) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::new();
    for piece in pieces(text)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(p) => out.push_str(&value(&p)?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_reads_names_attributes_and_offsets() {
        let p = Placeholder::parse("src.size-1").unwrap();
        assert_eq!(
            (p.name, p.attribute, p.offset),
            ("src", "size", Some(Offset::Bytes(-1)))
        );
        let p = Placeholder::parse("src.last_modified+1d").unwrap();
        assert_eq!(p.offset, Some(Offset::Seconds(86400)));
        assert_eq!(Placeholder::parse("up.id").unwrap().offset, None);
        for bad in [
            "src",
            "src.",
            ".etag",
            "src.etag+1",
            "src.size+1d",
            "src.size+x",
        ] {
            assert!(Placeholder::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_split_and_substitute() {
        let text = "bytes={src.size-2}-{src.size-1}";
        assert_eq!(pieces(text).unwrap().len(), 4);
        let out: Result<String, String> = substitute(text, |p| Ok(format!("<{}>", p.attribute)));
        assert_eq!(out.unwrap(), "bytes=<size>-<size>");
        assert!(pieces("{unclosed").is_err());
    }

    #[test]
    fn names_are_checked_against_their_kind() {
        let kinds = |n: &str| (n == "src").then_some(Kind::Object);
        let algorithms = |a: &str| a == "crc32";
        let check = |text| Placeholder::parse(text).unwrap().check(kinds, algorithms);
        assert!(check("src.etag").is_ok());
        assert!(check("src.checksum_crc32").is_ok());
        assert!(check("src.composite_checksum_crc32").is_ok());
        assert!(check("src.checksum_crc7").is_err());
        let e = check("src.colour");
        assert!(e.unwrap_err().0.contains("no attribute"));
        let e = check("nosuch.etag");
        assert!(e.unwrap_err().0.contains("no setup step defines"));
    }
}
