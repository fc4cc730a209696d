use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::Credentials;

#[derive(Properties, PartialEq)]
pub struct CredentialsPanelProps {
    pub credentials: Credentials,
    pub remember: bool,
    /// The last pull needed a login: show the panel open.
    pub wanted: bool,
    pub on_change: Callback<Credentials>,
    pub on_remember: Callback<bool>,
}

/// Username and password (or access token) for private registries. Kept in memory only, unless
/// "remember for this tab" is ticked.
#[function_component(CredentialsPanel)]
pub fn credentials_panel(props: &CredentialsPanelProps) -> Html {
    let edit = |set: fn(&mut Credentials, String)| {
        let current = props.credentials.clone();
        let on_change = props.on_change.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            let mut next = current.clone();
            set(&mut next, input.value());
            on_change.emit(next);
        })
    };
    let on_remember = {
        let on_remember = props.on_remember.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            on_remember.emit(input.checked());
        })
    };
    let open = props.wanted || !props.credentials.username.is_empty();
    html! {
        <details id="credentials" class={classes!("credentials", props.wanted.then_some("wanted"))} {open}>
            <summary>{ "Credentials" }<span class="hint">{ " — for private repositories; anonymous when empty" }</span></summary>
            <div class="credential-fields">
                <label for="credentials-registry">{ "Registry" }</label>
                <input id="credentials-registry" type="text" spellcheck="false"
                    placeholder="the registry of the image you pull next (sent to no other)"
                    value={props.credentials.registry.clone()}
                    oninput={edit(|c, v| c.registry = v)} />
                <label for="username">{ "Username" }</label>
                <input id="username" type="text" autocomplete="username" spellcheck="false"
                    value={props.credentials.username.clone()}
                    oninput={edit(|c, v| c.username = v)} />
                <label for="password">{ "Password or token" }</label>
                <input id="password" type="password" autocomplete="current-password"
                    value={props.credentials.password.clone()}
                    oninput={edit(|c, v| c.password = v)} />
                <label class="remember">
                    <input id="remember" type="checkbox" checked={props.remember} onchange={on_remember} />
                    { " Remember for this tab (sessionStorage; otherwise kept in memory only)" }
                </label>
            </div>
        </details>
    }
}
