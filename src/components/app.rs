mod browse;
mod bundle;
mod explore;
mod pulls;
mod reports;
mod transfer;

use yew::prelude::*;

use super::cache_panel::CachePanel;
use super::credentials_panel::CredentialsPanel;
use super::error_panel::ErrorPanel;
use super::files::FilesPanel;
use super::job_nav::JobNav;
use super::layer_list::LayerList;
use super::platform_picker::PlatformPicker;
use super::proxy_field::ProxyField;
use super::pull_form::PullForm;
use super::save_panel::SavePanel;
use super::tag_list::TagList;
use crate::services::link::ViewLink;
use crate::services::{prefs, pull, tags};
use crate::state::job::Job;
use crate::state::{Action, Credentials, Phase, State};
use pulls::use_pulls;
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
        let mut state = State::new(
            link.images.last().cloned().unwrap_or_default(),
            prefs::saved_proxy(),
            link.platform.clone().unwrap_or_else(prefs::saved_platform),
        );
        state.form.remember_credentials = remembered.is_some();
        state.form.uncompressed = prefs::saved_uncompressed();
        state.form.cache_chosen_file = prefs::pull_settings().cache_chosen_file;
        state.form.credentials = remembered.unwrap_or_default();
        state.form.queue = link.images[..link.images.len().saturating_sub(1)].to_vec();
        state.cache.cap = prefs::pull_settings().cache_cap_bytes;
        state.job = link.job;
        state.explorer.view = link.view.unwrap_or_default();
        state.explorer.pending = link.object.clone();
        state
    });

    let pulls = use_pulls(&state);

    // At start: what the layer cache holds, and a pull a reload interrupted, resumed.
    {
        let (state, pulls) = (state.clone(), pulls.clone());
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
                pulls.resume(interrupted);
            } else if !link.images.is_empty() && (link.view.is_some() || link.object.is_some()) {
                // A shared link to a view: look inside the image to show it.
                pulls.inspect_images(link.images);
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
            let registry = state
                .form
                .image_input
                .parse::<PullInput>()
                .ok()
                .map(|input| input.reference.registry().to_owned());
            tags::start(
                tags::TagsRequest {
                    image_input: state.form.image_input.clone(),
                    proxy: state.form.proxy_input.clone(),
                    credentials: credentials_for(&state, registry.as_deref()),
                },
                reports::tags(&state),
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
        matches!(&state.pull.phase, Phase::Failed(report) if report.wants_credentials);

    let on_clear_cache = {
        let pulls = pulls.clone();
        Callback::from(move |()| pulls.clear_cache())
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
        let pulls = pulls.clone();
        Callback::from(move |()| pulls.start(None, None))
    };
    let on_inspect = {
        let pulls = pulls.clone();
        Callback::from(move |()| pulls.inspect())
    };
    // The same images again, stored uncompressed: the layers come from the cache.
    let on_save_uncompressed = {
        let (state, pulls) = (state.clone(), pulls.clone());
        Callback::from(move |()| {
            state.dispatch(Action::SetUncompressed(true));
            pulls.start(None, Some(true));
        })
    };
    // Picking another platform of the index pulls it at once.
    let on_choose_platform = {
        let (state, pulls) = (state.clone(), pulls.clone());
        Callback::from(move |platform: String| {
            state.dispatch(Action::EditPlatform(platform.clone()));
            pulls.start(Some(platform), None);
        })
    };

    let stage = match &state.pull.phase {
        Phase::Running { stage } => {
            html! { <p class="stage" role="status"><span class="spinner"></span>{ stage }</p> }
        }
        _ => html! {},
    };

    let has_explorer = !state.pull.exchanges.is_empty() || !state.explorer.docs.is_empty();
    let on_show_job = {
        let state = state.clone();
        Callback::from(move |job: Job| {
            ViewLink {
                job,
                ..ViewLink::current()
            }
            .show(true);
            state.dispatch(Action::ShowJob(job));
        })
    };
    let credentials_panel = html! {
        <CredentialsPanel
            credentials={state.form.credentials.clone()}
            remember={state.form.remember_credentials}
            wanted={credentials_wanted}
            on_change={on_credentials}
            {on_remember}
        />
    };
    let job_view = match state.job {
        Job::Pull => html! {
            <>
            <PullForm
                image={state.form.image_input.clone()}
                queue={state.form.queue.clone()}
                {on_enqueue}
                {on_dequeue}
                {on_list_tags}
                proxy={state.form.proxy_input.clone()}
                running={state.is_running()}
                platform={state.form.platform_input.clone()}
                {on_image}
                on_proxy={on_proxy.clone()}
                {on_platform}
                uncompressed={state.form.uncompressed}
                {on_uncompressed}
                save_to_file={pull::target::can_pick().then_some(state.form.save_to_file)}
                on_save_to_file={let state = state.clone(); Callback::from(move |save| state.dispatch(Action::SetSaveToFile(save)))}
                cache_chosen_file={state.form.cache_chosen_file}
                on_cache_chosen_file={let state = state.clone(); Callback::from(move |keep| state.dispatch(Action::SetCacheChosenFile(keep)))}
                include_referrers={state.form.include_referrers}
                on_include_referrers={let state = state.clone(); Callback::from(move |include| state.dispatch(Action::SetIncludeReferrers(include)))}
                require={state.form.require.clone()}
                on_require={let state = state.clone(); Callback::from(move |signer| state.dispatch(Action::SetRequire(signer)))}
                {on_pull}
                {on_inspect}
                on_cancel={let pulls = pulls.clone(); Callback::from(move |()| pulls.cancel())}
            >
                { credentials_panel }
            </PullForm>
            if let Some(why) = &state.storage_problem {
                <p id="storage-note" class="warning" role="alert">{ why }</p>
            }
            if let Some(reference) = &state.pull.reference {
                <p class="reference">{ "Image: " }<code id="resolved-reference">{ reference }</code>
                    if let Some(kind) = state.pull.kind.as_ref().filter(|k| !k.is_image()) {
                        <span id="artifact-kind">{ format!(" — {}, not a container image: it is saved as its own tool saves it", kind.describe()) }</span>
                    }
                </p>
            }
            <TagList view={state.tags.clone()} on_pick={on_pick_tag} />
            { stage }
            <PlatformPicker
                offers={state.pull.offers.clone()}
                chosen={state.pull.chosen_platform.clone()}
                running={state.is_running()}
                on_choose={on_choose_platform}
            />
            if let Phase::Failed(report) = &state.pull.phase {
                <ErrorPanel report={report.clone()} />
            }
            if let Phase::Done(archive) = &state.pull.phase {
                <SavePanel archive={archive.clone()} hashed_by={state.pull.hashed_by()} on_save_uncompressed={on_save_uncompressed} />
                <FilesPanel contents={archive.contents.clone()} />
            }
            <LayerList layers={state.pull.layers.clone()} />
            <CachePanel info={state.cache.clone()} running={state.is_running()}
                on_clear={on_clear_cache} on_cap={on_cache_cap} />
            </>
        },
        Job::Bundle => bundle::view(
            &state,
            &pulls,
            html! {
                <>
                    <ProxyField value={state.form.proxy_input.clone()} on_change={on_proxy.clone()} />
                    { credentials_panel.clone() }
                </>
            },
        ),
        Job::Browse => browse::view(
            &state,
            &pulls,
            html! {
                <>
                    <ProxyField value={state.form.proxy_input.clone()} on_change={on_proxy} />
                    { credentials_panel }
                </>
            },
        ),
        Job::Transfer => transfer::view(&state, on_proxy, credentials_panel),
    };

    html! {
        <main class={classes!(has_explorer.then_some("with-explorer"))}>
            <header>
                <button id="theme-toggle" class="theme-toggle" onclick={toggle_theme}>{ theme.label() }</button>
                <h1>{ "Skiff" }</h1>
                <p class="tagline">{ "Pull a container image from any registry into a tar that " }<code>{ "docker load" }</code>{ " accepts — in this browser tab, no Docker needed." }</p>
                <JobNav current={state.job} on_show={on_show_job} />
            </header>
            <div class="workspace">
                <div class="job-view">{ job_view }</div>
                if has_explorer {
                    <aside class="explorer-side" aria-label="The registry's answers">{ explore::explorer(&state) }</aside>
                }
            </div>
        </main>
    }
}

/// The credentials to hand a registry service (pull, tag list) whose first request goes to
/// `registry`. Unbound credentials belong to the registry they are first used with, and the
/// form shows that binding. Every service's session then drops them for any other registry
/// ([`crate::services::http::RegistrySession::new`]): they are sent nowhere else.
pub(super) fn credentials_for(
    state: &UseReducerHandle<State>,
    registry: Option<&str>,
) -> Option<Credentials> {
    let mut credentials = state.form.credentials.if_given()?;
    if credentials.registry.is_empty() {
        credentials.registry = registry?.to_owned();
        state.dispatch(Action::EditCredentials(Credentials {
            registry: credentials.registry.clone(),
            ..state.form.credentials.clone()
        }));
    }
    Some(credentials)
}
