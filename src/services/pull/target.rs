//! Saving straight into a file the user chose (`showSaveFilePicker`, Chromium): with layers kept
//! as downloaded, every offset of the archive is known once the images are resolved, so the
//! header parts are written at once and each layer at its offset as soon as it is verified. The
//! browser writes to a swap file that becomes the chosen file only on `close()`; a failed pull
//! `abort()`s it, so nothing unverified ever lands there.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Function, Reflect, Uint8Array};
use skiff_core::archive::tar_parts::Part;
use skiff_core::Digest;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, FileSystemFileHandle, FileSystemWritableFileStream, WriteCommandType, WriteParams,
};

use crate::error::{js_error_text, AppError};

/// Set by the tests and the benchmark: a file handle (from OPFS) used in place of the picker's,
/// which no headless browser can drive. The code path after it is the same.
const TEST_TARGET: &str = "__skiffSaveTargetForTests";

/// Whether this browser can write to a file the user chooses.
pub fn can_pick() -> bool {
    web_sys::window().is_some_and(|window| {
        Reflect::get(&window, &JsValue::from_str("showSaveFilePicker"))
            .is_ok_and(|f| f.is_function())
            || Reflect::get(&window, &JsValue::from_str(TEST_TARGET)).is_ok_and(|h| h.is_object())
    })
}

/// Asks the user where to save (`None`: they cancelled the picker).
pub async fn pick(suggested_name: &str) -> Result<Option<FileSystemFileHandle>, AppError> {
    let window = web_sys::window().ok_or_else(|| AppError::Browser("no window".into()))?;
    if let Ok(handle) = Reflect::get(&window, &JsValue::from_str(TEST_TARGET)) {
        if handle.is_object() {
            return Ok(Some(handle.unchecked_into()));
        }
    }
    let picker: Function = Reflect::get(&window, &JsValue::from_str("showSaveFilePicker"))
        .ok()
        .filter(JsValue::is_function)
        .ok_or_else(|| {
            AppError::Browser(
                "this browser cannot write to a file you choose; leave \"Save to a file I choose\" off and save the download instead".into(),
            )
        })?
        .unchecked_into();
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &"suggestedName".into(), &suggested_name.into());
    let promise = picker
        .call1(&window, &options)
        .map_err(|e| AppError::Browser(format!("choosing a file: {}", js_error_text(&e))))?;
    match JsFuture::from(js_sys::Promise::from(promise)).await {
        Ok(handle) => Ok(Some(handle.unchecked_into())),
        // The user closed the picker.
        Err(error) if js_error_name(&error) == "AbortError" => Ok(None),
        Err(error) => Err(AppError::Browser(format!(
            "choosing a file: {}",
            js_error_text(&error)
        ))),
    }
}

fn js_error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

pub struct Target {
    pub name: String,
    writable: FileSystemWritableFileStream,
    /// Where each blob goes (its offset and length), once the layout is known.
    places: RefCell<HashMap<Digest, (u64, u64)>>,
    /// Why a write of bytes handed over by a layer job failed: the pull fails with it.
    failure: RefCell<Option<AppError>>,
}

fn failed(what: &str, error: &JsValue) -> AppError {
    AppError::Storage(format!("{what}: {}", js_error_text(error)))
}

impl Target {
    pub async fn open(handle: &FileSystemFileHandle) -> Result<Self, AppError> {
        let writable = JsFuture::from(handle.create_writable())
            .await
            .map_err(|e| failed("opening the chosen file", &e))?
            .unchecked_into();
        Ok(Self {
            name: handle.name(),
            writable,
            places: Default::default(),
            failure: Default::default(),
        })
    }

    /// Writes the archive's byte parts at their offsets and remembers where each blob goes.
    pub async fn lay_out(&self, parts: &[Part]) -> Result<(), AppError> {
        let mut at = 0u64;
        for part in parts {
            match part {
                Part::Bytes(bytes) => {
                    self.write_at(&Uint8Array::from(bytes.as_slice()).into(), at)
                        .await?
                }
                Part::Blob { digest, size } => {
                    self.places.borrow_mut().insert(digest.clone(), (at, *size));
                }
            }
            at += part.len();
        }
        Ok(())
    }

    /// Writes a verified blob (a cached file) at its offset; nothing if the layout has no place
    /// for it (layers stored uncompressed are written with the whole archive instead).
    pub async fn write_blob(&self, digest: &Digest, file: &Blob) -> Result<(), AppError> {
        let place = self.places.borrow().get(digest).copied();
        match place {
            Some((at, _)) => self.write_at(file.as_ref(), at).await,
            None => Ok(()),
        }
    }

    /// Writes bytes of a blob a layer job handed over as they streamed, at `at` within the
    /// blob. A write outside the blob's place (a body longer than its size) or one the browser
    /// refuses is kept as the pull's failure ([`Target::take_failure`]), never written.
    pub async fn write_streamed(&self, digest: &Digest, at: u64, bytes: &Uint8Array) {
        let place = self.places.borrow().get(digest).copied();
        let end = at + u64::from(bytes.length());
        let result = match place {
            Some((start, size)) if end <= size => self.write_at(bytes.as_ref(), start + at).await,
            _ => Err(AppError::Storage(format!(
                "layer {} handed over bytes {at}..{end}, outside its place in the archive",
                digest.short()
            ))),
        };
        if let Err(error) = result {
            self.failure.borrow_mut().get_or_insert(error);
        }
    }

    /// The first failure of a streamed write, if any.
    pub fn take_failure(&self) -> Result<(), AppError> {
        self.failure.borrow_mut().take().map_or(Ok(()), Err)
    }

    /// Whether blobs are written as they are verified (the layout is known).
    pub fn is_laid_out(&self) -> bool {
        !self.places.borrow().is_empty()
    }

    pub async fn write_all(&self, archive: &Blob) -> Result<(), AppError> {
        self.write_at(archive.as_ref(), 0).await
    }

    async fn write_at(&self, data: &JsValue, at: u64) -> Result<(), AppError> {
        let params = WriteParams::new(WriteCommandType::Write);
        params.set_position(Some(at as f64));
        params.set_data(data);
        let promise = self
            .writable
            .write_with_write_params(&params)
            .map_err(|e| failed("writing the chosen file", &e))?;
        JsFuture::from(promise)
            .await
            .map(drop)
            .map_err(|e| failed("writing the chosen file", &e))
    }

    /// Makes the written archive the chosen file.
    pub async fn commit(&self) -> Result<(), AppError> {
        JsFuture::from(self.writable.close())
            .await
            .map(drop)
            .map_err(|e| failed("saving the chosen file", &e))
    }

    /// Discards everything written: the chosen file stays as it was.
    pub async fn abort(&self) {
        let _ = JsFuture::from(self.writable.abort()).await;
    }
}
