//! Push an archive the user picks to a registry: `docker save` tars (old and new layouts), OCI
//! layout tars and Skiff's archives. Every blob is checked before anything is uploaded.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::copy_form::{CopyForm, CopyFormView};
use super::human_bytes;
use crate::state::push::{BlobState, PushView, PushedBlob};

#[derive(Properties, PartialEq)]
pub struct PushPanelProps {
    pub view: PushView,
    /// The archive and where to push it.
    pub on_push: Callback<(web_sys::File, String)>,
    /// From one registry's reference to another's, without saving.
    pub on_copy: Callback<CopyForm>,
    /// Read the copy source's platforms, to choose some.
    pub on_read_platforms: Callback<CopyForm>,
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
    let view = &props.view;
    let ready = file.is_some() && !target.trim().is_empty() && !view.running;
    // What the last push or copy did, under the form that started it.
    let results = html! {
        <>
                if view.running {
                    <p id="push-stage" class="stage" role="status"><span class="spinner"></span>{ &view.stage }</p>
                }
                if !view.blobs.is_empty() {
                    <ul class="push-blobs">
                        { for view.blobs.iter().map(|blob| html! {
                            <li class="push-blob" data-state={state_name(&blob.state)} data-digest={blob.digest.to_string()}>
                                <code>{ blob.digest.short() }</code>
                                <span>{ human_bytes(blob.size) }</span>
                                <span class="state">{ row_text(blob) }</span>
                            </li>
                        }) }
                    </ul>
                }
                if let Some(done) = &view.done {
                    <div id="push-done" class="done" role="status">
                        <p><strong>{ format!("{} {} image{}", if done.copied { "Copied" } else { "Pushed" }, done.pushed.len(), if done.pushed.len() == 1 { "" } else { "s" }) }</strong></p>
                        <ul>{ for done.pushed.iter().map(|r| html! { <li><code class="pushed-ref">{ r }</code></li> }) }</ul>
                        <p id="push-counts">{ format!(
                            "{} blob{} uploaded ({}), {} already there, {} mounted.",
                            done.uploaded, if done.uploaded == 1 { "" } else { "s" }, human_bytes(done.uploaded_bytes), done.present, done.mounted
                        ) }</p>
                        if !done.referrers.is_empty() {
                        <p id="push-referrers">{ format!("{} signature{} and SBOMs beside {}: {}.",
                            done.referrers.len(), if done.referrers.len() == 1 { "" } else { "s" },
                            if done.pushed.len() == 1 { "it" } else { "them" }, done.referrers.join("; ")) }</p>
                    }
                    { for done.made_ordinary.iter().map(|made| html! {
                            <p class="made-ordinary">{ format!(
                                "{}: {} foreign layer{} uploaded and named as ordinary layers (the bytes came in the archive; their URLs may be out of reach on this side), so the manifest's digest differs from the archive's {}.",
                                made.image, made.layers, if made.layers == 1 { "" } else { "s" }, made.was.short()
                            ) }</p>
                        }) }
                        if let Some(chosen) = &done.chosen {
                            <p id="push-chosen">{ format!(
                                "A new index with {} of the {} platforms ({}); its digest differs from the source's {}.",
                                chosen.kept.len(), chosen.offered,
                                chosen.kept.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                                chosen.source_index.short()
                            ) }</p>
                        }
                    </div>
                }
                if let Some(error) = &view.error {
                    <div id="push-error" class="error" role="alert">
                        <h3>{ if view.copying { "The copy stopped" } else { "The push stopped" } }</h3>
                        <p>{ error }</p>
                    </div>
                }
        </>
    };
    html! {
        <section id="push" class="push">
            <h2>{ "Push an archive, or copy between registries" }</h2>
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
            if !view.copying { { results.clone() } }
            <CopyFormView running={view.running} offered={view.offered.clone()}
                on_copy={props.on_copy.clone()} on_read_platforms={props.on_read_platforms.clone()} />
            if view.copying { { results } }
        </section>
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
        BlobState::Held => "held",
    }
}

/// What the upload did, and whether the check beside it passed.
fn row_text(blob: &PushedBlob) -> String {
    match (&blob.state, blob.checked) {
        (BlobState::Waiting, true) => "checked ✓".into(),
        (state, true) => format!("{} · checked ✓", state_text(state, blob.size)),
        (state, false) => state_text(state, blob.size),
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
        BlobState::Held => "sent; committed once the whole archive is checked".into(),
    }
}
