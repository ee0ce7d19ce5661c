//! aws-chunked bodies, as today's SDKs send uploads: `STREAMING-UNSIGNED-PAYLOAD-TRAILER`
//! (chunks, then a trailing checksum), and the signed forms
//! `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (every chunk signed) and its `-TRAILER` variant
//! (the trailer signed too). aws-sigv4 signs the seed, each chunk and the trailer; the
//! framing is written here, and tested against the example in AWS's SigV4 streaming
//! documentation.

use anyhow::{bail, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use contract::{Streaming, StreamingFault, StreamingForm};
use std::time::SystemTime;

/// What signing needs besides the request.
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<String>,
    pub region: &'a str,
    pub time: SystemTime,
}

impl Signer<'_> {
    fn identity(&self) -> Identity {
        Credentials::new(
            self.access_key,
            self.secret_key,
            self.session_token.clone(),
            None,
            "conformance",
        )
        .into()
    }
}

/// S3's SigV4: single URI encoding, no path normalisation, `x-amz-content-sha256`.
pub fn s3_settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings
}

/// The trailing header: `x-amz-checksum-crc32` and its value.
pub struct Trailer {
    pub name: String,
    pub value: String,
}

/// The headers an aws-chunked body needs, before signing: content-encoding, the decoded
/// length (unless the fault leaves it out or gets it wrong), the trailer's name, and the
/// encoded length.
pub fn headers(
    spec: &Streaming,
    decoded_len: u64,
    trailer: Option<&Trailer>,
) -> Result<Vec<(String, String)>> {
    if spec.chunk == 0 {
        bail!("streaming: the chunk size must be positive");
    }
    if spec.form.has_trailer() != trailer.is_some() {
        bail!(
            "streaming: the {:?} form takes a trailer exactly when it names one",
            spec.form
        );
    }
    let mut out = vec![("content-encoding".to_string(), "aws-chunked".to_string())];
    match spec.fault {
        Some(StreamingFault::NoDecodedLength) => {}
        Some(StreamingFault::WrongDecodedLength) => out.push((
            "x-amz-decoded-content-length".into(),
            decoded_len.saturating_sub(1).to_string(),
        )),
        _ => out.push((
            "x-amz-decoded-content-length".into(),
            decoded_len.to_string(),
        )),
    }
    if let Some(t) = trailer {
        out.push(("x-amz-trailer".into(), t.name.clone()));
    }
    // Signatures are 64 hex digits whatever they are: the length is known before them.
    let length = frame(spec, &[0u8; 0][..], decoded_len, trailer, &mut |_| {
        Ok("0".repeat(64))
    })?
    .len();
    out.push(("content-length".into(), length.to_string()));
    Ok(out)
}

/// Signs the request (whose headers include those of [`headers`]) with the form's payload
/// value, and returns the aws-chunked body: each chunk signed in turn from the seed
/// signature, then the trailer (signed in the `-TRAILER` form).
pub fn sign_and_frame(
    request: &mut http::Request<Vec<u8>>,
    signer: &Signer,
    spec: &Streaming,
    data: &[u8],
    trailer: Option<&Trailer>,
) -> Result<Vec<u8>> {
    let identity = signer.identity();
    let params = || {
        v4::SigningParams::builder()
            .identity(&identity)
            .region(signer.region)
            .name("s3")
            .time(signer.time)
            .settings(s3_settings())
            .build()
    };
    let body = match spec.form {
        StreamingForm::UnsignedTrailer => SignableBody::StreamingUnsignedPayloadTrailer,
        // aws-sigv4 has no variant for the plain signed form; its value signs the same.
        StreamingForm::Signed => SignableBody::Precomputed(spec.form.payload().into()),
        StreamingForm::SignedTrailer => SignableBody::StreamingSignedPayloadTrailer,
    };
    let uri = request.uri().to_string();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .map(|(k, v)| Ok((k.as_str(), std::str::from_utf8(v.as_bytes())?)))
        .collect::<Result<_>>()?;
    let signable =
        SignableRequest::new(request.method().as_str(), &uri, headers.into_iter(), body)?;
    let (instructions, seed) = sign(signable, &params()?.into())?.into_parts();
    let params = params()?;
    instructions.apply_to_request_http1x(request);
    let mut running = seed;
    let wrong_signature = spec.fault == Some(StreamingFault::WrongChunkSignature);
    let mut first = true;
    frame(spec, data, data.len() as u64, trailer, &mut |piece| {
        let signature = match piece {
            Piece::Chunk(chunk) => {
                let chunk = bytes::Bytes::copy_from_slice(chunk);
                v4::sign_chunk(&chunk, &running, &params)?.into_parts().1
            }
            Piece::Trailer(t) => {
                let mut headers = aws_smithy_runtime_api::http::Headers::new();
                headers.insert(t.name.clone(), t.value.clone());
                v4::sign_trailer(&headers, &running, &params)?
                    .into_parts()
                    .1
            }
        };
        running = signature.clone();
        if std::mem::take(&mut first) && wrong_signature {
            // The chunk's signature with one digit changed: well-formed, not its own.
            let flipped = if signature.starts_with('0') { "1" } else { "0" };
            return Ok(format!("{flipped}{}", &signature[1..]));
        }
        Ok(signature)
    })
}

