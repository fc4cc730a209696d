//! A copy's blobs, one at a time: skipped when the target has it, mounted when it can be,
//! else brought in by a layer worker and uploaded from its staging files ([`StagedBlob`]), sent
//! from the layer cache when it holds the blob, or streamed through the page where this window
//! has no private file system ([`StreamedBlob`]).

use std::rc::Rc;

use skiff_core::protocol::registry::blob_url;
use skiff_core::transfer::upload::Uploaded;
use skiff_core::{Digest, Reference};

use super::send::{finish_held, push_blob, BlobPush, Last, Pushed, Source};
use super::staged::{Fetcher, StagedBlob};
use super::streamed::StreamedBlob;
use crate::engine::cache::Cache;
use crate::engine::pool::Pool;
use crate::error::AppError;
use crate::services::http::{now_ms, RegistrySession};
use crate::services::Report;
use crate::state::push::PushEvent;

/// Where a copy's blobs are staged: the layer workers' pool and the layer cache (its blobs are
/// sent from there when the cache has them already).
pub(super) struct Staging {
    pub(super) fetcher: Fetcher,
    cache: Cache,
}

impl Staging {
    /// `None` where this browser has no private file system (a private window): blobs then
    /// stream through the page ([`StreamedBlob`]).
    pub(super) async fn open(
        source: &Rc<RegistrySession>,
        report: &Report<PushEvent>,
    ) -> Option<Self> {
        let cache = Cache::open(now_ms()).await.ok()?;
        let settings = crate::services::prefs::pull_settings();
        let fetcher = Fetcher {
            // Blobs copied at once: as many as a pull's layers (`parallelLayers`).
            pool: Rc::new(Pool::new(settings.parallel_layers, settings.hashing)),
            session: source.clone(),
            exchanges: report.exchanges(),
            settings: settings.job,
        };
        Some(Self { fetcher, cache })
    }
}

/// Copies one blob at a time: skipped when the target has it, mounted when it can be, else
/// sent as the way [`Staging`] allows.
pub(super) struct Copier<'a> {
    pub(super) from: &'a Reference,
    pub(super) to: &'a Reference,
    pub(super) target: &'a RegistrySession,
    pub(super) mount_from: Option<String>,
    pub(super) report: &'a Report<PushEvent>,
    pub(super) staging: Option<Staging>,
    pub(super) source: &'a Rc<RegistrySession>,
}

impl Copier<'_> {
    pub(super) async fn blob(
        &self,
        digest: &Digest,
        size: u64,
    ) -> Result<Option<Uploaded>, AppError> {
        let url = blob_url(self.from, digest);
        let Some(staging) = &self.staging else {
            let bytes =
                Source::Registry(Box::new(StreamedBlob::new(self.source, url, digest, size)));
            // Checked as it streams: its last byte goes only after it matched.
            return self.send(digest, size, &bytes).await;
        };
        if staging.cache.size_of(digest) == Some(size) {
            let file = staging
                .cache
                .file(digest)
                .await
                .map_err(|e| AppError::Storage(e.to_string()))?;
            let bytes = Source::Archive {
                file: &file,
                offset: 0,
            };
            return self.send(digest, size, &bytes).await;
        }
        let staged = StagedBlob::new(digest, size);
        let bytes = Source::Staged(&staged);
        let blob = self.push(digest, size, &bytes);
        let upload = async {
            let sent = self.send_staged(&blob, &staged).await;
            staged.close();
            sent
        };
        let ((), sent) = futures::join!(staging.fetcher.fetch(&staged, url), upload);
        staged.remove().await;
        sent
    }

    /// Every byte up before the job verified the blob, the commit held until it did; sent
    /// again from the verified file when the job had to start over.
    async fn send_staged(
        &self,
        blob: &BlobPush<'_>,
        staged: &StagedBlob,
    ) -> Result<Option<Uploaded>, AppError> {
        match push_blob(self.target, blob, self.mount_from.clone(), Last::Hold).await {
            Ok(Pushed::Done(uploaded)) => return Ok(Some(uploaded)),
            Ok(Pushed::Held(held)) => {
                if !staged.verified().await? {
                    return finish_held(self.target, blob, held).await.map(Some);
                }
            }
            // The job started over under the upload's feet: what broke it is moot.
            Err(_) if staged.restarted() => {
                staged.verified().await?;
            }
            Err(error) => return Err(error),
        }
        // Parts sent before the job started over may hold other bytes: all of them again, in
        // a new session, from the verified files.
        let pushed = push_blob(self.target, blob, None, Last::Send).await?;
        Ok(done(pushed))
    }

    /// A blob whose bytes are verified (or checked as they go) sent to its last request.
    async fn send(
        &self,
        digest: &Digest,
        size: u64,
        bytes: &Source<'_>,
    ) -> Result<Option<Uploaded>, AppError> {
        let blob = self.push(digest, size, bytes);
        let pushed = push_blob(self.target, &blob, self.mount_from.clone(), Last::Send).await?;
        Ok(done(pushed))
    }

    fn push<'b>(&'b self, digest: &'b Digest, size: u64, source: &'b Source<'b>) -> BlobPush<'b> {
        BlobPush {
            target: self.to,
            digest,
            size,
            source,
            report: self.report,
        }
    }
}

fn done(pushed: Pushed) -> Option<Uploaded> {
    match pushed {
        Pushed::Done(uploaded) => Some(uploaded),
        Pushed::Held(_) => None,
    }
}
