//! The image's signatures checked with what the user trusts (a public key pasted, a keyless
//! identity and issuer): each verified (by whom), failed (and why), or the image unsigned.

use skiff_core::time::utc;
use skiff_core::trust::signatures::SignedBy;
use yew::prelude::*;

use crate::components::signer_fields::SignerFieldsInput;
use crate::state::explorer::{Verdict, VerdictOutcome, VerdictsView};
use crate::state::trust::SignerFields;

#[derive(Properties, PartialEq)]
pub struct VerifyProps {
    pub view: VerdictsView,
    /// A manifest is known to check the signatures of.
    pub can_check: bool,
    pub on_verify: Callback<SignerFields>,
}

#[function_component(Verify)]
pub fn verify(props: &VerifyProps) -> Html {
    let signer = use_state(SignerFields::default);
    let on_change = {
        let signer = signer.clone();
        Callback::from(move |next| signer.set(next))
    };
    let on_click = {
        let (signer, on_verify) = (signer.clone(), props.on_verify.clone());
        Callback::from(move |_: MouseEvent| on_verify.emit((*signer).clone()))
    };
    let checking = props.view == VerdictsView::Checking;
    html! {
        <div id="verify-panel" class="verify">
            <p class="hint">{ "Check the signatures: with a public key for key-signed images; keyless ones (Sigstore) are verified offline against the trusted root, and show who signed." }</p>
            <SignerFieldsInput id="verify" value={(*signer).clone()} {on_change} />
            <button type="button" id="verify-signatures" class="secondary"
                disabled={!props.can_check || checking} onclick={on_click}>
                { if checking { "Checking…" } else { "Verify the signatures" } }
            </button>
            { match &props.view {
                VerdictsView::NotAsked | VerdictsView::Checking => html! {},
                VerdictsView::Failed(message) => html! { <div id="verify-error" class="error" role="alert"><p>{ message }</p></div> },
                VerdictsView::Done { key, verdicts } if verdicts.is_empty() => html! {
                    <p id="verdict-unsigned" class="warning" role="status" data-key={key.as_ref().map(ToString::to_string)}>
                        { "Unsigned: no signature refers to this image." }
                    </p>
                },
                VerdictsView::Done { key, verdicts } => html! {
                    <>
                        if let Some(key) = key {
                            <p class="hint">{ "Key " }<code id="key-fingerprint">{ key.to_string() }</code></p>
                        }
                        <ul id="verdicts">{ for verdicts.iter().map(verdict_row) }</ul>
                    </>
                },
            } }
        </div>
    }
}

fn verdict_row(verdict: &Verdict) -> Html {
    let signature = verdict.signature.to_string();
    match &verdict.outcome {
        VerdictOutcome::Verified(SignedBy::Key(_)) => html! {
            <li class="verdict" data-verdict="verified" data-signature={signature}>
                <strong>{ "verified ✓ " }</strong><code>{ verdict.signature.short() }</code>
                { " — signed by this key, for this image's digest and repository" }
            </li>
        },
        VerdictOutcome::Verified(SignedBy::Identity {
            subject,
            issuer,
            signed_at,
        }) => html! {
            <li class="verdict" data-verdict="verified" data-signature={signature} data-identity={subject.clone()}
                data-issuer={issuer.clone()}>
                <strong>{ "verified ✓ " }</strong><code>{ verdict.signature.short() }</code>
                { " — keyless, signed by " }<code class="identity">{ subject }</code>
                { match issuer {
                    Some(issuer) => format!(" (vouched for by {issuer})"),
                    None => String::new(),
                } }
                { format!(" at {}, as the transparency log attests", utc(*signed_at)) }
            </li>
        },
        VerdictOutcome::Failed(why) => html! {
            <li class="verdict" data-verdict="failed" data-signature={signature}>
                <strong>{ "failed ✗ " }</strong><code>{ verdict.signature.short() }</code>{ format!(" — {why}") }
            </li>
        },
        VerdictOutcome::NeedsKey => html! {
            <li class="verdict" data-verdict="unchecked" data-signature={signature}>
                <strong>{ "not checked " }</strong><code>{ verdict.signature.short() }</code>
                { " — it was signed with a key: paste the public key (cosign.pub) above to verify it" }
            </li>
        },
    }
}
