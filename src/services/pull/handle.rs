//! A pull's handle: what a running pull holds (its requests' abort signal, its workers, its
//! archive's download link), for whoever cancels or releases it.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use skiff_core::Digest;
use web_sys::AbortController;

use crate::engine::pool::Pool;

/// A pull started: cancel it, or release what it holds (its requests, its workers, the download
/// link of its archive). Whoever starts pulls keeps the last one's handle, and releases it
/// before starting the next; no global holds it.
#[derive(Clone, Default)]
pub struct PullHandle(pub(super) Rc<RefCell<Held>>);

#[derive(Default)]
pub(super) struct Held {
    pub(super) controller: Option<AbortController>,
    pool: Option<Rc<Pool>>,
    object_url: Option<String>,
    /// The cached blobs the offered archive's Blob refers to.
    offered: BTreeSet<Digest>,
}

impl PullHandle {
    /// Stops the pull: its requests are aborted and its workers terminated; it then reports
    /// itself as cancelled.
    pub fn cancel(&self) {
        let mut held = self.0.borrow_mut();
        if let Some(controller) = &held.controller {
            controller.abort();
        }
        if let Some(pool) = held.pool.take() {
            pool.terminate();
        }
    }

    /// Cancels the pull and withdraws its archive's download link.
    pub fn release(&self) {
        self.cancel();
        self.withdraw_offer();
    }

    /// The archive on offer is made of cached files: withdrawn before the cache is cleared.
    pub(super) fn withdraw_offer(&self) {
        let mut held = self.0.borrow_mut();
        if let Some(url) = held.object_url.take() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        held.offered.clear();
    }

    pub(super) fn remember_pool(&self, pool: Rc<Pool>) {
        self.0.borrow_mut().pool = Some(pool);
    }

    pub(super) fn remember_offer(&self, object_url: String, offered: BTreeSet<Digest>) {
        let mut held = self.0.borrow_mut();
        held.pool = None;
        held.object_url = Some(object_url);
        held.offered = offered;
    }
}
