use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::proxy_field::ProxyField;
use super::signer_fields::SignerFieldsInput;

const COMMON_PLATFORMS: &[&str] = &[
    "linux/amd64",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
    "windows/amd64",
];

#[derive(Properties, PartialEq)]
pub struct PullFormProps {
    pub image: String,
    /// Images already queued for the same archive.
    pub queue: Vec<String>,
    pub on_enqueue: Callback<()>,
    pub on_dequeue: Callback<usize>,
    pub on_list_tags: Callback<()>,
    pub proxy: String,
    pub platform: String,
    pub running: bool,
    pub on_image: Callback<String>,
    pub on_proxy: Callback<String>,
    pub on_platform: Callback<String>,
    pub uncompressed: bool,
    pub on_uncompressed: Callback<bool>,
    /// Write straight into a file the user chooses; `None` where the browser cannot.
    pub save_to_file: Option<bool>,
    pub on_save_to_file: Callback<bool>,
    /// With `save_to_file`: also keep the layers in the cache.
    pub cache_chosen_file: bool,
    pub on_cache_chosen_file: Callback<bool>,
    /// Carry signatures, SBOMs and attestations along.
    pub include_referrers: bool,
    pub on_include_referrers: Callback<bool>,
    /// Save only if signed by this key (PEM); empty: not required.
    pub require: crate::state::trust::SignerFields,
    pub on_require: Callback<crate::state::trust::SignerFields>,
    pub on_pull: Callback<()>,
    /// Fetch the manifest and config only: look inside without downloading the layers.
    pub on_inspect: Callback<()>,
    pub on_cancel: Callback<()>,
    /// The credentials panel.
    #[prop_or_default]
    pub children: Html,
}

