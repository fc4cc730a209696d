//! Cached layers read, and exports written, synchronously inside the inspect worker.

use std::io::{self, Read, Write};

use js_sys::Uint8Array;
use web_sys::{File, FileReaderSync, FileSystemSyncAccessHandle};

use crate::engine::opfs;

/// Reads a `File` synchronously, slice by slice.
pub(super) struct BlobReader {
    file: File,
    at: f64,
    size: f64,
    reader: FileReaderSync,
}

impl BlobReader {
    pub(super) fn new(file: File) -> io::Result<Self> {
        let reader = FileReaderSync::new().map_err(|e| io_error("reading a cached layer", &e))?;
        let size = file.size();
        Ok(Self {
            file,
            at: 0.0,
            size,
            reader,
        })
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = (self.at + buf.len() as f64).min(self.size);
        if end <= self.at {
            return Ok(0);
        }
        let slice = self
            .file
            .slice_with_f64_and_f64(self.at, end)
            .map_err(|e| io_error("reading a cached layer", &e))?;
        let bytes = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| io_error("reading a cached layer", &e))?;
        let bytes = Uint8Array::new(&bytes);
        let read = bytes.length() as usize;
        bytes.copy_to(&mut buf[..read]);
        self.at += read as f64;
        Ok(read)
    }
}

/// Appends to a sync access handle.
pub(super) struct HandleWriter<'a> {
    handle: &'a FileSystemSyncAccessHandle,
    at: u64,
}

impl<'a> HandleWriter<'a> {
    pub(super) fn new(handle: &'a FileSystemSyncAccessHandle) -> Self {
        Self { handle, at: 0 }
    }
}

impl Write for HandleWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        opfs::write_at(self.handle, buf, self.at).map_err(|e| io::Error::other(e.to_string()))?;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn io_error(what: &str, error: &wasm_bindgen::JsValue) -> io::Error {
    io::Error::other(format!("{what}: {}", crate::error::js_error_text(error)))
}
