//! The explorer: how a registry works, shown on this pull. Tabs for the image's summary, every
//! request (headers, timings, the auth dance), the documents (clickable digests) and the
//! image's signatures and SBOMs. The tab and the opened object live in the page's URL.

mod json;
mod objects;
pub mod packages;
mod referrers;
mod timeline;
mod verify;

use yew::prelude::*;

use super::files::summary::SummaryView;
use crate::state::explorer::{ExplorerState, Target, View};
use crate::state::{Exchange, ImageContents};

#[derive(Properties, PartialEq)]
pub struct ExplorerProps {
    pub exchanges: Vec<Exchange>,
    pub state: ExplorerState,
    /// The image for the summary, once its manifest and config are known.
    pub image: Option<ImageContents>,
    /// What the image's index offers (empty for a single-platform image).
    pub platforms: Vec<String>,
    /// What it is, when it is no container image (a Helm chart, …).
    #[prop_or_default]
    pub what: Option<String>,
    pub on_show: Callback<View>,
    pub on_open: Callback<Target>,
    pub on_find_referrers: Callback<()>,
    /// Check the image's signatures with this public key (PEM).
    pub on_verify: Callback<crate::state::trust::SignerFields>,
    /// Find this image's SBOM (its reference as typed), preferably of this format.
    pub on_compare_sbom: Callback<(String, skiff_core::trust::sbom::SbomFormat)>,
}

#[function_component(Explorer)]
pub fn explorer(props: &ExplorerProps) -> Html {
    if props.exchanges.is_empty() && props.state.docs.is_empty() {
        return html! {};
    }
    let view = props.state.view;
    let tab = |shown: View| {
        let on_show = props.on_show.clone();
        let count = match shown {
            View::Requests => format!(" ({})", props.exchanges.len()),
            View::Objects => format!(" ({})", props.state.docs.len()),
            _ => String::new(),
        };
        html! {
            <button type="button" class="tab" data-view={shown.as_str()}
                aria-pressed={(shown == view).to_string()}
                onclick={Callback::from(move |_| on_show.emit(shown))}>
                { shown.title() }{ count }
            </button>
        }
    };
    let body = match view {
        View::Summary => match &props.image {
            Some(image) => html! {
                <SummaryView image={image.clone()} unpacked={props.state.unpacked} platforms={props.platforms.clone()} what={props.what.clone()} />
            },
            None => {
                html! { <p class="hint">{ "The summary appears once the image's config is fetched." }</p> }
            }
        },
        View::Requests => html! { <timeline::Timeline exchanges={props.exchanges.clone()} /> },
        View::Objects => html! {
            <objects::Objects state={props.state.clone()} on_open={props.on_open.clone()}
                on_compare_sbom={props.on_compare_sbom.clone()} />
        },
        View::Referrers => html! {
            <>
                <referrers::Referrers view={props.state.referrers.clone()}
                    can_search={props.state.subject().is_some()}
                    on_find={props.on_find_referrers.clone()} on_open={props.on_open.clone()} />
                <verify::Verify view={props.state.verdicts.clone()}
                    can_check={props.state.manifest().is_some()}
                    on_verify={props.on_verify.clone()} />
            </>
        },
    };
    html! {
        <section id="explorer" class="explorer" aria-labelledby="explorer-title">
            <h2 id="explorer-title">{ "How the registry answered" }</h2>
            <nav class="tabs" aria-label="Explorer views">
                { for View::ALL.into_iter().map(tab) }
            </nav>
            <div class="tab-body" data-view={view.as_str()}>{ body }</div>
        </section>
    }
}

/// `12 ms` / `1.4 s`.
fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.round() as u64)
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}
