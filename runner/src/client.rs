//! Sends a generated `HttpRequest` to the target: SigV4 signing (aws-sigv4, S3 settings),
//! path-style or virtual-hosted addressing, time limits, no retries (a retry would hide
//! what the server did).

use crate::content::{Content, ContentBody, Difference, StreamCheck};
use anyhow::{Context, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest};
use aws_sigv4::sign::v4;
use contract::{Dialect, Signing, Streaming, StreamingFault};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};
use wire::{HttpRequest, HttpResponse};

/// How bucket names go into URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Addressing {
    /// `http://host/bucket/key`
    Path,
    /// `http://bucket.host/key`
    Virtual,
}

/// Where and as whom requests go.
#[derive(Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:9000` (no trailing slash).
    pub url: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    pub addressing: Addressing,
    pub dialect: Dialect,
}

impl std::fmt::Debug for Endpoint {
    // Never print the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("region", &self.region)
            .field("addressing", &self.addressing)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    /// Bodies larger than this are cut (a server must not make the harness run out of memory).
    max_body: usize,
}

/// A request that got no HTTP response.
#[derive(Debug)]
pub struct TransportError {
    pub message: String,
    /// No connection could be made, or none answered in time: the target may be down.
    pub unreachable: bool,
}

impl TransportError {
    fn new(message: String) -> TransportError {
        TransportError {
            message,
            unreachable: false,
        }
    }
}

impl std::error::Error for TransportError {}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Client {
    pub fn new(endpoint: Endpoint, request_timeout: Duration, insecure: bool) -> Result<Client> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(insecure)
            .timeout(request_timeout)
            .connect_timeout(request_timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Client {
            http,
            endpoint,
            max_body: 256 << 20,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The URL and Host header a request goes to.
    fn locate(&self, request: &HttpRequest) -> Result<(String, String), TransportError> {
        let base = reqwest::Url::parse(&self.endpoint.url)
            .map_err(|e| TransportError::new(format!("bad endpoint URL: {e}")))?;
        let host = base.host_str().unwrap_or_default().to_string();
        let authority = match base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let path_and_query = request.path_and_query();
        match self.endpoint.addressing {
            Addressing::Path => Ok((
                format!("{}://{authority}{path_and_query}", base.scheme()),
                authority,
            )),
            Addressing::Virtual => {
                // The model's paths start with the bucket label: move it into the host.
                let rest = path_and_query.trim_start_matches('/');
                let (bucket, tail) = match rest.find(['/', '?']) {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, ""),
                };
                let tail = if tail.starts_with('/') {
                    tail.to_string()
                } else {
                    format!("/{tail}")
                };
                let host = format!("{bucket}.{authority}");
                Ok((format!("{}://{host}{tail}", base.scheme()), host))
            }
        }
    }

    pub async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.send_signed(request, None).await
    }

    /// Sends with a signing fault (`None`: signed normally).
    pub async fn send_signed(
        &self,
        request: &HttpRequest,
        signing: Option<&Signing>,
    ) -> Result<HttpResponse, TransportError> {
        Ok(self.exchange(request, signing, None, None).await?.0)
    }

    /// Sends `content` as the body, produced while it is sent (the request's own body is
    /// ignored) and signed with UNSIGNED-PAYLOAD: for setup uploads, whose body is not what
    /// a case tests.
    pub async fn send_content(
        &self,
        request: &HttpRequest,
        content: &Content,
    ) -> Result<HttpResponse, TransportError> {
        Ok(self.exchange(request, None, Some(content), None).await?.0)
    }

    /// Sends a request whose 2xx body should be `expected`, and compares it chunk by chunk
    /// as it arrives instead of keeping it: the response comes back without a body, with
    /// what differed. Other statuses are read as [`send`](Self::send) reads them.
    pub async fn send_checked(
        &self,
        request: &HttpRequest,
        expected: &Content,
    ) -> Result<(HttpResponse, Option<Difference>), TransportError> {
        self.exchange(request, None, None, Some(expected)).await
    }

