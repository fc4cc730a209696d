//! Async work and browser APIs. Each service reports its own events (and the requests it made)
//! through a [`Report`]; the app turns them into actions in one place
//! (`components/app/reports.rs`), so no service knows the UI's actions.

pub mod browse;
pub mod http;
pub mod inspect;
pub mod link;
pub mod objects;
pub mod prefs;
pub mod pull;
pub mod push;
pub mod sbom;
pub mod stream;
pub mod tags;
pub mod verify;

use skiff_core::explorer::exchange::Exchange;
use yew::Callback;

/// Where a service reports: its events, and each request it made (for the explorer).
pub struct Report<E> {
    event: Callback<E>,
    exchange: Callback<Exchange>,
}

impl<E> Clone for Report<E> {
    fn clone(&self) -> Self {
        Self {
            event: self.event.clone(),
            exchange: self.exchange.clone(),
        }
    }
}

impl<E: 'static> Report<E> {
    pub fn new(event: Callback<E>, exchange: Callback<Exchange>) -> Self {
        Self { event, exchange }
    }

    pub fn emit(&self, event: E) {
        self.event.emit(event);
    }

    /// Where a registry session reports its requests.
    pub fn exchanges(&self) -> Callback<Exchange> {
        self.exchange.clone()
    }
}
