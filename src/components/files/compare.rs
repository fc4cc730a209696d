//! Comparing two images of the archive: the layers they share (what a copy across an air gap
//! can skip), their configs, and their files (read by a worker from the verified layers).

use std::rc::Rc;

use skiff_core::overlay::diff::{
    compare_configs, compare_layers, ConfigChange, LayerComparison, PathChange,
};
use skiff_core::trust::sbom::{compare, PackageChanges};
use yew::prelude::*;

use super::super::human_bytes;
use crate::components::explorer::packages::package_changes;
use crate::engine::protocol::{FilesComparison, InspectTask, Inspected};
use crate::services::inspect;
use crate::state::ImageContents;

#[derive(Properties, PartialEq)]
pub struct CompareProps {
    pub contents: Vec<ImageContents>,
}

#[derive(Clone, PartialEq)]
enum Files {
    Comparing,
    Compared(Rc<FilesComparison>),
    Failed(String),
}

/// The two images' installed packages, compared (read from their package databases).
#[derive(Clone, PartialEq)]
enum Packages {
    Comparing,
    Compared(Rc<PackageChanges>),
    Failed(String),
}

#[derive(Clone, PartialEq)]
struct Outcome {
    names: (String, String),
    layers: LayerComparison,
    config: Vec<ConfigChange>,
    files: Files,
    packages: Packages,
}

#[function_component(CompareView)]
pub fn compare_view(props: &CompareProps) -> Html {
    let chosen = use_state(|| (0usize, 1usize));
    let outcome = use_state(|| None::<Outcome>);
    let pick = |second: bool| {
        let chosen = chosen.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let index = value.parse().unwrap_or(0);
            let (a, b) = *chosen;
            chosen.set(if second { (a, index) } else { (index, b) });
        })
    };
    let compare = {
        let (contents, chosen, outcome) = (props.contents.clone(), chosen.clone(), outcome.clone());
        Callback::from(move |_: MouseEvent| start(&contents, *chosen, &outcome))
    };
    let options = |selected: usize| -> Html {
        props
            .contents
            .iter()
            .enumerate()
            .map(|(i, c)| html! { <option value={i.to_string()} selected={i == selected}>{ &c.reference }</option> })
            .collect()
    };
    let running = matches!(
        &*outcome,
        Some(Outcome {
            files: Files::Comparing,
            ..
        })
    );
    html! {
        <div id="compare" class="compare">
            <h3>{ "Compare two images of this archive" }</h3>
            <p class="actions">
                <select id="compare-a" aria-label="First image" onchange={pick(false)}>{ options(chosen.0) }</select>
                <span>{ "with" }</span>
                <select id="compare-b" aria-label="Second image" onchange={pick(true)}>{ options(chosen.1) }</select>
                <button id="compare-run" disabled={running} onclick={compare}>{ "Compare" }</button>
            </p>
            if let Some(outcome) = &*outcome { { view(outcome) } }
        </div>
    }
}

fn start(
    contents: &[ImageContents],
    (a, b): (usize, usize),
    outcome: &UseStateHandle<Option<Outcome>>,
) {
    let (Some(first), Some(second)) = (contents.get(a), contents.get(b)) else {
        return;
    };
    let sized = |c: &ImageContents| -> Vec<_> {
        c.layers
            .iter()
            .cloned()
            .zip(c.sizes.iter().copied())
            .collect()
    };
    let config = |c: &ImageContents| serde_json::from_str(&c.config).unwrap_or_default();
    let shown = Outcome {
        names: (first.reference.clone(), second.reference.clone()),
        layers: compare_layers(&sized(first), &sized(second)),
        config: compare_configs(&config(first), &config(second)),
        files: Files::Comparing,
        packages: Packages::Comparing,
    };
    outcome.set(Some(shown.clone()));
    let (first, second) = (first.clone(), second.clone());
    let task = InspectTask::Compare {
        a: first.layers.clone(),
        b: second.layers.clone(),
    };
    let outcome = outcome.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let files = match inspect::run(task, |_| {}).await {
            Ok(Inspected::Compared(files)) => Files::Compared(Rc::new(files)),
            Ok(other) => Files::Failed(format!("unexpected answer {other:?}")),
            Err(message) => Files::Failed(format!("Comparing the files failed: {message}")),
        };
        let shown = Outcome { files, ..shown };
        outcome.set(Some(shown.clone()));
        let packages = match (
            super::packages::read(&first).await,
            super::packages::read(&second).await,
        ) {
            (Ok(a), Ok(b)) => Packages::Compared(Rc::new(compare(&a.packages, &b.packages))),
            (Err(why), _) | (_, Err(why)) => {
                Packages::Failed(format!("Reading the packages failed: {why}"))
            }
        };
        outcome.set(Some(Outcome { packages, ..shown }));
    });
}

