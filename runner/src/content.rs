//! Object data described instead of held: generated on demand from a seed, any byte range
//! directly, so no source, copied part or completed object sits whole in memory.
//!
//! The bytes are those of a xorshift64* stream seeded from the object's name (the same
//! every run, different per name, and the same bytes earlier versions of the harness held
//! in memory, so ETags in reports do not change). xorshift is linear over GF(2), so the
//! state `n` steps ahead is a 64×64 bit matrix power applied to the seed: a jump costs
//! at most 64 matrix-vector products, and a range is produced without the bytes before it.

use md5::Digest;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Bytes produced per step when streaming (request bodies, hashing, comparing).
pub const CHUNK: usize = 256 << 10;
const MULTIPLIER: u64 = 0x2545_f491_4f6c_dd1d;

fn step(mut s: u64) -> u64 {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    s
}

/// A linear map as its 64 columns: the image of each unit vector.
type Matrix = [u64; 64];

fn apply(m: &Matrix, v: u64) -> u64 {
    let mut out = 0;
    let mut bits = v;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        out ^= m[j];
        bits &= bits - 1;
    }
    out
}

/// `STEP^(2^k)` for k in 0..64.
fn powers() -> &'static [Matrix; 64] {
    static POWERS: OnceLock<Box<[Matrix; 64]>> = OnceLock::new();
    POWERS.get_or_init(|| {
        let mut p = Box::new([[0u64; 64]; 64]);
        for j in 0..64 {
            p[0][j] = step(1 << j);
        }
        for k in 1..64 {
            let prev = p[k - 1];
            for j in 0..64 {
                p[k][j] = apply(&prev, prev[j]);
            }
        }
        p
    })
}

/// The state after `n` steps from `state`.
fn jump(mut state: u64, n: u64) -> u64 {
    let p = powers();
    let mut bits = n;
    while bits != 0 {
        let k = bits.trailing_zeros() as usize;
        state = apply(&p[k], state);
        bits &= bits - 1;
    }
    state
}

/// The seed of the stream an object name gives.
pub fn seed(name: &str) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in name.bytes() {
        state = (state ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    state
}

/// Writes bytes `offset..offset + out.len()` of the stream of `seed` into `out`.
pub fn generate(seed: u64, offset: u64, out: &mut [u8]) {
    if out.is_empty() {
        return;
    }
    // Word i (8 bytes) comes from the state after i + 1 steps.
    let mut state = jump(seed, offset / 8 + 1);
    let skip = (offset % 8) as usize;
    let mut rest = out;
    if skip != 0 {
        let word = state.wrapping_mul(MULTIPLIER).to_le_bytes();
        let take = (8 - skip).min(rest.len());
        rest[..take].copy_from_slice(&word[skip..skip + take]);
        rest = &mut rest[take..];
        state = step(state);
    }
    let mut words = rest.chunks_exact_mut(8);
    for w in &mut words {
        w.copy_from_slice(&state.wrapping_mul(MULTIPLIER).to_le_bytes());
        state = step(state);
    }
    let tail = words.into_remainder();
    if !tail.is_empty() {
        let word = state.wrapping_mul(MULTIPLIER).to_le_bytes();
        let n = tail.len();
        tail.copy_from_slice(&word[..n]);
    }
}

/// Whole chunks kept once generated: cases share their sources' names (and so their bytes),
/// and a run sends, hashes and compares the same 5 and 6 MiB sources and parts (the range
/// grid, multipart sources and uploads) in about two hundred cases. At most 16 MiB, and only
/// from a stream's first 8 MiB, so a 1 GiB source streams as before.
const CACHED_CHUNKS: usize = 64;
const CACHED_PREFIX: u64 = 8 << 20;

/// `generate`, from the cache for a chunk-aligned whole chunk of a stream's first 8 MiB.
fn generate_cached(seed: u64, offset: u64, out: &mut [u8]) {
    type Chunks = Mutex<HashMap<(u64, u64), std::sync::Arc<[u8]>>>;
    static CACHE: OnceLock<Chunks> = OnceLock::new();
    if out.len() != CHUNK || !offset.is_multiple_of(CHUNK as u64) || offset >= CACHED_PREFIX {
        return generate(seed, offset, out);
    }
    let cache = CACHE.get_or_init(Default::default);
    let hit = cache
        .lock()
        .ok()
        .and_then(|c| c.get(&(seed, offset)).cloned());
    if let Some(bytes) = hit {
        out.copy_from_slice(&bytes);
        return;
    }
    generate(seed, offset, out);
    if let Ok(mut c) = cache.lock() {
        // Bounded: when full, start over with what the run uses now.
        if c.len() >= CACHED_CHUNKS {
            c.clear();
        }
        c.insert((seed, offset), out.to_vec().into());
    }
}

/// A run of one stream's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    pub seed: u64,
    pub offset: u64,
    pub len: u64,
}

