//! The pull engine's moving parts: layer jobs run in dedicated workers ([`worker`], [`job`]),
//! which fetch, verify and store blobs into the layer cache ([`opfs`]) or hand them to the page
//! for a chosen file ([`relay`]); the page drives them
//! through a [`pool`] and keeps the cache's index ([`cache`]). Page and workers speak
//! [`protocol`].

pub mod cache;
pub mod check;
pub mod hashers;
pub mod inspect;
pub mod job;
pub mod opfs;
pub mod pool;
pub mod protocol;
pub mod relay;
pub mod worker;
