//! Lists a repository's tags (`/v2/<name>/tags/list`), following `Link` pages.

use super::http::RegistrySession;
use super::Report;
use crate::error::AppError;
use crate::state::{Credentials, TagsView};
use skiff_core::explorer::exchange::Purpose;
use skiff_core::image::reference::PullInput;
use skiff_core::protocol::registry::{next_page_url, ping_url, tags_url, Route, TagList};

const PAGE_SIZE: u32 = 100;
/// Enough for any sane repository; stops a registry that links pages in a circle.
const MAX_PAGES: usize = 100;

pub struct TagsRequest {
    pub image_input: String,
    pub proxy: String,
    pub credentials: Option<Credentials>,
}

pub fn start(request: TagsRequest, report: Report<TagsView>) {
    wasm_bindgen_futures::spawn_local(async move {
        match list(&request, &report).await {
            Ok(()) => {}
            Err(error) => report.emit(TagsView::Failed {
                message: error.to_string(),
            }),
        }
    });
}

async fn list(request: &TagsRequest, report: &Report<TagsView>) -> Result<(), AppError> {
    let input: PullInput = request.image_input.parse()?;
    let reference = input.reference;
    let repository = reference.familiar_name();
    report.emit(TagsView::Loading {
        repository: repository.clone(),
    });
    let controller =
        web_sys::AbortController::new().map_err(|e| super::http::js_error("listing tags", &e))?;
    let session = RegistrySession::new(
        Route::new(&request.proxy),
        &reference,
        request.credentials.clone(),
        controller.signal(),
        report.exchanges(),
    );
    session.ping(&ping_url(reference.registry())).await?;
    let mut tags = Vec::new();
    let mut url = Some(tags_url(&reference, PAGE_SIZE));
    let mut pages = 0;
    while let Some(current) = url.take() {
        if pages == MAX_PAGES {
            break;
        }
        pages += 1;
        let page = session
            .get_document(&current, None, Purpose::TagList, None)
            .await?;
        let (link, body) = (page.link, page.body);
        tags.extend(TagList::parse(&body)?.tags.unwrap_or_default());
        url = link.and_then(|link| next_page_url(&current, &link));
    }
    report.emit(TagsView::Loaded {
        repository,
        tags,
        pages,
    });
    Ok(())
}
