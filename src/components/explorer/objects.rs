//! The documents of the image — index, manifests, config, and whatever a link opened — one at
//! a time, with the checks each passed.

use yew::prelude::*;

use super::json;
use crate::components::human_bytes;
use crate::state::explorer::{ExplorerState, ObjectDoc, Opened, Target};
use skiff_core::trust::sbom::SbomFormat;

#[derive(Properties, PartialEq)]
pub struct ObjectsProps {
    pub state: ExplorerState,
    pub on_open: Callback<Target>,
    pub on_compare_sbom: Callback<(String, SbomFormat)>,
}

#[function_component(Objects)]
pub fn objects(props: &ObjectsProps) -> Html {
    let state = &props.state;
    let opened = match &state.opened {
        Opened::Nothing => state.docs.first().map(|d| Opened::Doc(d.digest.clone())),
        other => Some(other.clone()),
    };
    let shown = opened.as_ref().and_then(Opened::digest);
    html! {
        <div id="objects">
            <nav class="object-list" aria-label="Documents">
                { for state.docs.iter().map(|doc| {
                    let target = Target { digest: doc.digest.clone(), media_type: doc.media_type.clone(), size: Some(doc.size) };
                    let on_open = props.on_open.clone();
                    html! {
                        <button type="button" class="object-tab" data-digest={doc.digest.to_string()}
                            aria-pressed={(shown == Some(&doc.digest)).to_string()}
                            onclick={Callback::from(move |_| on_open.emit(target.clone()))}>
                            { doc.role.title() }<small>{ doc.digest.short() }</small>
                        </button>
                    }
                }) }
            </nav>
            { match opened {
                Some(Opened::Doc(digest)) => match state.doc(&digest) {
                    Some(doc) => document(doc, props),
                    None => html! {},
                },
                Some(Opened::Layer(target)) => layer(&target),
                Some(Opened::Loading(digest)) => html! {
                    <p class="stage" role="status"><span class="spinner"></span>{ format!("Fetching {digest}…") }</p>
                },
                Some(Opened::Failed { digest, message }) => html! {
                    <div class="error" role="alert"><strong>{ format!("Could not open {}", digest.short()) }</strong><p>{ message }</p></div>
                },
                Some(Opened::Nothing) | None => html! { <p class="hint">{ "No documents yet." }</p> },
            } }
        </div>
    }
}

fn document(doc: &ObjectDoc, props: &ObjectsProps) -> Html {
    let (drawn, types) = json::render(&doc.text, &props.on_open);
    html! {
        <article id="opened-object" class="object" data-digest={doc.digest.to_string()}>
            <h3>{ doc.role.title() }</h3>
            <dl class="facts">
                <dt>{ "Digest" }</dt><dd><code id="opened-digest">{ doc.digest.to_string() }</code></dd>
                <dt>{ "Media type" }</dt><dd><code>{ doc.media_type.to_string() }</code>{ " — " }{ doc.media_type.explain() }</dd>
                <dt>{ "Size" }</dt><dd>{ format!("{} bytes", doc.size) }</dd>
            </dl>
            <ul class="checks">
                { for doc.checks.iter().map(|c| html! { <li>{ c }</li> }) }
            </ul>
            if let Some(sbom) = super::packages::sbom_of(&doc.text) {
                <super::packages::Packages {sbom} other={props.state.other_sbom.clone()}
                    on_compare_image={props.on_compare_sbom.clone()} />
            }
            <p class="hint">{ "Digests below are links: open a manifest, a config or a layer's description." }</p>
            { drawn }
            { json::media_types(&types) }
        </article>
    }
}

fn layer(target: &Target) -> Html {
    html! {
        <article id="opened-object" class="object" data-digest={target.digest.to_string()}>
            <h3>{ "Layer" }</h3>
            <dl class="facts">
                <dt>{ "Digest" }</dt><dd><code id="opened-digest">{ target.digest.to_string() }</code></dd>
                <dt>{ "Media type" }</dt><dd><code>{ target.media_type.to_string() }</code>{ " — " }{ target.media_type.explain() }</dd>
                <dt>{ "Size" }</dt><dd>{ target.size.map(human_bytes).unwrap_or_else(|| "not given".into()) }</dd>
            </dl>
            <p class="hint">{ "A layer is a tar of files, fetched by this digest from /v2/<name>/blobs/ and checked against it while it streams. Skiff downloads it when you pull; after the pull, Browse files shows what is inside." }</p>
        </article>
    }
}
