//! Every request of the pull in order: status, what it was for, timings and bytes; opened, the
//! headers that matter and what the exchange means. The auth dance is drawn above as steps.

use skiff_core::explorer::exchange::{Exchange, Header, RateLimit};
use skiff_core::explorer::explain::{explain_all, DanceStep, Explained};
use yew::prelude::*;

use super::human_ms;
use crate::components::human_bytes;

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub exchanges: Vec<Exchange>,
}

#[function_component(Timeline)]
pub fn timeline(props: &TimelineProps) -> Html {
    let exchanges = &props.exchanges;
    let explained = explain_all(exchanges);
    let start = exchanges
        .iter()
        .map(|e| e.started_ms)
        .fold(f64::INFINITY, f64::min);
    let end = exchanges
        .iter()
        .map(|e| e.finished_ms.or(e.first_byte_ms).unwrap_or(e.started_ms))
        .fold(start, f64::max);
    let span = (end - start).max(1.0);
    html! {
        <>
            { dance(exchanges, &explained) }
            { rate_limit(exchanges) }
            <p class="hint">{ "Open a request to see its headers, its timing and what it means." }</p>
            <ol id="exchanges" class="exchanges">
                { for exchanges.iter().zip(&explained).map(|(e, x)| row(e, x, start, span)) }
            </ol>
        </>
    }
}

/// The first challenge, token and retry, as three numbered steps.
fn dance(exchanges: &[Exchange], explained: &[Explained]) -> Html {
    let first = |step: DanceStep| {
        explained
            .iter()
            .position(|x| x.step == Some(step))
            .map(|i| (step, &exchanges[i], &explained[i]))
    };
    let steps: Vec<_> = [DanceStep::Challenge, DanceStep::Token, DanceStep::Retry]
        .into_iter()
        .filter_map(first)
        .collect();
    if steps.is_empty() {
        return html! {
            <p id="auth-dance" class="hint">{ "No authentication: the registry answered every request without asking for credentials." }</p>
        };
    }
    html! {
        <div id="auth-dance" class="dance">
            <h3>{ "How this registry authenticated" }</h3>
            <ol>
                { for steps.into_iter().map(|(step, e, x)| html! {
                    <li class="dance-step" data-step={step.label()}>
                        <span class="step-number" aria-hidden="true">{ step.number() }</span>
                        <div>
                            <strong>{ capitalized(step.label()) }</strong>
                            { " · " }<code>{ format!("{} {}", e.method.as_str(), e.url) }</code>
                            { format!(" → {}", e.status.map_or("no answer".into(), |s| s.to_string())) }
                            <p>{ &x.text }</p>
                        </div>
                    </li>
                }) }
            </ol>
        </div>
    }
}

fn rate_limit(exchanges: &[Exchange]) -> Html {
    match exchanges.iter().rev().find_map(RateLimit::of) {
        Some(limit) => html! {
            <p id="rate-limit" class="rate-limit">
                { format!("Rate limit: {}", limit.describe()) }
                { limit.counted_as.map(|who| format!(", counted for {who}")).unwrap_or_default() }
                { ". Docker Hub counts manifest requests of anonymous and free accounts; a registry mirror (pull-through cache) pulls once for everyone." }
            </p>
        },
        None => html! {},
    }
}

fn row(e: &Exchange, x: &Explained, start: f64, span: f64) -> Html {
    let status = e.status.map_or("—".to_owned(), |s| s.to_string());
    let offset = (e.started_ms - start) / span * 100.0;
    let width = (e.duration().unwrap_or(0.0) / span * 100.0).max(0.5);
    let facts = [
        Some(format!("+{}", human_ms(e.started_ms - start))),
        e.duration().map(human_ms),
        e.bytes.map(human_bytes),
    ];
    html! {
        <li class="exchange" data-purpose={e.purpose.label()} data-status={status.clone()}>
            <details>
                <summary>
                    if let Some(step) = x.step {
                        <span class="step-number" title={step.label()}>{ step.number() }</span>
                    }
                    <span class={classes!("status", status_class(e.status))}>{ status }</span>
                    <span class="purpose">{ e.purpose.label() }</span>
                    <code class="url">{ format!("{} {}", e.method.as_str(), e.url) }</code>
                    <span class="timing">{ facts.into_iter().flatten().collect::<Vec<_>>().join(" · ") }</span>
                    <span class="bar" aria-hidden="true">
                        <span style={format!("margin-left:{offset:.1}%;width:{width:.1}%")}></span>
                    </span>
                </summary>
                <p class="explain">{ &x.text }</p>
                if let Some(note) = &e.note {
                    <p class="hint">{ note }</p>
                }
                <div class="headers">
                    { headers("Request headers", &e.request_headers) }
                    { headers("Response headers", &e.response_headers) }
                </div>
                <p class="hint">{ timings(e) }</p>
            </details>
        </li>
    }
}

fn headers(title: &'static str, headers: &[Header]) -> Html {
    html! {
        <div>
            <h4>{ title }</h4>
            if headers.is_empty() {
                <p class="hint">{ "none worth showing" }</p>
            } else {
                <table class="header-table">
                    { for headers.iter().map(|h| html! {
                        <tr><th scope="row">{ &h.name }</th><td><code>{ &h.value }</code></td></tr>
                    }) }
                </table>
            }
        </div>
    }
}

fn timings(e: &Exchange) -> String {
    let mut parts = Vec::new();
    if let Some(ttfb) = e.time_to_first_byte() {
        parts.push(format!("first byte after {}", human_ms(ttfb)));
    }
    if let (Some(_), Some(all)) = (e.finished_ms, e.duration()) {
        parts.push(format!("body read after {}", human_ms(all)));
    }
    if let Some(bytes) = e.bytes {
        parts.push(format!("{} received", human_bytes(bytes)));
    }
    if parts.is_empty() {
        "No answer.".to_owned()
    } else {
        format!("Timing: {}.", parts.join(", "))
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "ok",
        Some(300..=399) | Some(401) => "info",
        _ => "bad",
    }
}
