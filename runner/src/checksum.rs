//! Checksums as S3 writes them (base64 of the big-endian digest), computed by streaming
//! over object content, never holding it.

use crate::content::Content;
use anyhow::{bail, Result};
use base64::Engine;

/// The checksum of `bytes` under `algorithm` (as the model's ChecksumAlgorithm spells it).
pub fn of(algorithm: &str, bytes: &Content) -> Result<String> {
    let all = |f: &mut dyn FnMut(&[u8])| bytes.for_each_chunk(0, bytes.len(), f);
    let digest = match algorithm {
        "CRC32" => {
            let mut h = crc32fast::Hasher::new();
            all(&mut |b| h.update(b));
            h.finalize().to_be_bytes().to_vec()
        }
        "CRC32C" => {
            let mut crc = 0;
            all(&mut |b| crc = crc32c::crc32c_append(crc, b));
            crc.to_be_bytes().to_vec()
        }
        "SHA1" => {
            use sha1::Digest;
            let mut h = sha1::Sha1::new();
            all(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        "SHA256" => {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            all(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        other => bail!("checksum algorithm {other} is not supported by the harness"),
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_by_streaming_are_those_of_the_bytes() {
        let c = Content::generated("src", 3 * crate::content::CHUNK as u64 + 11);
        let bytes = c.to_vec();
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        assert_eq!(
            of("CRC32", &c).unwrap(),
            b64(&crc32fast::hash(&bytes).to_be_bytes())
        );
        assert_eq!(
            of("CRC32C", &c).unwrap(),
            b64(&crc32c::crc32c(&bytes).to_be_bytes())
        );
        {
            use sha1::Digest;
            assert_eq!(of("SHA1", &c).unwrap(), b64(&sha1::Sha1::digest(&bytes)));
        }
        {
            use sha2::Digest;
            assert_eq!(
                of("SHA256", &c).unwrap(),
                b64(&sha2::Sha256::digest(&bytes))
            );
        }
        assert!(of("MD4", &c).is_err());
    }
}
