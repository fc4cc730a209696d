//! Exports for `run.mjs`: `check()` compares each backend with `sha2` on uneven streams;
//! `scalar(mib)` and `lanes4(mib)` hash that much data (the latter as four streams in step).

use sha2::{Digest, Sha256};
use skiff_core::image::sha256x4::Sha256x4;

/// One MiB of varied bytes.
fn mebibyte() -> Vec<u8> {
    (0..1 << 20).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[no_mangle]
pub extern "C" fn scalar(mib: u32) -> u32 {
    let block = mebibyte();
    let mut hasher = Sha256::new();
    for _ in 0..mib {
        hasher.update(&block);
    }
    hasher.finalize()[0] as u32
}

/// `mib` MiB in all, a quarter per lane, fed 64 KiB at a time to each lane in turn (as
/// layer streams arrive).
#[no_mangle]
pub extern "C" fn lanes4(mib: u32) -> u32 {
    let block = mebibyte();
    let mut x4 = Sha256x4::new();
    for _ in 0..mib / 4 {
        for piece in block.chunks(64 * 1024) {
            for lane in 0..4 {
                x4.update(lane, piece);
            }
        }
    }
    (0..4).map(|lane| x4.finish(lane)[0] as u32).sum()
}

/// 1 when every lane's digest equals `sha2`'s over streams of uneven lengths and pieces.
#[no_mangle]
pub extern "C" fn check() -> u32 {
    let inputs: Vec<Vec<u8>> = (0..4)
        .map(|lane| (0..100_000 * lane + 12_345).map(|i| (i * 7 + lane) as u8).collect())
        .collect();
    let mut x4 = Sha256x4::new();
    for step in 0..200 {
        for (lane, input) in inputs.iter().enumerate() {
            let n = input.len();
            x4.update(lane, &input[n * step / 200..n * (step + 1) / 200]);
        }
    }
    let all_equal = inputs.iter().enumerate().all(|(lane, input)| {
        let expected: [u8; 32] = Sha256::digest(input).into();
        x4.finish(lane) == expected
    });
    u32::from(all_equal)
}
