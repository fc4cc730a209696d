use yew::prelude::*;

use skiff_core::transfer::layer::UnpackLimits;

use super::human_bytes;
use crate::services::prefs;
use crate::state::CacheInfo;

#[derive(Properties, PartialEq)]
pub struct CachePanelProps {
    pub info: CacheInfo,
    /// A pull is running: the cache is in use and cannot be cleared.
    pub running: bool,
    pub on_clear: Callback<()>,
    /// The new limit, bytes.
    pub on_cap: Callback<u64>,
}

/// The layer cache: what it holds, its limit, and a button to empty it.
#[function_component(CachePanel)]
pub fn cache_panel(props: &CachePanelProps) -> Html {
    let info = &props.info;
    let on_clear = props.on_clear.reform(|_: MouseEvent| ());
    let on_cap = {
        let on_cap = props.on_cap.clone();
        Callback::from(move |event: Event| {
            let input: web_sys::HtmlInputElement = event.target_unchecked_into();
            if let Ok(gb) = input.value().trim().parse::<f64>() {
                if gb.is_finite() && gb > 0.0 {
                    on_cap.emit((gb * 1e9) as u64);
                }
            }
        })
    };
    html! {
        <details id="cache" class="cache">
            <summary>
                { "Layer cache" }
                <span id="cache-summary" class="hint">{ format!(" — {} layer{}, {}", info.layers, if info.layers == 1 { "" } else { "s" }, human_bytes(info.bytes)) }</span>
            </summary>
            <p class="hint">{ "Verified layers stay in this browser's private storage, so a second pull of an image (or of one sharing layers) transfers nothing, and a pull interrupted by a reload continues where it stopped. The least recently used layers make room when the limit is reached. Clearing the cache also withdraws an archive on offer, which is made of these files." }</p>
            <div class="cache-row">
                <label for="cache-limit">{ "Limit (GB)" }</label>
                <input id="cache-limit" type="number" min="0.1" step="0.1"
                    value={format!("{:.1}", info.cap as f64 / 1e9)} onchange={on_cap} />
                <button id="clear-cache" type="button" class="secondary"
                    disabled={props.running || info.layers == 0} onclick={on_clear}>
                    { "Clear cache" }
                </button>
            </div>
            <UnpackLimitsRow />
        </details>
    }
}

/// The caps on what a layer saved uncompressed may unpack to, kept with the settings.
#[function_component(UnpackLimitsRow)]
fn unpack_limits_row() -> Html {
    let limits = use_state(prefs::unpack_limits);
    let change = |apply: fn(&mut UnpackLimits, f64)| {
        let limits = limits.clone();
        Callback::from(move |event: Event| {
            let input: web_sys::HtmlInputElement = event.target_unchecked_into();
            if let Ok(value) = input.value().trim().parse::<f64>() {
                if value.is_finite() && value > 0.0 {
                    let mut next = *limits;
                    apply(&mut next, value);
                    prefs::save_unpack_limits(next);
                    limits.set(prefs::unpack_limits());
                }
            }
        })
    };
    let on_size = change(|l, gib| l.max_unpacked_bytes = (gib * f64::from(1u32 << 30)) as u64);
    let on_ratio = change(|l, ratio| l.max_ratio = ratio as u32);
    html! {
        <>
            <p class="hint">{ "Layers saved uncompressed are refused past these limits, so a decompression bomb (a few MB that unpack to many GB) stops with a message instead of filling the disk." }</p>
            <div class="cache-row">
                <label for="max-unpacked">{ "Largest unpacked layer (GiB)" }</label>
                <input id="max-unpacked" type="number" min="0.1" step="1"
                    value={format!("{:.1}", limits.max_unpacked_bytes as f64 / f64::from(1u32 << 30))} onchange={on_size} />
                <label for="max-ratio">{ "Largest unpack ratio" }</label>
                <input id="max-ratio" type="number" min="2" step="10"
                    value={limits.max_ratio.to_string()} onchange={on_ratio} />
            </div>
        </>
    }
}
