use yew::prelude::*;

use crate::state::Exchange;

#[derive(Properties, PartialEq)]
pub struct ExchangeLogProps {
    pub exchanges: Vec<Exchange>,
    pub index_json: Option<String>,
    pub manifest_json: Option<String>,
    pub config_json: Option<String>,
}

/// The "how does a registry work" view: every request and the documents that came back.
#[function_component(ExchangeLog)]
pub fn exchange_log(props: &ExchangeLogProps) -> Html {
    if props.exchanges.is_empty() {
        return html! {};
    }
    html! {
        <section class="explorer">
            <details open=true>
                <summary>{ format!("Registry conversation ({} requests)", props.exchanges.len()) }</summary>
                <ol class="exchanges">
                    { for props.exchanges.iter().map(|e| html! {
                        <li>
                            <span class={classes!("status", status_class(e.status))}>
                                { e.status.map_or("—".to_owned(), |s| s.to_string()) }
                            </span>
                            <span class="note">{ &e.note }</span>
                            <code class="url">{ format!("{} {}", e.method, e.url) }</code>
                        </li>
                    }) }
                </ol>
            </details>
            if let Some(json) = &props.index_json {
                <details><summary>{ "Index (multi-platform)" }</summary><pre>{ json }</pre></details>
            }
            if let Some(json) = &props.manifest_json {
                <details><summary>{ "Manifest" }</summary><pre>{ json }</pre></details>
            }
            if let Some(json) = &props.config_json {
                <details><summary>{ "Image config" }</summary><pre>{ json }</pre></details>
            }
        </section>
    }
}

fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "ok",
        Some(300..=399) | Some(401) => "info",
        _ => "bad",
    }
}
