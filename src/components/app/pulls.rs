//! The one home for starting pulls: a pull asked for in the form, the same images again, a
//! platform picked, a look inside, a pull a reload interrupted, a shared link's view. It keeps
//! the last pull's handle, releases it before the next starts, and cancels it on request: the
//! component only says what was asked.

use std::cell::RefCell;
use std::rc::Rc;

use skiff_core::image::reference::PullInput;
use yew::prelude::*;

use super::credentials_for;
use crate::services::link::ViewLink;
use crate::services::prefs;
use crate::services::pull::{self, PullHandle};
use crate::state::{Action, State};

/// Starts, resumes and cancels pulls for the app.
#[derive(Clone)]
pub struct Pulls {
    state: UseReducerHandle<State>,
    last: Rc<RefCell<PullHandle>>,
}

/// The app's pull controller, kept across renders.
#[hook]
pub fn use_pulls(state: &UseReducerHandle<State>) -> Pulls {
    let last = use_mut_ref(PullHandle::default);
    Pulls {
        state: state.clone(),
        last,
    }
}

/// How a pull runs, beyond what it pulls.
#[derive(Default)]
struct Run {
    /// Pulled again after a reload interrupted it.
    resumed: bool,
    save_to: Option<web_sys::FileSystemFileHandle>,
    /// Manifests and configs only.
    inspect_only: bool,
}

impl Pulls {
    /// Pulls the images in the form; `platform` and `uncompressed` override the form's.
    pub fn start(&self, platform: Option<String>, uncompressed: Option<bool>) {
        self.start_images(self.state.images_to_pull(), platform, uncompressed, false);
    }

    /// Pulls `images` into one archive (a bundle's also lists what it holds).
    pub fn start_images(
        &self,
        images: Vec<String>,
        platform: Option<String>,
        uncompressed: Option<bool>,
        bundle: bool,
    ) {
        let state = &self.state;
        if images.is_empty() {
            return;
        }
        let platform = platform.unwrap_or_else(|| state.form.platform_input.clone());
        let uncompressed = uncompressed.unwrap_or(state.form.uncompressed);
        prefs::save_proxy(&state.form.proxy_input);
        prefs::save_platform(&platform);
        prefs::save_uncompressed(uncompressed);
        prefs::save_cache_chosen_file(state.form.cache_chosen_file);
        show_images_in_url(&images, &platform);
        let pull = prefs::InterruptedPull {
            images,
            platform,
            uncompressed,
            bundle,
        };
        if !state.form.save_to_file {
            return self.run(pull, Run::default());
        }
        // Asked now, while the click still counts as the user's gesture.
        let suggested = pull.images[0]
            .parse::<PullInput>()
            .map(|input| pull::archive_file_name(&input.reference, pull.images.len()))
            .unwrap_or_else(|_| "image.tar".to_owned());
        let pulls = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match pull::target::pick(&suggested).await {
                Ok(Some(handle)) => pulls.run(
                    pull,
                    Run {
                        save_to: Some(handle),
                        ..Run::default()
                    },
                ),
                Ok(None) => {}
                Err(error) => pulls.failed_to_start(&error),
            }
        });
    }

    /// Fetches the manifest and config of the image in the form, no layers.
    pub fn inspect(&self) {
        let images = self.state.images_to_pull();
        let Some(last) = images.last() else { return };
        show_images_in_url(std::slice::from_ref(last), &self.state.form.platform_input);
        self.inspect_images(vec![last.clone()]);
    }

    /// Looks inside `images` (a shared link's view), no layers.
    pub fn inspect_images(&self, images: Vec<String>) {
        let pull = prefs::InterruptedPull {
            images,
            platform: self.state.form.platform_input.clone(),
            uncompressed: false,
            bundle: false,
        };
        let how = Run {
            inspect_only: true,
            ..Run::default()
        };
        self.run(pull, how);
    }

    /// Pulls again what a reload interrupted: finished layers come from the cache, a partial
    /// one continues where it stopped.
    pub fn resume(&self, pull: prefs::InterruptedPull) {
        if pull.images.is_empty() {
            return prefs::clear_pull_in_progress();
        }
        let how = Run {
            resumed: true,
            ..Run::default()
        };
        self.run(pull, how);
    }

    /// Stops the running pull; it reports itself as cancelled.
    pub fn cancel(&self) {
        self.last.borrow().cancel();
    }

    /// Empties the layer cache (withdrawing the archive on offer, made of its files).
    pub fn clear_cache(&self) {
        let dispatcher = self.state.dispatcher();
        let cap = self.state.cache.cap;
        let last = self.last.borrow().clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(info) = pull::clear_cache(&last, cap).await {
                dispatcher.dispatch(Action::CacheCleared(info));
            }
        });
    }

    fn run(&self, pull: prefs::InterruptedPull, how: Run) {
        let state = &self.state;
        let first_registry = pull.images[0]
            .parse::<PullInput>()
            .ok()
            .map(|input| input.reference.registry().to_owned());
        let credentials = credentials_for(state, first_registry.as_deref());
        prefs::remember_credentials(
            credentials
                .as_ref()
                .filter(|_| state.form.remember_credentials),
        );
        if !how.inspect_only {
            prefs::mark_pull_in_progress(&pull);
        }
        let request = pull::PullRequest {
            images: pull.images,
            proxy: state.form.proxy_input.clone(),
            platform: pull.platform,
            uncompressed: pull.uncompressed,
            credentials,
            settings: pull::PullSettings {
                cache_chosen_file: state.form.cache_chosen_file,
                ..prefs::pull_settings()
            },
            resumed: how.resumed,
            save_to: how.save_to,
            inspect_only: how.inspect_only,
            bundle: pull.bundle,
            with_referrers: state.form.include_referrers && !how.inspect_only,
            require: Some(state.form.require.clone())
                .filter(|signer| !signer.is_empty() && !how.inspect_only),
        };
        // One pull at a time: the last one's requests, workers and download link go first.
        self.last.borrow().release();
        let (events, cache) = super::reports::pull(state, state.pull.pull_id + 1);
        let started = pull::start(request, events, cache);
        *self.last.borrow_mut() = started;
    }

    /// A pull that could not start (no file could be chosen), reported like any failed pull.
    fn failed_to_start(&self, error: &crate::error::AppError) {
        let pull_id = self.state.pull.pull_id + 1;
        for event in [
            crate::state::PullEvent::Started {
                reference: String::new(),
            },
            crate::state::PullEvent::Failed(crate::state::ErrorReport {
                title: error.title().to_owned(),
                message: error.to_string(),
                wants_credentials: false,
            }),
        ] {
            self.state.dispatch(Action::Pull { pull_id, event });
        }
    }
}

/// The images (and platform) in the page's address, to share; the view stays, the object
/// belonged to the last image.
fn show_images_in_url(images: &[String], platform: &str) {
    ViewLink {
        images: images.to_vec(),
        platform: Some(platform.to_owned()).filter(|p| !p.is_empty()),
        object: None,
        ..ViewLink::current()
    }
    .show(false);
}
