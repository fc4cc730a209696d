//! The two hashing backends a worker adds to `sha2`: a lane of the worker's four-stream SHA-256
//! (blobs fetched at once in this worker hash in step), and the browser's own SHA-256 over the
//! whole blob, kept in memory as it arrives. Each counts the bytes with the core's `SizeCheck`,
//! which compares size and digest at the end: a digest from either is checked like `sha2`'s.

use std::cell::RefCell;

use js_sys::Uint8Array;
use skiff_core::image::sha256x4::Sha256x4;
use skiff_core::{Digest, SizeCheck};
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;

thread_local! {
    /// The worker's four lanes, shared by the jobs it runs.
    static LANES: RefCell<Sha256x4> = RefCell::new(Sha256x4::new());
}

/// A blob hashed in a lane of the worker's [`Sha256x4`]. The lane is given back when the check
/// ends, however it ends.
pub struct LaneCheck {
    size: SizeCheck,
    lane: usize,
    holds_lane: bool,
}

impl LaneCheck {
    /// `None` when the four lanes are taken.
    pub fn take(digest: &Digest, size: u64) -> Option<Self> {
        let lane = LANES.with(|lanes| lanes.borrow_mut().take_lane())?;
        Some(Self {
            size: SizeCheck::new(digest.clone(), size),
            lane,
            holds_lane: true,
        })
    }

    pub fn received(&self) -> u64 {
        self.size.received()
    }

    pub fn update(&mut self, bytes: &[u8]) -> Result<(), skiff_core::Error> {
        self.size.update(bytes.len())?;
        LANES.with(|lanes| lanes.borrow_mut().update(self.lane, bytes));
        Ok(())
    }

    /// Hashes from the first byte again, in the same lane.
    pub fn restart(&mut self) {
        LANES.with(|lanes| lanes.borrow_mut().restart(self.lane));
        self.size = SizeCheck::new(self.size.expected().clone(), self.size.expected_size());
    }

    pub fn finish(mut self) -> Result<Digest, skiff_core::Error> {
        let sha256 = LANES.with(|lanes| lanes.borrow_mut().finish(self.lane));
        self.holds_lane = false;
        self.size.clone().finish(&sha256)
    }
}

impl Drop for LaneCheck {
    fn drop(&mut self) {
        if self.holds_lane {
            LANES.with(|lanes| lanes.borrow_mut().abandon(self.lane));
        }
    }
}

/// A blob held whole in one buffer as it arrives (the bytes written to disk are read from it),
/// then hashed by the browser in one call.
pub struct NativeCheck {
    size: SizeCheck,
    whole: Uint8Array,
}

impl NativeCheck {
    /// `None` when this browser has no WebCrypto here (an insecure context), or the buffer
    /// cannot be had.
    pub fn new(digest: &Digest, size: u64) -> Option<Self> {
        subtle()?;
        let length = u32::try_from(size).ok()?;
        let buffer = js_sys::Reflect::construct(
            &js_sys::ArrayBuffer::new(0).constructor(),
            &js_sys::Array::of1(&length.into()),
        )
        .ok()?;
        Some(Self {
            size: SizeCheck::new(digest.clone(), size),
            whole: Uint8Array::new(&buffer),
        })
    }

    pub fn received(&self) -> u64 {
        self.size.received()
    }

    /// A blob already whole in a buffer (a member of a picked archive, read in one go).
    pub fn holding(
        digest: &Digest,
        size: u64,
        whole: Uint8Array,
    ) -> Result<Self, skiff_core::Error> {
        let mut size = SizeCheck::new(digest.clone(), size);
        size.update(whole.length() as usize)?;
        Ok(Self { size, whole })
    }

    /// Bytes already in wasm memory (a partial file read back), copied to their place.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), skiff_core::Error> {
        let at = self.size.received() as u32;
        self.size.update(bytes.len())?;
        self.whole
            .subarray(at, at + bytes.len() as u32)
            .copy_from(bytes);
        Ok(())
    }

    /// A body's chunk, straight into its place: it never passes through wasm memory.
    pub fn take_chunk(&mut self, chunk: &Uint8Array) -> Result<(), skiff_core::Error> {
        let at = self.size.received() as u32;
        self.size.update(chunk.length() as usize)?;
        self.whole.set(chunk, at);
        Ok(())
    }

    /// The bytes between `from` and `to`, to be written to disk.
    pub fn bytes(&self, from: u64, to: u64) -> Uint8Array {
        self.whole.subarray(from as u32, to as u32)
    }

    pub fn restart(&mut self) {
        self.size = SizeCheck::new(self.size.expected().clone(), self.size.expected_size());
    }

    /// The size first (no hashing of a short blob), then the browser's digest of the bytes;
    /// if the browser will not hash them, `sha2` does.
    pub async fn finish(self) -> Result<Digest, skiff_core::Error> {
        if self.size.received() != self.size.expected_size() {
            return self.size.finish(&[0; 32]);
        }
        let sha256 = match native_sha256(&self.whole).await {
            Some(sha256) => sha256,
            None => wasm_sha256(&self.whole),
        };
        self.size.finish(&sha256)
    }
}

/// The page's or the worker's `crypto.subtle` (undefined outside a secure context).
fn subtle() -> Option<web_sys::SubtleCrypto> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = js_sys::Reflect::get(&crypto, &"subtle".into()).ok()?;
    subtle.dyn_into().ok()
}

async fn native_sha256(bytes: &Uint8Array) -> Option<[u8; 32]> {
    let promise = subtle()?
        .digest_with_str_and_buffer_source("SHA-256", bytes)
        .ok()?;
    let digest = JsFuture::from(promise).await.ok()?;
    let digest = Uint8Array::new(&digest);
    let mut sha256 = [0; 32];
    (digest.length() == 32).then(|| digest.copy_to(&mut sha256))?;
    Some(sha256)
}

/// `sha2` over the buffer, a piece at a time.
fn wasm_sha256(bytes: &Uint8Array) -> [u8; 32] {
    use sha2::Digest as _;
    const PIECE: u32 = 1 << 20;
    let mut hasher = sha2::Sha256::new();
    let mut piece = vec![0; PIECE as usize];
    let mut at = 0;
    while at < bytes.length() {
        let end = (at + PIECE).min(bytes.length());
        let piece = &mut piece[..(end - at) as usize];
        bytes.subarray(at, end).copy_to(piece);
        hasher.update(&*piece);
        at = end;
    }
    hasher.finalize().into()
}
