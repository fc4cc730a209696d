use yew::prelude::*;

use crate::state::PlatformOffer;

#[derive(Properties, PartialEq)]
pub struct PlatformPickerProps {
    pub offers: Vec<PlatformOffer>,
    pub chosen: Option<String>,
    pub running: bool,
    pub on_choose: Callback<String>,
}

/// What a multi-platform index offers; the chosen entry is marked, any other pulls on click.
#[function_component(PlatformPicker)]
pub fn platform_picker(props: &PlatformPickerProps) -> Html {
    if props.offers.is_empty() {
        return html! {};
    }
    html! {
        <section class="platforms" id="platforms-offered">
            <h2>{ format!("This image is multi-platform: {} platforms", props.offers.len()) }</h2>
            <ul>
                { for props.offers.iter().map(|offer| {
                    let platform = offer.platform.to_string();
                    let chosen = props.chosen.as_deref() == Some(platform.as_str());
                    let on_click = {
                        let on_choose = props.on_choose.clone();
                        let platform = platform.clone();
                        Callback::from(move |_| on_choose.emit(platform.clone()))
                    };
                    html! {
                        <li>
                            <button
                                type="button"
                                class={classes!("platform", chosen.then_some("chosen"))}
                                title={offer.digest.to_string()}
                                disabled={props.running || chosen}
                                onclick={on_click}
                                data-platform={platform}
                            >
                                { &offer.label }
                                if chosen { { " ✓" } }
                            </button>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
