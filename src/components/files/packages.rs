//! The packages an image installed, read from its own package databases (dpkg, apk) in the
//! merged root file system by a worker: which databases were read and which not (rpm's) and
//! why, the distribution, the table, and the list exported as SPDX or CycloneDX.

use std::rc::Rc;

use skiff_core::trust::packages::{cyclonedx_document, spdx_document, DocumentInfo, Inventory};
use yew::prelude::*;

use crate::components::explorer::packages::PackageTable;
use crate::engine::protocol::{InspectTask, Inspected};
use crate::services::inspect;
use crate::state::ImageContents;

#[derive(Clone, Debug, PartialEq)]
pub enum PackagesView {
    NotAsked,
    Reading,
    Read(Rc<Inventory>),
    Failed(String),
}

/// The inventory of `image`'s package databases.
pub async fn read(image: &ImageContents) -> Result<Inventory, String> {
    match inspect::run(
        InspectTask::Packages {
            layers: image.layers.clone(),
        },
        |_| {},
    )
    .await?
    {
        Inspected::Packages(inventory) => Ok(inventory),
        other => Err(format!("the worker answered {other:?}")),
    }
}

#[derive(Properties, PartialEq)]
pub struct ImagePackagesProps {
    pub image: Rc<ImageContents>,
}

#[function_component(ImagePackages)]
pub fn image_packages(props: &ImagePackagesProps) -> Html {
    let view = use_state(|| PackagesView::NotAsked);
    {
        // Another image chosen: its packages are not read yet.
        let view = view.clone();
        use_effect_with(props.image.reference.clone(), move |_| {
            view.set(PackagesView::NotAsked)
        });
    }
    let on_list = {
        let (view, image) = (view.clone(), props.image.clone());
        Callback::from(move |_: MouseEvent| {
            view.set(PackagesView::Reading);
            let (view, image) = (view.clone(), image.clone());
            wasm_bindgen_futures::spawn_local(async move {
                view.set(match read(&image).await {
                    Ok(inventory) => PackagesView::Read(Rc::new(inventory)),
                    Err(why) => PackagesView::Failed(why),
                });
            });
        })
    };
    html! {
        <section id="image-packages" class="packages">
            <h3>{ "Installed packages" }</h3>
            <p class="actions">
                <button id="list-packages" disabled={*view == PackagesView::Reading} onclick={on_list}>
                    { "List installed packages" }
                </button>
                <span class="hint">{ " from the image's own package databases (dpkg, apk), for images that carry no SBOM" }</span>
            </p>
            { match &*view {
                PackagesView::NotAsked => html! {},
                PackagesView::Reading => html! {
                    <p class="stage" role="status"><span class="spinner"></span>{ "Reading the package databases…" }</p>
                },
                PackagesView::Failed(why) => html! {
                    <div id="packages-error" class="error" role="alert"><p>{ format!("The packages could not be read: {why}") }</p></div>
                },
                PackagesView::Read(inventory) => inventory_view(&props.image, inventory),
            } }
        </section>
    }
}

fn inventory_view(image: &ImageContents, inventory: &Inventory) -> Html {
    let os = inventory
        .os
        .as_ref()
        .and_then(|os| os.pretty_name.clone().or_else(|| os.id.clone()));
    let export = |format: Format| {
        let (image, packages) = (image.reference.clone(), inventory.packages.clone());
        Callback::from(move |_: MouseEvent| export(&image, &packages, format))
    };
    html! {
        <>
            <p id="packages-os">{ match os {
                Some(os) => format!("Distribution: {os}"),
                None => "No os-release: the distribution is not named".to_owned(),
            } }</p>
            if inventory.databases.is_empty() {
                <p id="no-package-database" class="warning" role="status">
                    { "No package database found (dpkg's var/lib/dpkg/status, apk's lib/apk/db/installed, rpm's var/lib/rpm): a distroless or scratch image, or one whose packages are not recorded." }
                </p>
            }
            <ul id="package-databases">
                { for inventory.databases.iter().map(|database| match &database.outcome {
                    Ok(count) => html! {
                        <li class="database" data-path={database.path.clone()} data-read="yes">
                            <code>{ &database.path }</code>{ format!(": {count} package{}", if *count == 1 { "" } else { "s" }) }
                        </li>
                    },
                    Err(why) => html! {
                        <li class="database warning" data-path={database.path.clone()} data-read="no">{ why }</li>
                    },
                }) }
            </ul>
            if !inventory.skipped.is_empty() {
                <details id="skipped-stanzas" class="warning">
                    <summary>{ format!("{} stanza(s) could not be read and are not listed", inventory.skipped.len()) }</summary>
                    <ul>{ for inventory.skipped.iter().map(|why| html! { <li>{ why }</li> }) }</ul>
                </details>
            }
            if !inventory.packages.is_empty() {
                <p class="actions">
                    <button id="export-spdx" class="secondary" onclick={export(Format::Spdx)}>{ "Export as SPDX 2.3" }</button>
                    <button id="export-cyclonedx" class="secondary" onclick={export(Format::CycloneDx)}>{ "Export as CycloneDX 1.5" }</button>
                </p>
                <h4>{ format!("{} packages", inventory.packages.len()) }</h4>
                if inventory.packages.iter().all(|p| p.license.is_none()) {
                    <p id="packages-no-licenses" class="hint">{ "The database records no licenses (dpkg keeps them in /usr/share/doc/<package>/copyright, which Skiff does not read)." }</p>
                }
                <PackageTable packages={inventory.packages.clone()} />
            }
        </>
    }
}

#[derive(Clone, Copy)]
enum Format {
    Spdx,
    CycloneDx,
}

fn export(image: &str, packages: &[skiff_core::trust::sbom::Package], format: Format) {
    let created = js_sys::Date::new_0().to_iso_string();
    // Whole seconds: SPDX's `created` is `YYYY-MM-DDThh:mm:ssZ`.
    let created = format!(
        "{}Z",
        created
            .as_string()
            .unwrap_or_default()
            .get(..19)
            .unwrap_or_default()
    );
    let unique = format!("{image}@{created}");
    let info = DocumentInfo {
        image,
        unique: &unique,
        created: &created,
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    let base: String = image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let (document, name) = match format {
        Format::Spdx => (spdx_document(packages, &info), format!("{base}.spdx.json")),
        Format::CycloneDx => (
            cyclonedx_document(packages, &info),
            format!("{base}.cdx.json"),
        ),
    };
    let text = serde_json::to_string_pretty(&document).unwrap_or_default();
    if let Err(why) = inspect::offer_text(&text, &name, "application/json") {
        web_sys::console::error_1(&format!("the export could not be offered: {why}").into());
    }
}
