use yew::prelude::*;

use crate::state::TagsView;

#[derive(Properties, PartialEq)]
pub struct TagListProps {
    pub view: TagsView,
    /// Called with `name:tag` when a tag is picked.
    pub on_pick: Callback<String>,
}

/// A repository's tags, to pick one into the image field.
#[function_component(TagList)]
pub fn tag_list(props: &TagListProps) -> Html {
    match &props.view {
        TagsView::Hidden => html! {},
        TagsView::Loading { repository } => html! {
            <section id="tags" class="tags"><p class="stage"><span class="spinner"></span>{ format!("Listing the tags of {repository}…") }</p></section>
        },
        TagsView::Failed { message } => html! {
            <section id="tags" class="tags error"><h2>{ "Could not list the tags" }</h2><p>{ message }</p></section>
        },
        TagsView::Loaded {
            repository,
            tags,
            pages,
        } => html! {
            <section id="tags" class="tags">
                <h2>{ format!("{} tag{} of {repository}", tags.len(), if tags.len() == 1 { "" } else { "s" }) }
                    if *pages > 1 { <span class="hint">{ format!(" ({pages} pages)") }</span> }
                </h2>
                <ul>
                    { for tags.iter().map(|tag| {
                        let on_pick = props.on_pick.clone();
                        let image = format!("{repository}:{tag}");
                        html! {
                            <li><button type="button" class="tag" onclick={Callback::from(move |_| on_pick.emit(image.clone()))}>{ tag }</button></li>
                        }
                    }) }
                </ul>
            </section>
        },
    }
}
