//! The misbehaving proxy the fault tests put between the runner and a real server: it
//! forwards, or answers with the fault a test names.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Reads the request, then closes without a byte of answer.
    Close,
    /// Reads the request, then sends nothing until the runner gives up.
    HangBeforeHeaders,
    /// Sends a 200 head and the start of the body, then nothing.
    HangMidBody,
    /// Reads the request, then resets the connection (SO_LINGER 0).
    Reset,
    /// 200 with a body that is not XML.
    MalformedXml,
    /// 200 whose body is an S3 `<Error>` document.
    ErrorIn200,
    /// Says Content-Length 1000, sends 10 bytes, closes.
    WrongContentLength,
    /// 400 with a 10 MiB error document.
    HugeErrorBody,
    /// A whole valid answer, one byte every 200 ms.
    SlowDrip,
}

/// Which copy requests (UploadPartCopy, CopyObject) get a fault.
#[derive(Clone, Copy)]
pub enum Plan {
    Every(Fault),
    /// The target dies at the nth copy request: that request is dropped unanswered and
    /// the port stops listening, so every later connection is refused.
    DieAt(usize),
    /// Every DeleteBucket of a case's bucket fails with 500 InternalError (the probe's
    /// own bucket is spared, so the run starts).
    DeleteBucketFails,
    /// No fault: every UploadPart answer echoes the part's `x-amz-checksum-*` request
    /// headers, as AWS does (s3s-fs does not), and every Complete body is recorded.
    EchoPartChecksums,
}

pub struct ProxyState {
    upstream: SocketAddr,
    plan: Plan,
    /// Copy requests (UploadPartCopy, CopyObject) seen.
    pub copies: AtomicUsize,
    dead: AtomicBool,
    died: Notify,
    /// The bodies of the CompleteMultipartUpload requests seen (EchoPartChecksums).
    pub completes: Mutex<Vec<String>>,
}

pub async fn start_proxy(upstream: SocketAddr, plan: Plan) -> (SocketAddr, Arc<ProxyState>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(ProxyState {
        upstream,
        plan,
        copies: AtomicUsize::new(0),
        dead: AtomicBool::new(false),
        died: Notify::new(),
        completes: Mutex::new(Vec::new()),
    });
    let shared = state.clone();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                // Leaving the loop drops the listener: connections are refused from now on.
                () = shared.died.notified() => break,
            };
            let Ok((socket, _)) = accepted else { break };
            let state = shared.clone();
            tokio::spawn(async move {
                let _ = timeout(CONNECTION_LIMIT, serve(socket, state)).await;
            });
        }
    });
    (addr, state)
}

/// One connection, one request (every forwarded answer says `connection: close`).
pub async fn serve(mut client: TcpStream, state: Arc<ProxyState>) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let fault = if state.dead.load(Ordering::SeqCst) {
        Some(Fault::Close)
    } else if is_copy(&head) {
        let n = state.copies.fetch_add(1, Ordering::SeqCst) + 1;
        match state.plan {
            Plan::Every(fault) => Some(fault),
            Plan::DieAt(at) if n >= at => {
                state.dead.store(true, Ordering::SeqCst);
                state.died.notify_one();
                Some(Fault::Close)
            }
            Plan::DieAt(_) | Plan::DeleteBucketFails | Plan::EchoPartChecksums => None,
        }
    } else {
        None
    };
    if matches!(state.plan, Plan::DeleteBucketFails) && is_case_delete_bucket(&head) {
        let error = b"<Error><Code>InternalError</Code><Message>injected</Message></Error>";
        let answer = response("500 Internal Server Error", error);
        client.write_all(&answer).await?;
        return client.shutdown().await;
    }
    if matches!(state.plan, Plan::EchoPartChecksums) {
        if is_complete(&head) {
            let text = String::from_utf8_lossy(&body).into_owned();
            state.completes.lock().unwrap().push(text);
        } else if is_upload_part(&head) {
            let echoed: String = head
                .split("\r\n")
                .filter(|l| l.to_ascii_lowercase().starts_with("x-amz-checksum-"))
                .map(|l| format!("{l}\r\n"))
                .collect();
            return forward_adding(client, state.upstream, &head, &body, &echoed).await;
        }
    }
    match fault {
        None => forward(client, state.upstream, &head, &body).await,
        Some(fault) => inject(client, fault).await,
    }
}

/// UploadPart: a PUT with a part number and no copy source.
pub fn is_upload_part(head: &str) -> bool {
    let request_line = head.lines().next().unwrap_or_default();
    request_line.starts_with("PUT ")
        && request_line.contains("partNumber=")
        && !head.to_ascii_lowercase().contains("\r\nx-amz-copy-source:")
}

/// CompleteMultipartUpload: a POST naming an upload.
pub fn is_complete(head: &str) -> bool {
    let request_line = head.lines().next().unwrap_or_default();
    request_line.starts_with("POST ") && request_line.contains("uploadId=")
}

