//! Reading a response body in large chunks. A BYOB reader with `min` fills one reused 1 MiB
//! buffer per read (DESIGN §5), so a layer costs a few hundred promise round trips instead of
//! tens of thousands; bodies that are not byte streams fall back to the default reader.

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader,
    ReadableStreamGetReaderOptions, ReadableStreamReadResult, ReadableStreamReaderMode,
};

const READ_BYTES: u32 = 1 << 20;

enum Reader {
    Byob(ReadableStreamByobReader),
    Default(ReadableStreamDefaultReader),
}

pub struct ChunkReader {
    reader: Reader,
    /// The buffer handed back by the last BYOB read, reused by the next.
    buffer: Option<Uint8Array>,
    finished: bool,
}

impl ChunkReader {
    pub fn new(body: &ReadableStream) -> Self {
        let options = ReadableStreamGetReaderOptions::new();
        options.set_mode(ReadableStreamReaderMode::Byob);
        let reader = match body.get_reader_with_options(&options).dyn_into() {
            Ok(byob) => Reader::Byob(byob),
            Err(_) => Reader::Default(body.get_reader().unchecked_into()),
        };
        Self {
            reader,
            buffer: None,
            finished: false,
        }
    }

    /// The next chunk, `None` at the end. The chunk is only valid until the next call.
    pub async fn next(&mut self) -> Result<Option<Uint8Array>, JsValue> {
        if self.finished {
            return Ok(None);
        }
        let promise = match &self.reader {
            Reader::Default(reader) => reader.read(),
            Reader::Byob(reader) => {
                let view = self
                    .buffer
                    .take()
                    .unwrap_or_else(|| Uint8Array::new_with_length(READ_BYTES));
                let options = Object::new();
                Reflect::set(&options, &"min".into(), &view.length().into())?;
                // web-sys has no binding for `read(view, { min })` yet.
                let read: Function = Reflect::get(reader, &"read".into())?.dyn_into()?;
                read.call2(reader, &view, &options)?.dyn_into()?
            }
        };
        let result: ReadableStreamReadResult = JsFuture::from(promise).await?.unchecked_into();
        let done = result.get_done().unwrap_or(false);
        let chunk = result.get_value().dyn_into::<Uint8Array>().ok();
        if done {
            // A BYOB read still waiting for `min` bytes when the stream closes is answered with
            // `done` *and* the bytes it got: they are the last chunk.
            self.finished = true;
            return Ok(chunk.filter(|c| c.length() > 0));
        }
        let Some(chunk) = chunk else {
            return Err(JsValue::from_str(
                "the body yielded something other than bytes",
            ));
        };
        if matches!(self.reader, Reader::Byob(_)) {
            self.buffer = Some(Uint8Array::new(&chunk.buffer()));
        }
        Ok(Some(chunk))
    }

    pub fn cancel(&self) {
        let _ = match &self.reader {
            Reader::Byob(reader) => reader.cancel(),
            Reader::Default(reader) => reader.cancel(),
        };
    }
}
