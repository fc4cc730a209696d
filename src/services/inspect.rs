//! The page's side of inspect tasks: each runs in a worker of its own (reading layers and
//! writing exports there keeps the page responsive), and a saved result is offered as a
//! download from OPFS.

use std::cell::RefCell;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::engine::inspect::exports_dir;
use crate::engine::opfs;
use crate::engine::pool::WORKER_SCRIPT;
use crate::engine::protocol::{encode, InspectTask, Inspected, ToPage, ToWorker, TreeRow};

/// Runs `task` in a new worker; `on_rows` gets the tree's rows as they come.
pub async fn run(
    task: InspectTask,
    on_rows: impl Fn(Vec<TreeRow>) + 'static,
) -> Result<Inspected, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name("skiff-inspect");
    let worker = Worker::new_with_options(WORKER_SCRIPT, &options)
        .map_err(|e| crate::error::js_error_text(&e))?;
    let (messages, mut incoming) = mpsc::unbounded::<ToPage>();
    let (failed, failure) = oneshot::channel::<String>();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(message) = event
            .data()
            .as_string()
            .and_then(|text| serde_json::from_str::<ToPage>(&text).ok())
        {
            let _ = messages.unbounded_send(message);
        }
    });
    let failed = RefCell::new(Some(failed));
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        if let Some(failed) = failed.borrow_mut().take() {
            let _ = failed.send(event.message());
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let outcome = drive(&worker, task, &mut incoming, on_rows, failure).await;
    worker.terminate();
    outcome
}

async fn drive(
    worker: &Worker,
    task: InspectTask,
    incoming: &mut mpsc::UnboundedReceiver<ToPage>,
    on_rows: impl Fn(Vec<TreeRow>),
    failure: oneshot::Receiver<String>,
) -> Result<Inspected, String> {
    let mut failure = failure;
    let job = 1;
    loop {
        let message = futures::select! {
            message = incoming.next() => message,
            detail = failure => return Err(format!("the worker failed: {}", detail.unwrap_or_default())),
        };
        match message {
            Some(ToPage::Ready) => {
                let message = encode(&ToWorker::Inspect {
                    job,
                    task: task.clone(),
                });
                worker
                    .post_message(&JsValue::from_str(&message))
                    .map_err(|e| crate::error::js_error_text(&e))?;
            }
            Some(ToPage::Rows { rows, .. }) => on_rows(rows),
            Some(ToPage::Inspected { outcome, .. }) => return outcome,
            Some(ToPage::Crashed { detail }) => return Err(format!("the worker failed: {detail}")),
            Some(_) => {}
            None => return Err("the worker stopped".to_owned()),
        }
    }
}

/// Offers `skiff-exports/<file_name>` as a download named `download_name`.
pub async fn download(file_name: &str, download_name: &str) -> Result<(), String> {
    let handle = opfs::file(&exports_dir().await?, file_name, false)
        .await
        .map_err(|e| e.to_string())?;
    let file: web_sys::Blob = opfs::wait(handle.get_file(), "reading the saved file")
        .await
        .map_err(|e| e.to_string())?
        .unchecked_into();
    offer(&file, download_name)
}

/// Offers `text` as a download named `download_name`, of `mime` type.
pub fn offer_text(text: &str, download_name: &str, mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| crate::error::js_error_text(&e))?;
    offer(&blob, download_name)
}

fn offer(blob: &web_sys::Blob, download_name: &str) -> Result<(), String> {
    let url = web_sys::Url::create_object_url_with_blob(blob)
        .map_err(|e| crate::error::js_error_text(&e))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("this page has no document")?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| crate::error::js_error_text(&e))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(download_name);
    anchor.click();
    // The download holds its own reference; the URL may go once it started.
    wasm_bindgen_futures::spawn_local(async move {
        opfs::pause(60_000).await;
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    Ok(())
}