    async fn exchange(
        &self,
        request: &HttpRequest,
        signing: Option<&Signing>,
        body: Option<&Content>,
        expected: Option<&Content>,
    ) -> Result<(HttpResponse, Option<Difference>), TransportError> {
        let oss_request;
        let request = match self.endpoint.dialect {
            Dialect::Aws => request,
            Dialect::Oss => {
                oss_request = crate::oss::to_oss(request);
                &oss_request
            }
        };
        let (url, host) = self.locate(request)?;
        let mut signed = self
            .sign_payload(request, &url, &host, signing, body.map(Content::len))
            .map_err(|e| TransportError::new(format!("cannot sign the request: {e:#}")))?;
        if let Some(content) = body {
            *signed.body_mut() = Some(reqwest::Body::wrap(ContentBody::new(content.clone())));
        }
        self.execute(signed, expected).await
    }

    /// Sends `data` as an aws-chunked body in the form `spec` says (SigV4 only: the OSS
    /// dialect has no streaming forms), with a trailing checksum for the trailer forms.
    pub async fn send_streaming(
        &self,
        request: &HttpRequest,
        data: &[u8],
        spec: &Streaming,
    ) -> Result<HttpResponse, TransportError> {
        let fail =
            |e: anyhow::Error| TransportError::new(format!("cannot sign the request: {e:#}"));
        if self.endpoint.dialect == Dialect::Oss {
            return Err(fail(anyhow::anyhow!(
                "the oss dialect sends no aws-chunked bodies"
            )));
        }
        let trailer = match &spec.trailer {
            Some(algorithm) => Some(trailer(algorithm, data, spec.fault).map_err(fail)?),
            None => None,
        };
        let mut request = request.clone();
        for (name, value) in
            crate::streaming::headers(spec, data.len() as u64, trailer.as_ref()).map_err(fail)?
        {
            request.set_header(&name, &value);
        }
        let (url, host) = self.locate(&request)?;
        let (mut http_request, _) =
            http_request(&request, &url, &host, None, None).map_err(fail)?;
        let signer = crate::streaming::Signer {
            access_key: &self.endpoint.access_key,
            secret_key: &self.endpoint.secret_key,
            session_token: self.endpoint.session_token.clone(),
            region: &self.endpoint.region,
            time: SystemTime::now(),
        };
        let body = crate::streaming::sign_and_frame(
            &mut http_request,
            &signer,
            spec,
            data,
            trailer.as_ref(),
        )
        .map_err(fail)?;
        *http_request.body_mut() = body;
        let signed = reqwest::Request::try_from(http_request).map_err(|e| fail(e.into()))?;
        Ok(self.execute(signed, None).await?.0)
    }