/// The request head (up to and with the blank line) and its Content-Length body.
pub async fn read_request(s: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 << 10 {
            return Err(bad("request head larger than 64 KiB"));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let lower = head.to_ascii_lowercase();
    if lower.contains("\r\ntransfer-encoding:") {
        return Err(bad("chunked requests are not supported by this proxy"));
    }
    let length: usize = lower
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().map_err(|_| bad("bad content-length")))
        .transpose()?
        .unwrap_or(0);
    if length > 64 << 20 {
        return Err(bad("request body larger than 64 MiB"));
    }
    let mut body = buf.split_off(head_end);
    while body.len() < length {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(bad("request body cut short"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some((head, body)))
}

/// A copy: UploadPartCopy or CopyObject, a PUT with a copy source header (an
/// UploadPartCopy has a part number in the query too; UploadPart has no copy source).
pub fn is_copy(head: &str) -> bool {
    let request_line = head.lines().next().unwrap_or_default();
    request_line.starts_with("PUT ") && head.to_ascii_lowercase().contains("\r\nx-amz-copy-source:")
}

/// `DELETE /<bucket>` (no key, no query) of a bucket that is not the probe's.
pub fn is_case_delete_bucket(head: &str) -> bool {
    let request_line = head.lines().next().unwrap_or_default();
    let mut words = request_line.split(' ');
    let (Some("DELETE"), Some(path)) = (words.next(), words.next()) else {
        return false;
    };
    let bucket = path.trim_start_matches('/').trim_end_matches('/');
    !bucket.contains(['/', '?']) && !bucket.ends_with("-probe")
}

/// The request head with `connection: close` instead of its own connection header.
pub fn closing_head(head: &str) -> String {
    let mut rewritten = String::new();
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("connection: close\r\n\r\n");
    rewritten
}

/// Sends the request as it came (plus `connection: close`, so that s3s-fs ends the
/// answer by closing) and copies the answer back until EOF.
pub async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    head: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let rewritten = closing_head(head);
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(rewritten.as_bytes()).await?;
    server.write_all(body).await?;
    tokio::io::copy(&mut server, &mut client).await?;
    client.shutdown().await
}

/// As [`forward`], with `extra` (header lines, each ending in CRLF) added to the answer's
/// head. The answer ends with the connection (`connection: close`): it is read whole first.
pub async fn forward_adding(
    mut client: TcpStream,
    upstream: SocketAddr,
    head: &str,
    body: &[u8],
    extra: &str,
) -> std::io::Result<()> {
    let rewritten = closing_head(head);
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(rewritten.as_bytes()).await?;
    server.write_all(body).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    // After the status line and headers, before the blank line.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 2);
    client.write_all(&answer[..split]).await?;
    client.write_all(extra.as_bytes()).await?;
    client.write_all(&answer[split..]).await?;
    client.shutdown().await
}

pub fn response(status: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

pub const COPY_RESULT: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyPartResult><ETag>\"0123456789abcdef0123456789abcdef\"</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></CopyPartResult>";

pub async fn inject(mut client: TcpStream, fault: Fault) -> std::io::Result<()> {
    match fault {
        // Dropping the stream sends FIN: the runner sees the connection end, no answer.
        Fault::Close => Ok(()),
        Fault::Reset => {
            // SO_LINGER 0 turns the close into an RST. Deprecated because a non-zero linger
            // blocks on drop; zero does not.
            #[allow(deprecated)]
            client.set_linger(Some(Duration::ZERO))?;
            Ok(())
        }
        Fault::HangBeforeHeaders => {
            wait_until_closed(&mut client).await;
            Ok(())
        }
        Fault::HangMidBody => {
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: 200\r\nconnection: close\r\n\r\n<CopyPartResult>";
            client.write_all(head).await?;
            wait_until_closed(&mut client).await;
            Ok(())
        }
        Fault::MalformedXml => {
            let body = b"<CopyPartResult><ETag>\"0123\"</ETag><LastModified>2024-01-01";
            client.write_all(&response("200 OK", body)).await?;
            client.shutdown().await
        }
        Fault::ErrorIn200 => {
            let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>x</Message></Error>";
            client.write_all(&response("200 OK", body)).await?;
            client.shutdown().await
        }
        Fault::WrongContentLength => {
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n";
            client.write_all(head).await?;
            client.write_all(b"<CopyPart>").await?;
            client.shutdown().await
        }
        Fault::HugeErrorBody => {
            let mut body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRequest</Code><Message>".to_vec();
            body.resize(body.len() + (10 << 20), b'x');
            body.extend_from_slice(b"</Message></Error>");
            client
                .write_all(&response("400 Bad Request", &body))
                .await?;
            client.shutdown().await
        }
        Fault::SlowDrip => {
            // Most of a minute for the whole answer; a write fails soon after the runner closes.
            for byte in response("200 OK", COPY_RESULT).iter().take(300) {
                client.write_all(&[*byte]).await?;
                sleep(Duration::from_millis(200)).await;
            }
            Ok(())
        }
    }
}

/// Reads (and drops) until the runner closes its side, at most CONNECTION_LIMIT.
pub async fn wait_until_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let _ = timeout(CONNECTION_LIMIT, async {
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// Running the runner
