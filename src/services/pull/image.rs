//! One image of a pull: its reference read, its manifest and config found ([`super::resolve`]),
//! its layers brought from the cache or the workers ([`super::layers`]), room made for them.

use super::storage::{available_bytes, unpacked_size};
use super::*;

impl Pull {
    /// Every reference is checked before anything is fetched.
    pub(super) fn parse_inputs(&self) -> Result<Vec<(Reference, Platform)>, AppError> {
        let total = self.request.images.len();
        let mut inputs = Vec::new();
        for (position, text) in self.request.images.iter().enumerate() {
            let input: PullInput = text
                .parse()
                .map_err(|e: skiff_core::Error| in_image(position, total, text, e.into()))?;
            // A pasted `--platform` wins over the form's field.
            let wanted = match &input.platform {
                Some(platform) => platform.clone(),
                None => self.request.platform.parse::<Platform>()?,
            };
            inputs.push((input.reference, wanted));
        }
        Ok(inputs)
    }

    /// The version check and auth, the manifest (through an index) and the config.
    pub(super) async fn resolve(
        &self,
        reference: &Reference,
        wanted: &Platform,
    ) -> Result<Resolved, AppError> {
        (self.emit)(PullEvent::Exploring(reference.clone()));
        let emit = self.emit.clone();
        let session = Rc::new(RegistrySession::new(
            Route::new(&self.request.proxy),
            reference,
            self.request.credentials.clone(),
            self.controller.signal(),
            Callback::from(move |exchange| emit(PullEvent::Exchange(exchange))),
        ));
        self.stage(format!(
            "Checking {} and its authentication",
            reference.registry()
        ));
        session.ping(&ping_url(reference.registry())).await?;
        self.stage(format!("Fetching the manifest of {reference}"));
        let resolver = Resolver {
            session: &session,
            emit: &self.emit,
        };
        let found = resolver.resolve(reference, wanted).await?;
        Ok(Resolved {
            reference: reference.clone(),
            session,
            manifest: found.manifest.body,
            media_type: found.media_type,
            image: found.image,
            config: found.config,
            diff_ids: found.diff_ids,
            kind: found.kind,
            index: found.index,
        })
    }

    /// The layers of one resolved image, from the cache or the workers.
    pub(super) async fn fetch_layers(
        &self,
        resolved: &Resolved,
        cache: &Cache,
        pool: &Rc<Pool>,
        brought: &mut Brought,
    ) -> Result<ArchiveImage, AppError> {
        let reference = &resolved.reference;
        let image = &resolved.image;
        let diff_ids: HashMap<&Digest, &Digest> = image
            .layers
            .iter()
            .map(|l| &l.digest)
            .zip(&resolved.diff_ids)
            .collect();
        // An artifact's blobs are saved as they are: only an image's layers unpack.
        let uncompressed = self.request.uncompressed && resolved.kind.is_image();
        let wanted = layers::wanted(&image.layers, &diff_ids, uncompressed, &brought.rows);
        self.make_room(&wanted, cache, resolved).await?;
        (self.emit)(PullEvent::LayersAdded(
            wanted
                .iter()
                .map(|w| {
                    LayerRow::new(
                        w.layer.digest.clone(),
                        w.layer.media_type.clone(),
                        w.layer.size,
                    )
                })
                .collect(),
        ));
        self.stage(format!(
            "Downloading and verifying {} layer{} of {reference}",
            wanted.len(),
            if wanted.len() == 1 { "" } else { "s" }
        ));
        let progress = ProgressGate::new(self.request.settings.render_interval_ms);
        let layers = Layers {
            session: &resolved.session,
            reference,
            emit: &self.emit,
            pool,
            cache,
            settings: &self.request.settings,
            progress: &progress,
            target: self.target.as_ref(),
        };
        for fetched in layers.fetch(&wanted).await? {
            brought.transferred += fetched.transferred;
            brought.from_cache += usize::from(fetched.from_cache);
            brought.worker_memory = brought.worker_memory.max(fetched.worker_memory);
            if let Some(unpacked) = fetched.unpacked {
                brought.unpacked.insert(fetched.digest, unpacked);
            }
        }
        brought
            .rows
            .extend(wanted.iter().map(|w| w.layer.digest.clone()));
        if uncompressed {
            let (manifest, layers) =
                uncompressed_manifest(&resolved.manifest, &resolved.media_type, &brought.unpacked)?;
            Ok(ArchiveImage {
                manifest,
                layers,
                ..resolved.as_downloaded()
            })
        } else {
            Ok(resolved.as_downloaded())
        }
    }

    /// The image's unpacked size for the summary: each layer's gzip trailer or zstd header (from
    /// the cache if there, else a small `Range` request).
    pub(super) async fn report_unpacked(&self, image: &Resolved, cache: Option<&Cache>) {
        if !image.kind.is_image() {
            return;
        }
        let mut total = 0u64;
        for layer in &image.image.layers {
            total = total.saturating_add(unpacked_size(image, layer, cache).await);
        }
        (self.emit)(PullEvent::Unpacked(total));
    }

    /// Checks the browser's quota and the cache's cap for the layers still to fetch, evicting
    /// least recently used layers the pull does not use.
    pub(super) async fn make_room(
        &self,
        wanted: &[layers::Wanted<'_>],
        cache: &Cache,
        resolved: &Resolved,
    ) -> Result<(), AppError> {
        // What will really be written: layers kept as downloaded take their size; uncompressed
        // ones what their gzip trailer or zstd header says they expand to.
        let mut needed = 0u64;
        for want in wanted.iter().filter(|w| w.cached_size(cache).is_none()) {
            let size = match want.diff_id {
                Some(_) => unpacked_size(resolved, want.layer, Some(cache)).await,
                None => want.layer.size,
            };
            needed = needed
                .checked_add(size)
                .ok_or(skiff_core::Error::SizeOverflow {
                    what: "layer sizes",
                })?;
        }
        let pinned: BTreeSet<Digest> = wanted.iter().map(|w| w.key().clone()).collect();
        cache
            .make_room(needed, self.request.settings.cache_cap_bytes, &pinned)
            .await
            .map_err(|e| AppError::Storage(e.to_string()))?;
        if let Some(available) = available_bytes().await {
            if needed > available {
                return Err(AppError::QuotaTooSmall {
                    needed_mb: needed.div_ceil(1 << 20),
                    available_mb: available >> 20,
                });
            }
        }
        Ok(())
    }
}
