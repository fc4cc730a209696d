//! Who must have signed, as the user says it: a public key, or a keyless identity with its
//! OIDC issuer and (for a private Sigstore) the trusted root. One component for the explorer's
//! check and the pull form's requirement; `id` prefixes the fields' ids.

use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::state::trust::SignerFields;

#[derive(Properties, PartialEq)]
pub struct SignerFieldsProps {
    pub value: SignerFields,
    pub on_change: Callback<SignerFields>,
    /// `verify` or `require`: the fields are `#{id}-key`, `#{id}-identity`, ….
    pub id: &'static str,
}

/// A callback that sets one field of the value and reports the whole.
fn setter(props: &SignerFieldsProps, set: fn(&mut SignerFields, String)) -> Callback<String> {
    let (value, on_change) = (props.value.clone(), props.on_change.clone());
    Callback::from(move |text: String| {
        let mut next = value.clone();
        set(&mut next, text);
        on_change.emit(next);
    })
}

#[function_component(SignerFieldsInput)]
pub fn signer_fields(props: &SignerFieldsProps) -> Html {
    let id = |field: &str| format!("{}-{field}", props.id);
    let on_key = setter(props, |v, text| v.key = text);
    let on_identity = setter(props, |v, text| v.identity = text);
    let on_issuer = setter(props, |v, text| v.issuer = text);
    let on_root = {
        let (value, on_change) = (props.value.clone(), props.on_change.clone());
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                return;
            };
            let (value, on_change) = (value.clone(), on_change.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let text = JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|t| t.as_string());
                let mut next = value;
                next.root = Some((file.name(), text.unwrap_or_default()));
                on_change.emit(next);
            });
        })
    };
    let on_public_good = setter(props, |v, _| v.root = None);
    let text = |set: Callback<String>| {
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            set.emit(input.value());
        })
    };
    html! {
        <div class="signer-fields">
            <label for={id("key")}>{ "Public key" }<span class="hint">{ " — cosign.pub (ECDSA P-256 or RSA), for images signed with a key" }</span></label>
            <textarea id={id("key")} rows="4" spellcheck="false" placeholder="-----BEGIN PUBLIC KEY-----"
                value={props.value.key.clone()}
                oninput={Callback::from(move |event: InputEvent| {
                    let area: HtmlTextAreaElement = event.target_unchecked_into();
                    on_key.emit(area.value());
                })} />
            <fieldset class="keyless">
                <legend>{ "Keyless (Sigstore)" }<span class="hint">{ " — who the signing certificate must name, verified offline" }</span></legend>
                <label for={id("identity")}>{ "Identity" }</label>
                <input id={id("identity")} type="text" spellcheck="false" value={props.value.identity.clone()}
                    placeholder="https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main"
                    oninput={text(on_identity)} />
                <label for={id("issuer")}>{ "Issuer" }</label>
                <input id={id("issuer")} type="text" spellcheck="false" value={props.value.issuer.clone()}
                    placeholder="https://token.actions.githubusercontent.com" oninput={text(on_issuer)} />
                <label for={id("root")}>{ "Trusted root" }</label>
                <span class="trusted-root">
                    <input id={id("root")} type="file" accept=".json,application/json" onchange={on_root}
                        aria-label="Another Sigstore instance's trusted_root.json" />
                    <span id={id("root-name")}>{ match &props.value.root {
                        Some((name, _)) => format!("{name} (another Sigstore instance)"),
                        None => "Sigstore's public-good instance (built in)".to_owned(),
                    } }</span>
                    if props.value.root.is_some() {
                        <button type="button" class="link" id={id("root-public-good")}
                            onclick={Callback::from(move |_: MouseEvent| on_public_good.emit(String::new()))}>
                            { "use the public-good instance" }
                        </button>
                    }
                </span>
            </fieldset>
        </div>
    }
}
