//! What generated/cases.json says about the cases the benchmark runs: how large their
//! sources are, and how many cases of a full run make large objects.

use serde_json::Value;
use std::path::Path;

/// The expanded cases, as codegen wrote them (empty when the file is missing).
pub struct Cases(Vec<Value>);

impl Cases {
    pub fn read(root: &Path) -> Cases {
        let cases = std::fs::read_to_string(root.join("generated/cases.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        Cases(cases)
    }

    /// The case of a trial name (`target::case-id`).
    fn case(&self, trial: &str) -> Option<&Value> {
        let id = trial.split_once("::").map_or(trial, |(_, id)| id);
        self.0.iter().find(|c| c["id"] == id)
    }

    /// The size of the largest object the case's setup writes with PutObject.
    pub fn source_bytes(&self, trial: &str) -> Option<u64> {
        self.case(trial)?["setup"]
            .as_array()?
            .iter()
            .filter(|s| s["do"] == "put-object")
            .filter_map(|s| s["size"].as_u64())
            .max()
    }

    /// The bytes the case's `CopySourceRange` (`bytes=A-B`) selects.
    pub fn range_bytes(&self, trial: &str) -> Option<u64> {
        let range = self.case(trial)?["input"]["CopySourceRange"].as_str()?;
        let (first, last) = range.strip_prefix("bytes=")?.split_once('-')?;
        let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
        last.checked_sub(first).map(|n| n + 1)
    }

    /// Cases of a full run (opt-in `large` ones are not) whose setup makes an object or a
    /// part of 5 MiB or more.
    pub fn large_object_cases(&self) -> usize {
        fn large(v: &Value, key: Option<&str>) -> bool {
            match v {
                Value::Object(m) => m.iter().any(|(k, v)| large(v, Some(k))),
                Value::Array(a) => a.iter().any(|v| large(v, key)),
                Value::Number(n) => {
                    matches!(key, Some("size" | "parts"))
                        && n.as_u64().is_some_and(|n| n >= 5 << 20)
                }
                _ => false,
            }
        }
        self.0
            .iter()
            .filter(|c| {
                !c["features"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == "large"))
            })
            .filter(|c| large(&c["setup"], None))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_from_the_setup_and_the_range() {
        let cases = Cases(vec![serde_json::json!({
            "id": "upload_part_copy/range/big",
            "features": ["range"],
            "setup": [{ "do": "put-object", "name": "big", "size": 6291456 }],
            "input": { "CopySourceRange": "bytes=0-5242879" },
        })]);
        let trial = "bench-s3s-fs::upload_part_copy/range/big";
        assert_eq!(cases.source_bytes(trial), Some(6 << 20));
        assert_eq!(cases.range_bytes(trial), Some(5 << 20));
        assert_eq!(cases.large_object_cases(), 1);
        assert_eq!(cases.source_bytes("x::other"), None);
    }
}
