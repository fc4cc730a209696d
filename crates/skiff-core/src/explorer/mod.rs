//! Requests and answers as the explorer shows them (secrets hidden) and in plain words.

/// One request and its answer: what it was for, the headers that matter, timings and bytes.
pub mod exchange;
/// Explaining an exchange in a sentence, and the auth dance picked out.
pub mod explain;
