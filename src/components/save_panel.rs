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
            <p>{ "Every layer verified. The archive is ready." }</p>
            <a id="save" class="button" href={archive.object_url.clone()} download={archive.file_name.clone()}>
                { format!("Save {} ({})", archive.file_name, human_bytes(archive.size)) }
            </a>
            <p class="hint">
                { "Then: " }<code>{ format!("docker load -i {}", archive.file_name) }</code>
                if let Some(tag) = &archive.repo_tag {
                    { " loads it as " }<code>{ tag }</code>
                }
                { " (" }<code>{ "podman load" }</code>{ " works too)." }
            </p>
        </section>
    }
}
