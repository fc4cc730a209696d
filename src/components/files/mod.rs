//! The file browser: the merged tree of a pulled image (read by a worker from the verified
//! layers in the cache), a virtualized list that stays quick at 100 000 paths, search, and
//! saving one file, a directory as a tar, or the whole root filesystem.

pub mod compare;
pub mod model;
pub mod packages;
pub mod summary;

use std::rc::Rc;

use skiff_core::overlay::Kind;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::human_bytes;
use crate::engine::protocol::{InspectTask, Inspected, TreeRow, TreeSummary};
use crate::services::inspect;
use crate::state::ImageContents;
use model::{depth, mode_text, name, utc_minute, FilesAction, FilesState, Listing, Status};

/// Every row is this tall (CSS `.file-row` agrees), so the list can draw only what shows.
const ROW_HEIGHT: i32 = 26;
/// The list's height at most (CSS `.file-tree` agrees).
const LIST_HEIGHT: i32 = 520;
/// Rows drawn around the visible ones.
const ROWS_DRAWN: usize = 40;

#[derive(Properties, PartialEq)]
pub struct FilesPanelProps {
    pub contents: Vec<ImageContents>,
}

#[function_component(FilesPanel)]
pub fn files_panel(props: &FilesPanelProps) -> Html {
    let state = use_reducer(FilesState::default);
    let scroll_top = use_state(|| 0);
    let Some(image) = props.contents.get(state.image).cloned() else {
        return html! {};
    };
    let tasks = Tasks {
        image: Rc::new(image.clone()),
        state: state.dispatcher(),
    };
    let browse = {
        let tasks = tasks.clone();
        Callback::from(move |_: MouseEvent| tasks.read_tree())
    };
    let save_rootfs = {
        let tasks = tasks.clone();
        Callback::from(move |_: MouseEvent| tasks.save(String::new(), Kind::Dir))
    };
    let search = dispatching(&state, |e: InputEvent| {
        FilesAction::Search(
            e.target_unchecked_into::<web_sys::HtmlInputElement>()
                .value(),
        )
    });
    let show_layer = dispatching(&state, |e: Event| {
        let value = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        FilesAction::ShowLayer(value.parse().ok())
    });
    let choose = dispatching(&state, |e: Event| {
        let value = e
            .target_unchecked_into::<web_sys::HtmlSelectElement>()
            .value();
        FilesAction::ChooseImage(value.parse().unwrap_or(0))
    });
    let on_scroll = {
        let scroll_top = scroll_top.clone();
        Callback::from(move |e: Event| {
            scroll_top.set(e.target_unchecked_into::<web_sys::Element>().scroll_top())
        })
    };
    let on_row_click = {
        let tasks = tasks.clone();
        Callback::from(move |e: MouseEvent| tasks.row_clicked(&e))
    };
    let busy =
        matches!(state.status, Some(Status::Working(_))) || state.listing == Listing::Reading;
    html! {
        <section id="files" class="files">
            <h2>{ "Inside the image" }</h2>
            if props.contents.len() > 1 {
                <select id="files-image" onchange={choose}>
                    { for props.contents.iter().enumerate().map(|(i, c)| html! {
                        <option value={i.to_string()} selected={i == state.image}>{ &c.reference }</option>
                    }) }
                </select>
            }
            <summary::SummaryView image={image.clone()} />
            <h3>{ "Files" }</h3>
            <p class="actions">
                <button id="browse-files" disabled={busy} onclick={browse}>{ "Browse files" }</button>
                <button id="save-rootfs" disabled={busy} onclick={save_rootfs}>{ "Save root filesystem" }</button>
            </p>
            { status_line(&state) }
            { listing(&state, *scroll_top, Filters { search, show_layer, layers: image.layers.len() }, on_scroll, on_row_click) }
            <packages::ImagePackages image={Rc::new(image.clone())} />
            if props.contents.len() > 1 {
                <compare::CompareView contents={props.contents.clone()} />
            }
        </section>
    }
}

/// A callback that turns its event into an action of the panel.
fn dispatching<E: 'static>(
    state: &UseReducerHandle<FilesState>,
    action: impl Fn(E) -> FilesAction + 'static,
) -> Callback<E> {
    let dispatcher = state.dispatcher();
    Callback::from(move |event| dispatcher.dispatch(action(event)))
}

fn status_line(state: &FilesState) -> Html {
    match &state.status {
        None => html! {},
        Some(Status::Working(text)) => {
            html! { <p id="files-status" class="stage" role="status"><span class="spinner"></span>{ text }</p> }
        }
        Some(Status::Done(text)) => {
            html! { <p id="files-status" class="saved" role="status">{ text }</p> }
        }
        Some(Status::Failed(text)) => {
            html! { <p id="files-status" class="error" role="alert">{ text }</p> }
        }
    }
}

/// The list's filters: the search box and the layer picker.
struct Filters {
    search: Callback<InputEvent>,
    show_layer: Callback<Event>,
    layers: usize,
}

