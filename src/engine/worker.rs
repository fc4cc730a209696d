//! The layer worker's side: receives jobs, runs each ([`super::job::Job`]), and is the job's
//! link to the page (progress, the request log, fresh tokens) and to the network.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use skiff_core::explorer::exchange::{self, Exchange, Method, Purpose};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    AbortController, DedicatedWorkerGlobalScope, MessageEvent, Request, RequestInit, Response,
};

use super::job::Job;
use super::protocol::{encode, JobAuth, LayerFailure, LayerJob, Source, ToPage, ToWorker};
use super::relay::{Flight, Outbox, Written};

/// A running job's controls, as the message handler reaches them.
struct Running {
    controller: AbortController,
    authorization: Option<oneshot::Sender<Option<JobAuth>>>,
    /// Its bytes on their way to the page.
    flight: Rc<Flight>,
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
            if let Some(written) = Written::read(&event.data()) {
                let flight = RUNNING.with(|r| Some(r.borrow().get(&written.job)?.flight.clone()));
                if let Some(flight) = flight {
                    flight.written(written);
                }
            }
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
    // A trap inside a job's future can end as a rejected promise, which fires no `error` on
    // the page's Worker: say so, so the page fails the job instead of waiting forever.
    let crashed_scope = scope.clone();
    let on_rejection = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let reason = js_sys::Reflect::get(&event, &JsValue::from_str("reason"))
            .map(|reason| crate::error::js_error_text(&reason))
            .unwrap_or_default();
        post(&crashed_scope, &ToPage::Crashed { detail: reason });
    });
    let _ = scope.add_event_listener_with_callback(
        "unhandledrejection",
        on_rejection.as_ref().unchecked_ref(),
    );
    on_rejection.forget();
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
    let flight = Rc::new(Flight::default());
    RUNNING.with(|r| {
        r.borrow_mut().insert(
            job,
            Running {
                controller: controller.clone(),
                authorization: None,
                flight: flight.clone(),
            },
        )
    });
    let link = JobLink {
        job,
        scope: scope.clone(),
        controller,
        flight,
        requests: Cell::new(0),
        last: RefCell::new(None),
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
    pub route: &'a skiff_core::protocol::registry::Route,
    pub authorization: Option<&'a str>,
    pub range: Option<&'a str>,
}

/// What a job needs of the world outside it.
pub struct JobLink {
    job: u32,
    scope: DedicatedWorkerGlobalScope,
    controller: AbortController,
    flight: Rc<Flight>,
    /// Requests made so far, for their records' ids.
    requests: Cell<u32>,
    /// The last request's record, completed when its body ends.
    last: RefCell<Option<Exchange>>,
}

impl JobLink {
    /// The way to the page for the job's bytes ([`super::relay`]).
    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.job, self.scope.clone(), self.flight.clone())
    }

    pub fn progress(&self, received: u64, stored: u64, restarts: u32) {
        post(
            &self.scope,
            &ToPage::Progress {
                job: self.job,
                received,
                stored,
                restarts,
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
            let _ = headers.set(sent.route.credential_header(), authorization);
        }
        if let Some(range) = sent.range {
            let _ = headers.set("Range", range);
        }
        let started_ms = js_sys::Date::now();
        let result = JsFuture::from(self.scope.fetch_with_request(&request)).await;
        let response: Option<Response> = result.as_ref().ok().map(|r| r.clone().unchecked_into());
        self.report(sent, response.as_ref(), started_ms);
        match response {
            Some(response) => Ok(response),
            None => Err(result
                .err()
                .map(|e| crate::error::js_error_text(&e))
                .unwrap_or_default()),
        }
    }

    fn report(&self, sent: &Sent<'_>, response: Option<&Response>, started_ms: f64) {
        self.requests.set(self.requests.get() + 1);
        let source = sent.source;
        let mut headers = Vec::new();
        if let (true, Some(authorization)) = (source.registry, sent.authorization) {
            headers.push((sent.route.credential_header(), authorization));
        }
        if let Some(range) = sent.range {
            headers.push(("Range", range));
        }
        let answer = response.map(|r| {
            let headers = gloo_net::http::Headers::from_raw(r.headers())
                .entries()
                .collect();
            (r.status(), headers)
        });
        let mut record = Exchange::sent(
            exchange::Sent {
                id: format!("w{}-{}", self.job, self.requests.get()),
                purpose: if source.registry {
                    Purpose::Layer
                } else {
                    Purpose::ForeignLayer
                },
                method: Method::Get,
                url: &source.shown_url,
                headers: &headers,
                started_ms,
            },
            answer,
            js_sys::Date::now(),
        );
        record.note = source
            .local
            .then(|| "read from this browser's layer cache, not the network".to_owned());
        self.post_exchange(&record);
        *self.last.borrow_mut() = Some(record);
    }

    /// The last request's body ended (or broke) after `bytes`.
    pub fn finish_exchange(&self, bytes: u64) {
        if let Some(mut record) = self.last.borrow_mut().take() {
            record.finished_ms = Some(js_sys::Date::now());
            record.bytes = Some(bytes);
            self.post_exchange(&record);
        }
    }

    fn post_exchange(&self, record: &Exchange) {
        post(
            &self.scope,
            &ToPage::Exchange {
                job: self.job,
                exchange: Box::new(record.clone()),
            },
        );
    }

    /// Asks the page for a fresh `Authorization` after a 401; `Err` when it has none.
    pub async fn ask_authorization(
        &self,
        challenge: Option<String>,
        generation: u64,
    ) -> Result<JobAuth, LayerFailure> {
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
                generation,
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