/// Object data as segments of generated streams, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Content {
    segments: Vec<Segment>,
}

impl Content {
    /// The `size` bytes an object named `name` holds.
    pub fn generated(name: &str, size: u64) -> Content {
        let mut c = Content::default();
        c.push(Segment {
            seed: seed(name),
            offset: 0,
            len: size,
        });
        c
    }

    fn push(&mut self, s: Segment) {
        if s.len == 0 {
            return;
        }
        if let Some(last) = self.segments.last_mut() {
            if last.seed == s.seed && last.offset + last.len == s.offset {
                last.len += s.len;
                return;
            }
        }
        self.segments.push(s);
    }

    pub fn len(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    #[allow(dead_code)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This content followed by `other`.
    pub fn append(&mut self, other: &Content) {
        for s in &other.segments {
            self.push(*s);
        }
    }

    /// Bytes `first..=last`, or `None` when the range is not inside the content.
    pub fn range(&self, first: u64, last: u64) -> Option<Content> {
        if first > last || last >= self.len() {
            return None;
        }
        let mut out = Content::default();
        let (mut start, end) = (first, last + 1);
        let mut at = 0;
        for s in &self.segments {
            let (s_start, s_end) = (at, at + s.len);
            if start < s_end && s_start < end {
                let from = start.max(s_start);
                let to = end.min(s_end);
                out.push(Segment {
                    seed: s.seed,
                    offset: s.offset + (from - s_start),
                    len: to - from,
                });
                start = to;
            }
            at = s_end;
        }
        Some(out)
    }

    /// Writes bytes `offset..offset + out.len()` into `out` (zeros past the end).
    pub fn fill(&self, offset: u64, out: &mut [u8]) {
        let end = offset + out.len() as u64;
        let mut at = 0;
        for s in &self.segments {
            let (s_start, s_end) = (at, at + s.len);
            if offset < s_end && s_start < end {
                let from = offset.max(s_start);
                let to = end.min(s_end);
                let dst = &mut out[(from - offset) as usize..(to - offset) as usize];
                generate_cached(s.seed, s.offset + (from - s_start), dst);
            }
            at = s_end;
        }
        let have = self.len().saturating_sub(offset).min(out.len() as u64) as usize;
        out[have..].fill(0);
    }

    /// Calls `f` on the bytes `offset..offset + len` in chunks of at most CHUNK, from one
    /// reused buffer.
    pub fn for_each_chunk(&self, offset: u64, len: u64, mut f: impl FnMut(&[u8])) {
        let mut buf = vec![0u8; CHUNK.min(len as usize)];
        let mut pos = offset;
        let end = offset + len;
        while pos < end {
            let n = ((end - pos) as usize).min(CHUNK);
            self.fill(pos, &mut buf[..n]);
            f(&buf[..n]);
            pos += n as u64;
        }
    }

    /// Every byte, in memory: for small content and tests.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0u8; self.len() as usize];
        self.fill(0, &mut v);
        v
    }

    /// The MD5 of the bytes, computed by streaming once per distinct content and run
    /// (cases share their sources' names, and so their bytes).
    pub fn md5(&self) -> [u8; 16] {
        static CACHE: OnceLock<Mutex<HashMap<Content, [u8; 16]>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(d) = cache.lock().ok().and_then(|c| c.get(self).copied()) {
            return d;
        }
        let mut h = md5::Md5::new();
        self.for_each_chunk(0, self.len(), |b| h.update(b));
        let d: [u8; 16] = h.finalize().into();
        if let Ok(mut c) = cache.lock() {
            if c.len() >= 4096 {
                c.clear();
            }
            c.insert(self.clone(), d);
        }
        d
    }

    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5())
    }
}

