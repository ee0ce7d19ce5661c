//! The names the project gives things, and the one rule for each: target names (a
//! folder under reports/), case ids, libtest trial names, and model names in words.

/// A target's name becomes a folder under reports/ and the first part of trial names.
pub fn check_target_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?}: use letters, digits, '-', '_' and '.' only"
        ))
    }
}

/// The part of a case id after its family: letters, digits, '-', '_' or '.'.
pub fn check_case_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "case id {name:?} must be letters, digits, '-', '_' or '.'"
        ))
    }
}

/// Where a reference row is on docs/reference.md: `#r1` for row R1.
pub fn reference_anchor(row: &str) -> String {
    row.to_ascii_lowercase()
}

/// The libtest trial of a case against a target: `<target>::<case id>`.
pub fn trial_name(target: &str, case_id: &str) -> String {
    format!("{target}::{case_id}")
}

/// A model name in lower case with `sep` between its words, the rule the AWS SDKs and CLI
/// use: `SSECustomerKeyMD5` → `sse{sep}customer{sep}key{sep}md5`, `ETag` → `e{sep}tag`.
/// Codegen names fields with it (`_`), reproductions name CLI options (`-`).
pub fn join_words(name: &str, sep: char) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push(sep);
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_their_rules() {
        assert!(check_target_name("ceph-rgw").is_ok());
        assert!(check_target_name(".hidden").is_err());
        assert!(check_target_name("a/b").is_err());
        assert!(check_case_name("bytes_0-9").is_ok());
        assert!(check_case_name("").is_err());
        assert_eq!(join_words("SSECustomerKeyMD5", '-'), "sse-customer-key-md5");
        assert_eq!(join_words("ETag", '_'), "e_tag");
    }
}