    /// Sends a signed request and reads the answer (comparing a 2xx body with `expected`
    /// as it arrives, when given).
    async fn execute(
        &self,
        mut signed: reqwest::Request,
        expected: Option<&Content>,
    ) -> Result<(HttpResponse, Option<Difference>), TransportError> {
        // HTTP/1.1 keeps connections open by default, but LocalStack's gateway closes each
        // one unless the request asks for keep-alive: a connection per request costs both
        // sides more than the request itself. Not signed (hop-by-hop).
        signed
            .headers_mut()
            .entry(reqwest::header::CONNECTION)
            .or_insert(reqwest::header::HeaderValue::from_static("keep-alive"));
        // `--trace`: what was sent, kept before the request is consumed.
        let traced = crate::trace::active().then(|| {
            (
                signed.method().to_string(),
                signed.url().to_string(),
                signed.headers().clone(),
                signed.body().and_then(|b| b.as_bytes()).map(<[u8]>::to_vec),
            )
        });
        let trace = |answer: crate::trace::Answer<'_>| {
            if let Some((method, url, headers, body)) = &traced {
                let sent = crate::trace::Sent {
                    method,
                    url,
                    headers,
                    body: body.as_deref(),
                };
                crate::trace::record(&sent, answer);
            }
        };
        let response = match self.http.execute(signed).await {
            Ok(response) => response,
            Err(e) => {
                let message = describe_reqwest_error(&e);
                trace(Err(&message));
                return Err(TransportError {
                    message,
                    unreachable: e.is_connect() || e.is_timeout(),
                });
            }
        };
        let status = response.status().as_u16();
        let raw_headers = traced.is_some().then(|| {
            let headers = response.headers().iter();
            headers
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect::<Vec<(String, String)>>()
        });
        let headers = model_headers(self.endpoint.dialect, response.headers());
        let check = expected
            .filter(|_| (200..300).contains(&status))
            .map(StreamCheck::new);
        let read = self.read_body(response, check, expected).await;
        match &read {
            Ok((body, _)) => trace(Ok((status, raw_headers.as_deref().unwrap_or(&[]), body))),
            Err(e) => trace(Err(&format!("{status}, then reading the body: {e}"))),
        }
        let (body, difference) = read?;
        Ok((
            HttpResponse {
                status,
                headers,
                body,
            },
            difference,
        ))
    }

    /// Reads a body whole (bounded by `max_body`), or compares it as it arrives with the
    /// content it should be (`check`), holding none of it.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        mut check: Option<StreamCheck<'_>>,
        expected: Option<&Content>,
    ) -> Result<(Vec<u8>, Option<Difference>), TransportError> {
        let mut body = Vec::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    return Err(TransportError::new(format!(
                        "reading the body: {}",
                        describe_reqwest_error(&e)
                    )))
                }
            };
            match &mut check {
                // Checked as it comes; past the expected length only so far.
                Some(check) => {
                    if check.received() + chunk.len() as u64
                        > expected.map_or(0, Content::len) + self.max_body as u64
                    {
                        return Err(TransportError::new(format!(
                            "response body more than {} bytes longer than expected",
                            self.max_body
                        )));
                    }
                    check.feed(&chunk);
                }
                None => {
                    if body.len() + chunk.len() > self.max_body {
                        return Err(TransportError::new(format!(
                            "response body larger than {} bytes",
                            self.max_body
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
        Ok((body, check.and_then(StreamCheck::finish)))
    }

    #[cfg(test)]
    fn sign(
        &self,
        request: &HttpRequest,
        url: &str,
        host: &str,
        signing: Option<&Signing>,
    ) -> Result<reqwest::Request> {
        self.sign_payload(request, url, host, signing, None)
    }

    /// Signs a request; `streamed` is the length of a body sent in its place, whose
    /// payload is then UNSIGNED-PAYLOAD (the body itself is attached after signing).
    fn sign_payload(
        &self,
        request: &HttpRequest,
        url: &str,
        host: &str,
        signing: Option<&Signing>,
        streamed: Option<u64>,
    ) -> Result<reqwest::Request> {
        let unsigned_header = match signing {
            Some(Signing::HeaderNotSigned(name)) => Some(name.to_ascii_lowercase()),
            _ => None,
        };
        let (mut http_request, late_headers) =
            http_request(request, url, host, unsigned_header.as_deref(), streamed)?;
        if signing == Some(&Signing::Unsigned) {
            return Ok(reqwest::Request::try_from(http_request)?);
        }
        let secret = match signing {
            Some(Signing::WrongSecret) => format!("{}x", self.endpoint.secret_key),
            _ => self.endpoint.secret_key.clone(),
        };
        match self.endpoint.dialect {
            Dialect::Oss => self.sign_oss(
                request,
                &mut http_request,
                &secret,
                unsigned_header.as_deref(),
            )?,
            Dialect::Aws => {
                let payload = match streamed {
                    Some(_) => SignableBody::UnsignedPayload,
                    None => SignableBody::Precomputed(hex::encode(Sha256::digest(&request.body))),
                };
                self.sign_sigv4(request.method, url, &mut http_request, &secret, payload)?
            }
        }
        // Sent, but after signing: the signature does not cover it.
        for (name, value) in late_headers {
            http_request.headers_mut().append(name, value);
        }
        Ok(reqwest::Request::try_from(http_request)?)
    }

    /// The OSS header signature (oss.rs) over the request as the dialect writes it.
    fn sign_oss(
        &self,
        request: &HttpRequest,
        http_request: &mut http::Request<Vec<u8>>,
        secret: &str,
        unsigned_header: Option<&str>,
    ) -> Result<()> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let mut signed = request.clone();
        signed.set_header("date", &date);
        if let Some(token) = &self.endpoint.session_token {
            signed.set_header("x-oss-security-token", token);
        }
        if let Some(name) = unsigned_header {
            signed.remove_header(name);
        }
        let authorization =
            crate::oss::authorization(&signed, &self.endpoint.access_key, secret, &date);
        let headers = http_request.headers_mut();
        headers.insert("date", http::HeaderValue::from_str(&date)?);
        if let Some(token) = &self.endpoint.session_token {
            headers.insert("x-oss-security-token", http::HeaderValue::from_str(token)?);
        }
        headers.insert(
            "authorization",
            http::HeaderValue::from_str(&authorization)?,
        );
        Ok(())
    }

    /// SigV4 as S3 wants it: single URI encoding, no path normalisation,
    /// `x-amz-content-sha256`.
    fn sign_sigv4(
        &self,
        method: &str,
        url: &str,
        http_request: &mut http::Request<Vec<u8>>,
        secret: &str,
        payload: SignableBody,
    ) -> Result<()> {
        let credentials = Credentials::new(
            &self.endpoint.access_key,
            secret,
            self.endpoint.session_token.clone(),
            None,
            "conformance",
        );
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.endpoint.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(crate::streaming::s3_settings())
            .build()?
            .into();
        let headers: Vec<(&str, &str)> = http_request
            .headers()
            .iter()
            .map(|(k, v)| Ok((k.as_str(), std::str::from_utf8(v.as_bytes())?)))
            .collect::<Result<_>>()?;
        let signable = SignableRequest::new(method, url, headers.into_iter(), payload)?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        instructions.apply_to_request_http1x(http_request);
        Ok(())
    }
}

/// The trailing checksum of `data`, or the wrong one the fault asks for.
fn trailer(
    algorithm: &str,
    data: &[u8],
    fault: Option<StreamingFault>,
) -> anyhow::Result<crate::streaming::Trailer> {
    let value = match fault {
        Some(StreamingFault::WrongTrailer) => crate::checksum::of(algorithm, &b"bad data"[..])?,
        Some(StreamingFault::MalformedTrailer) => "AAAA".to_string(),
        _ => crate::checksum::of(algorithm, data)?,
    };
    Ok(crate::streaming::Trailer {
        name: format!("x-amz-checksum-{}", algorithm.to_ascii_lowercase()),
        value,
    })
}

/// Response headers under the model's names: OSS's `x-oss-` headers read as `x-amz-`.
fn model_headers(dialect: Dialect, headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let name = match (dialect, k.as_str().strip_prefix("x-oss-")) {
                (Dialect::Oss, Some(rest)) => format!("x-amz-{rest}"),
                _ => k.as_str().to_string(),
            };
            (name, String::from_utf8_lossy(v.as_bytes()).into_owned())
        })
        .collect()
}

/// A late header: sent, but added after the request is signed.
type LateHeader = (http::HeaderName, http::HeaderValue);

/// The request as http wants it, not yet signed; the header `unsigned_header` names is
/// held back, to be added after signing.
fn http_request(
    request: &HttpRequest,
    url: &str,
    host: &str,
    unsigned_header: Option<&str>,
    streamed: Option<u64>,
) -> Result<(http::Request<Vec<u8>>, Vec<LateHeader>)> {
    let mut builder = http::Request::builder()
        .method(request.method)
        .uri(url)
        .header("host", host);
    let mut late_headers = Vec::new();
    for (name, value) in &request.headers {
        let value = http::HeaderValue::from_bytes(value.as_bytes())?;
        if unsigned_header == Some(name.to_ascii_lowercase().as_str()) {
            late_headers.push((http::HeaderName::from_bytes(name.as_bytes())?, value));
        } else {
            builder = builder.header(name.as_str(), value);
        }
    }
    if let Some(name) = unsigned_header {
        if late_headers.is_empty() {
            anyhow::bail!("header-not-signed names {name}, which the request does not carry");
        }
    }
    // As the SDKs do: an empty PUT or POST still says Content-Length: 0 (Ceph RGW
    // answers 411 without it).
    if let Some(len) = streamed {
        builder = builder.header("content-length", len.to_string());
    } else if request.body.is_empty() && matches!(request.method, "PUT" | "POST") {
        builder = builder.header("content-length", "0");
    }
    let http_request = match streamed {
        Some(_) => builder.body(Vec::new())?,
        None => builder.body(request.body.clone())?,
    };
    Ok((http_request, late_headers))
}

/// One line that says what went wrong on the wire, without URLs full of query strings.
fn describe_reqwest_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else if e.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut cause = String::new();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use generated::operations::UploadPartCopyInput;

    fn client(dialect: Dialect) -> Client {
        let endpoint = Endpoint {
            url: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            access_key: "AKID".into(),
            secret_key: "secret".into(),
            session_token: None,
            addressing: Addressing::Path,
            dialect,
        };
        Client::new(endpoint, Duration::from_secs(1), false).unwrap()
    }

    fn copy_request() -> HttpRequest {
        UploadPartCopyInput {
            bucket: Some("b".into()),
            key: Some("dest key".into()),
            upload_id: Some("up1".into()),
            part_number: Some(1),
            copy_source: Some("b/src".into()),
            copy_source_range: Some("bytes=0-9".into()),
            ..Default::default()
        }
        .build()
        .unwrap()
    }

    fn header<'a>(request: &'a reqwest::Request, name: &str) -> Option<&'a str> {
        request.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn the_oss_dialect_renames_headers_and_signs_the_oss_way() {
        let client = client(Dialect::Oss);
        let request = crate::oss::to_oss(&copy_request());
        let (url, host) = client.locate(&request).unwrap();
        let signed = client.sign(&request, &url, &host, None).unwrap();
        assert!(!url.contains("x-id"), "{url}");
        // OSS wants the leading slash, which the AWS form may leave out.
        assert_eq!(header(&signed, "x-oss-copy-source"), Some("/b/src"));
        assert_eq!(
            header(&signed, "x-oss-copy-source-range"),
            Some("bytes=0-9")
        );
        assert!(signed
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("x-amz-")));
        let date = header(&signed, "date").expect("a Date header");
        let mut expected = request.clone();
        expected.set_header("date", date);
        assert_eq!(
            header(&signed, "authorization"),
            Some(crate::oss::authorization(&expected, "AKID", "secret", date).as_str())
        );
        assert!(header(&signed, "authorization")
            .unwrap()
            .starts_with("OSS AKID:"));
    }

    #[test]
    fn the_aws_dialect_signs_with_sigv4() {
        let client = client(Dialect::Aws);
        let request = copy_request();
        let (url, host) = client.locate(&request).unwrap();
        let signed = client.sign(&request, &url, &host, None).unwrap();
        let auth = header(&signed, "authorization").unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/"),
            "{auth}"
        );
        assert!(
            auth.contains("x-amz-copy-source;x-amz-copy-source-range"),
            "{auth}"
        );
        assert!(header(&signed, "x-amz-content-sha256").is_some());
    }

    #[test]
    fn a_header_not_signed_is_sent_but_left_out_of_the_signature() {
        let client = client(Dialect::Aws);
        let request = copy_request();
        let (url, host) = client.locate(&request).unwrap();
        let fault = Signing::HeaderNotSigned("x-amz-copy-source-range".into());
        let signed = client.sign(&request, &url, &host, Some(&fault)).unwrap();
        assert_eq!(
            header(&signed, "x-amz-copy-source-range"),
            Some("bytes=0-9")
        );
        let auth = header(&signed, "authorization").unwrap();
        assert!(!auth.contains("x-amz-copy-source-range"), "{auth}");
        let unsigned = client
            .sign(&request, &url, &host, Some(&Signing::Unsigned))
            .unwrap();
        assert!(header(&unsigned, "authorization").is_none());
    }

    #[test]
    fn virtual_hosted_addressing_moves_the_bucket_into_the_host() {
        let mut client = client(Dialect::Aws);
        client.endpoint.addressing = Addressing::Virtual;
        let (url, host) = client.locate(&copy_request()).unwrap();
        assert_eq!(host, "b.127.0.0.1:9");
        assert!(url.starts_with("http://b.127.0.0.1:9/dest%20key?"), "{url}");
    }
}
