use yew::prelude::*;

use super::human_bytes;
use crate::state::SavedArchive;

#[derive(Properties, PartialEq)]
pub struct SavePanelProps {
    pub archive: SavedArchive,
}

#[function_component(SavePanel)]
pub fn save_panel(props: &SavePanelProps) -> Html {
    let archive = &props.archive;
    html! {
        <section class="done">
            <p>{ if archive.images > 1 { format!("Every layer of the {} images verified. The archive is ready.", archive.images) } else { "Every layer verified. The archive is ready.".to_owned() } }</p>
            <a id="save" class="button" href={archive.object_url.clone()} download={archive.file_name.clone()}>
                { format!("Save {} ({})", archive.file_name, human_bytes(archive.size)) }
            </a>
            <p class="hint">
                { "Then: " }<code>{ format!("docker load -i {}", archive.file_name) }</code>
                if !archive.repo_tags.is_empty() {
                    { if archive.images > 1 { " loads them as " } else { " loads it as " } }
                    { for archive.repo_tags.iter().enumerate().map(|(i, tag)| html! {
                        <>{ if i > 0 { ", " } else { "" } }<code>{ tag }</code></>
                    }) }
                }
                { " (" }<code>{ "podman load" }</code>{ " works too)." }
            </p>
        </section>
    }
}
