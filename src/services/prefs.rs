//! What the app remembers: the proxy URL and the last platform (localStorage) and the image in the page's link
//! (`#/?image=…`), so a link opens the app with the form filled in.

const PROXY_KEY: &str = "skiff.proxy";
const PLATFORM_KEY: &str = "skiff.platform";
pub const DEFAULT_PROXY: &str = "http://127.0.0.1:8787/";
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn saved_proxy() -> String {
    local_storage()
        .and_then(|s| s.get_item(PROXY_KEY).ok()?)
        .unwrap_or_else(|| DEFAULT_PROXY.to_owned())
}

pub fn save_proxy(proxy: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(PROXY_KEY, proxy);
    }
}

/// The platform last pulled, else linux/amd64.
pub fn saved_platform() -> String {
    local_storage()
        .and_then(|s| s.get_item(PLATFORM_KEY).ok()?)
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PLATFORM.to_owned())
}

pub fn save_platform(platform: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(PLATFORM_KEY, platform);
    }
}

/// A query parameter of the `#/?a=b&…` part of the page URL.
pub fn hash_param(name: &str) -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let query = hash
        .strip_prefix("#/?")
        .or_else(|| hash.strip_prefix("#?"))?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| decode(value))
    })
}

/// Puts the image into the page URL without reloading or adding history entries.
pub fn set_image_in_url(image: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hash = format!(
        "#/?image={}",
        String::from(js_sys::encode_uri_component(image))
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
    }
}

fn decode(value: &str) -> String {
    let plus_as_space = value.replace('+', " ");
    js_sys::decode_uri_component(&plus_as_space)
        .map(String::from)
        .unwrap_or(plus_as_space)
}

/// Calls `on_change` whenever the user (or a followed link) changes the `#/?…` part; dropping
/// the listener stops it.
pub struct HashListener {
    closure: wasm_bindgen::closure::Closure<dyn FnMut()>,
}

pub fn listen_hash_change(on_change: yew::Callback<()>) -> HashListener {
    let closure = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || on_change.emit(()));
    if let Some(window) = web_sys::window() {
        use wasm_bindgen::JsCast as _;
        let _ =
            window.add_event_listener_with_callback("hashchange", closure.as_ref().unchecked_ref());
    }
    HashListener { closure }
}

impl Drop for HashListener {
    fn drop(&mut self) {
        if let Some(window) = web_sys::window() {
            use wasm_bindgen::JsCast as _;
            let _ = window.remove_event_listener_with_callback(
                "hashchange",
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}
