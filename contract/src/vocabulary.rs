//! `suites/FEATURES.toml`: the words every case draws from, in the order the file gives
//! them (the matrix shows features in that order). Codegen rejects a word that is not
//! here; the matrix and reports read the same file through this module.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// Words with what each means, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Words(pub Vec<Word>);

#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub name: String,
    pub about: String,
    /// Cases with this feature run only when asked for (`--include-ignored`).
    pub opt_in: bool,
}

impl Words {
    pub fn get(&self, name: &str) -> Option<&Word> {
        self.0.iter().find(|w| w.name == name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|w| w.name.as_str())
    }

    /// Every word of `words` is one of these; the error lists the known ones.
    pub fn check(&self, kind: &str, words: &[String]) -> Result<()> {
        for w in words {
            if !self.contains(w) {
                bail!(
                    "unknown {kind} {w:?} (known: {})",
                    self.names().collect::<Vec<_>>().join(", ")
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vocabulary {
    /// What cases are about; the matrix's columns.
    pub features: Words,
    /// What a target must support for a case that requires it; probed once per run.
    pub capabilities: Words,
}

impl Vocabulary {
    pub fn load(path: &Path) -> Result<Vocabulary> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("malformed {}", path.display()))
    }
}

/// A word's entry: its meaning, or a table `{ about = "…", opt_in = true }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    About(String),
    Table {
        about: String,
        #[serde(default)]
        opt_in: bool,
    },
}

impl<'de> Deserialize<'de> for Words {
    /// Keeps the table's order (a map type would sort the keys).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Words, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Words;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of words")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Words, A::Error> {
                let mut words: Vec<Word> = Vec::new();
                while let Some((name, entry)) = map.next_entry::<String, Entry>()? {
                    let (about, opt_in) = match entry {
                        Entry::About(about) => (about, false),
                        Entry::Table { about, opt_in } => (about, opt_in),
                    };
                    words.push(Word {
                        name,
                        about,
                        opt_in,
                    });
                }
                Ok(Words(words))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_order_and_opt_in_marks() {
        let v: Vocabulary = toml::from_str(
            "[features]\nzeta = \"z\"\nalpha = { about = \"a\", opt_in = true }\n\
             [capabilities]\n",
        )
        .unwrap();
        assert_eq!(v.features.names().collect::<Vec<_>>(), ["zeta", "alpha"]);
        assert!(v.features.get("alpha").unwrap().opt_in);
        assert!(v.features.check("feature", &["beta".into()]).is_err());
        assert!(toml::from_str::<Vocabulary>("[features]\n[capabilities]\n[x]\n").is_err());
    }
}
