//! The layer worker's side: receives jobs, runs each ([`super::job::Job`]), and is the job's
//! link to the page (progress, the request log, fresh tokens) and to the network.

use std::cell::RefCell;
use std::collections::HashMap;

use futures::channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    AbortController, DedicatedWorkerGlobalScope, MessageEvent, Request, RequestInit, Response,
};

use super::job::Job;
use super::protocol::{encode, LayerFailure, LayerJob, Source, ToPage, ToWorker};

/// A running job's controls, as the message handler reaches them.
struct Running {
    controller: AbortController,
    authorization: Option<oneshot::Sender<Option<String>>>,
}

thread_local! {
    static RUNNING: RefCell<HashMap<u32, Running>> = RefCell::new(HashMap::new());
}

/// The worker's `main`: listens for jobs, then says it is ready.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let listener = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            return;
        };
        match serde_json::from_str::<ToWorker>(&text) {
            Ok(ToWorker::Layer(job)) => spawn_local(run(listener.clone(), job)),
            Ok(ToWorker::Authorization { job, authorization }) => {
                let waiting = RUNNING.with(|r| r.borrow_mut().get_mut(&job)?.authorization.take());
                if let Some(waiting) = waiting {
                    let _ = waiting.send(authorization);
                }
            }
            Ok(ToWorker::Inspect { job, task }) => {
                let scope = listener.clone();
                spawn_local(async move {
                    let rows = |rows| post(&scope, &ToPage::Rows { job, rows });
                    let outcome = super::inspect::run(task, rows).await;
                    post(&scope, &ToPage::Inspected { job, outcome });
                });
            }
            Ok(ToWorker::Cancel { job }) => RUNNING.with(|r| {
                if let Some(running) = r.borrow().get(&job) {
                    running.controller.abort();
                }
            }),
            Err(_) => {}
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&scope, &ToPage::Ready);
}

fn post(scope: &DedicatedWorkerGlobalScope, message: &ToPage) {
    let _ = scope.post_message(&JsValue::from_str(&encode(message)));
}

async fn run(scope: DedicatedWorkerGlobalScope, spec: LayerJob) {
    let job = spec.job;
    let Ok(controller) = AbortController::new() else {
        return;
    };
    RUNNING.with(|r| {
        r.borrow_mut().insert(
            job,
            Running {
                controller: controller.clone(),
                authorization: None,
            },
        )
    });
    let link = JobLink {
        job,
        scope: scope.clone(),
        controller,
    };
    let result = match Job::open(spec, link).await {
        Ok(opened) => opened.run().await,
        Err(failure) => Err(failure),
    };
    RUNNING.with(|r| r.borrow_mut().remove(&job));
    post(
        &scope,
        &match result {
            Ok(stored) => ToPage::Stored { job, stored },
            Err(failure) => ToPage::Failed { job, failure },
        },
    );
}

/// A request as a job sends it.
pub struct Sent<'a> {
    pub source: &'a Source,
    pub authorization: Option<&'a str>,
    pub range: Option<&'a str>,
}

/// What a job needs of the world outside it.
pub struct JobLink {
    job: u32,
    scope: DedicatedWorkerGlobalScope,
    controller: AbortController,
}

impl JobLink {
    pub fn progress(&self, received: u64) {
        post(
            &self.scope,
            &ToPage::Progress {
                job: self.job,
                received,
            },
        );
    }

    pub fn check_cancelled(&self) -> Result<(), LayerFailure> {
        if self.controller.signal().aborted() {
            Err(LayerFailure::Cancelled)
        } else {
            Ok(())
        }
    }

    /// GETs the source; the error is the browser's word for why no answer came.
    pub async fn send(&self, sent: &Sent<'_>) -> Result<Response, String> {
        self.check_cancelled().map_err(|_| "cancelled".to_owned())?;
        let init = RequestInit::new();
        init.set_signal(Some(&self.controller.signal()));
        // Never the browser's HTTP cache: it keeps a body that ended early as if complete, and
        // answers later range requests from it. Reuse is the layer cache's job, verified.
        init.set_cache(web_sys::RequestCache::NoStore);
        let request = Request::new_with_str_and_init(&sent.source.fetch_url, &init)
            .map_err(|e| crate::error::js_error_text(&e))?;
        let headers = request.headers();
        if let (true, Some(authorization)) = (sent.source.registry, sent.authorization) {
            let _ = headers.set("Authorization", authorization);
        }
        if let Some(range) = sent.range {
            let _ = headers.set("Range", range);
        }
        let result = JsFuture::from(self.scope.fetch_with_request(&request)).await;
        let response: Option<Response> = result.as_ref().ok().map(|r| r.clone().unchecked_into());
        self.report(sent, response.as_ref());
        match response {
            Some(response) => Ok(response),
            None => Err(result
                .err()
                .map(|e| crate::error::js_error_text(&e))
                .unwrap_or_default()),
        }
    }

    fn report(&self, sent: &Sent<'_>, response: Option<&Response>) {
        let mut note = if sent.source.registry {
            "layer".to_owned()
        } else {
            "foreign layer from its URL".to_owned()
        };
        if let Some(range) = sent.range {
            note.push_str(&format!(", resumed ({range})"));
        }
        let redirected = response.and_then(|r| {
            r.headers()
                .get(skiff_core::proxy_protocol::REDIRECTED_TO_HEADER)
                .ok()
                .flatten()
        });
        if let Some(host) = redirected {
            note.push_str(&format!(", served by {host} after a redirect"));
        }
        if sent.source.registry && sent.authorization.is_some() {
            note.push_str(" (authenticated)");
        }
        if response.is_none() {
            note.push_str(": no answer");
        }
        post(
            &self.scope,
            &ToPage::Exchange {
                job: self.job,
                url: sent.source.shown_url.clone(),
                status: response.map(Response::status),
                note,
            },
        );
    }

    /// Asks the page for a fresh `Authorization` after a 401; `Err` when it has none.
    pub async fn ask_authorization(
        &self,
        challenge: Option<String>,
    ) -> Result<String, LayerFailure> {
        let (sender, receiver) = oneshot::channel();
        RUNNING.with(|r| {
            if let Some(running) = r.borrow_mut().get_mut(&self.job) {
                running.authorization = Some(sender);
            }
        });
        post(
            &self.scope,
            &ToPage::NeedsAuthorization {
                job: self.job,
                challenge,
            },
        );
        match receiver.await {
            Ok(Some(authorization)) => Ok(authorization),
            _ => Err(LayerFailure::Http(Box::new(super::protocol::HttpFacts {
                status: 401,
                ..Default::default()
            }))),
        }
    }

    /// Waits `ms`, unless the job is cancelled meanwhile.
    pub async fn sleep(&self, ms: u64) -> Result<(), LayerFailure> {
        super::opfs::pause(ms.min(i32::MAX as u64) as i32).await;
        self.check_cancelled()
    }
}
