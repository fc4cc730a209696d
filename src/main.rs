//! The Skiff app: the page's program.

fn main() {
    yew::Renderer::<skiff::components::app::App>::new().render();
}