#[function_component(PullForm)]
pub fn pull_form(props: &PullFormProps) -> Html {
    let on_submit = {
        let on_pull = props.on_pull.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_pull.emit(());
        })
    };
    let text_of = |callback: &Callback<String>| {
        let callback = callback.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            callback.emit(input.value());
        })
    };
    html! {
        <form class="pull-form" onsubmit={on_submit}>
            <label for="image">{ "Image" }</label>
            <input
                id="image"
                type="text"
                placeholder="nginx, ghcr.io/org/app:1.0, or paste a whole `docker pull …` line"
                value={props.image.clone()}
                oninput={text_of(&props.on_image)}
                autocomplete="off"
                spellcheck="false"
                autofocus=true
            />
            <div class="queue-row">
                <button id="enqueue" type="button" class="secondary"
                    disabled={props.running || props.image.trim().is_empty()}
                    onclick={let on = props.on_enqueue.clone(); Callback::from(move |_| on.emit(()))}>
                    { "+ Add another image to this archive" }
                </button>
                <button id="list-tags" type="button" class="secondary"
                    disabled={props.image.trim().is_empty()}
                    onclick={let on = props.on_list_tags.clone(); Callback::from(move |_| on.emit(()))}>
                    { "List tags" }
                </button>
                if !props.queue.is_empty() {
                    <ul id="queue" class="queue">
                        { for props.queue.iter().enumerate().map(|(index, image)| {
                            let on_dequeue = props.on_dequeue.clone();
                            html! {
                                <li>
                                    <code>{ image }</code>
                                    <button type="button" class="remove" title="Remove from the archive"
                                        disabled={props.running}
                                        onclick={Callback::from(move |_| on_dequeue.emit(index))}>{ "×" }</button>
                                </li>
                            }
                        }) }
                    </ul>
                }
            </div>
            <ProxyField value={props.proxy.clone()} on_change={props.on_proxy.clone()} />
            <label for="platform">{ "Platform" }</label>
            <div class="platform-field">
                <input
                    id="platform"
                    type="text"
                    list="platforms"
                    value={props.platform.clone()}
                    oninput={text_of(&props.on_platform)}
                    spellcheck="false"
                />
                <span class="hint">{ "used when the image is multi-platform" }</span>
                <datalist id="platforms">
                    { for COMMON_PLATFORMS.iter().map(|p| html! { <option value={*p} /> }) }
                </datalist>
            </div>
            <span class="label">{ "Layers" }</span>
            <div class="layer-format" role="radiogroup">
                <label>
                    <input type="radio" name="layer-format" id="as-downloaded" checked={!props.uncompressed}
                        onchange={let on = props.on_uncompressed.clone(); Callback::from(move |_| on.emit(false))} />
                    { " as downloaded (smallest; zstd layers need a recent docker, or podman)" }
                </label>
                <label>
                    <input type="radio" name="layer-format" id="uncompressed" checked={props.uncompressed}
                        onchange={let on = props.on_uncompressed.clone(); Callback::from(move |_| on.emit(true))} />
                    { " uncompressed (bigger; every loader reads it, checked against the config's diff IDs)" }
                </label>
            </div>
            <span class="label">{ "Also" }</span>
            <label class="save-to-file">
                <input type="checkbox" id="include-referrers" checked={props.include_referrers}
                    onchange={let on = props.on_include_referrers.clone(); Callback::from(move |event: Event| {
                        let input: HtmlInputElement = event.target_unchecked_into();
                        on.emit(input.checked());
                    })} />
                { " include signatures and SBOMs (the image's referrers, found as the explorer finds them, in the archive's OCI layout)" }
            </label>
            <span class="label"></span>
            <details id="require-signature" class="require-signature" open={!props.require.is_empty()}>
                <summary>{ "Save only if signed by" }<span class="hint">{ " — a public key, or a keyless identity and issuer; an unsigned image, or one signed by anyone else, is refused" }</span></summary>
                <SignerFieldsInput id="require" value={props.require.clone()} on_change={props.on_require.clone()} />
            </details>
            if let Some(checked) = props.save_to_file {
                <span class="label">{ "Save" }</span>
                <label class="save-to-file">
                    <input type="checkbox" id="save-to-file" {checked}
                        onchange={let on = props.on_save_to_file.clone(); Callback::from(move |event: Event| {
                            let input: HtmlInputElement = event.target_unchecked_into();
                            on.emit(input.checked());
                        })} />
                    { " straight into a file I choose when I press Pull (each layer is written there as it streams, and the file is saved only once every layer is verified; no download step)" }
                </label>
                if checked {
                    <span class="label"></span>
                    <label class="save-to-file">
                        <input type="checkbox" id="cache-chosen-file" checked={props.cache_chosen_file}
                            onchange={let on = props.on_cache_chosen_file.clone(); Callback::from(move |event: Event| {
                                let input: HtmlInputElement = event.target_unchecked_into();
                                on.emit(input.checked());
                            })} />
                        { " also keep the layers in this browser's cache (a later pull reuses them; every byte is written twice)" }
                    </label>
                }
            }
            if props.save_to_file.is_none() {
                <span class="label">{ "Save" }</span>
                <p id="save-to-file-unavailable" class="hint">
                    { "This browser cannot write into a file you choose (it has no showSaveFilePicker; Firefox, for one): after the pull, press Save and the browser's download holds the tar." }
                </p>
            }
            { props.children.clone() }
            <div class="actions">
            <button id="pull" type="submit" disabled={props.running || (props.image.trim().is_empty() && props.queue.is_empty())}>
                { pull_label(props) }
            </button>
            <button id="inspect" type="button" class="secondary"
                disabled={props.running || props.image.trim().is_empty()}
                title="Fetch the manifest and config only, to see the image and the registry's answers"
                onclick={let on = props.on_inspect.clone(); Callback::from(move |_| on.emit(()))}>
                { "Look inside (no download)" }
            </button>
            if props.running {
                <button id="cancel" type="button" class="secondary cancel"
                    onclick={let on = props.on_cancel.clone(); Callback::from(move |_| on.emit(()))}>
                    { "Cancel" }
                </button>
            }
            </div>
        </form>
    }
}

fn pull_label(props: &PullFormProps) -> String {
    if props.running {
        return "Pulling…".to_owned();
    }
    let current = props.image.trim();
    let count = props.queue.len()
        + usize::from(!current.is_empty() && !props.queue.iter().any(|q| q == current));
    if count > 1 {
        format!("Pull {count} images into one archive")
    } else {
        "Pull".to_owned()
    }
}
