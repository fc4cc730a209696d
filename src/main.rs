//! The Skiff app: the page's program.

use wasm_bindgen::JsCast as _;

fn main() {
    // The first render runs as a task of its own: started straight away it joins the task that
    // finished loading and compiling the module, and the two made one long task.
    let render = wasm_bindgen::closure::Closure::once_into_js(|| {
        yew::Renderer::<skiff::components::app::App>::new().render();
    });
    let scheduled = web_sys::window().and_then(|window| {
        window
            .set_timeout_with_callback(render.unchecked_ref())
            .ok()
    });
    if scheduled.is_none() {
        yew::Renderer::<skiff::components::app::App>::new().render();
    }
}
