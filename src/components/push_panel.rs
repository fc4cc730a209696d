//! Push an archive the user picks to a registry: `docker save` tars (old and new layouts), OCI
//! layout tars and Skiff's archives. Every blob is checked before anything is uploaded.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::human_bytes;
use crate::state::push::{BlobState, PushView};

#[derive(Properties, PartialEq)]
pub struct PushPanelProps {
    pub view: PushView,
    /// The archive and where to push it.
    pub on_push: Callback<(web_sys::File, String)>,
    /// From one registry's reference to another's, without saving.
    pub on_copy: Callback<(String, String)>,
}

#[function_component(PushPanel)]
pub fn push_panel(props: &PushPanelProps) -> Html {
    let file = use_state(|| None::<web_sys::File>);
    let target = use_state(String::new);
    let on_file = {
        let file = file.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            file.set(input.files().and_then(|files| files.get(0)));
        })
    };
    let on_target = {
        let target = target.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            target.set(input.value());
        })
    };
    let on_start = {
        let (file, target, on_push) = (file.clone(), target.clone(), props.on_push.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(file) = (*file).clone() {
                on_push.emit((file, (*target).clone()));
            }
        })
    };
    let copy_from = use_state(String::new);
    let copy_to = use_state(String::new);
    let text = |field: &UseStateHandle<String>| {
        let field = field.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            field.set(input.value());
        })
    };
    let on_copy = {
        let (from, to, on_copy) = (copy_from.clone(), copy_to.clone(), props.on_copy.clone());
        Callback::from(move |_: MouseEvent| on_copy.emit(((*from).clone(), (*to).clone())))
    };
    let view = &props.view;
    let ready = file.is_some() && !target.trim().is_empty() && !view.running;
    let copy_ready = !copy_from.trim().is_empty() && !copy_to.trim().is_empty() && !view.running;
    html! {
        <details id="push" class="push">
            <summary>{ "Push an archive to a registry" }</summary>
            <p class="hint">
                { "A tar from docker save (old or new layout), an OCI layout tar, or an archive Skiff saved. Every blob is checked against its digest before anything is uploaded; blobs the registry has are skipped. It goes through the CORS proxy above, which must run with " }
                <code>{ "--allow-push" }</code>
                { ", with the credentials for the target registry." }
            </p>
            <div class="push-fields">
                <label for="push-file">{ "Archive" }</label>
                <input id="push-file" type="file" accept=".tar,application/x-tar" onchange={on_file} />
                <label for="push-target">{ "Push to" }</label>
                <input id="push-target" type="text" placeholder="registry.example.com/team/app:1.0 (or registry.example.com/team for several images)"
                    value={(*target).clone()} oninput={on_target} spellcheck="false" autocomplete="off" />
                <button id="push-start" type="button" disabled={!ready} onclick={on_start}>
                    { if view.running { "Pushing…" } else { "Push" } }
                </button>
            </div>
            <h3>{ "Or copy between registries" }</h3>
            <p class="hint">{ "Like skopeo copy --all: every platform of an index, the index keeping its digest; blobs the target has are skipped, and within one registry they are mounted instead of copied." }</p>
            <div class="push-fields">
                <label for="copy-from">{ "From" }</label>
                <input id="copy-from" type="text" placeholder="ghcr.io/org/app:1.0" value={(*copy_from).clone()}
                    oninput={text(&copy_from)} spellcheck="false" autocomplete="off" />
                <label for="copy-to">{ "To" }</label>
                <input id="copy-to" type="text" placeholder="registry.example.com/team/app:1.0" value={(*copy_to).clone()}
                    oninput={text(&copy_to)} spellcheck="false" autocomplete="off" />
                <button id="copy-start" type="button" disabled={!copy_ready} onclick={on_copy}>
                    { if view.running { "Working…" } else { "Copy" } }
                </button>
            </div>
            if view.running {
                <p id="push-stage" class="stage" role="status"><span class="spinner"></span>{ &view.stage }</p>
            }
            if !view.blobs.is_empty() {
                <ul class="push-blobs">
                    { for view.blobs.iter().map(|blob| html! {
                        <li class="push-blob" data-state={state_name(&blob.state)} data-digest={blob.digest.to_string()}>
                            <code>{ blob.digest.short() }</code>
                            <span>{ human_bytes(blob.size) }</span>
                            <span class="state">{ state_text(&blob.state, blob.size) }</span>
                        </li>
                    }) }
                </ul>
            }
            if let Some(done) = &view.done {
                <div id="push-done" class="done" role="status">
                    <p><strong>{ format!("Pushed {} image{}", done.pushed.len(), if done.pushed.len() == 1 { "" } else { "s" }) }</strong></p>
                    <ul>{ for done.pushed.iter().map(|r| html! { <li><code class="pushed-ref">{ r }</code></li> }) }</ul>
                    <p id="push-counts">{ format!(
                        "{} blob{} uploaded ({}), {} already there, {} mounted.",
                        done.uploaded, if done.uploaded == 1 { "" } else { "s" }, human_bytes(done.uploaded_bytes), done.present, done.mounted
                    ) }</p>
                </div>
            }
            if let Some(error) = &view.error {
                <div id="push-error" class="error" role="alert"><p>{ error }</p></div>
            }
        </details>
    }
}

fn state_name(state: &BlobState) -> &'static str {
    match state {
        BlobState::Waiting => "waiting",
        BlobState::Verified => "verified",
        BlobState::Present => "present",
        BlobState::Mounted => "mounted",
        BlobState::Uploading { .. } => "uploading",
        BlobState::Uploaded { .. } => "uploaded",
    }
}

fn state_text(state: &BlobState, size: u64) -> String {
    match state {
        BlobState::Waiting => "waiting".into(),
        BlobState::Verified => "checked ✓".into(),
        BlobState::Present => "already there".into(),
        BlobState::Mounted => "mounted".into(),
        BlobState::Uploading { sent } => {
            format!("uploading {} of {}", human_bytes(*sent), human_bytes(size))
        }
        BlobState::Uploaded { .. } => "uploaded ✓".into(),
    }
}
