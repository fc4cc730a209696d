//! Signatures, SBOMs and attestations attached to the image, and how each was found.

use skiff_core::image::referrers::Referrer;
use yew::prelude::*;

use crate::components::human_bytes;
use crate::state::explorer::{ReferrersView, Target};

#[derive(Properties, PartialEq)]
pub struct ReferrersProps {
    pub view: ReferrersView,
    /// A manifest is known to look for.
    pub can_search: bool,
    pub on_find: Callback<()>,
    pub on_open: Callback<Target>,
}

#[function_component(Referrers)]
pub fn referrers(props: &ReferrersProps) -> Html {
    let find = {
        let on_find = props.on_find.clone();
        Callback::from(move |_: MouseEvent| on_find.emit(()))
    };
    let looking = props.view == ReferrersView::Looking;
    html! {
        <div id="referrers-panel">
            <p class="hint">{ "Artifacts that name this image as their subject. Registries list them through the OCI referrers API; without it, under the tag sha256-<hex> (the OCI tag schema) or cosign's tags sha256-<hex>.sig, .att and .sbom. Skiff asks all three." }</p>
            <button type="button" id="find-referrers" disabled={!props.can_search || looking} onclick={find}>
                { if looking { "Looking…" } else { "Look for signatures, SBOMs and attestations" } }
            </button>
            { match &props.view {
                ReferrersView::NotAsked | ReferrersView::Looking => html! {},
                ReferrersView::Failed(message) => html! { <div class="error" role="alert"><p>{ message }</p></div> },
                ReferrersView::Found { referrers, ways } => found(referrers, ways, &props.on_open),
            } }
        </div>
    }
}

fn found(referrers: &[Referrer], ways: &[String], on_open: &Callback<Target>) -> Html {
    html! {
        <>
            if referrers.is_empty() {
                <p id="referrers-none" class="hint" role="status">{ "Nothing refers to this image." }</p>
            } else {
                <table id="referrers" class="compare-table">
                    <thead><tr><th>{ "Kind" }</th><th>{ "Type" }</th><th>{ "Manifest" }</th><th>{ "Size" }</th><th>{ "Found through" }</th></tr></thead>
                    <tbody>
                        { for referrers.iter().map(|r| {
                            let target = Target { digest: r.digest.clone(), media_type: r.media_type.clone(), size: Some(r.size) };
                            let on_open = on_open.clone();
                            html! {
                                <tr class="referrer" data-kind={r.kind.label()}>
                                    <td title={r.kind.explain()}>{ r.kind.label() }</td>
                                    <td><code>{ r.artifact_type.clone().unwrap_or_else(|| r.media_type.to_string()) }</code></td>
                                    <td><button type="button" class="digest-link" data-digest={r.digest.to_string()}
                                        onclick={Callback::from(move |_| on_open.emit(target.clone()))}>{ r.digest.short() }</button></td>
                                    <td>{ human_bytes(r.size) }</td>
                                    <td>{ r.found_by.describe() }</td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            }
            <details class="ways">
                <summary>{ "How Skiff looked" }</summary>
                <ul>{ for ways.iter().map(|w| html! { <li>{ w }</li> }) }</ul>
            </details>
        </>
    }
}
