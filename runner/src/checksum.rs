//! Checksums as S3 writes them (base64 of the big-endian digest), computed by streaming
//! over object content, never holding it: of one object or part, of a COMPOSITE upload
//! (the digest of the parts' digests, `-N`), and of a FULL_OBJECT upload (the parts' CRCs
//! combined, as a server does it without reading the object again).

use crate::content::Content;
use anyhow::{bail, Result};
use base64::Engine;
use crc_fast::CrcAlgorithm;

/// An algorithm of the model's ChecksumAlgorithm that the harness computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
    Sha512,
    Md5,
    Xxhash64,
    Xxhash3,
    Xxhash128,
}

impl Algorithm {
    pub const ALL: [Algorithm; 10] = [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Crc64Nvme,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
        Algorithm::Md5,
        Algorithm::Xxhash64,
        Algorithm::Xxhash3,
        Algorithm::Xxhash128,
    ];

    /// As the model spells it: `CRC32`, `CRC64NVME`, `XXHASH128`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
            Algorithm::Md5 => "MD5",
            Algorithm::Xxhash64 => "XXHASH64",
            Algorithm::Xxhash3 => "XXHASH3",
            Algorithm::Xxhash128 => "XXHASH128",
        }
    }

    pub fn parse(name: &str) -> Result<Algorithm> {
        match Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
        {
            Some(a) => Ok(a),
            None => bail!("checksum algorithm {name} is not one the harness computes"),
        }
    }

    /// The CRC behind it, for the algorithms whose values combine (FULL_OBJECT ones).
    fn crc(self) -> Option<CrcAlgorithm> {
        match self {
            Algorithm::Crc32 => Some(CrcAlgorithm::Crc32IsoHdlc),
            Algorithm::Crc32c => Some(CrcAlgorithm::Crc32Iscsi),
            Algorithm::Crc64Nvme => Some(CrcAlgorithm::Crc64Nvme),
            _ => None,
        }
    }

    /// Bytes of a CRC value on the wire: 4 for the 32-bit ones, 8 for CRC64NVME.
    fn crc_bytes(self, crc: u64) -> Vec<u8> {
        match self {
            Algorithm::Crc64Nvme => crc.to_be_bytes().to_vec(),
            _ => (crc as u32).to_be_bytes().to_vec(),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The raw digest of some bytes fed in pieces.
/// Something that feeds bytes, piece by piece, to the function it is given.
type Feed<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&[u8]));

