use yew::prelude::*;

use crate::state::ErrorReport;

#[derive(Properties, PartialEq)]
pub struct ErrorPanelProps {
    pub report: ErrorReport,
}

#[function_component(ErrorPanel)]
pub fn error_panel(props: &ErrorPanelProps) -> Html {
    html! {
        <section id="error" class="error" role="alert">
            <h2>{ &props.report.title }</h2>
            <p>{ &props.report.message }</p>
            <p class="hint">{ "No archive was offered: Skiff never saves what it could not verify." }</p>
        </section>
    }
}
