//! A bundle: paste or drop a compose file, Kubernetes manifests or a list of references; see
//! the images found and where each came from; pull the chosen ones into one archive.

use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::state::bundle::BundleView;

#[derive(Properties, PartialEq)]
pub struct BundlePanelProps {
    pub view: BundleView,
    pub platform: String,
    pub running: bool,
    pub on_text: Callback<String>,
    /// A file picked or dropped: its text replaces the text area's.
    pub on_file: Callback<web_sys::File>,
    pub on_find: Callback<()>,
    pub on_toggle: Callback<usize>,
    pub on_platform: Callback<String>,
    pub on_pull: Callback<()>,
    /// The proxy field and the credentials panel.
    pub children: Html,
}

#[function_component(BundlePanel)]
pub fn bundle_panel(props: &BundlePanelProps) -> Html {
    let on_input = {
        let on_text = props.on_text.clone();
        Callback::from(move |event: InputEvent| {
            let area: HtmlTextAreaElement = event.target_unchecked_into();
            on_text.emit(area.value());
        })
    };
    let on_change_file = {
        let on_file = props.on_file.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                on_file.emit(file);
            }
        })
    };
    let on_drop = {
        let on_file = props.on_file.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            if let Some(file) = event
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|files| files.get(0))
            {
                on_file.emit(file);
            }
        })
    };
    let on_submit = {
        let on_find = props.on_find.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_find.emit(());
        })
    };
    let on_platform = {
        let on_platform = props.on_platform.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            on_platform.emit(input.value());
        })
    };
    html! {
        <>
            <form class="pull-form connection bundle-form" onsubmit={on_submit}>
                <label for="bundle-text">{ "Application" }</label>
                <textarea id="bundle-text" rows="10" spellcheck="false"
                    placeholder="Paste a compose file, Kubernetes manifests (helm template output too), or references one a line (# starts a comment)"
                    value={props.view.text.clone()} oninput={on_input}
                    ondragover={Callback::from(|event: DragEvent| event.prevent_default())} ondrop={on_drop} />
                <label for="bundle-file">{ "Or a file" }</label>
                <input id="bundle-file" type="file" accept=".yml,.yaml,.txt,.json,text/*" onchange={on_change_file} />
                <label for="bundle-platform">{ "Platform" }</label>
                <input id="bundle-platform" type="text" spellcheck="false" value={props.platform.clone()} oninput={on_platform} />
                { props.children.clone() }
                <div class="actions">
                    <button id="bundle-find" type="submit" disabled={props.view.text.trim().is_empty()}>{ "Find images" }</button>
                </div>
            </form>
            { found(props) }
        </>
    }
}

fn found(props: &BundlePanelProps) -> Html {
    let Some(bundle) = &props.view.found else {
        return html! {};
    };
    let chosen = props.view.chosen.iter().filter(|c| **c).count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    html! {
        <section id="bundle" class="bundle">
            <h2 id="bundle-summary">{ format!("Read as {}: {} image{}", bundle.format.describe(), bundle.images.len(), plural(bundle.images.len())) }</h2>
            if !bundle.unreadable.is_empty() {
                <div id="bundle-unreadable" class="warning" role="alert">
                    <p>{ format!("{} reference{} cannot be pulled as written (the others still can):", bundle.unreadable.len(), plural(bundle.unreadable.len())) }</p>
                    <ul>
                        { for bundle.unreadable.iter().map(|bad| html! {
                            <li class="unreadable" data-line={bad.line.map(|l| l.to_string())}>
                                { bad.line.map(|l| format!("line {l}: ")).unwrap_or_default() }
                                <code>{ &bad.written }</code>{ format!(" — {}", bad.reason) }
                            </li>
                        }) }
                    </ul>
                </div>
            }
            if bundle.images.is_empty() {
                <p class="hint">{ "No image references found: a compose file's services name theirs with image:, Kubernetes workloads in their containers." }</p>
            } else {
                <ul class="bundle-images">
                    { for bundle.images.iter().enumerate().map(|(index, image)| {
                        let on_toggle = props.on_toggle.clone();
                        let checked = props.view.chosen.get(index).copied().unwrap_or(false);
                        let id = format!("bundle-image-{index}");
                        html! {
                            <li class="bundle-image" data-reference={image.reference.to_string()}>
                                <input type="checkbox" id={id.clone()} {checked}
                                    onchange={Callback::from(move |_| on_toggle.emit(index))} />
                                <label for={id}><code>{ image.reference.to_string() }</code></label>
                                <span class="hint">{ format!(" — {}", image.sources.join("; ")) }</span>
                            </li>
                        }
                    }) }
                </ul>
                <button id="bundle-pull" type="button" disabled={props.running || chosen == 0}
                    onclick={let on = props.on_pull.clone(); Callback::from(move |_| on.emit(()))}>
                    { format!("Pull {chosen} image{} into one archive", plural(chosen)) }
                </button>
                <p class="hint">{ "One tar: shared layers stored once, every image loaded with its name by docker load, and images.txt listing each image with its digest." }</p>
            }
        </section>
    }
}
