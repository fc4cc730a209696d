//! Reading a response body chunk by chunk.
//!
//! A BYOB reader with `read(view, { min: 1 MiB })` (docs/facts.md §5) was tried: it gave no measurable
//! speed-up here (scripts/bench.sh), reported some broken connections as a clean end, and left
//! a read pending forever on others. The default reader errors reliably, so it is used.

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStream, ReadableStreamDefaultReader, ReadableStreamReadResult};

pub struct ChunkReader {
    reader: ReadableStreamDefaultReader,
}

impl ChunkReader {
    pub fn new(body: &ReadableStream) -> Self {
        Self {
            reader: body.get_reader().unchecked_into(),
        }
    }

    /// The next chunk, `None` at the end of the body.
    pub async fn next(&mut self) -> Result<Option<Uint8Array>, JsValue> {
        let result: ReadableStreamReadResult =
            JsFuture::from(self.reader.read()).await?.unchecked_into();
        if result.get_done().unwrap_or(false) {
            return Ok(None);
        }
        result
            .get_value()
            .dyn_into::<Uint8Array>()
            .map(Some)
            .map_err(|_| JsValue::from_str("the body yielded something other than bytes"))
    }

    pub fn cancel(&self) {
        let _ = self.reader.cancel();
    }
}
