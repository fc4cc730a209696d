//! Browsing a registry: the registry to ask, its repositories (filtered as you type), a
//! repository's tags, and the facts of the tag being looked inside.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::human_bytes;
use crate::state::browse::{BrowseView, CatalogView};
use crate::state::TagsView;

/// What the explorer found in the tag being looked at.
#[derive(Clone, Debug, PartialEq)]
pub struct TagFacts {
    pub reference: String,
    /// Every platform of an index; empty for a single-platform image.
    pub platforms: Vec<String>,
    /// The platform shown (the image's own, or the one picked from the index).
    pub platform: String,
    pub size: u64,
    pub layers: usize,
    pub created: Option<String>,
    /// What it is, when it is no container image (a Helm chart, a wasm module, …).
    pub what: Option<String>,
}

#[derive(Properties, PartialEq)]
pub struct BrowsePanelProps {
    pub view: BrowseView,
    /// The tag being looked at, once the explorer has it; `looking` while it is fetched.
    pub facts: Option<TagFacts>,
    pub looking: bool,
    pub on_registry: Callback<String>,
    pub on_list: Callback<()>,
    pub on_filter: Callback<String>,
    /// A repository (`registry/name`) to list the tags of.
    pub on_repository: Callback<String>,
    /// A reference (`registry/name:tag`) to look inside.
    pub on_tag: Callback<String>,
    pub on_pull_tag: Callback<String>,
    /// The proxy field and the credentials panel.
    pub children: Html,
}

fn text_of(callback: &Callback<String>) -> Callback<InputEvent> {
    let callback = callback.clone();
    Callback::from(move |event: InputEvent| {
        let input: HtmlInputElement = event.target_unchecked_into();
        callback.emit(input.value());
    })
}

#[function_component(BrowsePanel)]
pub fn browse_panel(props: &BrowsePanelProps) -> Html {
    let view = &props.view;
    let on_submit = {
        let on_list = props.on_list.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_list.emit(());
        })
    };
    let loading = matches!(view.catalog, CatalogView::Loading { .. });
    html! {
        <>
            <form class="pull-form connection" onsubmit={on_submit}>
                <label for="browse-registry">{ "Registry" }</label>
                <input id="browse-registry" type="text" spellcheck="false" autocomplete="off"
                    placeholder="ghcr.io, registry.example.com, 127.0.0.1:5000"
                    value={view.registry_input.clone()} oninput={text_of(&props.on_registry)} />
                { props.children.clone() }
                <div class="actions">
                    <button id="browse-list" type="submit" disabled={loading || view.registry_input.trim().is_empty()}>
                        { "List repositories" }
                    </button>
                </div>
            </form>
            { catalog(props) }
            { repository_field(props) }
            { tags(props) }
            { tag_facts(props) }
        </>
    }
}

fn catalog(props: &BrowsePanelProps) -> Html {
    match &props.view.catalog {
        CatalogView::Idle => html! {
            <p class="hint">{ "Lists what a registry holds: its repositories (when it offers a catalog), a repository's tags, and what a tag is, opened beside in the explorer." }</p>
        },
        CatalogView::Loading { registry } => html! {
            <section id="catalog" class="catalog"><p class="stage" role="status"><span class="spinner"></span>{ format!("Listing the repositories of {registry}…") }</p></section>
        },
        CatalogView::Failed { message } => html! {
            <section id="catalog" class="catalog"><div id="catalog-error" class="error" role="alert"><h3>{ "Could not list the repositories" }</h3><p>{ message }</p></div></section>
        },
        CatalogView::Unavailable { why, .. } => html! {
            <section id="catalog" class="catalog"><p id="catalog-unavailable" class="warning" role="status">{ why }</p></section>
        },
        CatalogView::Loaded {
            registry,
            repositories,
            pages,
            truncated,
        } => {
            let shown = props.view.shown_repositories();
            let count = |n: usize| format!("{n} repositor{}", if n == 1 { "y" } else { "ies" });
            html! {
                <section id="catalog" class="catalog">
                    <h2>{ format!("{} in {registry}", count(repositories.len())) }
                        if *pages > 1 { <span class="hint">{ format!(" ({pages} pages)") }</span> }
                    </h2>
                    if *truncated {
                        <p class="warning">{ format!("Only the first {pages} pages are listed; filter by a name, or type a repository's name below.") }</p>
                    }
                    if repositories.is_empty() {
                        <p class="hint">{ "The registry holds no repositories (or lists none to this account)." }</p>
                    } else {
                        <input id="catalog-filter" type="search" placeholder="Filter by name" aria-label="Filter the repositories"
                            value={props.view.filter.clone()} oninput={text_of(&props.on_filter)} />
                        if shown.len() < repositories.len() {
                            <p class="hint">{ format!("{} shown", shown.len()) }</p>
                        }
                        <ul class="repositories">
                            { for shown.iter().map(|name| {
                                let full = format!("{registry}/{name}");
                                let chosen = props.view.repository.as_deref() == Some(full.as_str());
                                let on_repository = props.on_repository.clone();
                                html! {
                                    <li><button type="button" class="repository" data-name={name.to_string()}
                                        aria-pressed={chosen.to_string()}
                                        onclick={Callback::from(move |_| on_repository.emit(full.clone()))}>{ *name }</button></li>
                                }
                            }) }
                        </ul>
                    }
                </section>
            }
        }
    }
}

