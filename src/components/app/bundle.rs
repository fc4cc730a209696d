//! The bundle job's wiring: a dropped file read as text, the images found, the chosen ones
//! pulled into one archive by the pull job (whose view shows the pull).

use yew::prelude::*;

use super::pulls::Pulls;
use crate::components::bundle_panel::BundlePanel;
use crate::services::link::ViewLink;
use crate::state::bundle::BundleAction;
use crate::state::job::Job;
use crate::state::{Action, State};

pub fn view(state: &UseReducerHandle<State>, pulls: &Pulls, connection: Html) -> Html {
    let on_text = {
        let state = state.clone();
        Callback::from(move |text| state.dispatch(Action::Bundle(BundleAction::EditText(text))))
    };
    let on_file = {
        let state = state.clone();
        Callback::from(move |file: web_sys::File| {
            let dispatcher = state.dispatcher();
            wasm_bindgen_futures::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                if let Some(text) = text.ok().and_then(|t| t.as_string()) {
                    dispatcher.dispatch(Action::Bundle(BundleAction::EditText(text)));
                    dispatcher.dispatch(Action::Bundle(BundleAction::Find));
                }
            });
        })
    };
    let on_pull = {
        let (state, pulls) = (state.clone(), pulls.clone());
        Callback::from(move |()| {
            let images = state.bundle.chosen_references();
            ViewLink {
                job: Job::Pull,
                ..ViewLink::current()
            }
            .show(true);
            state.dispatch(Action::SetImages(images.clone()));
            state.dispatch(Action::ShowJob(Job::Pull));
            pulls.start_images(images, None, None, true);
        })
    };
    html! {
        <BundlePanel view={state.bundle.clone()}
            platform={state.form.platform_input.clone()}
            running={state.is_running()}
            {on_text} {on_file}
            on_find={let state = state.clone(); Callback::from(move |()| state.dispatch(Action::Bundle(BundleAction::Find)))}
            on_toggle={let state = state.clone(); Callback::from(move |i| state.dispatch(Action::Bundle(BundleAction::Toggle(i))))}
            on_platform={let state = state.clone(); Callback::from(move |p| state.dispatch(Action::EditPlatform(p)))}
            {on_pull}>
            { connection }
        </BundlePanel>
    }
}
