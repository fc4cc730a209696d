//! The archive as one `Blob` whose parts are small byte arrays and the cached blob files
//! themselves: assembling it copies nothing; the browser reads the files when it saves.

use js_sys::{Array, Uint8Array};
use skiff_core::archive::tar_parts::{total_len, Part};
use web_sys::{Blob, BlobPropertyBag};

use crate::engine::cache::Cache;
use crate::error::AppError;
use crate::services::http::js_error;

pub async fn assemble(parts: &[Part], cache: &Cache) -> Result<Blob, AppError> {
    let sequence = Array::new();
    for part in parts {
        match part {
            Part::Bytes(bytes) => {
                sequence.push(&Uint8Array::from(bytes.as_slice()));
            }
            Part::Blob { digest, .. } => {
                let file = cache
                    .file(digest)
                    .await
                    .map_err(|e| AppError::Storage(e.to_string()))?;
                sequence.push(&file);
            }
        }
    }
    let options = BlobPropertyBag::new();
    options.set_type("application/x-tar");
    let tar = Blob::new_with_blob_sequence_and_options(&sequence, &options)
        .map_err(|e| js_error("assembling the archive", &e))?;
    let expected = total_len(parts)?;
    if tar.size() as u64 != expected {
        return Err(AppError::Storage(format!(
            "the assembled archive has {} bytes instead of {expected}; a cached layer changed on disk (was the cache cleared meanwhile?)",
            tar.size() as u64
        )));
    }
    Ok(tar)
}
