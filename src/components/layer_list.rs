use yew::prelude::*;

use super::human_bytes;
use crate::state::{LayerRow, LayerStatus};

#[derive(Properties, PartialEq)]
pub struct LayerListProps {
    pub layers: Vec<LayerRow>,
}

#[function_component(LayerList)]
pub fn layer_list(props: &LayerListProps) -> Html {
    if props.layers.is_empty() {
        return html! {};
    }
    let total: u64 = props.layers.iter().map(|l| l.size).sum();
    let received: u64 = props.layers.iter().map(|l| l.received).sum();
    html! {
        <section class="layers">
            <h2>{ format!("Layers — {} of {}", human_bytes(received), human_bytes(total)) }</h2>
            <table>
                <thead>
                    <tr><th>{ "#" }</th><th>{ "Digest" }</th><th>{ "Type" }</th><th>{ "Progress" }</th><th>{ "Speed" }</th><th>{ "State" }</th></tr>
                </thead>
                <tbody>
                    { for props.layers.iter().enumerate().map(|(i, layer)| row(i, layer)) }
                </tbody>
            </table>
        </section>
    }
}

fn row(index: usize, layer: &LayerRow) -> Html {
    let percent = if layer.size == 0 {
        100.0
    } else {
        layer.received as f64 * 100.0 / layer.size as f64
    };
    let (state_class, state_text) = match layer.status {
        LayerStatus::Queued => ("queued", "queued"),
        LayerStatus::Downloading => ("downloading", "downloading"),
        LayerStatus::Verified(_) => ("verified", "verified ✓"),
        LayerStatus::Cached => ("cached", "from cache ✓"),
        LayerStatus::Failed => ("failed", "failed ✗"),
    };
    // Which SHA-256 checked it: shown on hover, and read by the benchmark.
    let hashed_by = match layer.status {
        LayerStatus::Verified(backend) => Some(backend),
        _ => None,
    };
    let speed = match (&layer.status, layer.bytes_per_second()) {
        (LayerStatus::Downloading | LayerStatus::Verified(_), Some(rate)) => {
            let eta = if layer.status == LayerStatus::Downloading && rate > 0.0 {
                format!(
                    ", {:.0} s left",
                    (layer.size.saturating_sub(layer.received)) as f64 / rate
                )
            } else {
                String::new()
            };
            format!("{}/s{eta}", human_bytes(rate as u64))
        }
        _ => String::new(),
    };
    html! {
        <tr class={classes!("layer", state_class)}>
            <td>{ index + 1 }</td>
            <td><code title={layer.digest.to_string()}>{ format!("{}…", layer.digest.short()) }</code></td>
            <td title={layer.media_type.to_string()}>{ layer.media_type.short_name() }</td>
            <td class="progress-cell">
                <progress max="100" value={format!("{percent:.1}")}></progress>
                <span>{ format!("{} / {}", human_bytes(layer.received), human_bytes(layer.size)) }</span>
            </td>
            <td>{ speed }</td>
            <td class="state"
                title={hashed_by.map(|b| format!("digest computed by the {}", b.label()))}
                data-hashed-by={hashed_by.map(|b| format!("{b:?}").to_lowercase())}>{ state_text }</td>
        </tr>
    }
}