fn digest_with(algorithm: Algorithm, feed: Feed) -> Vec<u8> {
    use sha2::Digest as _;
    if let Some(crc) = algorithm.crc() {
        let mut d = crc_fast::Digest::new(crc);
        feed(&mut |b| d.update(b));
        return algorithm.crc_bytes(d.finalize());
    }
    match algorithm {
        Algorithm::Sha1 => {
            let mut h = sha1::Sha1::new();
            feed(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        Algorithm::Sha256 => {
            let mut h = sha2::Sha256::new();
            feed(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        Algorithm::Sha512 => {
            let mut h = sha2::Sha512::new();
            feed(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        Algorithm::Md5 => {
            let mut h = md5::Md5::new();
            feed(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        Algorithm::Xxhash64 => {
            let mut h = xxhash_rust::xxh64::Xxh64::new(0);
            feed(&mut |b| h.update(b));
            h.digest().to_be_bytes().to_vec()
        }
        Algorithm::Xxhash3 => {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            feed(&mut |b| h.update(b));
            h.digest().to_be_bytes().to_vec()
        }
        Algorithm::Xxhash128 => {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            feed(&mut |b| h.update(b));
            h.digest128().to_be_bytes().to_vec()
        }
        Algorithm::Crc32 | Algorithm::Crc32c | Algorithm::Crc64Nvme => unreachable!("a CRC"),
    }
}

/// Bytes a checksum is taken of: object content (streamed) or bytes in memory.
pub trait Data {
    fn feed(&self, f: &mut dyn FnMut(&[u8]));
}

impl Data for Content {
    fn feed(&self, f: &mut dyn FnMut(&[u8])) {
        self.for_each_chunk(0, Content::len(self), f)
    }
}

impl Data for [u8] {
    fn feed(&self, f: &mut dyn FnMut(&[u8])) {
        f(self)
    }
}

impl Data for Vec<u8> {
    fn feed(&self, f: &mut dyn FnMut(&[u8])) {
        f(self)
    }
}

fn digest<D: Data + ?Sized>(algorithm: Algorithm, data: &D) -> Vec<u8> {
    digest_with(algorithm, &mut |f| data.feed(f))
}

/// The checksum of `bytes` under `algorithm` (as the model's ChecksumAlgorithm spells it).
pub fn of<D: Data + ?Sized>(algorithm: &str, bytes: &D) -> Result<String> {
    Ok(b64(&digest(Algorithm::parse(algorithm)?, bytes)))
}

/// A COMPOSITE upload's checksum: the digest of the parts' raw digests, then `-N`.
pub fn composite<D: Data>(algorithm: &str, parts: &[D]) -> Result<String> {
    let algorithm = Algorithm::parse(algorithm)?;
    let joined: Vec<u8> = parts.iter().flat_map(|p| digest(algorithm, p)).collect();
    let outer = digest_with(algorithm, &mut |f| f(&joined));
    Ok(format!("{}-{}", b64(&outer), parts.len()))
}

/// A FULL_OBJECT upload's checksum: the CRC of the whole object, combined from the parts'
/// CRCs (only CRCs combine: S3 offers FULL_OBJECT for CRC32, CRC32C and CRC64NVME only).
pub fn full_object<D: Data>(algorithm: &str, parts: &[D]) -> Result<String> {
    let a = Algorithm::parse(algorithm)?;
    let Some(crc) = a.crc() else {
        bail!("{algorithm} has no full-object checksum (only CRCs combine)")
    };
    let mut combined: Option<u64> = None;
    for part in parts {
        let mut d = crc_fast::Digest::new(crc);
        let mut len = 0u64;
        part.feed(&mut |b| {
            d.update(b);
            len += b.len() as u64;
        });
        let value = d.finalize();
        combined = Some(match combined {
            None => value,
            Some(acc) => crc_fast::checksum_combine(crc, acc, value, len),
        });
    }
    let value = combined.unwrap_or_else(|| crc_fast::checksum(crc, b""));
    Ok(b64(&a.crc_bytes(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }

    /// Values AWS itself answered (LocalStack's AWS-validated snapshots of
    /// test_s3.py::TestS3MultipartUploadChecksum and TestS3::test_get_object_part_checksum,
    /// recorded 2026-02-21).
    #[test]
    fn the_values_aws_recorded() {
        assert_eq!(of("CRC64NVME", &b"aaa"[..]).unwrap(), "Rnr2/5P7Gsk=");
        assert_eq!(of("CRC64NVME", &b"aaaa"[..]).unwrap(), "GC2rW8VclPA=");
        assert_eq!(of("CRC32C", &b"this is a part"[..]).unwrap(), "iqJrOQ==");
        assert_eq!(of("CRC32", &b"this is a part"[..]).unwrap(), "nG7pIA==");
        assert_eq!(of("CRC32C", &b"abc"[..]).unwrap(), "Nks/tw==");
        let part = literal(b"test content 123");
        assert_eq!(of("CRC32C", &part[..]).unwrap(), "fwuu0Q==");
        assert_eq!(composite("CRC32C", &[part]).unwrap(), "sZB91Q==-1");
        // The three parts of the recorded upload: 5242881, 5242881 and 10 bytes of `a`.
        let a = |n: usize| literal(&vec![b'a'; n]);
        let parts = [a(5242881), a(5242881), a(10)];
        assert_eq!(of("CRC32", &parts[2][..]).unwrap(), "TBHN8A==");
        assert_eq!(composite("CRC32", &parts).unwrap(), "5FRUiw==-3");
        assert_eq!(
            composite("SHA256", &parts).unwrap(),
            "9o++y6AejqboiJ7MZCx0fahK2Vu5YC/qnNhhYsCLciI=-3"
        );
        assert_eq!(full_object("CRC32", &parts).unwrap(), "qSEQSA==");
        assert_eq!(full_object("CRC32C", &parts).unwrap(), "eTdAQA==");
        assert_eq!(full_object("CRC64NVME", &parts).unwrap(), "ZMNX55lZurA=");
        assert!(full_object("SHA1", &parts).is_err());
    }

    #[test]
    fn streaming_and_the_sigv4_example_agree() {
        // AWS's SigV4 streaming example: 66560 bytes of `a`, trailer CRC32C sOO8/Q==.
        assert_eq!(of("CRC32C", &vec![b'a'; 66560][..]).unwrap(), "sOO8/Q==");
        let generated = Content::generated("src", 3 * crate::content::CHUNK as u64 + 11);
        let bytes = generated.to_vec();
        assert_eq!(
            of("SHA1", &generated).unwrap(),
            of("SHA1", &bytes[..]).unwrap()
        );
        assert!(of("MD4", &generated).is_err());
        for a in Algorithm::ALL {
            assert!(of(a.name(), &generated).is_ok(), "{a:?}");
        }
    }
}
