//! The app's whole state and the actions that change it. Pure: no browser calls here.

use std::rc::Rc;

use skiff_core::image::reference::PullInput;
use yew::Reducible;

pub mod browse;
pub mod bundle;
pub mod explorer;
pub mod job;
pub mod pull;
pub mod push;
pub mod trust;

pub use explorer::{ExplorerAction, ExplorerState, ObjectDoc};
pub use pull::{
    ErrorReport, ImageContents, LayerOutcome, LayerRow, LayerStatus, Phase, PinnedTag,
    PlatformOffer, PullEvent, SavedArchive,
};

/// A login for a registry. Lives in memory (and in sessionStorage only if the user opts in);
/// `Debug` never shows the password.
#[derive(Clone, Default, PartialEq)]
pub struct Credentials {
    /// The registry host they belong to (`docker.io`, `ghcr.io`, `localhost:5000`); they are
    /// sent nowhere else. Empty: bound to the first registry pulled from.
    pub registry: String,
    pub username: String,
    /// A password or a personal access token.
    pub password: String,
}

impl Credentials {
    /// `None` when no username was given: pull anonymously.
    pub fn if_given(&self) -> Option<Credentials> {
        (!self.username.trim().is_empty()).then(|| Credentials {
            registry: skiff_core::image::reference::normalize_registry(self.registry.trim()),
            username: self.username.trim().to_owned(),
            password: self.password.clone(),
        })
    }

    /// Whether these credentials may be sent to `registry` (a normalized host).
    pub fn belong_to(&self, registry: &str) -> bool {
        skiff_core::image::reference::normalize_registry(self.registry.trim()) == registry
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The tag list panel.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum TagsView {
    #[default]
    Hidden,
    Loading {
        repository: String,
    },
    Loaded {
        repository: String,
        tags: Vec<String>,
        pages: usize,
    },
    Failed {
        message: String,
    },
}

pub use skiff_core::explorer::exchange::Exchange;

/// What the form holds: kept across pulls.
#[derive(Clone, Debug, PartialEq)]
pub struct FormState {
    pub image_input: String,
    /// References queued to go into the same archive, before `image_input`.
    pub queue: Vec<String>,
    pub proxy_input: String,
    pub platform_input: String,
    pub credentials: Credentials,
    pub remember_credentials: bool,
    /// Store layers uncompressed instead of as downloaded.
    pub uncompressed: bool,
    /// Write the archive into a file the user chooses instead of offering a download.
    pub save_to_file: bool,
    /// A pull into a chosen file also keeps its layers in the cache.
    pub cache_chosen_file: bool,
    /// Carry each image's signatures, SBOMs and attestations in the archive.
    pub include_referrers: bool,
    /// Who every pulled image must be signed by (a key, a keyless identity); empty: no one.
    pub require: trust::SignerFields,
}

/// One pull as the page shows it: replaced whole when the next pull starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PullView {
    /// Events of any other pull are dropped.
    pub pull_id: u32,
    pub reference: Option<String>,
    pub phase: Phase,
    pub layers: Vec<LayerRow>,
    pub exchanges: Vec<Exchange>,
    /// What the pulled index offers; empty for single-platform images.
    pub offers: Vec<PlatformOffer>,
    pub chosen_platform: Option<String>,
    /// What the last image's manifest holds, once known.
    pub kind: Option<skiff_core::image::artifact::ArtifactKind>,
}

impl PullView {
    /// How many fetched layers each SHA-256 backend checked, in the order first met.
    pub fn hashed_by(&self) -> Vec<(skiff_core::transfer::hashing::HashBackend, usize)> {
        let mut counts: Vec<(skiff_core::transfer::hashing::HashBackend, usize)> = Vec::new();
        for layer in &self.layers {
            if let LayerStatus::Verified(backend) = layer.status {
                match counts.iter_mut().find(|(b, _)| *b == backend) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((backend, 1)),
                }
            }
        }
        counts
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Which job's view the page shows.
    pub job: job::Job,
    pub form: FormState,
    pub pull: PullView,
    pub explorer: ExplorerState,
    pub tags: TagsView,
    pub cache: CacheInfo,
    /// Why this window cannot keep layers (no OPFS), found at start.
    pub storage_problem: Option<String>,
    pub push: push::PushView,
    pub browse: browse::BrowseView,
    pub bundle: bundle::BundleView,
}

/// What the layer cache holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheInfo {
    pub layers: usize,
    pub bytes: u64,
    /// The user's limit, bytes.
    pub cap: u64,
}