/// Compares a body read in chunks with the content it should hold, without keeping it.
/// While the bytes agree nothing is hashed; from the first difference on, the MD5 of what
/// came is kept (its agreeing prefix regenerated), for the report.
pub struct StreamCheck<'a> {
    expected: &'a Content,
    expected_len: u64,
    received: u64,
    first_difference: Option<u64>,
    received_md5: Option<md5::Md5>,
    buf: Vec<u8>,
}

/// What a body held when it was not the expected content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub received_len: u64,
    pub received_md5: String,
    pub first_difference: u64,
}

impl<'a> StreamCheck<'a> {
    pub fn new(expected: &'a Content) -> StreamCheck<'a> {
        StreamCheck {
            expected,
            expected_len: expected.len(),
            received: 0,
            first_difference: None,
            received_md5: None,
            buf: Vec::new(),
        }
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    fn diverge(&mut self, at: u64) {
        let mut h = md5::Md5::new();
        self.expected.for_each_chunk(0, at, |b| h.update(b));
        self.first_difference = Some(at);
        self.received_md5 = Some(h);
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        let pos = self.received;
        self.received += chunk.len() as u64;
        if self.first_difference.is_none() {
            let n = (self.expected_len.saturating_sub(pos)).min(chunk.len() as u64) as usize;
            if self.buf.len() < n {
                self.buf.resize(n, 0);
            }
            self.expected.fill(pos, &mut self.buf[..n]);
            // memcmp first; the byte-by-byte search only once they differ.
            let differs = if chunk[..n] == self.buf[..n] {
                (chunk.len() > n).then_some(n)
            } else {
                chunk[..n]
                    .iter()
                    .zip(&self.buf[..n])
                    .position(|(a, b)| a != b)
            };
            if let Some(i) = differs {
                self.diverge(pos + i as u64);
                if let Some(h) = &mut self.received_md5 {
                    h.update(&chunk[i..]);
                }
            }
        } else if let Some(h) = &mut self.received_md5 {
            h.update(chunk);
        }
    }

    /// `None` when the body was exactly the expected content.
    pub fn finish(mut self) -> Option<Difference> {
        if self.first_difference.is_none() && self.received < self.expected_len {
            self.diverge(self.received);
        }
        let at = self.first_difference?;
        Some(Difference {
            received_len: self.received,
            received_md5: hex::encode(self.received_md5.take()?.finalize()),
            first_difference: at,
        })
    }
}

/// A request body that produces the content as it is sent.
pub struct ContentBody {
    content: Content,
    pos: u64,
    len: u64,
}

impl ContentBody {
    pub fn new(content: Content) -> ContentBody {
        let len = content.len();
        ContentBody {
            content,
            pos: 0,
            len,
        }
    }
}

impl http_body::Body for ContentBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.pos >= self.len {
            return std::task::Poll::Ready(None);
        }
        let n = ((self.len - self.pos) as usize).min(CHUNK);
        let mut chunk = vec![0u8; n];
        self.content.fill(self.pos, &mut chunk);
        self.pos += n as u64;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk.into()))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.len
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.len - self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_chunks_are_the_generated_bytes() {
        let content = Content::generated("cached", 3 * CHUNK as u64 + 5);
        let mut direct = vec![0u8; content.len() as usize];
        generate(seed("cached"), 0, &mut direct);
        // Twice: the second time every whole chunk comes from the cache.
        for _ in 0..2 {
            assert_eq!(content.to_vec(), direct);
            let mut streamed = Vec::new();
            content.for_each_chunk(0, content.len(), |c| streamed.extend_from_slice(c));
            assert_eq!(streamed, direct);
        }
    }

    /// The stream as the harness generated it before it could seek: one pass of
    /// xorshift64* from the name's seed.
    fn sequential(name: &str, size: u64) -> Vec<u8> {
        let mut state = seed(name);
        let mut out = Vec::with_capacity(size as usize);
        while (out.len() as u64) < size {
            state = step(state);
            let word = state.wrapping_mul(MULTIPLIER).to_le_bytes();
            let take = ((size - out.len() as u64) as usize).min(8);
            out.extend_from_slice(&word[..take]);
        }
        out
    }

    #[test]
    fn the_bytes_are_those_of_one_sequential_pass() {
        for (name, size) in [("src", 10), ("big", 100_003), ("", 17), ("p1", 0)] {
            assert_eq!(
                Content::generated(name, size).to_vec(),
                sequential(name, size)
            );
        }
    }

    #[test]
    fn a_range_of_the_stream_is_the_slice_of_the_whole() {
        let whole = sequential("big", 70_000);
        let c = Content::generated("big", 70_000);
        for (first, last) in [
            (0, 0),
            (1, 1),
            (7, 8),
            (3, 69_999),
            (65_535, 65_600),
            (8, 15),
        ] {
            let r = c.range(first, last).unwrap();
            assert_eq!(r.len(), last - first + 1);
            assert_eq!(
                r.to_vec(),
                &whole[first as usize..=last as usize],
                "{first}-{last}"
            );
        }
        assert!(c.range(0, 70_000).is_none());
        assert!(c.range(5, 4).is_none());
    }

    #[test]
    fn ranges_of_ranges_and_concatenations_agree_with_slices() {
        let a = Content::generated("a", 1000);
        let b = Content::generated("b", 300);
        let mut joined = a.range(10, 509).unwrap();
        joined.append(&b);
        joined.append(&a.range(510, 999).unwrap());
        let mut bytes = a.to_vec()[10..510].to_vec();
        bytes.extend(b.to_vec());
        bytes.extend(&a.to_vec()[510..]);
        assert_eq!(joined.to_vec(), bytes);
        assert_eq!(joined.range(495, 820).unwrap().to_vec(), &bytes[495..=820]);
        // Adjacent runs of one stream merge back into one.
        let mut halves = a.range(0, 499).unwrap();
        halves.append(&a.range(500, 999).unwrap());
        assert_eq!(halves, a);
    }

    #[test]
    fn md5_by_streaming_is_the_md5_of_the_bytes() {
        let c = Content::generated("big", 3 * CHUNK as u64 + 5);
        assert_eq!(c.md5().to_vec(), md5::Md5::digest(c.to_vec()).to_vec());
        assert_eq!(c.md5(), c.md5());
    }

    fn check(expected: &Content, body: &[u8], chunk: usize) -> Option<Difference> {
        let mut check = StreamCheck::new(expected);
        for c in body.chunks(chunk.max(1)) {
            check.feed(c);
        }
        check.finish()
    }

    #[test]
    fn a_streamed_check_passes_the_right_bytes_and_finds_the_first_wrong_one() {
        let c = Content::generated("src", 10_000);
        let good = c.to_vec();
        for chunk in [1, 7, 4096, 10_000] {
            assert_eq!(check(&c, &good, chunk), None);
        }
        let mut bad = good.clone();
        bad[4321] ^= 1;
        let d = check(&c, &bad, 1000).expect("a mismatch");
        assert_eq!(d.first_difference, 4321);
        assert_eq!(d.received_len, 10_000);
        assert_eq!(d.received_md5, hex::encode(md5::Md5::digest(&bad)));
        let short = check(&c, &good[..9_999], 512).expect("short");
        assert_eq!((short.first_difference, short.received_len), (9_999, 9_999));
        assert_eq!(
            short.received_md5,
            hex::encode(md5::Md5::digest(&good[..9_999]))
        );
        let mut long = good.clone();
        long.push(0);
        let long = check(&c, &long, 3000).expect("long");
        assert_eq!((long.first_difference, long.received_len), (10_000, 10_001));
        assert!(check(&c, &[], 1).is_some());
        assert_eq!(check(&Content::default(), &[], 1), None);
    }

    #[test]
    fn a_request_body_yields_the_content() {
        use http_body::Body;
        let c = Content::generated("big", 2 * CHUNK as u64 + 3);
        let mut body = ContentBody::new(c.clone());
        assert_eq!(body.size_hint().exact(), Some(c.len()));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut out = Vec::new();
        while let std::task::Poll::Ready(Some(Ok(frame))) =
            std::pin::Pin::new(&mut body).poll_frame(&mut cx)
        {
            out.extend_from_slice(frame.data_ref().unwrap());
        }
        assert!(body.is_end_stream());
        assert_eq!(out, c.to_vec());
    }
}
