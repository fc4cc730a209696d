//! An SBOM opened in the explorer: its packages as a table, searchable by any column.

use skiff_core::trust::sbom::{compare, read_sbom, Package, PackageChanges, Sbom, SbomFormat};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::state::explorer::OtherSbom;

#[derive(Properties, PartialEq)]
pub struct PackagesProps {
    pub sbom: Sbom,
    /// Another image's SBOM, once looked up.
    pub other: OtherSbom,
    /// Look up another image's SBOM (the reference as typed), preferably of this format.
    pub on_compare_image: Callback<(String, SbomFormat)>,
}

/// The SBOM a document holds, if it is one.
pub fn sbom_of(text: &str) -> Option<Sbom> {
    read_sbom(text.as_bytes()).ok()
}

#[function_component(Packages)]
pub fn packages(props: &PackagesProps) -> Html {
    // Another image's SBOM (a file) to compare with: its name, and what it lists or why not.
    let other = use_state(|| None::<(String, Result<Sbom, String>)>);
    let on_other = {
        let other = other.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            let Some(file) = input.files().and_then(|files| files.get(0)) else {
                return;
            };
            let other = other.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text())
                    .await
                    .ok()
                    .and_then(|t| t.as_string())
                    .unwrap_or_default();
                let read = read_sbom(text.as_bytes()).map_err(|e| e.to_string());
                other.set(Some((file.name(), read)));
            });
        })
    };
    let image = use_state(String::new);
    let on_image = {
        let image = image.clone();
        Callback::from(move |event: InputEvent| {
            image.set(event.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_compare_image = {
        let (image, on, format) = (
            image.clone(),
            props.on_compare_image.clone(),
            props.sbom.format,
        );
        Callback::from(move |_: MouseEvent| on.emit((image.trim().to_owned(), format)))
    };
    let sbom = &props.sbom;
    let format = match sbom.format {
        SbomFormat::Spdx => "SPDX",
        SbomFormat::CycloneDx => "CycloneDX",
    };
    html! {
        <section id="sbom-packages" class="packages">
            <h4>{ format!("{} packages ({format} {})", sbom.packages.len(), sbom.spec_version) }</h4>
            <p class="actions">
                <label for="compare-sbom">{ "Compare with another SBOM (SPDX or CycloneDX JSON): " }</label>
                <input id="compare-sbom" type="file" accept=".json,application/json" onchange={on_other} />
            </p>
            { match &*other {
                None => html! {},
                Some((name, Err(why))) => html! {
                    <p id="package-changes" class="error" role="alert">{ format!("{name}: {why}") }</p>
                },
                Some((name, Ok(after))) => package_changes("package-changes", "this SBOM", name, &compare(&sbom.packages, &after.packages)),
            } }
            <p class="actions">
                <label for="compare-sbom-image">{ "or with another image's SBOM: " }</label>
                <input id="compare-sbom-image" type="text" spellcheck="false" placeholder="registry/name:tag"
                    value={(*image).clone()} oninput={on_image} />
                <button type="button" id="compare-sbom-image-run" class="secondary"
                    disabled={image.trim().is_empty() || matches!(props.other, OtherSbom::Finding(_))}
                    onclick={on_compare_image}>{ "Compare" }</button>
            </p>
            { match &props.other {
                OtherSbom::NotAsked => html! {},
                OtherSbom::Finding(reference) => html! {
                    <p class="stage" role="status"><span class="spinner"></span>{ format!("Finding the SBOM of {reference}…") }</p>
                },
                OtherSbom::Failed(why) => html! {
                    <p id="image-sbom-changes" class="error" role="alert">{ why }</p>
                },
                OtherSbom::Found { reference, sbom: after } => {
                    package_changes("image-sbom-changes", "this SBOM", reference, &compare(&sbom.packages, &after.packages))
                }
            } }
            <PackageTable packages={sbom.packages.clone()} />
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct PackageTableProps {
    pub packages: Vec<Package>,
}

/// Packages as a table, searchable by any column (`#packages-filter`, rows `.package`).
#[function_component(PackageTable)]
pub fn package_table(props: &PackageTableProps) -> Html {
    let filter = use_state(String::new);
    let on_input = {
        let filter = filter.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            filter.set(input.value());
        })
    };
    let wanted = filter.trim().to_ascii_lowercase();
    let shown: Vec<_> = props
        .packages
        .iter()
        .filter(|p| {
            wanted.is_empty()
                || [
                    Some(&p.name),
                    p.version.as_ref(),
                    p.license.as_ref(),
                    p.purl.as_ref(),
                ]
                .into_iter()
                .flatten()
                .any(|field| field.to_ascii_lowercase().contains(&wanted))
        })
        .collect();
    html! {
        <>
            <input id="packages-filter" type="search" aria-label="Search the packages" placeholder="Search name, version, license, purl"
                value={(*filter).clone()} oninput={on_input} />
            <table class="compare-table">
                <thead><tr><th>{ "Name" }</th><th>{ "Version" }</th><th>{ "License" }</th><th>{ "purl" }</th></tr></thead>
                <tbody>
                    { for shown.iter().map(|p| html! {
                        <tr class="package" data-name={p.name.clone()} data-version={p.version.clone()}>
                            <td>{ &p.name }</td>
                            <td>{ p.version.clone().unwrap_or_default() }</td>
                            <td>{ p.license.clone().unwrap_or_default() }</td>
                            <td><code>{ p.purl.clone().unwrap_or_default() }</code></td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </>
    }
}

/// How the packages of `after` differ from `before`'s: `#{id}`, one
/// `.package-change` row each (`data-change` added, removed or changed; `data-name`).
pub fn package_changes(
    id: &'static str,
    before: &str,
    after: &str,
    changes: &PackageChanges,
) -> Html {
    let total = changes.added.len() + changes.removed.len() + changes.changed.len();
    let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    html! {
        <div id={id} class="package-changes">
            <p class="package-changes-summary">
                { format!("Packages from {before} to {after}: {} added, {} removed, {} version changed.",
                    changes.added.len(), changes.removed.len(), changes.changed.len()) }
            </p>
            if total > 0 {
                <table class="compare-table">
                    <thead><tr><th>{ "" }</th><th>{ "Package" }</th><th>{ before.to_owned() }</th><th>{ after.to_owned() }</th></tr></thead>
                    <tbody>
                        { for changes.added.iter().map(|p| html! {
                            <tr class="package-change added" data-change="added" data-name={p.name.clone()}>
                                <td>{ "+" }</td><td>{ &p.name }</td><td>{ "—" }</td><td>{ version(&p.version) }</td>
                            </tr>
                        }) }
                        { for changes.removed.iter().map(|p| html! {
                            <tr class="package-change removed" data-change="removed" data-name={p.name.clone()}>
                                <td>{ "−" }</td><td>{ &p.name }</td><td>{ version(&p.version) }</td><td>{ "—" }</td>
                            </tr>
                        }) }
                        { for changes.changed.iter().map(|(name, from, to)| html! {
                            <tr class="package-change changed" data-change="changed" data-name={name.clone()}>
                                <td>{ "~" }</td><td>{ name }</td><td>{ version(from) }</td><td>{ version(to) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            }
        </div>
    }
}