pub enum Action {
    ShowJob(job::Job),
    Browse(browse::BrowseAction),
    Bundle(bundle::BundleAction),
    /// The form holds these images (the last in the image field), as a bundle's pull does.
    SetImages(Vec<String>),
    SetIncludeReferrers(bool),
    SetRequire(trust::SignerFields),
    EditImage(String),
    /// Moves the image field into the queue.
    Enqueue,
    Dequeue(usize),
    /// What listing tags shows now (loading, the list, or why not).
    Tags(TagsView),
    EditProxy(String),
    EditPlatform(String),
    EditCredentials(Credentials),
    RememberCredentials(bool),
    SetUncompressed(bool),
    SetSaveToFile(bool),
    SetCacheChosenFile(bool),
    /// Something a pull reports; stale pulls' events are ignored.
    Pull {
        pull_id: u32,
        event: PullEvent,
    },
    /// The layer cache's contents, read at start and after changes.
    CacheInfo(CacheInfo),
    /// The cache was emptied (and with it the archive on offer).
    CacheCleared(CacheInfo),
    /// This window cannot keep layers: why.
    StorageUnavailable(String),
    /// A request outside a pull (tag lists, objects opened from the explorer).
    Exchange(Exchange),
    Explorer(ExplorerAction),
    Push(push::PushEvent),
}

impl State {
    /// A new exchange, or a later report (its body read) of one already listed.
    fn record(&mut self, exchange: Exchange) {
        match self
            .pull
            .exchanges
            .iter_mut()
            .rev()
            .find(|e| e.id == exchange.id)
        {
            Some(listed) => *listed = exchange,
            None => self.pull.exchanges.push(exchange),
        }
    }

    /// A pull's event, as state: the one place events become what the UI shows.
    fn apply(&mut self, event: PullEvent) {
        match event {
            PullEvent::Started { reference } | PullEvent::Resolved { reference } => {
                self.pull.reference = Some(reference)
            }
            PullEvent::Stage(stage) => self.pull.phase = Phase::Running { stage },
            PullEvent::Exchange(exchange) => self.record(exchange),
            PullEvent::IndexFetched { offers } => {
                self.pull.offers = offers;
            }
            PullEvent::PlatformChosen { platform } => self.pull.chosen_platform = Some(platform),
            PullEvent::Object(doc) => self.explorer.add(doc),
            PullEvent::Exploring(reference) => self.explorer.reference = Some(reference),
            PullEvent::Unpacked(bytes) => self.explorer.unpacked = Some(bytes),
            PullEvent::Kind(kind) => self.pull.kind = Some(kind),
            PullEvent::LayersAdded(layers) => self.pull.layers.extend(layers),
            PullEvent::LayersProgress { received, now_ms } => {
                for (index, received) in received {
                    // A report gathered before the row finished changes nothing.
                    let moving = |row: &&mut LayerRow| {
                        matches!(row.status, LayerStatus::Queued | LayerStatus::Downloading)
                    };
                    if let Some(row) = self.pull.layers.get_mut(index).filter(moving) {
                        row.status = LayerStatus::Downloading;
                        row.started_ms.get_or_insert(now_ms);
                        row.received = received;
                        row.updated_ms = now_ms;
                    }
                }
            }
            PullEvent::LayerDone { index, outcome } => {
                if let Some(row) = self.pull.layers.get_mut(index) {
                    row.status = match outcome {
                        LayerOutcome::Verified { hashed_by } => {
                            // Its last progress may still wait for the next update.
                            row.received = row.size;
                            LayerStatus::Verified(hashed_by)
                        }
                        LayerOutcome::Cached => {
                            row.received = row.size;
                            LayerStatus::Cached
                        }
                        LayerOutcome::Failed => LayerStatus::Failed,
                    };
                }
            }
            PullEvent::Finished(archive) => self.pull.phase = Phase::Done(archive),
            PullEvent::Inspected => self.pull.phase = Phase::Inspected,
            PullEvent::Failed(report) => self.pull.phase = Phase::Failed(report),
        }
    }

