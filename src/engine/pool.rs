//! The page's side of the layer workers: up to N dedicated workers. [`Pool::run`] grants a job
//! its hashing (the browser's SHA-256 while the shared memory budget holds the blob, else a lane
//! of a worker's four-stream SHA-256), hands it to a worker (jobs hashed in lanes share one, up
//! to its lanes; any other job gets a worker of its own) and resolves when the worker reports it
//! stored or failed; what happens meanwhile (progress, requests, a 401) reaches the job's
//! `on_event`. Dropping the pool terminates its workers, which also cancels their fetches.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{FutureExt as _, Shared};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use skiff_core::transfer::hashing::{Grant, HashBackend, HashBudget, HashSettings};

use super::protocol::{encode, LayerFailure, LayerJob, Stored, ToPage, ToWorker};
use super::relay::Relayed;

/// The worker script Trunk emits for the `skiff-worker` binary (`data-loader-shim`).
pub const WORKER_SCRIPT: &str = "./skiff-worker_loader.js";

/// What a running job says before it ends.
pub enum JobEvent {
    Progress {
        received: u64,
        /// Bytes on disk in the partial file, and the job's restarts ([`ToPage::Progress`]).
        stored: u64,
        restarts: u32,
    },
    /// A request the job made (reported again when its body ended).
    Exchange(Box<skiff_core::explorer::exchange::Exchange>),
    /// The registry answered 401: call [`Pool::authorize`] with a fresh header (or `None`).
    NeedsAuthorization {
        job: u32,
        challenge: Option<String>,
        generation: u64,
    },
    /// Checked bytes of a job whose destination is the page: write them, then hand them to
    /// [`Pool::relayed`] (the job waits for that, not for the blob's check).
    Bytes(Relayed),
}

type Outcome = Result<Stored, LayerFailure>;

struct Waiting {
    done: oneshot::Sender<Outcome>,
    on_event: Rc<dyn Fn(JobEvent)>,
    worker: usize,
}

