mod explore;

use yew::prelude::*;

use super::cache_panel::CachePanel;
use super::copy_form::CopyForm;
use super::credentials_panel::CredentialsPanel;
use super::error_panel::ErrorPanel;
use super::files::FilesPanel;
use super::layer_list::LayerList;
use super::platform_picker::PlatformPicker;
use super::pull_form::PullForm;
use super::push_panel::PushPanel;
use super::save_panel::SavePanel;
use super::tag_list::TagList;
use crate::services::link::ViewLink;
use crate::services::{prefs, pull, tags};
use crate::state::{Action, Credentials, Phase, State};
use skiff_core::image::reference::PullInput;

#[function_component(App)]
pub fn app() -> Html {
    let theme = use_state(prefs::theme);
    use_effect_with(*theme, |theme| prefs::apply_theme(*theme));
    let toggle_theme = {
        let theme = theme.clone();
        Callback::from(move |_: MouseEvent| theme.set(theme.next()))
    };
    let state = use_reducer(|| {
        let link = ViewLink::current();
        let remembered = prefs::remembered_credentials();
        State {
            remember_credentials: remembered.is_some(),
            uncompressed: prefs::saved_uncompressed(),
            credentials: remembered.unwrap_or_default(),
            cache: crate::state::CacheInfo {
                cap: prefs::pull_settings().cache_cap_bytes,
                ..Default::default()
            },
            queue: link.images[..link.images.len().saturating_sub(1)].to_vec(),
            explorer: crate::state::ExplorerState {
                view: link.view.unwrap_or_default(),
                pending: link.object.clone(),
                ..Default::default()
            },
            ..State::new(
                link.images.last().cloned().unwrap_or_default(),
                prefs::saved_proxy(),
                link.platform.clone().unwrap_or_else(prefs::saved_platform),
            )
        }
    });

    // At start: what the layer cache holds, and a pull a reload interrupted, resumed.
    {
        let state = state.clone();
        use_effect_with((), move |_| {
            let dispatcher = state.dispatcher();
            let cap = prefs::pull_settings().cache_cap_bytes;
            wasm_bindgen_futures::spawn_local(async move {
                match pull::cache_info(cap).await {
                    Some(info) => dispatcher.dispatch(Action::CacheInfo(info)),
                    None => {
                        if let Some(why) = pull::storage_problem().await {
                            dispatcher.dispatch(Action::StorageUnavailable(why));
                        }
                    }
                }
            });
            let link = ViewLink::current();
            if let Some(interrupted) = prefs::interrupted_pull() {
                resume_pull(&state, interrupted);
            } else if !link.images.is_empty() && (link.view.is_some() || link.object.is_some()) {
                // A shared link to a view: look inside the image to show it.
                let pull = prefs::InterruptedPull {
                    images: link.images,
                    platform: state.platform_input.clone(),
                    uncompressed: false,
                };
                run(
                    &state,
                    pull,
                    Run {
                        inspect_only: true,
                        ..Run::default()
                    },
                );
            }
        });
    }

    // Back, forward or a link followed while the app is open: the form and view follow.
    {
        let state = state.clone();
        use_effect_with((), move |_| {
            let listener = prefs::listen_address_change(Callback::from(move |()| {
                explore::follow_link(&state, ViewLink::current())
            }));
            move || drop(listener)
        });
    }
    explore::use_pending_object(&state);

    let on_image = {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::EditImage(text)))
    };
    let on_enqueue = {
        let state = state.clone();
        Callback::from(move |()| state.dispatch(Action::Enqueue))
    };
    let on_dequeue = {
        let state = state.clone();
        Callback::from(move |index| state.dispatch(Action::Dequeue(index)))
    };
    let on_list_tags = {
        let state = state.clone();
        Callback::from(move |()| {
            let dispatcher = state.dispatcher();
            let registry = state
                .image_input
                .parse::<PullInput>()
                .ok()
                .map(|input| input.reference.registry().to_owned());
            tags::start(
                tags::TagsRequest {
                    image_input: state.image_input.clone(),
                    proxy: state.proxy_input.clone(),
                    credentials: credentials_for(&state, registry.as_deref()),
                },
                Callback::from(move |action| dispatcher.dispatch(action)),
            );
        })
    };
    let on_pick_tag = {
        let state = state.clone();
        Callback::from(move |image: String| state.dispatch(Action::EditImage(image)))
    };
    let on_proxy = {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::EditProxy(text)))
    };
    let on_platform = {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::EditPlatform(text)))
    };
    let on_credentials = {
        let state = state.clone();
        Callback::from(move |credentials| state.dispatch(Action::EditCredentials(credentials)))
    };
    let on_uncompressed = {
        let state = state.clone();
        Callback::from(move |uncompressed| state.dispatch(Action::SetUncompressed(uncompressed)))
    };
    let on_remember = {
        let state = state.clone();
        Callback::from(move |remember| state.dispatch(Action::RememberCredentials(remember)))
    };
    let credentials_wanted =
        matches!(&state.phase, Phase::Failed(report) if report.wants_credentials);

    let on_clear_cache = {
        let dispatcher = state.dispatcher();
        let cap = state.cache.cap;
        Callback::from(move |()| {
            let dispatcher = dispatcher.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(info) = pull::clear_cache(cap).await {
                    dispatcher.dispatch(Action::CacheCleared(info));
                }
            });
        })
    };
    let on_cache_cap = {
        let state = state.clone();
        Callback::from(move |cap: u64| {
            prefs::save_cache_cap(cap);
            state.dispatch(Action::CacheInfo(crate::state::CacheInfo {
                cap,
                ..state.cache.clone()
            }));
        })
    };

    let on_pull = {
        let state = state.clone();
        Callback::from(move |()| {
            start_pull(&state, state.platform_input.clone(), state.uncompressed)
        })
    };
    let on_push = {
        let state = state.clone();
        Callback::from(move |(file, target): (web_sys::File, String)| {
            let registry = target
                .parse::<skiff_core::Reference>()
                .ok()
                .map(|r| r.registry().to_owned())
                .or_else(|| target.split('/').next().map(str::to_owned));
            let dispatcher = state.dispatcher();
            crate::services::push::start(
                crate::services::push::PushRequest {
                    file,
                    target,
                    proxy: state.proxy_input.clone(),
                    credentials: credentials_for(&state, registry.as_deref()),
                },
                Callback::from(move |action| dispatcher.dispatch(action)),
            );
        })
    };
    // Copying and reading a copy source's platforms take the same request.
    let copy_service = |service: fn(crate::services::push::CopyRequest, Callback<Action>)| {
        let state = state.clone();
        Callback::from(move |form: CopyForm| {
            let dispatcher = state.dispatcher();
            service(
                copy_request(&state, form),
                Callback::from(move |action| dispatcher.dispatch(action)),
            );
        })
    };
    let on_copy = copy_service(crate::services::push::start_copy);
    let on_read_platforms = copy_service(crate::services::push::read_platforms);
    let on_inspect = {
        let state = state.clone();
        Callback::from(move |()| inspect(&state))
    };
    // The same images again, stored uncompressed: the layers come from the cache.
    let on_save_uncompressed = {
        let state = state.clone();
        Callback::from(move |()| {
            state.dispatch(Action::SetUncompressed(true));
            start_pull(&state, state.platform_input.clone(), true);
        })
    };
    // Picking another platform of the index pulls it at once.
    let on_choose_platform = {
        let state = state.clone();
        Callback::from(move |platform: String| {
            state.dispatch(Action::EditPlatform(platform.clone()));
            start_pull(&state, platform, state.uncompressed);
        })
    };

    let stage = match &state.phase {
        Phase::Running { stage } => {
            html! { <p class="stage" role="status"><span class="spinner"></span>{ stage }</p> }
        }
        _ => html! {},
    };

    html! {
        <main>
            <header>
                <button id="theme-toggle" class="theme-toggle" onclick={toggle_theme}>{ theme.label() }</button>
                <h1>{ "Skiff" }</h1>
                <p class="tagline">{ "Pull a container image from any registry into a tar that " }<code>{ "docker load" }</code>{ " accepts — in this browser tab, no Docker needed." }</p>
            </header>
            <PullForm
                image={state.image_input.clone()}
                queue={state.queue.clone()}
                {on_enqueue}
                {on_dequeue}
                {on_list_tags}
                proxy={state.proxy_input.clone()}
                running={state.is_running()}
                platform={state.platform_input.clone()}
                {on_image}
                {on_proxy}
                {on_platform}
                uncompressed={state.uncompressed}
                {on_uncompressed}
                save_to_file={pull::target::can_pick().then_some(state.save_to_file)}
                on_save_to_file={let state = state.clone(); Callback::from(move |save| state.dispatch(Action::SetSaveToFile(save)))}
                {on_pull}
                {on_inspect}
                on_cancel={Callback::from(|()| pull::cancel())}
            >
                <CredentialsPanel
                    credentials={state.credentials.clone()}
                    remember={state.remember_credentials}
                    wanted={credentials_wanted}
                    on_change={on_credentials}
                    {on_remember}
                />
            </PullForm>
            if let Some(why) = &state.storage_problem {
                <p id="storage-note" class="warning" role="alert">{ why }</p>
            }
            if let Some(reference) = &state.reference {
                <p class="reference">{ "Image: " }<code id="resolved-reference">{ reference }</code></p>
            }
            <TagList view={state.tags.clone()} on_pick={on_pick_tag} />
            { stage }
            <PlatformPicker
                offers={state.offers.clone()}
                chosen={state.chosen_platform.clone()}
                running={state.is_running()}
                on_choose={on_choose_platform}
            />
            if let Phase::Failed(report) = &state.phase {
                <ErrorPanel report={report.clone()} />
            }
            if let Phase::Done(archive) = &state.phase {
                <SavePanel archive={archive.clone()} on_save_uncompressed={on_save_uncompressed} />
                <FilesPanel contents={archive.contents.clone()} />
            }
            <LayerList layers={state.layers.clone()} />
            <CachePanel info={state.cache.clone()} running={state.is_running()}
                on_clear={on_clear_cache} on_cap={on_cache_cap} />
            { explore::explorer(&state) }
            <PushPanel view={state.push.clone()} on_push={on_push} on_copy={on_copy} on_read_platforms={on_read_platforms} />
        </main>
    }
}

