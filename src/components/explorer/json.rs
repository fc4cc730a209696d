//! A JSON document drawn as text, with every descriptor's digest a button that opens that
//! object, and every media type explained on hover and in a list below.

use std::collections::BTreeSet;

use serde_json::Value;
use skiff_core::image::media_type::MediaType;
use skiff_core::Digest;
use yew::prelude::*;

use crate::state::explorer::Target;

const INDENT: &str = "  ";

/// The document, and the media types it names (for the list below it).
pub fn render(text: &str, on_open: &Callback<Target>) -> (Html, BTreeSet<String>) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return (html! { <pre class="json">{ text }</pre> }, BTreeSet::new());
    };
    let mut types = BTreeSet::new();
    let drawn = value_html(&value, 0, on_open, &mut types);
    (html! { <pre class="json">{ drawn }</pre> }, types)
}

fn value_html(
    value: &Value,
    depth: usize,
    on_open: &Callback<Target>,
    types: &mut BTreeSet<String>,
) -> Html {
    match value {
        Value::Object(map) if map.is_empty() => html! { "{}" },
        Value::Object(map) => {
            let target = descriptor(map);
            let pad = INDENT.repeat(depth + 1);
            let last = map.len() - 1;
            html! {
                <>
                    { "{\n" }
                    { for map.iter().enumerate().map(|(i, (key, v))| {
                        let comma = if i == last { "\n" } else { ",\n" };
                        let shown = match (key.as_str(), v, &target) {
                            ("digest", Value::String(d), Some(target)) => digest_button(d, target, on_open),
                            ("mediaType" | "artifactType", Value::String(t), _) => {
                                types.insert(t.clone());
                                media_type(t)
                            }
                            _ => value_html(v, depth + 1, on_open, types),
                        };
                        html! { <>{ format!("{pad}\"{key}\": ") }{ shown }{ comma }</> }
                    }) }
                    { format!("{}}}", INDENT.repeat(depth)) }
                </>
            }
        }
        Value::Array(items) if items.is_empty() => html! { "[]" },
        Value::Array(items) => {
            let pad = INDENT.repeat(depth + 1);
            let last = items.len() - 1;
            html! {
                <>
                    { "[\n" }
                    { for items.iter().enumerate().map(|(i, v)| html! {
                        <>{ pad.clone() }{ value_html(v, depth + 1, on_open, types) }{ if i == last { "\n" } else { ",\n" } }</>
                    }) }
                    { format!("{}]", INDENT.repeat(depth)) }
                </>
            }
        }
        Value::String(s) => {
            html! { <span class="json-string">{ Value::String(s.clone()).to_string() }</span> }
        }
        other => html! { <span class="json-literal">{ other.to_string() }</span> },
    }
}

/// A `{mediaType, digest, size}` object: the digest can be opened.
fn descriptor(map: &serde_json::Map<String, Value>) -> Option<Target> {
    let digest: Digest = map.get("digest")?.as_str()?.parse().ok()?;
    let media_type = map
        .get("mediaType")
        .and_then(Value::as_str)
        .map(|t| t.parse().unwrap_or_else(|_| MediaType::Other(t.to_owned())))
        .unwrap_or_else(|| MediaType::Other(String::new()));
    Some(Target {
        digest,
        media_type,
        size: map.get("size").and_then(Value::as_u64),
    })
}

fn digest_button(text: &str, target: &Target, on_open: &Callback<Target>) -> Html {
    let onclick = {
        let (on_open, target) = (on_open.clone(), target.clone());
        Callback::from(move |_: MouseEvent| on_open.emit(target.clone()))
    };
    let what = if target.media_type.is_layer() {
        "Describe this layer"
    } else {
        "Open this object"
    };
    html! {
        <>{ "\"" }<button type="button" class="digest-link" data-digest={text.to_owned()}
            title={what} {onclick}>{ text }</button>{ "\"" }</>
    }
}

fn media_type(text: &str) -> Html {
    let explained = text
        .parse::<MediaType>()
        .map(|m| m.explain())
        .unwrap_or("Not a media type Skiff knows.");
    html! { <span class="json-string media-type" title={explained}>{ format!("\"{text}\"") }</span> }
}

/// The media types of a document, each with what it means.
pub fn media_types(types: &BTreeSet<String>) -> Html {
    if types.is_empty() {
        return html! {};
    }
    html! {
        <dl class="media-types">
            { for types.iter().map(|t| {
                let explained = t.parse::<MediaType>().map(|m| m.explain()).unwrap_or("Not a media type Skiff knows.");
                html! { <><dt><code>{ t }</code></dt><dd>{ explained }</dd></> }
            }) }
        </dl>
    }
}
