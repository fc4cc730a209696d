//! SHA-256 of up to four streams in step ("multi-buffer", as OpenSSL's `sha256-mb`): every
//! round of the compression function works on one word of each of four blocks at once, so a
//! SIMD register of four 32-bit lanes (wasm `simd128`, SSE) does four hashes' work for the
//! price of one. The lanes are plain `[u32; 4]` arrays that the compiler turns into vector
//! instructions where the target has them; checked against `sha2` by tables and properties.
//!
//! A stream feeds its lane with [`Sha256x4::update`]; blocks are compressed when every lane in
//! use has one ready (or a lane has waited for [`MAX_WAITING`] bytes, so an idle stream never
//! holds the others up); [`Sha256x4::finish`] pads a lane's stream and gives its digest.

/// Bytes a lane may hold before its blocks are compressed without waiting for the others.
pub const MAX_WAITING: usize = 4 << 20;

/// Streams with a block ready below which each is compressed alone: two of four lanes in step
/// cost more than two `sha2` compressions.
pub const MIN_IN_STEP: usize = 3;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One 32-bit word of each of the four lanes.
type Lanes = [u32; 4];

#[inline(always)]
fn map2(a: Lanes, b: Lanes, f: impl Fn(u32, u32) -> u32) -> Lanes {
    [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
}

#[inline(always)]
fn add(a: Lanes, b: Lanes) -> Lanes {
    map2(a, b, u32::wrapping_add)
}

#[inline(always)]
fn xor(a: Lanes, b: Lanes) -> Lanes {
    map2(a, b, |x, y| x ^ y)
}

#[inline(always)]
fn and(a: Lanes, b: Lanes) -> Lanes {
    map2(a, b, |x, y| x & y)
}

#[inline(always)]
fn and_not(a: Lanes, b: Lanes) -> Lanes {
    map2(a, b, |x, y| !x & y)
}

#[inline(always)]
fn rotr(a: Lanes, n: u32) -> Lanes {
    a.map(|x| x.rotate_right(n))
}

#[inline(always)]
fn shr(a: Lanes, n: u32) -> Lanes {
    a.map(|x| x >> n)
}

/// One 64-byte block per lane through the compression function; `state[word][lane]`: in wasm
/// `simd128` instructions where the build enables them, else on plain arrays.
fn compress4(state: &mut [Lanes; 8], blocks: [&[u8]; 4]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd::compress4(state, blocks);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    compress4_portable(state, blocks)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::{
        u32x4, u32x4_add, u32x4_extract_lane, u32x4_shl, u32x4_shr, u32x4_splat, v128, v128_and,
        v128_andnot, v128_or, v128_xor,
    };

    use super::{Lanes, K};

    #[inline(always)]
    fn rotr(x: v128, n: u32) -> v128 {
        v128_or(u32x4_shr(x, n), u32x4_shl(x, 32 - n))
    }

    #[inline(always)]
    fn word(block: &[u8], t: usize) -> u32 {
        u32::from_be_bytes([
            block[t * 4],
            block[t * 4 + 1],
            block[t * 4 + 2],
            block[t * 4 + 3],
        ])
    }

    pub(super) fn compress4(state: &mut [Lanes; 8], blocks: [&[u8]; 4]) {
        let lanes = |l: Lanes| u32x4(l[0], l[1], l[2], l[3]);
        let mut w = [u32x4_splat(0); 16];
        for (t, slot) in w.iter_mut().enumerate() {
            *slot = u32x4(
                word(blocks[0], t),
                word(blocks[1], t),
                word(blocks[2], t),
                word(blocks[3], t),
            );
        }
        let mut v = state.map(lanes);
        for (t, k) in K.iter().enumerate() {
            let wt = if t < 16 {
                w[t]
            } else {
                let w15 = w[(t + 1) % 16];
                let w2 = w[(t + 14) % 16];
                let s0 = v128_xor(v128_xor(rotr(w15, 7), rotr(w15, 18)), u32x4_shr(w15, 3));
                let s1 = v128_xor(v128_xor(rotr(w2, 17), rotr(w2, 19)), u32x4_shr(w2, 10));
                let next = u32x4_add(u32x4_add(w[t % 16], s0), u32x4_add(w[(t + 9) % 16], s1));
                w[t % 16] = next;
                next
            };
            let [a, b, c, d, e, f, g, h] = v;
            let s1 = v128_xor(v128_xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
            let ch = v128_xor(v128_and(e, f), v128_andnot(g, e));
            let t1 = u32x4_add(
                u32x4_add(u32x4_add(h, s1), u32x4_add(ch, u32x4_splat(*k))),
                wt,
            );
            let s0 = v128_xor(v128_xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
            let maj = v128_xor(v128_xor(v128_and(a, b), v128_and(a, c)), v128_and(b, c));
            v = [
                u32x4_add(t1, u32x4_add(s0, maj)),
                a,
                b,
                c,
                u32x4_add(d, t1),
                e,
                f,
                g,
            ];
        }
        for (word, value) in state.iter_mut().zip(v) {
            let sum = u32x4_add(lanes(*word), value);
            *word = [
                u32x4_extract_lane::<0>(sum),
                u32x4_extract_lane::<1>(sum),
                u32x4_extract_lane::<2>(sum),
                u32x4_extract_lane::<3>(sum),
            ];
        }
    }
}

/// [`compress4`] on plain arrays.
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "simd128"),
    allow(dead_code)
)]
fn compress4_portable(state: &mut [Lanes; 8], blocks: [&[u8]; 4]) {
    let mut w = [[0u32; 4]; 64];
    for (t, word) in w.iter_mut().take(16).enumerate() {
        for (lane, block) in blocks.iter().enumerate() {
            let at = t * 4;
            word[lane] =
                u32::from_be_bytes([block[at], block[at + 1], block[at + 2], block[at + 3]]);
        }
    }
    for t in 16..64 {
        let s0 = xor(
            xor(rotr(w[t - 15], 7), rotr(w[t - 15], 18)),
            shr(w[t - 15], 3),
        );
        let s1 = xor(
            xor(rotr(w[t - 2], 17), rotr(w[t - 2], 19)),
            shr(w[t - 2], 10),
        );
        w[t] = add(add(w[t - 16], s0), add(w[t - 7], s1));
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let s1 = xor(xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
        let ch = xor(and(e, f), and_not(e, g));
        let t1 = add(add(add(h, s1), add(ch, [K[t]; 4])), w[t]);
        let s0 = xor(xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
        let maj = xor(xor(and(a, b), and(a, c)), and(b, c));
        let t2 = add(s0, maj);
        h = g;
        g = f;
        f = e;
        e = add(d, t1);
        d = c;
        c = b;
        b = a;
        a = add(t1, t2);
    }
    for (word, value) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *word = add(*word, value);
    }
}

/// One lane's stream: bytes not yet compressed, and how many it has taken in all.
#[derive(Clone, Debug, Default)]
struct Lane {
    pending: Vec<u8>,
    /// Where the pending bytes start in `pending` (compressed blocks are skipped, not moved).
    start: usize,
    length: u64,
    in_use: bool,
}

impl Lane {
    fn waiting(&self) -> usize {
        self.pending.len() - self.start
    }

    fn has_block(&self) -> bool {
        self.waiting() >= 64
    }
}

/// Four SHA-256 streams hashed in step.
#[derive(Clone, Debug)]
pub struct Sha256x4 {
    state: [Lanes; 8],
    lanes: [Lane; 4],
}

impl Default for Sha256x4 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256x4 {
    pub fn new() -> Self {
        Self {
            state: H0.map(|word| [word; 4]),
            lanes: Default::default(),
        }
    }

    /// Lanes no stream uses now.
    pub fn free_lanes(&self) -> impl Iterator<Item = usize> + '_ {
        (0..4).filter(|&lane| !self.lanes[lane].in_use)
    }

    /// `bytes` for lane `lane`'s stream (a lane is in use from its first update to its finish).
    pub fn update(&mut self, lane: usize, bytes: &[u8]) {
        let stream = &mut self.lanes[lane];
        stream.in_use = true;
        stream.length += bytes.len() as u64;
        stream.pending.extend_from_slice(bytes);
        let in_use = self.lanes.iter().filter(|l| l.in_use);
        let all_ready = in_use.clone().all(Lane::has_block);
        let one_full = self.lanes.iter().any(|l| l.waiting() >= MAX_WAITING);
        if all_ready || one_full {
            self.compress_ready(false);
        }
    }

    /// Compresses blocks while a lane has one (`every`: until none has; otherwise while every
    /// lane in use has one, or one has waited too long).
    fn compress_ready(&mut self, every: bool) {
        loop {
            let ready: [bool; 4] = std::array::from_fn(|i| self.lanes[i].has_block());
            if !ready.iter().any(|&r| r) {
                break;
            }
            let waiting_for_others = self
                .lanes
                .iter()
                .zip(ready)
                .any(|(lane, ready)| lane.in_use && !ready);
            let overfull = self.lanes.iter().any(|l| l.waiting() >= MAX_WAITING);
            if waiting_for_others && !every && !overfull {
                break;
            }
            self.step(ready);
        }
        for lane in &mut self.lanes {
            lane.pending.drain(..lane.start);
            lane.start = 0;
        }
    }

    /// Compresses the `ready` lanes' blocks: one block of each in step when enough lanes have
    /// one to pay for the lanes left idle, else each ready lane's blocks one stream at a time
    /// (with fewer than [`MIN_IN_STEP`] streams, four lanes do less than `sha2` alone).
    fn step(&mut self, ready: [bool; 4]) {
        if ready.iter().filter(|&&r| r).count() >= MIN_IN_STEP {
            self.compress_lanes(ready);
            return;
        }
        for lane in (0..4).filter(|&lane| ready[lane]) {
            self.compress_alone(lane);
        }
    }

    /// Every whole block lane `lane` holds, through `sha2`'s compression on its own state.
    fn compress_alone(&mut self, lane: usize) {
        let stream = &mut self.lanes[lane];
        let whole = stream.waiting() / 64 * 64;
        let (blocks, _) = stream.pending[stream.start..stream.start + whole].as_chunks::<64>();
        let mut state: [u32; 8] = std::array::from_fn(|word| self.state[word][lane]);
        sha2::block_api::compress256(&mut state, blocks);
        for (word, value) in self.state.iter_mut().zip(state) {
            word[lane] = value;
        }
        stream.start += whole;
    }

    /// One block of each lane marked `ready`; the other lanes' states are left as they were.
    fn compress_lanes(&mut self, ready: [bool; 4]) {
        const IDLE: [u8; 64] = [0; 64];
        let blocks: [&[u8]; 4] = std::array::from_fn(|i| {
            let lane = &self.lanes[i];
            if ready[i] {
                &lane.pending[lane.start..lane.start + 64]
            } else {
                &IDLE[..]
            }
        });
        let before = self.state;
        compress4(&mut self.state, blocks);
        for (i, ready) in ready.into_iter().enumerate() {
            if ready {
                self.lanes[i].start += 64;
            } else {
                for (word, kept) in self.state.iter_mut().zip(before) {
                    word[i] = kept[i];
                }
            }
        }
    }

    /// The digest of lane `lane`'s stream; the lane is free again.
    pub fn finish(&mut self, lane: usize) -> [u8; 32] {
        let stream = &mut self.lanes[lane];
        let bits = stream.length.wrapping_mul(8);
        stream.pending.push(0x80);
        while stream.waiting() % 64 != 56 {
            stream.pending.push(0);
        }
        stream.pending.extend_from_slice(&bits.to_be_bytes());
        // Its last blocks go now, with whatever the other lanes have ready.
        while self.lanes[lane].has_block() {
            let ready: [bool; 4] = std::array::from_fn(|i| self.lanes[i].has_block());
            self.step(ready);
        }
        let mut digest = [0u8; 32];
        for (word, out) in self.state.iter().zip(digest.chunks_exact_mut(4)) {
            out.copy_from_slice(&word[lane].to_be_bytes());
        }
        self.abandon(lane);
        digest
    }

    /// Forgets lane `lane`'s stream (a download that starts over, a job that ends without a
    /// digest): the lane is free again.
    pub fn abandon(&mut self, lane: usize) {
        for (word, initial) in self.state.iter_mut().zip(H0) {
            word[lane] = initial;
        }
        self.lanes[lane] = Lane::default();
        for other in &mut self.lanes {
            other.pending.drain(..other.start);
            other.start = 0;
        }
    }

    /// Forgets lane `lane`'s stream and keeps the lane for the same stream, from its start.
    pub fn restart(&mut self, lane: usize) {
        self.abandon(lane);
        self.lanes[lane].in_use = true;
    }

    /// Takes a free lane for a new stream, if one is free.
    pub fn take_lane(&mut self) -> Option<usize> {
        let lane = self.free_lanes().next()?;
        self.lanes[lane].in_use = true;
        Some(lane)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    fn sha2(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn data(length: usize, seed: u8) -> Vec<u8> {
        (0..length)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn known_answers() {
        let mut x4 = Sha256x4::new();
        x4.update(2, b"abc");
        let abc = x4.finish(2);
        assert_eq!(
            abc.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256x4::new().finish(0), sha2(b""));
    }

    #[test]
    fn every_length_around_the_block_edges_in_every_lane() {
        for length in 0..=200 {
            let mut x4 = Sha256x4::new();
            let inputs: Vec<Vec<u8>> = (0..4)
                .map(|lane| data(length + lane * 7, lane as u8))
                .collect();
            for (lane, input) in inputs.iter().enumerate() {
                x4.update(lane, input);
            }
            for (lane, input) in inputs.iter().enumerate() {
                assert_eq!(x4.finish(lane), sha2(input), "length {length}, lane {lane}");
            }
        }
    }

    #[test]
    fn streams_of_any_sizes_fed_in_any_pieces_match_sha2() {
        // A deterministic mix: uneven pieces, lanes starting and finishing at different times,
        // one lane far ahead of the others (past MAX_WAITING), a lane reused after a finish.
        let lengths = [MAX_WAITING + 17, 1, 64 * 1000 + 63, 0];
        let inputs: Vec<Vec<u8>> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| data(n, i as u8))
            .collect();
        let mut x4 = Sha256x4::new();
        let mut fed = [0usize; 4];
        let mut step = 1usize;
        while fed.iter().zip(&inputs).any(|(f, i)| *f < i.len()) {
            for lane in 0..4 {
                let piece = (step * (lane + 3) * 977) % 70_000;
                let end = (fed[lane] + piece).min(inputs[lane].len());
                x4.update(lane, &inputs[lane][fed[lane]..end]);
                fed[lane] = end;
            }
            step += 1;
        }
        for (lane, input) in inputs.iter().enumerate().rev() {
            assert_eq!(x4.finish(lane), sha2(input), "lane {lane}");
        }
        let again = data(5000, 9);
        x4.update(1, &again);
        assert_eq!(x4.finish(1), sha2(&again));
        assert_eq!(x4.free_lanes().count(), 4);
    }

    #[test]
    fn a_stream_abandoned_midway_leaves_the_others_and_its_lane_clean() {
        let (a, b, c) = (data(300_000, 1), data(200_000, 2), data(100_000, 3));
        let mut x4 = Sha256x4::new();
        let lane_a = x4.take_lane().unwrap();
        let lane_b = x4.take_lane().unwrap();
        let lane_c = x4.take_lane().unwrap();
        x4.update(lane_a, &a[..150_000]);
        x4.update(lane_b, &b[..100_000]);
        x4.update(lane_c, &c[..70_000]);
        // The download behind lane b starts over: its lane hashes from scratch.
        x4.abandon(lane_b);
        let lane_b = x4.take_lane().unwrap();
        x4.update(lane_a, &a[150_000..]);
        x4.update(lane_b, &b);
        x4.update(lane_c, &c[70_000..]);
        assert_eq!(x4.finish(lane_c), sha2(&c));
        assert_eq!(x4.finish(lane_a), sha2(&a));
        assert_eq!(x4.finish(lane_b), sha2(&b));
    }

    #[test]
    fn takes_lanes_until_none_is_free() {
        let mut x4 = Sha256x4::new();
        let taken: Vec<usize> = std::iter::from_fn(|| x4.take_lane()).collect();
        assert_eq!(taken, [0, 1, 2, 3]);
        x4.abandon(2);
        assert_eq!(x4.take_lane(), Some(2));
        assert_eq!(x4.take_lane(), None);
    }

    #[test]
    fn one_two_three_and_four_streams_at_once_match_sha2() {
        for streams in 1..=4 {
            let inputs: Vec<Vec<u8>> = (0..streams)
                .map(|i| data(300_000 + 1000 * i + 5, i as u8))
                .collect();
            let mut x4 = Sha256x4::new();
            for piece in 0..=(300_000 + 5000) / 4096 {
                for (lane, input) in inputs.iter().enumerate() {
                    let start = (piece * 4096).min(input.len());
                    let end = (start + 4096).min(input.len());
                    x4.update(lane, &input[start..end]);
                }
            }
            for (lane, input) in inputs.iter().enumerate() {
                assert_eq!(
                    x4.finish(lane),
                    sha2(input),
                    "{streams} streams, lane {lane}"
                );
            }
        }
    }
}