fn listing(
    state: &FilesState,
    scroll_top: i32,
    filters: Filters,
    on_scroll: Callback<Event>,
    on_row_click: Callback<MouseEvent>,
) -> Html {
    match &state.listing {
        Listing::NotRead => html! {
            <p class="hint">{ "Read every layer's entries (off the page, from the verified layers in the cache) and see the root filesystem they make, with which layer added, changed or deleted each path." }</p>
        },
        Listing::Reading => {
            html! { <p class="stage" role="status"><span class="spinner"></span>{ "Reading the layers…" }</p> }
        }
        Listing::Failed(message) => {
            html! { <p id="files-error" class="error" role="alert">{ message }</p> }
        }
        Listing::Read {
            rows,
            summary,
            shown,
        } => {
            let first = (scroll_top / ROW_HEIGHT).max(0) as usize;
            let first = first.saturating_sub(ROWS_DRAWN / 4).min(shown.len());
            let last = (first + ROWS_DRAWN).min(shown.len());
            let searching = !state.query.trim().is_empty() || state.layer.is_some();
            html! {
                <>
                    <p id="files-summary" class="hint">{ summary_text(summary) }</p>
                    <p class="actions">
                        <input id="file-search" type="search" placeholder="Search paths" aria-label="Search paths"
                            value={state.query.clone()} oninput={filters.search} />
                        <select id="file-layer" aria-label="Layer" onchange={filters.show_layer}>
                            <option value="" selected={state.layer.is_none()}>{ "All layers" }</option>
                            { for (1..=filters.layers).map(|n| html! {
                                <option value={n.to_string()} selected={state.layer == Some(n)}>{ format!("What layer {n} wrote") }</option>
                            }) }
                        </select>
                    </p>
                    <div class="file-head" aria-hidden="true">
                        <span>{ "Path" }</span><span>{ "Size" }</span><span>{ "Mode" }</span><span>{ "Owner" }</span><span>{ "Modified (UTC)" }</span><span>{ "Layer" }</span><span></span>
                    </div>
                    <div id="file-tree" class="file-tree" role="tree" onscroll={on_scroll} onclick={on_row_click}
                        style={format!("height: {}px", (shown.len() as i32 * ROW_HEIGHT + 2).clamp(ROW_HEIGHT * 3, LIST_HEIGHT))}>
                        <div style={format!("height: {}px; position: relative;", shown.len() as i32 * ROW_HEIGHT)}>
                            { for shown[first..last].iter().enumerate().map(|(offset, &index)| {
                                file_row(&rows[index], ((first + offset) as i32) * ROW_HEIGHT, state.open.contains(&rows[index].path), searching)
                            }) }
                        </div>
                    </div>
                    <p class="hint">{ format!("{} of {} paths shown.", shown.len(), rows.len()) }</p>
                    { removed_list(summary) }
                </>
            }
        }
    }
}

/// What later layers deleted or replaced: carried in the image, gone from the container.
fn removed_list(summary: &TreeSummary) -> Html {
    if summary.removed == 0 {
        return html! {};
    }
    html! {
        <details id="files-removed" class="removed">
            <summary>{ format!("{} paths deleted or replaced by later layers", summary.removed) }</summary>
            <div class="compare-files">
                { for summary.removed_paths.iter().map(|r| html! {
                    <div class="difference removed" data-path={r.path.clone()}>
                        <code>{ format!("− {}", r.path) }</code>
                        <span>{ format!("added in layer {}, {} in layer {}{}", r.added_by + 1,
                            if r.kind == Kind::Dir { "removed" } else { "deleted or replaced" }, r.removed_by + 1,
                            if r.kind == Kind::File { format!(" ({})", human_bytes(r.size)) } else { String::new() }) }</span>
                    </div>
                }) }
            </div>
        </details>
    }
}

fn summary_text(summary: &TreeSummary) -> String {
    let mut text = format!(
        "{} paths, {} of them files and links, {} in files.",
        summary.paths,
        summary.files,
        human_bytes(summary.bytes)
    );
    if summary.removed > 0 || summary.wasted > 0 {
        text.push_str(&format!(
            " Later layers deleted or replaced {} paths: {} the image carries but the container never sees.",
            summary.removed,
            human_bytes(summary.wasted)
        ));
    }
    text
}

