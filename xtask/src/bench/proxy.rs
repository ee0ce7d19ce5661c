//! A forwarding proxy on 127.0.0.1 that counts HTTP/1.1 requests (to know how many requests a
//! run sends: the runner does not say). Timings are never taken through it.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

pub struct CountingProxy {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    unparsed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl CountingProxy {
    pub fn start(upstream: SocketAddr) -> Result<CountingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let unparsed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (requests, unparsed, stop) = (requests.clone(), unparsed.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    let (requests, unparsed) = (requests.clone(), unparsed.clone());
                    thread::spawn(move || {
                        let _ = forward(client, upstream, &requests, &unparsed);
                    });
                }
            })
        };
        Ok(CountingProxy {
            addr,
            requests,
            unparsed,
            stop,
            acceptor: Some(acceptor),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn unparsed(&self) -> u64 {
        self.unparsed.load(Ordering::SeqCst)
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    requests: &AtomicU64,
    unparsed: &AtomicU64,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_in, mut client_out) = (client.try_clone()?, client);
    let (mut server_in, mut server_out) = (server.try_clone()?, server);
    let down = thread::spawn(move || {
        let _ = std::io::copy(&mut server_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
    let mut counter = RequestCounter::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client_in.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        requests.fetch_add(counter.feed(&buf[..n]), Ordering::SeqCst);
        if server_out.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    if counter.lost {
        unparsed.fetch_add(1, Ordering::SeqCst);
    }
    let _ = server_out.shutdown(Shutdown::Write);
    let _ = down.join();
    Ok(())
}

/// Finds request boundaries in a client's byte stream: a head ending in CRLF CRLF, then
/// Content-Length bytes of body. A chunked body (the runner sends none) stops the count on
/// that connection, which the report then says.
#[derive(Default)]
struct RequestCounter {
    head: Vec<u8>,
    matched: usize,
    body_left: u64,
    lost: bool,
}

impl RequestCounter {
    fn feed(&mut self, mut input: &[u8]) -> u64 {
        const END: &[u8; 4] = b"\r\n\r\n";
        let mut started = 0;
        while !input.is_empty() && !self.lost {
            if self.body_left > 0 {
                let take = self.body_left.min(input.len() as u64) as usize;
                self.body_left -= take as u64;
                input = &input[take..];
                continue;
            }
            let mut consumed = input.len();
            for (i, &b) in input.iter().enumerate() {
                self.head.push(b);
                self.matched = if b == END[self.matched] {
                    self.matched + 1
                } else if b == b'\r' {
                    1
                } else {
                    0
                };
                if self.matched == 4 {
                    consumed = i + 1;
                    break;
                }
            }
            input = &input[consumed..];
            if self.matched == 4 {
                started += 1;
                match body_length(&self.head) {
                    Some(n) => self.body_left = n,
                    None => self.lost = true,
                }
                self.head.clear();
                self.matched = 0;
            } else if self.head.len() > 64 * 1024 {
                self.lost = true;
            }
        }
        started
    }
}

fn body_length(head: &[u8]) -> Option<u64> {
    let head = String::from_utf8_lossy(head);
    let mut length = 0;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        }
    }
    Some(length)
}

/// The address of an `http://IP:PORT` URL, for the proxy's upstream.
pub fn upstream(url: &str) -> Result<SocketAddr> {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("{url} is not http://IP:PORT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_finds_requests_across_reads() {
        let one = b"PUT /b/k HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello";
        let two = b"GET /b/k HTTP/1.1\r\nhost: x\r\n\r\n";
        let mut stream = one.to_vec();
        stream.extend_from_slice(two);
        stream.extend_from_slice(one);
        // Any split of the stream into reads gives the same count.
        for chunk in [1, 2, 3, 7, 50, stream.len()] {
            let mut c = RequestCounter::default();
            let n: u64 = stream.chunks(chunk).map(|p| c.feed(p)).sum();
            assert_eq!(n, 3, "reads of {chunk} bytes");
            assert!(!c.lost);
        }
        // A body that looks like a request head is not counted.
        let tricky = b"PUT /k HTTP/1.1\r\ncontent-length: 4\r\n\r\n\r\n\r\n";
        let mut c = RequestCounter::default();
        assert_eq!(c.feed(tricky), 1);
    }

    #[test]
    fn a_chunked_body_stops_the_count_and_says_so() {
        let mut c = RequestCounter::default();
        assert_eq!(
            c.feed(b"PUT /k HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            1
        );
        assert!(c.lost);
    }

    #[test]
    fn upstreams_are_socket_addresses() {
        let addr = upstream("http://127.0.0.1:4566/").unwrap();
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 4566)));
        assert!(upstream("http://localhost:4566").is_err());
    }
}