fn start_pull(state: &UseReducerHandle<State>, platform: String, uncompressed: bool) {
    let images = state.images_to_pull();
    if images.is_empty() {
        return;
    }
    prefs::save_proxy(&state.proxy_input);
    prefs::save_platform(&platform);
    prefs::save_uncompressed(uncompressed);
    show_images_in_url(&images, &platform);
    let pull = prefs::InterruptedPull {
        images,
        platform,
        uncompressed,
    };
    if !state.save_to_file {
        return run_pull(state, pull, None);
    }
    // Asked now, while the click still counts as the user's gesture.
    let suggested = pull.images[0]
        .parse::<PullInput>()
        .map(|input| pull::archive_file_name(&input.reference, pull.images.len()))
        .unwrap_or_else(|_| "image.tar".to_owned());
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        match pull::target::pick(&suggested).await {
            Ok(Some(handle)) => run_pull(&state, pull, Some(handle)),
            Ok(None) => {}
            Err(error) => run_failed(&state, &error),
        }
    });
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

/// Fetches the manifest and config of the image in the form, no layers.
fn inspect(state: &UseReducerHandle<State>) {
    let images = state.images_to_pull();
    let Some(last) = images.last() else { return };
    show_images_in_url(std::slice::from_ref(last), &state.platform_input);
    let pull = prefs::InterruptedPull {
        images: vec![last.clone()],
        platform: state.platform_input.clone(),
        uncompressed: false,
    };
    run(
        state,
        pull,
        Run {
            inspect_only: true,
            ..Run::default()
        },
    );
}

