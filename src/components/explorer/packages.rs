//! An SBOM opened in the explorer: its packages as a table, searchable by any column.

use skiff_core::trust::sbom::{read_sbom, Sbom, SbomFormat};
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PackagesProps {
    pub sbom: Sbom,
}

/// The SBOM a document holds, if it is one.
pub fn sbom_of(text: &str) -> Option<Sbom> {
    read_sbom(text.as_bytes()).ok()
}

#[function_component(Packages)]
pub fn packages(props: &PackagesProps) -> Html {
    let filter = use_state(String::new);
    let on_input = {
        let filter = filter.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            filter.set(input.value());
        })
    };
    let sbom = &props.sbom;
    let wanted = filter.trim().to_ascii_lowercase();
    let shown: Vec<_> = sbom
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
    let format = match sbom.format {
        SbomFormat::Spdx => "SPDX",
        SbomFormat::CycloneDx => "CycloneDX",
    };
    html! {
        <section id="sbom-packages" class="packages">
            <h4>{ format!("{} packages ({format} {})", sbom.packages.len(), sbom.spec_version) }</h4>
            <input id="packages-filter" type="search" aria-label="Search the packages" placeholder="Search name, version, license, purl"
                value={(*filter).clone()} oninput={on_input} />
            <table class="compare-table">
                <thead><tr><th>{ "Name" }</th><th>{ "Version" }</th><th>{ "License" }</th><th>{ "purl" }</th></tr></thead>
                <tbody>
                    { for shown.iter().map(|p| html! {
                        <tr class="package" data-name={p.name.clone()}>
                            <td>{ &p.name }</td>
                            <td>{ p.version.clone().unwrap_or_default() }</td>
                            <td>{ p.license.clone().unwrap_or_default() }</td>
                            <td><code>{ p.purl.clone().unwrap_or_default() }</code></td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}
