//! An image at a glance: how it runs and how it was built, step by step, with the layer each
//! step made (from the config's history; steps like `ENV` made none).

use skiff_core::image::summary::{shell_words, summarize, ImageSummary};
use yew::prelude::*;

use super::super::human_bytes;
use crate::state::ImageContents;

#[derive(Properties, PartialEq)]
pub struct SummaryProps {
    pub image: ImageContents,
    /// The layers unpacked, bytes, when known.
    #[prop_or_default]
    pub unpacked: Option<u64>,
    /// What the image's index offers, when it has one.
    #[prop_or_default]
    pub platforms: Vec<String>,
    /// What it is, when it is no container image: its config is its tool's, not an image's.
    #[prop_or_default]
    pub what: Option<String>,
}

#[function_component(SummaryView)]
pub fn summary_view(props: &SummaryProps) -> Html {
    let config = serde_json::from_str(&props.image.config).unwrap_or_default();
    let summary = summarize(&config);
    let total: u64 = props.image.sizes.iter().sum();
    html! {
        <div id="summary" class="summary">
            <h3>{ if props.what.is_some() { "Summary" } else { "Image summary" } }</h3>
            <dl class="facts">
                if let Some(what) = &props.what {
                    <dt>{ "What" }</dt><dd id="summary-what">{ what }</dd>
                }
                if !summary.platform.trim_matches('/').is_empty() {
                    <dt>{ "Platform" }</dt><dd>{ &summary.platform }</dd>
                }
                <dt>{ "Created" }</dt><dd>{ summary.created.clone().unwrap_or_else(|| "not recorded".into()) }</dd>
                <dt>{ "Size" }</dt><dd>{ size(total, props) }</dd>
                if !props.platforms.is_empty() {
                    <dt>{ "Offered for" }</dt><dd id="summary-platforms">{ props.platforms.join(", ") }</dd>
                }
                { runs(&summary) }
            </dl>
            { history(&summary, &props.image) }
        </div>
    }
}

/// "1.0 MB in 3 layers, 2.6 MB unpacked".
fn size(compressed: u64, props: &SummaryProps) -> String {
    let layers = props.image.layers.len();
    let plural = if layers == 1 { "" } else { "s" };
    let mut text = format!("{} in {layers} layer{plural}", human_bytes(compressed));
    if let Some(unpacked) = props.unpacked {
        text.push_str(&format!(", {} unpacked", human_bytes(unpacked)));
    }
    text
}

fn runs(summary: &ImageSummary) -> Html {
    let command = |words: &Option<Vec<String>>| words.as_deref().map(shell_words);
    let fact = |name: &'static str, value: Option<String>| match value {
        Some(value) => html! { <><dt>{ name }</dt><dd><code>{ value }</code></dd></> },
        None => html! {},
    };
    let list = |pairs: &[(String, String)]| -> Option<String> {
        (!pairs.is_empty()).then(|| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
    };
    html! {
        <>
            { fact("Entrypoint", command(&summary.entrypoint)) }
            { fact("Cmd", command(&summary.cmd)) }
            { fact("Workdir", summary.workdir.clone()) }
            { fact("User", Some(summary.user.clone().unwrap_or_else(|| "root (none set)".into()))) }
            { fact("Ports", (!summary.exposed_ports.is_empty()).then(|| summary.exposed_ports.join(" "))) }
            { fact("Env", list(&summary.env)) }
            { fact("Labels", list(&summary.labels)) }
            { fact("Author", summary.author.clone()) }
        </>
    }
}

fn history(summary: &ImageSummary, image: &ImageContents) -> Html {
    if summary.history.is_empty() {
        return html! { <p class="hint">{ "The config records no build history." }</p> };
    }
    html! {
        <>
        <h3>{ "Build history" }</h3>
        <table id="history" class="compare-table history">
            <thead><tr><th>{ "#" }</th><th>{ "Step" }</th><th>{ "Layer" }</th><th>{ "Created" }</th></tr></thead>
            <tbody>
                { for summary.history.iter().enumerate().map(|(i, step)| {
                    let layer = match step.layer {
                        Some(n) => match (image.layers.get(n), image.sizes.get(n)) {
                            (Some(digest), Some(size)) => format!("{} · {} ({})", n + 1, digest.short(), human_bytes(*size)),
                            _ => format!("{} (not in the manifest)", n + 1),
                        },
                        None => "none (empty step)".to_owned(),
                    };
                    html! {
                        <tr class={if step.layer.is_none() { "empty-step" } else { "layer-step" }}>
                            <td>{ i + 1 }</td>
                            <td><code title={step.comment.clone().unwrap_or_default()}>{ &step.created_by }</code></td>
                            <td>{ layer }</td>
                            <td>{ step.created.clone().unwrap_or_default() }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
        </>
    }
}