/// A pull that could not start (no file could be chosen), reported like any failed pull.
fn run_failed(state: &UseReducerHandle<State>, error: &crate::error::AppError) {
    let pull_id = state.pull_id + 1;
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
        state.dispatch(Action::Pull { pull_id, event });
    }
}

/// Pulls again what a reload interrupted: finished layers come from the cache, a partial one
/// continues where it stopped.
fn resume_pull(state: &UseReducerHandle<State>, pull: prefs::InterruptedPull) {
    if pull.images.is_empty() {
        return prefs::clear_pull_in_progress();
    }
    run(
        state,
        pull,
        Run {
            resumed: true,
            ..Run::default()
        },
    );
}

fn run_pull(
    state: &UseReducerHandle<State>,
    pull: prefs::InterruptedPull,
    save_to: Option<web_sys::FileSystemFileHandle>,
) {
    run(
        state,
        pull,
        Run {
            save_to,
            ..Run::default()
        },
    );
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

fn run(state: &UseReducerHandle<State>, pull: prefs::InterruptedPull, how: Run) {
    let first_registry = pull.images[0]
        .parse::<PullInput>()
        .ok()
        .map(|input| input.reference.registry().to_owned());
    let credentials = credentials_for(state, first_registry.as_deref());
    prefs::remember_credentials(credentials.as_ref().filter(|_| state.remember_credentials));
    if !how.inspect_only {
        prefs::mark_pull_in_progress(&pull);
    }
    let dispatcher = state.dispatcher();
    pull::start(
        pull::PullRequest {
            images: pull.images,
            proxy: state.proxy_input.clone(),
            platform: pull.platform,
            uncompressed: pull.uncompressed,
            credentials,
            settings: prefs::pull_settings(),
            resumed: how.resumed,
            save_to: how.save_to,
            inspect_only: how.inspect_only,
        },
        state.pull_id + 1,
        Callback::from(move |action| dispatcher.dispatch(action)),
    );
}

/// The credentials to hand a registry service (pull, tag list) whose first request goes to
/// `registry`. Unbound credentials belong to the registry they are first used with, and the
/// form shows that binding. Every service's session then drops them for any other registry
/// ([`crate::services::http::RegistrySession::new`]): they are sent nowhere else.
/// A copy's request: the source's own login if the form has one, else the credentials panel's
/// if they belong to the source registry; the panel's for the target.
fn copy_request(
    state: &UseReducerHandle<State>,
    form: CopyForm,
) -> crate::services::push::CopyRequest {
    let registry_of = |reference: &str| {
        reference
            .trim()
            .parse::<skiff_core::Reference>()
            .ok()
            .map(|r| r.registry().to_owned())
    };
    let to_credentials = credentials_for(state, registry_of(&form.to).as_deref());
    let from_registry = registry_of(&form.from);
    let from_credentials = form.source_login.or_else(|| {
        state
            .credentials
            .if_given()
            .filter(|c| from_registry.as_deref().is_some_and(|r| c.belong_to(r)))
    });
    crate::services::push::CopyRequest {
        from: form.from,
        to: form.to,
        platforms: form.platforms,
        proxy: state.proxy_input.clone(),
        from_credentials,
        to_credentials,
    }
}

fn credentials_for(state: &UseReducerHandle<State>, registry: Option<&str>) -> Option<Credentials> {
    let mut credentials = state.credentials.if_given()?;
    if credentials.registry.is_empty() {
        credentials.registry = registry?.to_owned();
        state.dispatch(Action::EditCredentials(Credentials {
            registry: credentials.registry.clone(),
            ..state.credentials.clone()
        }));
    }
    Some(credentials)
}