/// What a signature is taken of.
enum Piece<'a> {
    Chunk(&'a [u8]),
    Trailer(&'a Trailer),
}

/// Writes the body: `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n` for each chunk and
/// the final empty one, then the trailer line (and its signature line), then `\r\n`.
/// `data` may be empty to measure a body of `len` bytes.
fn frame(
    spec: &Streaming,
    data: &[u8],
    len: u64,
    trailer: Option<&Trailer>,
    sign: &mut dyn FnMut(Piece) -> Result<String>,
) -> Result<Vec<u8>> {
    let signed = spec.form.signed();
    let mut out = Vec::new();
    let mut offset = 0u64;
    loop {
        let size = spec.chunk.min(len - offset);
        let chunk = match data.is_empty() {
            true => &[][..],
            false => &data[offset as usize..(offset + size) as usize],
        };
        out.extend_from_slice(format!("{size:x}").as_bytes());
        if signed {
            // A measuring pass signs nothing it would need to be right.
            let piece = Piece::Chunk(chunk);
            out.extend_from_slice(format!(";chunk-signature={}", sign(piece)?).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if size == 0 {
            break;
        }
        if data.is_empty() {
            out.resize(out.len() + size as usize, 0);
        } else {
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(b"\r\n");
        offset += size;
    }
    match trailer {
        Some(t) => {
            out.extend_from_slice(format!("{}:{}\r\n", t.name, t.value).as_bytes());
            if signed {
                let signature = sign(Piece::Trailer(t))?;
                out.extend_from_slice(
                    format!("x-amz-trailer-signature:{signature}\r\n").as_bytes(),
                );
            }
            out.extend_from_slice(b"\r\n");
        }
        // The final chunk's empty data ends with its own CRLF.
        None => out.extend_from_slice(b"\r\n"),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// The example of AWS's SigV4 streaming pages ("Example: PUT Object"): 66560 bytes of
    /// `a` in chunks of 64 KiB, signed at 20130524T000000Z with the documentation's keys.
    fn example(
        form: StreamingForm,
        trailer: Option<&Trailer>,
        content_length: Option<usize>,
    ) -> (String, Vec<u8>) {
        let spec = Streaming {
            form,
            trailer: None,
            chunk: 65536,
            fault: None,
        };
        let data = vec![b'a'; 66560];
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri("https://s3.amazonaws.com/examplebucket/chunkObject.txt")
            .header("host", "s3.amazonaws.com")
            .header("x-amz-storage-class", "REDUCED_REDUNDANCY")
            .header("content-encoding", "aws-chunked")
            .header("x-amz-decoded-content-length", "66560");
        if let Some(t) = trailer {
            builder = builder.header("x-amz-trailer", t.name.as_str());
        }
        if let Some(n) = content_length {
            builder = builder.header("content-length", n.to_string());
        }
        let mut request = builder.body(Vec::new()).unwrap();
        let signer = Signer {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            time: UNIX_EPOCH + Duration::from_secs(1369353600),
        };
        let body = sign_and_frame(&mut request, &signer, &spec, &data, trailer).unwrap();
        let authorization = request.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_string();
        (authorization, body)
    }

    fn text(body: &[u8]) -> String {
        String::from_utf8_lossy(body).replace(&"a".repeat(1024), "")
    }

    #[test]
    fn the_signed_example_of_the_documentation() {
        let (authorization, body) = example(StreamingForm::Signed, None, Some(66824));
        assert!(
            authorization.ends_with(
                "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
            ),
            "{authorization}"
        );
        assert_eq!(body.len(), 66824);
        let body = text(&body);
        for signature in [
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
            "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
            "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
        ] {
            assert!(body.contains(signature), "{signature}");
        }
    }

    #[test]
    fn the_signed_trailer_example_of_the_documentation() {
        let trailer = Trailer {
            name: "x-amz-checksum-crc32c".into(),
            value: "sOO8/Q==".into(),
        };
        let (authorization, body) = example(StreamingForm::SignedTrailer, Some(&trailer), None);
        assert!(
            authorization.ends_with(
                "Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
            ),
            "{authorization}"
        );
        assert_eq!(body.len(), 66946);
        let body = text(&body);
        assert!(body.ends_with(
            "0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n\
             x-amz-checksum-crc32c:sOO8/Q==\r\n\
             x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
        ), "{body}");
    }

    #[test]
    fn the_unsigned_trailer_form_and_the_measured_length() {
        let spec = Streaming {
            form: StreamingForm::UnsignedTrailer,
            trailer: Some("CRC32".into()),
            chunk: 8192,
            fault: Some(StreamingFault::WrongDecodedLength),
        };
        let trailer = Trailer {
            name: "x-amz-checksum-crc32".into(),
            value: "AAAAAA==".into(),
        };
        let data = vec![7u8; 10000];
        let headers = headers(&spec, data.len() as u64, Some(&trailer)).unwrap();
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("x-amz-decoded-content-length").as_deref(), Some("9999"));
        let body = frame(&spec, &data, 10000, Some(&trailer), &mut |_| unreachable!()).unwrap();
        assert_eq!(get("content-length"), Some(body.len().to_string()));
        let head = String::from_utf8_lossy(&body[..6]).to_string();
        assert_eq!(head, "2000\r\n");
        assert!(String::from_utf8_lossy(&body)
            .ends_with("\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"));
    }
}
