//! The image's signatures checked with a public key the user pastes or drops: verified,
//! failed (and why), or unsigned, with the key's fingerprint.

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use crate::state::explorer::VerdictsView;

#[derive(Properties, PartialEq)]
pub struct VerifyProps {
    pub view: VerdictsView,
    /// A manifest is known to check the signatures of.
    pub can_check: bool,
    /// The key's PEM text.
    pub on_verify: Callback<String>,
}

#[function_component(Verify)]
pub fn verify(props: &VerifyProps) -> Html {
    let key = use_state(String::new);
    let on_input = {
        let key = key.clone();
        Callback::from(move |event: InputEvent| {
            let area: HtmlTextAreaElement = event.target_unchecked_into();
            key.set(area.value());
        })
    };
    let on_click = {
        let (key, on_verify) = (key.clone(), props.on_verify.clone());
        Callback::from(move |_: MouseEvent| on_verify.emit((*key).clone()))
    };
    let checking = props.view == VerdictsView::Checking;
    html! {
        <div id="verify-panel" class="verify">
            <label for="verify-key">{ "Check the signatures with a public key (cosign.pub: ECDSA P-256 or RSA)" }</label>
            <textarea id="verify-key" rows="4" spellcheck="false" value={(*key).clone()} oninput={on_input}
                placeholder="-----BEGIN PUBLIC KEY-----" />
            <button type="button" id="verify-signatures" class="secondary"
                disabled={!props.can_check || checking || key.trim().is_empty()} onclick={on_click}>
                { if checking { "Checking…" } else { "Verify the signatures" } }
            </button>
            { match &props.view {
                VerdictsView::NotAsked | VerdictsView::Checking => html! {},
                VerdictsView::Failed(message) => html! { <div id="verify-error" class="error" role="alert"><p>{ message }</p></div> },
                VerdictsView::Done { key, verdicts } if verdicts.is_empty() => html! {
                    <p id="verdict-unsigned" class="warning" role="status" data-key={key.to_string()}>
                        { "Unsigned: no cosign signature refers to this image." }
                    </p>
                },
                VerdictsView::Done { key, verdicts } => html! {
                    <>
                        <p class="hint">{ "Key " }<code id="key-fingerprint">{ key.to_string() }</code></p>
                        <ul id="verdicts">
                            { for verdicts.iter().map(|verdict| match &verdict.outcome {
                                Ok(()) => html! {
                                    <li class="verdict" data-verdict="verified" data-signature={verdict.signature.to_string()}>
                                        <strong>{ "verified ✓ " }</strong><code>{ verdict.signature.short() }</code>
                                        { " — signed by this key, for this image's digest and repository" }
                                    </li>
                                },
                                Err(why) => html! {
                                    <li class="verdict" data-verdict="failed" data-signature={verdict.signature.to_string()}>
                                        <strong>{ "failed ✗ " }</strong><code>{ verdict.signature.short() }</code>{ format!(" — {why}") }
                                    </li>
                                },
                            }) }
                        </ul>
                    </>
                },
            } }
        </div>
    }
}
