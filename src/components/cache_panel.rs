use yew::prelude::*;

use super::human_bytes;
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
        </details>
    }
}
