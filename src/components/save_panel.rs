use yew::prelude::*;

use skiff_core::transfer::hashing::HashBackend;

use skiff_core::image::artifact::ArtifactKind;

use super::human_bytes;
use crate::state::SavedArchive;

#[derive(Properties, PartialEq)]
pub struct SavePanelProps {
    pub archive: SavedArchive,
    /// How many fetched layers each SHA-256 backend checked.
    pub hashed_by: Vec<(HashBackend, usize)>,
    /// Pulls the same images again with layers stored uncompressed (from the layer cache).
    pub on_save_uncompressed: Callback<()>,
}

#[function_component(SavePanel)]
pub fn save_panel(props: &SavePanelProps) -> Html {
    let archive = &props.archive;
    if !archive.kind.is_image() {
        return artifact_panel(archive);
    }
    html! {
        <section class="done">
            <p>{ if archive.images > 1 { format!("Every layer of the {} images verified. The archive is ready.", archive.images) } else { "Every layer verified. The archive is ready.".to_owned() } }</p>
            <p id="transfer" class="hint">{ transfer_summary(archive) }
                if archive.worker_memory > 0 {
                    <span id="worker-memory">{ format!(" Each layer worker used at most {} of memory.", human_bytes(archive.worker_memory)) }</span>
                }
                if !props.hashed_by.is_empty() {
                    <span id="hashed-by">{ format!(" Digests computed by {}.", hashed_by_text(&props.hashed_by)) }</span>
                }
            </p>
            { save_button(archive) }
            if !archive.referrers.is_empty() {
                <p id="referrers-carried" class="hint">
                    { format!("Also in its OCI layout, to push with it: {}.", archive.referrers.join("; ")) }
                </p>
            }
            { for archive.pinned.iter().map(|pin| html! {
                <p class="hint pin-note">
                    { "Pulled by its digest " }<code>{ pin.digest.short() }</code>{ ", as " }<code>{ "docker pull" }</code>
                    { " does: the tag was not looked up, so it says nothing about what the registry calls that tag now. " }
                    <code>{ "docker load" }</code>{ " tags the image " }<code>{ &pin.repo_tag }</code>{ "." }
                </p>
            }) }
            if archive.zstd_layers > 0 && !archive.uncompressed {
                <p id="zstd-note" class="warning">
                    { format!("{} layer{} of this archive {} zstd-compressed: docker older than 23.0 cannot load it (podman and newer docker can). ",
                        archive.zstd_layers, if archive.zstd_layers == 1 { "" } else { "s" }, if archive.zstd_layers == 1 { "is" } else { "are" }) }
                    <button id="save-uncompressed" class="secondary" onclick={props.on_save_uncompressed.reform(|_| ())}>
                        { "Make it uncompressed" }
                    </button>
                    { " — from the layer cache: nothing is downloaded again." }
                </p>
            }
            <p class="hint">
                { "Then: " }<code>{ format!("docker load -i {}", archive.saved_to.as_ref().unwrap_or(&archive.file_name)) }</code>
                if !archive.repo_tags.is_empty() {
                    { if archive.images > 1 { " loads them as " } else { " loads it as " } }
                    { for archive.repo_tags.iter().enumerate().map(|(i, tag)| html! {
                        <>{ if i > 0 { ", " } else { "" } }<code>{ tag }</code></>
                    }) }
                }
                { " (" }<code>{ "podman load" }</code>{ " works too)." }
            </p>
        </section>
    }
}

/// An artifact, saved as its own tool saves it, and what to do with it.
fn artifact_panel(archive: &SavedArchive) -> Html {
    let file = archive.saved_to.as_ref().unwrap_or(&archive.file_name);
    let next = match &archive.kind {
        ArtifactKind::HelmChart if file.ends_with(".tgz") => html! {
            <>{ "Then: " }<code>{ format!("helm install <release> {file}") }</code>{ " (the chart's .tgz, byte for byte as " }<code>{ "helm pull" }</code>{ " saves it)." }</>
        },
        ArtifactKind::HelmChart => html! {
            <>{ "The chart's .tgz and its provenance (.prov), as " }<code>{ "helm pull --prov" }</code>{ " saves them: " }<code>{ format!("tar -xf {file}") }</code>{ ", then " }<code>{ "helm install --verify" }</code>{ "." }</>
        },
        ArtifactKind::WasmModule => html! {
            <>{ "The module, byte for byte: run it with a WebAssembly runtime (" }<code>{ format!("wasmtime {file}") }</code>{ ")." }</>
        },
        _ if file.ends_with(".oci.tar") => html! {
            <>{ "Its manifest, config and blobs as an OCI image layout: " }<code>{ format!("skopeo copy oci-archive:{file} docker://…") }</code>{ " or " }<code>{ "oras cp --from-oci-layout" }</code>{ " reads it." }</>
        },
        _ if file.ends_with(".tar") => html! {
            <>{ "Each file under its title, as " }<code>{ "oras pull" }</code>{ " writes them: " }<code>{ format!("tar -xf {file}") }</code>{ "." }</>
        },
        _ => {
            html! { <>{ "The file, byte for byte as it was pushed (" }<code>{ "oras pull" }</code>{ " gives the same)." }</> }
        }
    };
    html! {
        <section class="done" id="artifact-saved">
            <p>{ format!("Every blob verified. This is {}.", archive.kind.describe()) }</p>
            <p id="transfer" class="hint">{ transfer_summary(archive) }</p>
            { save_button(archive) }
            <p class="hint">{ next }</p>
        </section>
    }
}

/// The download to save, or where the file was written.
fn save_button(archive: &SavedArchive) -> Html {
    match &archive.saved_to {
        Some(name) => html! {
            <p id="saved" class="saved">{ format!("Saved into {name} ({}).", human_bytes(archive.size)) }</p>
        },
        None => html! {
            <a id="save" class="button" href={archive.object_url.clone()} download={archive.file_name.clone()}>
                { format!("Save {} ({})", archive.file_name, human_bytes(archive.size)) }
            </a>
        },
    }
}

/// What came over the network and what the layer cache already held.
fn transfer_summary(archive: &SavedArchive) -> String {
    match (archive.layers, archive.layers_from_cache) {
        (0, _) => "It has no layers.".to_owned(),
        (all, cached) if cached == all => format!(
            "No layer bytes were transferred: all {all} layer{} came from the layer cache.",
            if all == 1 { "" } else { "s" }
        ),
        (all, 0) => format!(
            "{} of layers transferred ({all} layer{}).",
            human_bytes(archive.transferred),
            if all == 1 { "" } else { "s" }
        ),
        (all, cached) => format!(
            "{} of layers transferred; {cached} of {all} layers came from the layer cache.",
            human_bytes(archive.transferred)
        ),
    }
}

/// "the browser SHA-256 (3 layers) and wasm SHA-256 (1 layer)".
fn hashed_by_text(counts: &[(HashBackend, usize)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(backend, n)| {
            let plural = if *n == 1 { "" } else { "s" };
            format!("the {} ({n} layer{plural})", backend.label())
        })
        .collect();
    parts.join(" and ")
}
