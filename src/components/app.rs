use yew::prelude::*;

use super::error_panel::ErrorPanel;
use super::exchange_log::ExchangeLog;
use super::layer_list::LayerList;
use super::pull_form::PullForm;
use super::save_panel::SavePanel;
use crate::services::{prefs, pull};
use crate::state::{Action, Phase, State};

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| {
        State::new(
            prefs::hash_param("image").unwrap_or_default(),
            prefs::saved_proxy(),
        )
    });

    let on_image = {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::EditImage(text)))
    };
    let on_proxy = {
        let state = state.clone();
        Callback::from(move |text: String| state.dispatch(Action::EditProxy(text)))
    };
    let on_pull = {
        let state = state.clone();
        Callback::from(move |()| {
            prefs::save_proxy(&state.proxy_input);
            prefs::set_image_in_url(state.image_input.trim());
            let dispatcher = state.dispatcher();
            pull::start(
                pull::PullRequest {
                    image_input: state.image_input.clone(),
                    proxy: state.proxy_input.clone(),
                },
                state.pull_id + 1,
                Callback::from(move |action| dispatcher.dispatch(action)),
            );
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
                <h1>{ "Skiff" }</h1>
                <p class="tagline">{ "Pull a container image from any registry into a tar that " }<code>{ "docker load" }</code>{ " accepts — in this browser tab, no Docker needed." }</p>
            </header>
            <PullForm
                image={state.image_input.clone()}
                proxy={state.proxy_input.clone()}
                running={state.is_running()}
                {on_image}
                {on_proxy}
                {on_pull}
            />
            if let Some(reference) = &state.reference {
                <p class="reference">{ "Image: " }<code id="resolved-reference">{ reference }</code></p>
            }
            { stage }
            if let Phase::Failed(report) = &state.phase {
                <ErrorPanel report={report.clone()} />
            }
            if let Phase::Done(archive) = &state.phase {
                <SavePanel archive={archive.clone()} />
            }
            <LayerList layers={state.layers.clone()} />
            <ExchangeLog
                exchanges={state.exchanges.clone()}
                manifest_json={state.manifest_json.clone()}
                config_json={state.config_json.clone()}
            />
        </main>
    }
}