fn file_row(row: &TreeRow, top: i32, open: bool, searching: bool) -> Html {
    let indent = if searching { 0 } else { depth(&row.path) * 16 };
    let label = if searching {
        row.path.as_str()
    } else {
        name(&row.path)
    };
    let (marker, action, button) = match row.kind {
        Kind::Dir => (if open { "▾ " } else { "▸ " }, "toggle", "Save as tar"),
        Kind::File | Kind::HardLink => ("", "", "Save"),
        _ => ("", "", ""),
    };
    let layer = if row.layer == row.added_by {
        format!("{}", row.layer)
    } else {
        format!("{}, changed in {}", row.added_by, row.layer)
    };
    let link = match (&row.link, row.kind) {
        (Some(target), Kind::Symlink) => format!(" → {target}"),
        (Some(target), Kind::HardLink) => format!(" ⇒ {target}"),
        _ => String::new(),
    };
    html! {
        <div class={classes!("file-row", format!("kind-{}", row.kind.letter()))} role="treeitem"
            data-path={row.path.clone()} style={format!("top: {top}px;")}>
            <span class="file-name" style={format!("padding-left: {indent}px")}>
                if action.is_empty() {
                    { label }
                } else {
                    // A button, so the keyboard opens directories too.
                    <button type="button" class="file-toggle" data-action={action} aria-expanded={open.to_string()}>{ marker }{ label }</button>
                }
                <span class="file-link">{ link }</span>
            </span>
            <span class="file-size">{ if row.kind == Kind::File || row.kind == Kind::Dir { human_bytes(row.size) } else { String::new() } }</span>
            <span class="file-mode"><code>{ mode_text(row.kind, row.mode) }</code></span>
            <span class="file-owner">{ format!("{}:{}", row.uid, row.gid) }</span>
            <span class="file-time">{ utc_minute(row.mtime) }</span>
            <span class="file-layer">{ layer }</span>
            <span>if !button.is_empty() { <button class="link-button save-path" data-action="save">{ button }</button> }</span>
        </div>
    }
}

/// The panel's work, started from its handlers.
#[derive(Clone)]
struct Tasks {
    image: Rc<ImageContents>,
    state: UseReducerDispatcher<FilesState>,
}

impl Tasks {
    fn read_tree(&self) {
        let (layers, state) = (self.image.layers.clone(), self.state.clone());
        state.dispatch(FilesAction::Reading);
        wasm_bindgen_futures::spawn_local(async move {
            let gathered = Rc::new(std::cell::RefCell::new(Vec::new()));
            let sink = gathered.clone();
            let outcome = inspect::run(InspectTask::Tree { layers }, move |rows| {
                sink.borrow_mut().extend(rows)
            })
            .await;
            state.dispatch(match outcome {
                Ok(Inspected::Tree(summary)) => FilesAction::Read {
                    rows: gathered.take(),
                    summary,
                },
                Ok(other) => FilesAction::ReadFailed(format!("unexpected answer {other:?}")),
                Err(message) => {
                    FilesAction::ReadFailed(format!("Reading the layers failed: {message}"))
                }
            });
        });
    }

    /// A click in the list: open or close a directory, or save what the row shows.
    fn row_clicked(&self, event: &MouseEvent) {
        let Some(target) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let action = target
            .closest("[data-action]")
            .ok()
            .flatten()
            .and_then(|e| e.get_attribute("data-action"));
        let row = target.closest(".file-row").ok().flatten();
        let (Some(action), Some(row)) = (action, row) else {
            return;
        };
        let path = row.get_attribute("data-path").unwrap_or_default();
        let is_dir = row.class_list().contains("kind-d");
        match action.as_str() {
            "toggle" => self.state.dispatch(FilesAction::Toggle(path)),
            "save" => self.save(path, if is_dir { Kind::Dir } else { Kind::File }),
            _ => {}
        }
    }

    /// Saves a file as it is, or a directory (`""`: the root filesystem) as a tar.
    fn save(&self, path: String, kind: Kind) {
        let (layers, state) = (self.image.layers.clone(), self.state.clone());
        let download_name = match (kind, path.as_str()) {
            (Kind::Dir, "") => format!("{}-rootfs.tar", file_stem(&self.image.reference)),
            (Kind::Dir, dir) => format!("{}.tar", name(dir)),
            (_, file) => name(file).to_owned(),
        };
        let shown = if path.is_empty() {
            "the root filesystem".to_owned()
        } else {
            format!("/{path}")
        };
        state.dispatch(FilesAction::Status(Status::Working(format!(
            "Writing {shown}…"
        ))));
        let file_name = if kind == Kind::Dir {
            "export.tar"
        } else {
            "file"
        }
        .to_owned();
        let task = match kind {
            Kind::Dir => InspectTask::Export {
                layers,
                prefix: path,
                file_name,
            },
            _ => InspectTask::Extract {
                layers,
                path,
                file_name,
            },
        };
        wasm_bindgen_futures::spawn_local(async move {
            let status = match inspect::run(task, |_| {}).await {
                Ok(Inspected::Saved { file_name, size }) => {
                    match inspect::download(&file_name, &download_name).await {
                        Ok(()) => Status::Done(format!(
                            "Saved {shown} as {download_name} ({}).",
                            human_bytes(size)
                        )),
                        Err(message) => {
                            Status::Failed(format!("Offering {download_name} failed: {message}"))
                        }
                    }
                }
                Ok(other) => Status::Failed(format!("unexpected answer {other:?}")),
                Err(message) => Status::Failed(format!("Saving {shown} failed: {message}")),
            };
            state.dispatch(FilesAction::Status(status));
        });
    }
}

/// `registry/repo:tag` → `repo_tag`, for file names.
fn file_stem(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let last = last.split('@').next().unwrap_or(last);
    last.replace(':', "_")
}
