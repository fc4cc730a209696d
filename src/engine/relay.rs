//! A job's checked bytes handed to the page as they stream, for a file the user chose (the
//! page holds its one writable; workers cannot share it). Bytes travel as transferred buffers,
//! not JSON, and are paced: a job waits while more than [`MAX_IN_FLIGHT`] of its bytes are not
//! yet written, so memory stays bounded whatever the disk's speed. Buffers go round: the page
//! hands each one back with its acknowledgement and the job fills it again, so a gigabyte
//! streamed leaves no gigabyte of garbage for either side's collector. The page commits the
//! file only after every layer passed its check, so bytes written before a check failed never
//! reach the user's file.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::DedicatedWorkerGlobalScope;

/// Bytes a job may have on their way to the page before it waits.
pub const MAX_IN_FLIGHT: u64 = 8 << 20;

/// The smallest buffer allocated: most flushes are a chunk (1 MiB) or a little more.
const MIN_BUFFER: u32 = 2 << 20;

const JOB: &str = "relayJob";
const AT: &str = "at";
const BYTES: &str = "bytes";
const WRITTEN_JOB: &str = "writtenJob";
const BUFFER: &str = "buffer";

/// Bytes of a job, for the page to write at `at` in the blob.
pub struct Relayed {
    pub job: u32,
    pub at: u64,
    pub bytes: Uint8Array,
}

impl Relayed {
    /// Reads a worker's message; `None` when it is not one of these.
    pub fn read(data: &JsValue) -> Option<Self> {
        let job = Reflect::get(data, &JOB.into()).ok()?.as_f64()? as u32;
        let at = Reflect::get(data, &AT.into()).ok()?.as_f64()? as u64;
        let bytes = Reflect::get(data, &BYTES.into())
            .ok()?
            .dyn_into::<Uint8Array>()
            .ok()?;
        Some(Self { job, at, bytes })
    }

    /// The page's acknowledgement: the bytes are written, and their buffer goes back.
    pub fn acknowledgement(&self) -> Result<(JsValue, Array), JsValue> {
        let message = Object::new();
        Reflect::set(&message, &WRITTEN_JOB.into(), &self.job.into())?;
        Reflect::set(&message, &BYTES.into(), &self.bytes.length().into())?;
        let buffer = self.bytes.buffer();
        Reflect::set(&message, &BUFFER.into(), &buffer)?;
        Ok((message.into(), Array::of1(&buffer)))
    }
}

/// A page's acknowledgement, as the worker reads it.
pub struct Written {
    pub job: u32,
    pub bytes: u64,
    pub buffer: Option<ArrayBuffer>,
}

impl Written {
    pub fn read(data: &JsValue) -> Option<Self> {
        let job = Reflect::get(data, &WRITTEN_JOB.into()).ok()?.as_f64()? as u32;
        let bytes = Reflect::get(data, &BYTES.into()).ok()?.as_f64()? as u64;
        let buffer = Reflect::get(data, &BUFFER.into())
            .ok()
            .and_then(|b| b.dyn_into::<ArrayBuffer>().ok());
        Some(Self { job, bytes, buffer })
    }
}

/// The page's acknowledgements a job waits for.
#[derive(Default)]
pub struct Flight {
    in_flight: Cell<u64>,
    waiting: RefCell<Option<oneshot::Sender<()>>>,
    /// Buffers the page handed back, to fill again.
    free: RefCell<Vec<ArrayBuffer>>,
}

impl Flight {
    /// The page wrote `bytes` of this job's, and gave their buffer back.
    pub fn written(&self, written: Written) {
        self.in_flight
            .set(self.in_flight.get().saturating_sub(written.bytes));
        if let Some(buffer) = written.buffer {
            self.free.borrow_mut().push(buffer);
        }
        if let Some(waiting) = self.waiting.borrow_mut().take() {
            let _ = waiting.send(());
        }
    }

    /// A view of `length` bytes over a returned buffer big enough, or a new one.
    fn buffer(&self, length: u32) -> Uint8Array {
        let mut free = self.free.borrow_mut();
        let buffer = match free.iter().position(|b| b.byte_length() >= length) {
            Some(index) => free.swap_remove(index),
            None => ArrayBuffer::new(length.max(MIN_BUFFER)),
        };
        Uint8Array::new_with_byte_offset_and_length(&buffer, 0, length)
    }
}

/// A job's way to the page.
pub struct Outbox {
    job: u32,
    scope: DedicatedWorkerGlobalScope,
    flight: Rc<Flight>,
}

impl Outbox {
    pub fn new(job: u32, scope: DedicatedWorkerGlobalScope, flight: Rc<Flight>) -> Self {
        Self { job, scope, flight }
    }

    /// Sends a copy of `bytes` (wasm memory is not transferable).
    pub fn send(&self, bytes: &[u8], at: u64) -> Result<(), JsValue> {
        let copy = self.flight.buffer(bytes.len() as u32);
        copy.copy_from(bytes);
        self.send_owned(copy, at)
    }

    /// Sends a copy of bytes held in a JS buffer (a blob kept whole for the browser's SHA-256).
    pub fn send_js(&self, bytes: &Uint8Array, at: u64) -> Result<(), JsValue> {
        let copy = self.flight.buffer(bytes.length());
        copy.set(bytes, 0);
        self.send_owned(copy, at)
    }

    fn send_owned(&self, bytes: Uint8Array, at: u64) -> Result<(), JsValue> {
        if bytes.length() == 0 {
            return Ok(());
        }
        let message = Object::new();
        Reflect::set(&message, &JOB.into(), &self.job.into())?;
        Reflect::set(&message, &AT.into(), &(at as f64).into())?;
        Reflect::set(&message, &BYTES.into(), &bytes)?;
        let length = u64::from(bytes.length());
        self.scope
            .post_message_with_transfer(&message, &Array::of1(&bytes.buffer()))?;
        let flight = &self.flight;
        flight.in_flight.set(flight.in_flight.get() + length);
        Ok(())
    }

    /// Waits until no more than `limit` bytes are unwritten.
    pub async fn settle(&self, limit: u64) {
        while self.flight.in_flight.get() > limit {
            let (sender, receiver) = oneshot::channel();
            *self.flight.waiting.borrow_mut() = Some(sender);
            // A dropped sender (the job's entry gone) ends the wait too.
            if receiver.await.is_err() {
                return;
            }
        }
    }
}
