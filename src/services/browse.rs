//! Lists a registry's repositories (`/v2/_catalog`), following `Link` pages.

use super::http::RegistrySession;
use super::Report;
use crate::error::AppError;
use crate::state::browse::CatalogView;
use crate::state::Credentials;
use skiff_core::explorer::exchange::Purpose;
use skiff_core::protocol::registry::{
    catalog_url, next_page_url, parse_registry, ping_url, Catalog, Route,
};
use skiff_core::protocol::session::AuthError;

const PAGE_SIZE: u32 = 1000;
const SMALL_PAGE_SIZE: u32 = 100;
/// 100 000 repositories at most: enough to browse, and an end for a registry that links its
/// pages in a circle.
const MAX_PAGES: usize = 100;

pub struct CatalogRequest {
    pub registry_input: String,
    pub proxy: String,
    pub credentials: Option<Credentials>,
}

pub fn list(request: CatalogRequest, report: Report<CatalogView>) {
    wasm_bindgen_futures::spawn_local(async move {
        let registry = match parse_registry(&request.registry_input) {
            Ok(registry) => registry,
            Err(error) => {
                return report.emit(CatalogView::Failed {
                    message: error.to_string(),
                })
            }
        };
        report.emit(CatalogView::Loading {
            registry: registry.clone(),
        });
        let view = match catalog(&registry, &request, &report).await {
            Ok(view) => view,
            Err(error) => match refusal(&registry, &error) {
                Some(why) => CatalogView::Unavailable { registry, why },
                None => CatalogView::Failed {
                    message: error.to_string(),
                },
            },
        };
        report.emit(view);
    });
}

async fn catalog(
    registry: &str,
    request: &CatalogRequest,
    report: &Report<CatalogView>,
) -> Result<CatalogView, AppError> {
    let controller = web_sys::AbortController::new()
        .map_err(|e| super::http::js_error("listing repositories", &e))?;
    let session = RegistrySession::for_catalog(
        Route::new(&request.proxy),
        registry,
        request.credentials.clone(),
        controller.signal(),
        report.exchanges(),
    );
    session.ping(&ping_url(registry)).await?;
    let mut repositories = Vec::new();
    let mut url = Some(catalog_url(registry, PAGE_SIZE));
    let mut pages = 0;
    while let Some(mut current) = url.take() {
        if pages == MAX_PAGES {
            return Ok(loaded(registry, repositories, pages, true));
        }
        pages += 1;
        let answer = session.get_if_found(&current, None, Purpose::Catalog).await;
        // A registry whose pages are smaller than Skiff asks for answers 400: ask again for
        // the size Distribution serves by default.
        let answer = match answer {
            Err(AppError::Http { status: 400, .. }) if pages == 1 => {
                let smaller = catalog_url(registry, SMALL_PAGE_SIZE);
                let answer = session.get_if_found(&smaller, None, Purpose::Catalog).await;
                current = smaller;
                answer
            }
            answer => answer,
        };
        let Some(page) = answer? else {
            return Ok(CatalogView::Unavailable {
                registry: registry.to_owned(),
                why: format!("{registry} does not list its repositories (/v2/_catalog answered 404; Docker Hub, for one, offers no catalog). Type a repository's name below to list its tags."),
            });
        };
        let (link, body) = (page.link, page.body);
        repositories.extend(Catalog::parse(&body)?.repositories.unwrap_or_default());
        url = link.and_then(|link| next_page_url(&current, &link));
    }
    Ok(loaded(registry, repositories, pages, false))
}

fn loaded(registry: &str, repositories: Vec<String>, pages: usize, truncated: bool) -> CatalogView {
    CatalogView::Loaded {
        registry: registry.to_owned(),
        repositories,
        pages,
        truncated,
    }
}

/// A registry that keeps its catalog from this user: why, in words that say what to do.
fn refusal(registry: &str, error: &AppError) -> Option<String> {
    let anonymous = matches!(error, AppError::NeedsCredentials { .. })
        || matches!(
            error,
            AppError::Auth {
                source: AuthError::NeedsCredentials { .. },
                ..
            }
        );
    let refused = matches!(error, AppError::Denied { .. })
        || matches!(
            error,
            AppError::Auth {
                source: AuthError::Denied { .. },
                ..
            }
        );
    let scope = "the token scope registry:catalog:*";
    if anonymous {
        Some(format!("{registry} lists its repositories only to accounts allowed to see them ({scope}): log in under Credentials and list again, or type a repository's name below to list its tags."))
    } else if refused {
        Some(format!("{registry} does not list its repositories to this account ({scope} was refused): log in with an account that may (an administrator's, on some registries), or type a repository's name below to list its tags."))
    } else {
        None
    }
}