fn repository_field(props: &BrowsePanelProps) -> Html {
    match props.view.catalog.registry() {
        Some(registry) => html! {
            <RepositoryField registry={registry.to_owned()} on_repository={props.on_repository.clone()} />
        },
        None => html! {},
    }
}

#[derive(Properties, PartialEq)]
struct RepositoryFieldProps {
    registry: String,
    on_repository: Callback<String>,
}

/// Naming a repository by hand: for registries without a catalog, or one too long to page.
#[function_component(RepositoryField)]
fn repository_field_view(props: &RepositoryFieldProps) -> Html {
    let registry = props.registry.clone();
    let name = use_state_eq(String::new);
    let on_name = {
        let name = name.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            name.set(input.value());
        })
    };
    let on_submit = {
        let (name, on_repository) = (name.clone(), props.on_repository.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let typed = name.trim().trim_matches('/');
            if !typed.is_empty() {
                on_repository.emit(format!("{registry}/{typed}"));
            }
        })
    };
    html! {
        <form class="repository-field" onsubmit={on_submit}>
            <label for="browse-repository">{ "Repository" }</label>
            <input id="browse-repository" type="text" spellcheck="false" autocomplete="off"
                placeholder="team/app" value={(*name).clone()} oninput={on_name} />
            <button id="browse-repository-tags" type="submit" class="secondary" disabled={name.trim().is_empty()}>{ "List its tags" }</button>
        </form>
    }
}

fn tags(props: &BrowsePanelProps) -> Html {
    let Some(repository) = &props.view.repository else {
        return html! {};
    };
    let body = match &props.view.tags {
        TagsView::Hidden | TagsView::Loading { .. } => html! {
            <p class="stage" role="status"><span class="spinner"></span>{ format!("Listing the tags of {repository}…") }</p>
        },
        TagsView::Failed { message } => html! {
            <div class="error" role="alert"><h3>{ "Could not list the tags" }</h3><p>{ message }</p></div>
        },
        TagsView::Loaded {
            repository,
            tags,
            pages,
        } => html! {
            <>
                <h3>{ format!("{} tag{} of {repository}", tags.len(), if tags.len() == 1 { "" } else { "s" }) }
                    if *pages > 1 { <span class="hint">{ format!(" ({pages} pages)") }</span> }
                </h3>
                if tags.is_empty() {
                    <p class="hint">{ "No tags: the repository is empty, or holds only untagged manifests." }</p>
                }
                <ul class="tag-buttons">
                    { for tags.iter().map(|tag| {
                        let reference = format!("{repository}:{tag}");
                        let chosen = props.view.tag.as_deref() == Some(reference.as_str());
                        let on_tag = props.on_tag.clone();
                        html! {
                            <li><button type="button" class="tag" data-tag={tag.clone()} aria-pressed={chosen.to_string()}
                                onclick={Callback::from(move |_| on_tag.emit(reference.clone()))}>{ tag }</button></li>
                        }
                    }) }
                </ul>
            </>
        },
    };
    html! { <section id="browse-tags" class="tags">{ body }</section> }
}

fn tag_facts(props: &BrowsePanelProps) -> Html {
    let Some(reference) = props.view.tag.clone() else {
        return html! {};
    };
    let on_pull = {
        let (on_pull_tag, reference) = (props.on_pull_tag.clone(), reference.clone());
        Callback::from(move |_: MouseEvent| on_pull_tag.emit(reference.clone()))
    };
    let facts = match (&props.facts, props.looking) {
        (Some(facts), _) if facts.reference == reference => html! {
            <dl class="facts">
                if !facts.platforms.is_empty() {
                    <dt>{ "Platforms" }</dt><dd id="tag-platforms">{ facts.platforms.join(", ") }</dd>
                }
                if let Some(what) = &facts.what {
                    <dt>{ "What" }</dt><dd id="tag-what">{ what }</dd>
                }
                if !facts.platform.trim_matches('/').is_empty() {
                    <dt>{ "Platform" }</dt><dd id="tag-platform">{ &facts.platform }</dd>
                }
                <dt>{ "Size" }</dt><dd id="tag-size">{ format!("{} in {} layer{}", human_bytes(facts.size), facts.layers, if facts.layers == 1 { "" } else { "s" }) }</dd>
                <dt>{ "Created" }</dt><dd id="tag-created">{ facts.created.clone().unwrap_or_else(|| "not recorded".to_owned()) }</dd>
            </dl>
        },
        (_, true) => {
            html! { <p class="stage" role="status"><span class="spinner"></span>{ "Looking inside…" }</p> }
        }
        _ => {
            html! { <p class="hint">{ "Not an image the explorer can summarize: its requests and documents are beside." }</p> }
        }
    };
    html! {
        <section id="browse-tag" class="summary">
            <h3><code>{ &reference }</code></h3>
            { facts }
            <button id="browse-pull" type="button" onclick={on_pull}>{ "Pull this tag" }</button>
            <span class="hint">{ " The registry's answers (manifest, config, requests) are in the explorer." }</span>
        </section>
    }
}