    pub fn new(image_input: String, proxy_input: String, platform_input: String) -> Self {
        Self {
            job: job::Job::default(),
            form: FormState {
                image_input,
                queue: Vec::new(),
                proxy_input,
                platform_input,
                credentials: Credentials::default(),
                remember_credentials: false,
                uncompressed: false,
                save_to_file: false,
                cache_chosen_file: false,
                include_referrers: false,
                require: trust::SignerFields::default(),
            },
            pull: PullView::default(),
            explorer: ExplorerState::default(),
            tags: TagsView::Hidden,
            cache: CacheInfo::default(),
            storage_problem: None,
            push: push::PushView::default(),
            browse: browse::BrowseView::default(),
            bundle: bundle::BundleView::default(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.pull.phase, Phase::Running { .. })
    }

    /// What a pull takes: the queue, then the image field if it holds something new.
    pub fn images_to_pull(&self) -> Vec<String> {
        let mut images = self.form.queue.clone();
        let current = self.form.image_input.trim();
        if !current.is_empty() && !images.iter().any(|i| i == current) {
            images.push(current.to_owned());
        }
        images
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        // Actions from a pull that has been superseded are dropped.
        let current = |pull_id: u32| pull_id == self.pull.pull_id;
        match action {
            Action::ShowJob(job) => {
                next.job = job;
                // Browsing starts at the registry of the image in the pull form.
                if job == job::Job::Browse && next.browse.registry_input.trim().is_empty() {
                    if let Ok(input) = next.form.image_input.parse::<PullInput>() {
                        next.browse.registry_input = input.reference.registry().to_owned();
                    }
                }
            }
            Action::Browse(action) => next.browse.reduce(action),
            Action::Bundle(action) => next.bundle.reduce(action),
            Action::SetImages(mut images) => {
                next.form.image_input = images.pop().unwrap_or_default();
                next.form.queue = images;
            }
            Action::EditImage(text) => next.form.image_input = text,
            Action::Enqueue => {
                let image = next.form.image_input.trim().to_owned();
                if !image.is_empty() && !next.form.queue.contains(&image) {
                    next.form.queue.push(image);
                }
                next.form.image_input.clear();
            }
            Action::Tags(view) => next.tags = view,
            Action::Dequeue(index) => {
                if index < next.form.queue.len() {
                    next.form.queue.remove(index);
                }
            }
            Action::EditProxy(text) => next.form.proxy_input = text,
            Action::EditPlatform(text) => next.form.platform_input = text,
            Action::EditCredentials(credentials) => next.form.credentials = credentials,
            Action::RememberCredentials(remember) => next.form.remember_credentials = remember,
            Action::SetUncompressed(uncompressed) => next.form.uncompressed = uncompressed,
            Action::SetSaveToFile(save) => next.form.save_to_file = save,
            Action::SetCacheChosenFile(keep) => next.form.cache_chosen_file = keep,
            Action::SetIncludeReferrers(include) => next.form.include_referrers = include,
            Action::SetRequire(signer) => next.form.require = signer,
            Action::Pull {
                pull_id,
                event: PullEvent::Started { reference },
            } => {
                // One assignment: the form, tags, cache and push stay; the pull is new.
                next.pull = PullView {
                    pull_id,
                    ..PullView::default()
                };
                next.explorer = ExplorerState::default();
                // The tab the user chose, and an object a link asked for, stay; what the tab
                // showed belonged to the last image.
                next.explorer.view = self.explorer.view;
                next.explorer.pending = self.explorer.pending.clone();
                next.pull.reference = Some(reference);
                next.pull.phase = Phase::Running {
                    stage: "Contacting the registry".to_owned(),
                };
            }
            Action::Pull { pull_id, event } if current(pull_id) => next.apply(event),
            Action::CacheInfo(info) => next.cache = info,
            Action::Exchange(exchange) => next.record(exchange),
            Action::StorageUnavailable(why) => next.storage_problem = Some(why),
            Action::Explorer(action) => next.explorer.apply(action),
            Action::Push(event) => next.push.apply(event),
            Action::CacheCleared(info) => {
                next.cache = info;
                // The archive on offer was made of cached files: it is gone with them.
                if matches!(next.pull.phase, Phase::Done(_)) {
                    next.pull.phase = Phase::Idle;
                }
            }
            _ => return self,
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_core::transfer::hashing::HashBackend;

    fn started() -> Rc<State> {
        Rc::new(State::new(
            "busybox".into(),
            "http://p/".into(),
            "linux/amd64".into(),
        ))
        .reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::Started {
                reference: "docker.io/library/busybox:latest".into(),
            },
        })
    }

    #[test]
    fn a_pull_resets_the_previous_one() {
        let state = started().reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::Failed(ErrorReport {
                title: "x".into(),
                message: "y".into(),
                wants_credentials: false,
            }),
        });
        let state = state.reduce(Action::Pull {
            pull_id: 8,
            event: PullEvent::Started {
                reference: "r".into(),
            },
        });
        assert!(state.is_running());
        assert!(state.pull.exchanges.is_empty());
        assert_eq!(state.form.image_input, "busybox");
    }

    #[test]
    fn credentials_survive_a_new_pull_and_never_print() {
        let login = Credentials {
            registry: "index.docker.io".into(),
            username: " me ".into(),
            password: "hunter2".into(),
        };
        let state = started().reduce(Action::EditCredentials(login.clone()));
        let state = state.reduce(Action::Pull {
            pull_id: 8,
            event: PullEvent::Started {
                reference: "r".into(),
            },
        });
        assert_eq!(state.form.credentials, login);
        let given = state.form.credentials.if_given().unwrap();
        assert_eq!(given.username, "me");
        assert!(given.belong_to("docker.io"));
        assert!(!given.belong_to("ghcr.io"));
        assert!(!format!("{state:?}").contains("hunter2"));
        assert_eq!(Credentials::default().if_given(), None);
    }

    #[test]
    fn queued_images_come_first_and_once() {
        let state = Rc::new(State::new("a".into(), String::new(), String::new()));
        let state = state.reduce(Action::Enqueue);
        assert_eq!(state.form.image_input, "");
        let state = state.reduce(Action::EditImage(" b ".into()));
        let state = state.reduce(Action::Enqueue);
        let state = state.reduce(Action::EditImage("a".into()));
        assert_eq!(state.images_to_pull(), ["a", "b"]);
        let state = state.reduce(Action::EditImage("c".into()));
        assert_eq!(state.images_to_pull(), ["a", "b", "c"]);
        let state = state.reduce(Action::Dequeue(0));
        assert_eq!(state.images_to_pull(), ["b", "c"]);
    }

    #[test]
    fn actions_of_a_superseded_pull_are_ignored() {
        let state = started();
        let after = state.clone().reduce(Action::Pull {
            pull_id: 6,
            event: PullEvent::Stage("old".into()),
        });
        assert!(Rc::ptr_eq(&state, &after));
    }

    #[test]
    fn progress_updates_rows_and_speed() {
        let state = started().reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayersAdded(vec![LayerRow::new(
                skiff_core::Digest::of(b"a"),
                skiff_core::image::media_type::MediaType::OciLayerGzip,
                1000,
            )]),
        });
        let state = state.reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayersProgress {
                received: vec![(0, 0)],
                now_ms: 1000.0,
            },
        });
        let state = state.reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayersProgress {
                received: vec![(0, 500)],
                now_ms: 2000.0,
            },
        });
        assert_eq!(state.pull.layers[0].status, LayerStatus::Downloading);
        assert_eq!(state.pull.layers[0].bytes_per_second(), Some(500.0));
        let state = state.reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayerDone {
                index: 0,
                outcome: LayerOutcome::Verified {
                    hashed_by: HashBackend::Native,
                },
            },
        });
        assert_eq!(
            state.pull.layers[0].status,
            LayerStatus::Verified(HashBackend::Native)
        );
        assert_eq!(state.pull.layers[0].received, 1000);
        // A late progress report does not bring a finished row back.
        let state = state.reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayersProgress {
                received: vec![(0, 900)],
                now_ms: 3000.0,
            },
        });
        assert_eq!(
            state.pull.layers[0].status,
            LayerStatus::Verified(HashBackend::Native)
        );
        assert_eq!(state.pull.layers[0].received, 1000);
    }

    #[test]
    fn cached_layers_show_complete_and_clearing_withdraws_the_archive() {
        let state = started().reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayersAdded(vec![LayerRow::new(
                skiff_core::Digest::of(b"a"),
                skiff_core::image::media_type::MediaType::OciLayerGzip,
                1000,
            )]),
        });
        let state = state.reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::LayerDone {
                index: 0,
                outcome: LayerOutcome::Cached,
            },
        });
        assert_eq!(state.pull.layers[0].status, LayerStatus::Cached);
        assert_eq!(state.pull.layers[0].received, 1000);
        let archive = SavedArchive {
            object_url: "blob:x".into(),
            file_name: "a.tar".into(),
            size: 1,
            repo_tags: vec![],
            images: 1,
            layers: 1,
            layers_from_cache: 1,
            transferred: 0,
            worker_memory: 0,
            saved_to: None,
            contents: vec![],
            zstd_layers: 0,
            pinned: vec![],
            uncompressed: false,
            referrers: Vec::new(),
            kind: skiff_core::image::artifact::ArtifactKind::ContainerImage,
        };
        let state = state.reduce(Action::Pull {
            pull_id: 7,
            event: PullEvent::Finished(archive),
        });
        assert!(matches!(state.pull.phase, Phase::Done(_)));
        let info = CacheInfo {
            layers: 0,
            bytes: 0,
            cap: 5,
        };
        let state = state.reduce(Action::CacheCleared(info.clone()));
        assert_eq!(state.pull.phase, Phase::Idle);
        assert_eq!(state.cache, info);
    }
}
