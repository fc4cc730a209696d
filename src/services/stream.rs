//! Reading a response body chunk by chunk.
//!
//! Two ways, the same result:
//! - the default reader hands out a fresh `Uint8Array` per chunk. Each is garbage once copied
//!   into wasm, and every worker's JS heap lets tens of megabytes of such buffers pile up before
//!   it collects them (the renderer grew by ~250 MB pulling with 4 workers);
//! - a BYOB reader reads into one buffer, handed back with every chunk and reused, so a body of
//!   any size costs one buffer. Reads take no `min`: with one, a broken connection was seen to
//!   leave a read pending forever (docs/facts.md §5), and without it a read returns whatever
//!   has arrived, like the default reader.
//!
//! A body that is not a byte stream (another browser, say) falls back to the default reader.

use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader,
    ReadableStreamGetReaderOptions, ReadableStreamReadResult, ReadableStreamReaderMode,
};

pub enum ChunkReader {
    Default(ReadableStreamDefaultReader),
    Byob {
        reader: ReadableStreamByobReader,
        /// The buffer the next read fills; `None` while a read holds it (or after it broke).
        buffer: Option<ArrayBuffer>,
        size: u32,
    },
}

impl ChunkReader {
    pub fn new(body: &ReadableStream) -> Self {
        Self::Default(body.get_reader().unchecked_into())
    }

    /// Reads into one reused buffer of `size` bytes if the body allows it; `size` 0 asks for the
    /// default reader.
    pub fn reusing(body: &ReadableStream, size: u32) -> Self {
        if size == 0 {
            return Self::new(body);
        }
        let options = ReadableStreamGetReaderOptions::new();
        options.set_mode(ReadableStreamReaderMode::Byob);
        match body.get_reader_with_options(&options).dyn_into() {
            Ok(reader) => Self::Byob {
                reader,
                buffer: None,
                size,
            },
            Err(_) => Self::new(body),
        }
    }

    /// The next chunk, `None` at the end of the body. The chunk is only valid until the next
    /// call: a BYOB reader fills the same memory again.
    pub async fn next(&mut self) -> Result<Option<Uint8Array>, JsValue> {
        match self {
            Self::Default(reader) => {
                let result: ReadableStreamReadResult =
                    JsFuture::from(reader.read()).await?.unchecked_into();
                if result.get_done().unwrap_or(false) {
                    return Ok(None);
                }
                result
                    .get_value()
                    .dyn_into::<Uint8Array>()
                    .map(Some)
                    .map_err(|_| not_bytes())
            }
            Self::Byob {
                reader,
                buffer,
                size,
            } => {
                let memory = buffer.take().unwrap_or_else(|| ArrayBuffer::new(*size));
                let view = Uint8Array::new_with_byte_offset_and_length(&memory, 0, *size);
                let result = JsFuture::from(reader.read_with_array_buffer_view(&view)).await?;
                let done = Reflect::get(&result, &"done".into())?
                    .as_bool()
                    .unwrap_or(false);
                let value = Reflect::get(&result, &"value".into())?;
                if let Some(filled) = value.dyn_ref::<Uint8Array>() {
                    *buffer = Some(filled.buffer());
                    if filled.length() > 0 {
                        // With `done`, a last chunk may come along: keep it (docs/facts.md §5).
                        return Ok(Some(filled.clone()));
                    }
                }
                if done {
                    return Ok(None);
                }
                Err(not_bytes())
            }
        }
    }

    /// Like [`ChunkReader::next`], but gives up (`Ok(Err(Stalled))`) when nothing arrives for
    /// `ms`: BYOB reads with `min` were seen to stay pending on a broken connection
    /// (docs/facts.md §5), and no read should be able to hold a layer forever.
    pub async fn next_within(
        &mut self,
        ms: i32,
    ) -> Result<Result<Option<Uint8Array>, Stalled>, JsValue> {
        let timer = Timer::start(ms)?;
        let next = std::pin::pin!(self.next());
        match futures::future::select(next, JsFuture::from(timer.fired.clone())).await {
            futures::future::Either::Left((chunk, _)) => chunk.map(Ok),
            futures::future::Either::Right(_) => Ok(Err(Stalled)),
        }
    }

    pub fn cancel(&self) {
        let _ = match self {
            Self::Default(reader) => reader.cancel(),
            Self::Byob { reader, .. } => reader.cancel(),
        };
    }
}

/// No bytes arrived within the time allowed.
#[derive(Debug)]
pub struct Stalled;

/// A `setTimeout` that is cleared when dropped, so a read that returns in time leaves no timer.
struct Timer {
    id: JsValue,
    fired: js_sys::Promise,
}

impl Timer {
    fn start(ms: i32) -> Result<Self, JsValue> {
        let global = js_sys::global();
        let set_timeout: js_sys::Function =
            Reflect::get(&global, &"setTimeout".into())?.dyn_into()?;
        let mut id = JsValue::UNDEFINED;
        let mut failed = None;
        let fired = js_sys::Promise::new(&mut |resolve, _| match set_timeout.call2(
            &global,
            &resolve,
            &JsValue::from(ms),
        ) {
            Ok(value) => id = value,
            Err(error) => failed = Some(error),
        });
        match failed {
            Some(error) => Err(error),
            None => Ok(Self { id, fired }),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let global = js_sys::global();
        if let Ok(clear) = Reflect::get(&global, &"clearTimeout".into()) {
            if let Ok(clear) = clear.dyn_into::<js_sys::Function>() {
                let _ = clear.call1(&global, &self.id);
            }
        }
    }
}

fn not_bytes() -> JsValue {
    JsValue::from_str("the body yielded something other than bytes")
}
