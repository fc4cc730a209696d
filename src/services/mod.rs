//! Async work and browser APIs. Components call these; these report back through `Action`s.

pub mod http;
pub mod inspect;
pub mod link;
pub mod objects;
pub mod prefs;
pub mod pull;
pub mod push;
pub mod stream;
pub mod tags;