fn view(outcome: &Outcome) -> Html {
    let layers = &outcome.layers;
    html! {
        <>
            <p id="compare-layers">
                { format!("{} layer{} shared ({}, {} bytes). ", layers.shared, plural(layers.shared), human_bytes(layers.shared_bytes), layers.shared_bytes) }
                <strong>{ format!("{} new in {} ({}, {} bytes): ", layers.only_b, outcome.names.1, human_bytes(layers.only_b_bytes), layers.only_b_bytes) }</strong>
                { format!("what carrying it to where {} already is costs. {} layer{} only in {} ({}).",
                    outcome.names.0, layers.only_a, plural(layers.only_a), outcome.names.0, human_bytes(layers.only_a_bytes)) }
            </p>
            if outcome.config.is_empty() {
                <p id="compare-config" class="hint">{ "The configs agree on env, entrypoint, cmd, labels, user, workdir and ports." }</p>
            } else {
                <table id="compare-config" class="compare-table">
                    <thead><tr><th>{ "Config" }</th><th>{ &outcome.names.0 }</th><th>{ &outcome.names.1 }</th></tr></thead>
                    <tbody>
                        { for outcome.config.iter().map(|c| html! {
                            <tr><td>{ &c.field }</td><td><code>{ c.a.clone().unwrap_or_else(|| "—".into()) }</code></td><td><code>{ c.b.clone().unwrap_or_else(|| "—".into()) }</code></td></tr>
                        }) }
                    </tbody>
                </table>
            }
            { files_view(&outcome.files) }
            { match &outcome.packages {
                Packages::Comparing => html! { <p class="stage" role="status"><span class="spinner"></span>{ "Comparing the installed packages…" }</p> },
                Packages::Failed(why) => html! { <p id="package-changes" class="error" role="alert">{ why }</p> },
                Packages::Compared(changes) => package_changes("package-changes", &outcome.names.0, &outcome.names.1, changes),
            } }
        </>
    }
}

fn files_view(files: &Files) -> Html {
    match files {
        Files::Comparing => {
            html! { <p class="stage" role="status"><span class="spinner"></span>{ "Comparing the files…" }</p> }
        }
        Files::Failed(message) => {
            html! { <p id="compare-files" class="error" role="alert">{ message }</p> }
        }
        Files::Compared(files) => html! {
            <>
                <p id="compare-files-summary">{ format!("Files: {} added, {} changed, {} removed.", files.added, files.changed, files.removed) }</p>
                <div id="compare-files" class="compare-files">
                    { for files.differences.iter().map(|d| {
                        let (mark, class) = match d.change {
                            PathChange::Added => ("+", "added"),
                            PathChange::Removed => ("−", "removed"),
                            PathChange::Changed => ("~", "changed"),
                        };
                        let sizes = match (d.size_a, d.size_b) {
                            (Some(a), Some(b)) if a != b => format!("{} → {}", human_bytes(a), human_bytes(b)),
                            (Some(size), _) | (None, Some(size)) => human_bytes(size),
                            (None, None) => String::new(),
                        };
                        html! { <div class={classes!("difference", class)} data-path={d.path.clone()}><code>{ mark }{ " " }{ &d.path }</code><span>{ sizes }</span></div> }
                    }) }
                </div>
            </>
        },
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
