//! The CORS proxy's address: one setting every job uses, shown in each job's form.

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ProxyFieldProps {
    pub value: String,
    pub on_change: Callback<String>,
}

/// A label and its input, for a two-column form grid.
#[function_component(ProxyField)]
pub fn proxy_field(props: &ProxyFieldProps) -> Html {
    let oninput = {
        let on_change = props.on_change.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            on_change.emit(input.value());
        })
    };
    html! {
        <>
            <label for="proxy">{ "CORS proxy" }</label>
            <input
                id="proxy"
                type="url"
                placeholder="empty: talk to the registry directly (it must send CORS headers)"
                value={props.value.clone()}
                {oninput}
                spellcheck="false"
            />
        </>
    }
}