struct Slot {
    worker: Worker,
    /// Jobs running on it, and how many of them hash in its lanes.
    jobs: Cell<usize>,
    lane_jobs: Cell<usize>,
    /// It died (an uncaught error): terminated, never given a job again.
    dead: Cell<bool>,
    ready: Shared<oneshot::Receiver<Result<(), String>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

struct Inner {
    slots: RefCell<Vec<Rc<Slot>>>,
    hashing: RefCell<HashBudget>,
    waiting: RefCell<HashMap<u32, Waiting>>,
    next_job: Cell<u32>,
}

pub struct Pool {
    inner: Rc<Inner>,
    size: usize,
}

impl Pool {
    /// A pool of up to `size` workers, started as jobs need them, hashing as `hashing` says.
    pub fn new(size: usize, hashing: HashSettings) -> Self {
        let inner = Inner {
            slots: RefCell::default(),
            hashing: RefCell::new(HashBudget::new(hashing)),
            waiting: RefCell::default(),
            next_job: Cell::default(),
        };
        Self {
            inner: Rc::new(inner),
            size: size.max(1),
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `job` (its `job` number is assigned here) on an idle worker. At most [`Pool::size`]
    /// runs may be pending at once.
    pub async fn run(&self, mut job: LayerJob, on_event: Rc<dyn Fn(JobEvent)>) -> Outcome {
        let grant = (self.inner.hashing.borrow_mut()).grant(job.size, job.diff_id.is_some());
        job.hashing = grant.backend;
        let slot = match self.slot_for(grant.backend == HashBackend::Lanes) {
            Ok(slot) => slot,
            Err(detail) => {
                self.inner.hashing.borrow_mut().release(grant);
                return Err(LayerFailure::Storage { detail });
            }
        };
        let running = Running::start(&self.inner, slot, grant);
        self.run_on(&running.slot, &mut job, on_event).await
    }

    async fn run_on(
        &self,
        slot: &Rc<Slot>,
        job: &mut LayerJob,
        on_event: Rc<dyn Fn(JobEvent)>,
    ) -> Outcome {
        if let Ok(Err(detail)) | Err(detail) = slot.ready.clone().await.map_err(|_| String::new()) {
            return Err(LayerFailure::Storage {
                detail: format!("the layer worker did not start: {detail}"),
            });
        }
        let number = self.inner.next_job.get() + 1;
        self.inner.next_job.set(number);
        job.job = number;
        let (done, finished) = oneshot::channel();
        let worker_index = self.index_of(slot);
        self.inner.waiting.borrow_mut().insert(
            number,
            Waiting {
                done,
                on_event,
                worker: worker_index,
            },
        );
        let message = encode(&ToWorker::Layer(job.clone()));
        if let Err(error) = slot.worker.post_message(&JsValue::from_str(&message)) {
            self.inner.waiting.borrow_mut().remove(&number);
            return Err(LayerFailure::Storage {
                detail: crate::error::js_error_text(&error),
            });
        }
        // A dropped sender means the pool was dropped or the worker died.
        finished.await.unwrap_or(Err(LayerFailure::Cancelled))
    }

    /// Stops every worker now; pending runs end as cancelled.
    pub fn terminate(&self) {
        for slot in self.inner.slots.borrow().iter() {
            slot.worker.terminate();
        }
        // Dropping the senders resolves every pending run.
        self.inner.waiting.borrow_mut().clear();
    }

    /// Answers a job's [`JobEvent::NeedsAuthorization`].
    pub fn authorize(&self, job: u32, authorization: Option<super::protocol::JobAuth>) {
        self.post_to_job(job, &ToWorker::Authorization { job, authorization });
    }

    /// Tells a job the page wrote bytes it handed over, and gives their buffer back.
    pub fn relayed(&self, relayed: &Relayed) {
        if let (Some(slot), Ok((message, transfer))) =
            (self.slot_of(relayed.job), relayed.acknowledgement())
        {
            // Never without the acknowledgement (the job waits for it): a buffer that cannot
            // be transferred goes as a copy.
            if slot
                .worker
                .post_message_with_transfer(&message, &transfer)
                .is_err()
            {
                let _ = slot.worker.post_message(&message);
            }
        }
    }

    fn post_to_job(&self, job: u32, message: &ToWorker) {
        if let Some(slot) = self.slot_of(job) {
            let _ = slot
                .worker
                .post_message(&JsValue::from_str(&encode(message)));
        }
    }

    fn slot_of(&self, job: u32) -> Option<Rc<Slot>> {
        let worker = self.inner.waiting.borrow().get(&job).map(|w| w.worker)?;
        self.inner.slots.borrow().get(worker).cloned()
    }

    fn index_of(&self, slot: &Rc<Slot>) -> usize {
        self.inner
            .slots
            .borrow()
            .iter()
            .position(|s| Rc::ptr_eq(s, slot))
            .unwrap_or(usize::MAX)
    }

    /// A job hashed in lanes joins a worker whose lanes are in use and not all taken; any
    /// other job (or one finding no such worker) takes an idle worker, or a new one.
    fn slot_for(&self, in_lanes: bool) -> Result<Rc<Slot>, String> {
        let lanes = self.inner.hashing.borrow().settings().lanes;
        let slots = self.inner.slots.borrow();
        let live = || slots.iter().filter(|s| !s.dead.get());
        let joinable = |s: &&Rc<Slot>| {
            let lane_jobs = s.lane_jobs.get();
            lane_jobs > 0 && lane_jobs < lanes && s.jobs.get() == lane_jobs
        };
        if let Some(slot) = live().find(joinable).filter(|_| in_lanes) {
            return Ok(slot.clone());
        }
        if let Some(slot) = live().find(|s| s.jobs.get() == 0) {
            return Ok(slot.clone());
        }
        let index = slots.len();
        drop(slots);
        let slot = Rc::new(spawn(&self.inner, index)?);
        self.inner.slots.borrow_mut().push(slot.clone());
        Ok(slot)
    }
}

/// A job on its worker: counted there, and holding its hashing grant, until it ends or is
/// dropped.
struct Running<'a> {
    inner: &'a Inner,
    slot: Rc<Slot>,
    grant: Grant,
}

impl<'a> Running<'a> {
    fn start(inner: &'a Inner, slot: Rc<Slot>, grant: Grant) -> Self {
        slot.jobs.set(slot.jobs.get() + 1);
        if grant.backend == HashBackend::Lanes {
            slot.lane_jobs.set(slot.lane_jobs.get() + 1);
        }
        Self { inner, slot, grant }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.slot.jobs.set(self.slot.jobs.get() - 1);
        if self.grant.backend == HashBackend::Lanes {
            self.slot.lane_jobs.set(self.slot.lane_jobs.get() - 1);
        }
        self.inner.hashing.borrow_mut().release(self.grant);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
    }
}

fn spawn(inner: &Rc<Inner>, index: usize) -> Result<Slot, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name("skiff-layer");
    let worker = Worker::new_with_options(WORKER_SCRIPT, &options)
        .map_err(|e| crate::error::js_error_text(&e))?;
    let (ready_tx, ready_rx) = oneshot::channel();
    let ready_tx = Rc::new(RefCell::new(Some(ready_tx)));
    let weak = Rc::downgrade(inner);
    let ready_on_message = ready_tx.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else {
            if let (Some(relayed), Some(inner)) = (Relayed::read(&event.data()), weak.upgrade()) {
                to_job(&inner, relayed.job, JobEvent::Bytes(relayed));
            }
            return;
        };
        let Ok(message) = serde_json::from_str::<ToPage>(&text) else {
            return;
        };
        if let ToPage::Ready = message {
            if let Some(tx) = ready_on_message.borrow_mut().take() {
                let _ = tx.send(Ok(()));
            }
            return;
        }
        if let Some(inner) = weak.upgrade() {
            match message {
                ToPage::Crashed { detail } => died(&inner, index, &detail),
                message => deliver(&inner, message),
            }
        }
    });
    let ready_on_error = ready_tx;
    let weak = Rc::downgrade(inner);
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        if let Some(tx) = ready_on_error.borrow_mut().take() {
            let _ = tx.send(Err(event.message()));
        } else if let Some(inner) = weak.upgrade() {
            died(&inner, index, &event.message());
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Slot {
        worker,
        jobs: Cell::new(0),
        lane_jobs: Cell::new(0),
        dead: Cell::new(false),
        ready: ready_rx.shared(),
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// A worker whose code failed (a trap, an uncaught error) may be in any state: it is stopped,
/// and each job it ran fails with what it said, instead of waiting forever.
fn died(inner: &Inner, index: usize, detail: &str) {
    if let Some(slot) = inner.slots.borrow().get(index) {
        slot.dead.set(true);
        slot.worker.terminate();
    }
    let jobs: Vec<u32> = inner
        .waiting
        .borrow()
        .iter()
        .filter(|(_, waiting)| waiting.worker == index)
        .map(|(job, _)| *job)
        .collect();
    for job in jobs {
        let failure = LayerFailure::WorkerDied {
            detail: detail.to_owned(),
        };
        finish(inner, job, Err(failure));
    }
}

fn deliver(inner: &Inner, message: ToPage) {
    let (job, event) = match message {
        ToPage::Ready | ToPage::Rows { .. } | ToPage::Inspected { .. } | ToPage::Crashed { .. } => {
            return
        }
        ToPage::Progress {
            job,
            received,
            stored,
            restarts,
        } => {
            let event = JobEvent::Progress {
                received,
                stored,
                restarts,
            };
            (job, event)
        }
        ToPage::Exchange { job, exchange } => (job, JobEvent::Exchange(exchange)),
        ToPage::NeedsAuthorization {
            job,
            challenge,
            generation,
        } => {
            let event = JobEvent::NeedsAuthorization {
                job,
                challenge,
                generation,
            };
            (job, event)
        }
        ToPage::Stored { job, stored } => return finish(inner, job, Ok(stored)),
        ToPage::Failed { job, failure } => return finish(inner, job, Err(failure)),
    };
    to_job(inner, job, event);
}

fn to_job(inner: &Inner, job: u32, event: JobEvent) {
    let on_event = inner.waiting.borrow().get(&job).map(|w| w.on_event.clone());
    if let Some(on_event) = on_event {
        on_event(event);
    }
}

fn finish(inner: &Inner, job: u32, outcome: Outcome) {
    if let Some(waiting) = inner.waiting.borrow_mut().remove(&job) {
        let _ = waiting.done.send(outcome);
    }
}
