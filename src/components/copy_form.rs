//! Copy between registries: from, to, a login for the source registry (the credentials panel
//! is the target's), and which platforms of an index to take.

use skiff_core::{Platform, Reference};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::push::OfferedPlatforms;
use crate::state::Credentials;

/// What the copy form asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyForm {
    pub from: String,
    pub to: String,
    /// Empty: every platform.
    pub platforms: Vec<Platform>,
    /// For the source registry only.
    pub source_login: Option<Credentials>,
    /// Also copy the signatures, SBOMs and attestations that refer to what is copied.
    pub with_referrers: bool,
}

#[derive(Properties, PartialEq)]
pub struct CopyFormProps {
    pub running: bool,
    pub offered: Option<OfferedPlatforms>,
    pub on_copy: Callback<CopyForm>,
    pub on_read_platforms: Callback<CopyForm>,
}

#[function_component(CopyFormView)]
pub fn copy_form(props: &CopyFormProps) -> Html {
    let from = use_state(String::new);
    let to = use_state(String::new);
    let username = use_state(String::new);
    let password = use_state(String::new);
    // The platforms left out (all are taken unless unticked).
    let left_out = use_state(Vec::<Platform>::new);
    let with_referrers = use_state(|| false);
    {
        // Platforms read again (another source): all are taken until unticked.
        let left_out = left_out.clone();
        use_effect_with(props.offered.clone(), move |_| left_out.set(Vec::new()));
    }
    let text = |field: &UseStateHandle<String>| {
        let field = field.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            field.set(input.value());
        })
    };
    // The platforms read for what the From field says now.
    let offered: Option<&Result<Vec<Platform>, String>> = props
        .offered
        .as_ref()
        .filter(|o| o.from == from.trim())
        .map(|o| &o.platforms);
    let form = {
        let offered = offered.cloned();
        let (from, to, username, password) = (&*from, &*to, &*username, &*password);
        let platforms = match &offered {
            Some(Ok(all)) if !left_out.is_empty() => all
                .iter()
                .filter(|p| !left_out.contains(p))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        CopyForm {
            from: from.clone(),
            to: to.clone(),
            platforms,
            source_login: source_login(from, username, password),
            with_referrers: *with_referrers,
        }
    };
    let emit = |callback: &Callback<CopyForm>| {
        let (callback, form) = (callback.clone(), form.clone());
        Callback::from(move |_: MouseEvent| callback.emit(form.clone()))
    };
    let toggle = |platform: &Platform| {
        let (left_out, platform) = (left_out.clone(), platform.clone());
        Callback::from(move |_: Event| {
            let mut next = (*left_out).clone();
            match next.iter().position(|p| *p == platform) {
                Some(at) => {
                    next.remove(at);
                }
                None => next.push(platform.clone()),
            }
            left_out.set(next);
        })
    };
    let nothing_chosen = matches!(offered, Some(Ok(all)) if !all.is_empty() && all.iter().all(|p| left_out.contains(p)));
    let ready =
        !from.trim().is_empty() && !to.trim().is_empty() && !props.running && !nothing_chosen;
    html! {
        <>
            <h3>{ "Or copy between registries" }</h3>
            <p class="hint">{ "Like skopeo copy --all: every platform of an index, the index keeping its digest (or only the platforms you choose, in a new index). Blobs stream from one registry to the other and are committed only once they match their digest; blobs the target has are skipped, and within one registry they are mounted instead of copied. The credentials panel above logs in to the target." }</p>
            <div class="push-fields">
                <label for="copy-from">{ "From" }</label>
                <input id="copy-from" type="text" placeholder="ghcr.io/org/app:1.0" value={(*from).clone()}
                    oninput={text(&from)} spellcheck="false" autocomplete="off" />
                <label for="copy-to">{ "To" }</label>
                <input id="copy-to" type="text" placeholder="registry.example.com/team/app:1.0" value={(*to).clone()}
                    oninput={text(&to)} spellcheck="false" autocomplete="off" />
            </div>
            <details id="copy-login" class="copy-login">
                <summary>{ "Log in to the source registry" }</summary>
                <p class="hint">{ "Sent only to the registry of From, kept in memory only." }</p>
                <div class="push-fields">
                    <label for="copy-username">{ "Username" }</label>
                    <input id="copy-username" type="text" autocomplete="off" spellcheck="false"
                        value={(*username).clone()} oninput={text(&username)} />
                    <label for="copy-password">{ "Password or token" }</label>
                    <input id="copy-password" type="password" autocomplete="off"
                        value={(*password).clone()} oninput={text(&password)} />
                </div>
            </details>
            <div class="copy-platforms">
                <button id="copy-read-platforms" type="button" class="secondary"
                    disabled={from.trim().is_empty() || props.running} onclick={emit(&props.on_read_platforms)}>
                    { "Choose platforms…" }
                </button>
                {
                    match offered {
                        None => html! { <span class="hint">{ "All platforms are copied unless you choose." }</span> },
                        Some(Err(error)) => html! { <span id="copy-platforms-error" class="field-error" role="alert">{ error }</span> },
                        Some(Ok(all)) if all.is_empty() => html! { <span id="copy-platforms-none" class="hint">{ "A single image: there is no platform to choose." }</span> },
                        Some(Ok(all)) => html! {
                            <fieldset id="copy-platforms">
                                <legend>{ "Platforms to copy" }</legend>
                                { for all.iter().map(|platform| {
                                    let id = format!("copy-platform-{}", platform.to_string().replace('/', "-"));
                                    html! {
                                        <label for={id.clone()} class="platform-choice">
                                            <input type="checkbox" id={id} data-platform={platform.to_string()}
                                                checked={!left_out.contains(platform)} onchange={toggle(platform)} />
                                            { platform.to_string() }
                                        </label>
                                    }
                                }) }
                                if nothing_chosen {
                                    <span class="field-error" role="alert">{ "Choose at least one platform." }</span>
                                }
                            </fieldset>
                        },
                    }
                }
            </div>
            <label class="copy-referrers">
                <input type="checkbox" id="copy-referrers" checked={*with_referrers}
                    onchange={let with_referrers = with_referrers.clone(); Callback::from(move |event: Event| {
                        let input: HtmlInputElement = event.target_unchecked_into();
                        with_referrers.set(input.checked());
                    })} />
                { " include signatures and SBOMs (written on the target where a verifier looks: the referrers API, else the tag schema or cosign's tags)" }
            </label>
            <div class="push-fields">
                <span></span>
                <button id="copy-start" type="button" disabled={!ready} onclick={emit(&props.on_copy)}>
                    { if props.running { "Working…" } else { "Copy" } }
                </button>
            </div>
        </>
    }
}

/// The source login, bound to the registry the From field names.
fn source_login(from: &str, username: &str, password: &str) -> Option<Credentials> {
    let registry = from.trim().parse::<Reference>().ok()?.registry().to_owned();
    Credentials {
        registry,
        username: username.to_owned(),
        password: password.to_owned(),
    }
    .if_given()
}
