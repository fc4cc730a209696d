//! The push and copy job's view: the proxy and credentials every job shares, then pushing an
//! archive or copying between registries.

use yew::prelude::*;

use super::{credentials_for, reports};
use crate::components::copy_form::CopyForm;
use crate::components::proxy_field::ProxyField;
use crate::components::push_panel::PushPanel;
use crate::services::push::{self, CopyRequest, PushRequest};
use crate::services::Report;
use crate::state::push::PushEvent;
use crate::state::State;

pub fn view(
    state: &UseReducerHandle<State>,
    on_proxy: Callback<String>,
    credentials_panel: Html,
) -> Html {
    let on_push = {
        let state = state.clone();
        Callback::from(move |(file, target): (web_sys::File, String)| {
            let registry = target
                .parse::<skiff_core::Reference>()
                .ok()
                .map(|r| r.registry().to_owned())
                .or_else(|| target.split('/').next().map(str::to_owned));
            push::start(
                PushRequest {
                    file,
                    target,
                    proxy: state.form.proxy_input.clone(),
                    credentials: credentials_for(&state, registry.as_deref()),
                },
                reports::push(&state),
            );
        })
    };
    // Copying and reading a copy source's platforms take the same request.
    let copy_service = |service: fn(CopyRequest, Report<PushEvent>)| {
        let state = state.clone();
        Callback::from(move |form: CopyForm| {
            service(copy_request(&state, form), reports::push(&state))
        })
    };
    html! {
        <>
            <div class="pull-form connection">
                <ProxyField value={state.form.proxy_input.clone()} on_change={on_proxy} />
                { credentials_panel }
            </div>
            <PushPanel view={state.push.clone()} {on_push}
                on_copy={copy_service(push::start_copy)}
                on_read_platforms={copy_service(push::read_platforms)} />
        </>
    }
}

/// A copy's request: the source's own login if the form has one, else the credentials panel's
/// if they belong to the source registry; the panel's for the target.
fn copy_request(state: &UseReducerHandle<State>, form: CopyForm) -> CopyRequest {
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
            .form
            .credentials
            .if_given()
            .filter(|c| from_registry.as_deref().is_some_and(|r| c.belong_to(r)))
    });
    CopyRequest {
        from: form.from,
        to: form.to,
        platforms: form.platforms,
        proxy: state.form.proxy_input.clone(),
        from_credentials,
        to_credentials,
        with_referrers: form.with_referrers,
    }
}
