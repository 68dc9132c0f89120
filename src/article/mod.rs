//! Whole articles (`fetch_article`): fetch a new item's page, extract the article's main text,
//! and match the item on it.
//!
//! * [`extract`] is pure: HTML → text (rs-trafilatura plus pantau's layer for teaser lines,
//!   pagination and operator selectors).
//! * [`Reader`] reads one article, following its further pages, with the same HTTP client,
//!   limits and politeness as feed polls.
//! * [`stage`] is the daemon's article stage: it takes the items the polls stored as pending,
//!   fetches their pages, records the outcome and writes the alerts in one transaction.

use std::time::Duration;

use crate::fetch::{FetchError, Fetched, Fetcher, RequestOptions, Validators};
use crate::scheduler::Limits;

pub mod extract;
pub mod stage;

pub use extract::{check_selector, ExtractError, Extracted};

/// Pages extracted at once, in the whole process: fewer than the blocking pool's threads
/// (`service::memory::BLOCKING_THREADS`), so store calls always find a thread.
pub const EXTRACTIONS: usize = 2;

static EXTRACTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(EXTRACTIONS);

/// Pages of one article followed at most (the first and four more).
pub const MAX_PAGES: usize = 5;

/// Errors of reading one article; the item is matched on what its feed gave all the same.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArticleError {
    /// The page could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The page is not HTML (an image, a PDF, a binary).
    #[error("{url}: not an HTML page ({content_type})")]
    NotHtml {
        /// The page.
        url: String,
        /// What the server called it.
        content_type: String,
    },
    /// No article could be extracted from the page.
    #[error("{url}: {source}")]
    Extract {
        /// The page.
        url: String,
        /// Why.
        source: ExtractError,
    },
    /// A local file could not be read (`pantau article FILE`).
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The extraction task was lost.
    #[error("extraction task failed: {0}")]
    Task(String),
}

impl ArticleError {
    /// Whether trying again later may help. A page that is not HTML or nests too deeply will
    /// not change; anything else may (a 404 is often a page not yet published when its feed
    /// item appeared, an empty extraction a page still being filled).
    pub fn is_transient(&self) -> bool {
        !matches!(self, ArticleError::NotHtml { .. } | ArticleError::Extract { source: ExtractError::TooDeep, .. })
    }
}

/// An article as pantau read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Article {
    /// The page it was read from (after redirects).
    pub url: String,
    /// Its headline, when the page names one.
    pub title: Option<String>,
    /// The main text, its pages joined by blank lines.
    pub text: String,
    /// Pages read.
    pub pages: u32,
    /// Bytes of HTML read over all pages.
    pub bytes: u64,
}

/// How to read articles: the HTTP client and the limits shared with feed polls.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    /// The HTTP client (its timeout and body cap apply to every page).
    pub fetcher: &'a Fetcher,
    /// The proxy of the item's feed, if any. A feed's credentials and headers are never sent
    /// to article pages: they may be on another site.
    pub proxy: Option<&'a str>,
    /// The feed's `article_selector`.
    pub selector: Option<&'a str>,
    /// Global and per-host limits shared with feed polls; `None` for one-off commands.
    pub limits: Option<&'a Limits>,
}

impl Reader<'_> {
    /// Fetch the article at `url` and its further pages (at most [`MAX_PAGES`]), and extract
    /// its text. An error on a further page ends the article there; an error on the first
    /// page is the result.
    pub async fn read(&self, url: &str) -> Result<Article, ArticleError> {
        let mut article = Article { url: url.to_string(), ..Article::default() };
        let mut queue = vec![url.to_string()];
        let mut seen: Vec<String> = Vec::new();
        while let Some(next) = queue.first().cloned() {
            queue.remove(0);
            if seen.len() >= MAX_PAGES || seen.contains(&next) {
                continue;
            }
            seen.push(next.clone());
            let page = match self.page(&next).await {
                Ok(p) => p,
                Err(e) if article.pages == 0 => return Err(e),
                Err(e) => {
                    tracing::debug!(url = %next, error = %e, "further page of an article not read; keeping the pages before it");
                    break;
                }
            };
            article.bytes += page.bytes;
            if article.pages == 0 {
                article.url = page.final_url.clone();
                article.title = page.extracted.title.clone();
            }
            // A site that serves page 1 for any page number gives the same text again.
            if article.text.contains(&page.extracted.text) {
                break;
            }
            if !article.text.is_empty() {
                article.text.push_str("\n\n");
            }
            article.text.push_str(&page.extracted.text);
            article.pages += 1;
            for link in page.extracted.next_pages {
                if !seen.contains(&link) && !queue.contains(&link) {
                    queue.push(link);
                }
            }
        }
        Ok(article)
    }

    async fn page(&self, url: &str) -> Result<Page, ArticleError> {
        let _permits = match self.limits {
            Some(l) => Some(l.acquire(url).await),
            None => None,
        };
        let opts = RequestOptions { proxy: self.proxy, ..RequestOptions::default() };
        let fetched = self.fetcher.fetch_with(url, &opts, &Validators::default()).await?;
        let Fetched::Body { body, content_type, final_url, .. } = fetched else {
            // No validators were sent, so a 304 is a confused server.
            return Err(ArticleError::NotHtml { url: url.to_string(), content_type: "HTTP 304".into() });
        };
        drop(_permits);
        if !looks_like_html(content_type.as_deref(), &body) {
            return Err(ArticleError::NotHtml {
                url: url.to_string(),
                content_type: content_type.unwrap_or_else(|| "no Content-Type, not markup".into()),
            });
        }
        let bytes = body.len() as u64;
        let selector = self.selector.map(str::to_string);
        // Extraction runs on the blocking pool, which the store needs too: at most
        // EXTRACTIONS pages are extracted at once, whatever the number of pages in flight.
        let _slot = EXTRACTING.acquire().await.map_err(|e| ArticleError::Task(e.to_string()))?;
        let page_url = final_url.clone();
        let extracted = tokio::task::spawn_blocking(move || {
            let html = crate::parse::decode_html(&body, content_type.as_deref());
            extract::extract(&html, Some(&page_url), selector.as_deref())
        })
        .await
        .map_err(|e| ArticleError::Task(e.to_string()))?
        .map_err(|source| ArticleError::Extract { url: url.to_string(), source })?;
        Ok(Page { final_url, extracted, bytes })
    }
}

struct Page {
    final_url: String,
    extracted: Extracted,
    bytes: u64,
}

/// Read an article from a local HTML file (`pantau article FILE`), with `url` for its links.
pub fn read_file(path: &std::path::Path, selector: Option<&str>) -> Result<Article, ArticleError> {
    let body = std::fs::read(path).map_err(|source| ArticleError::Read { path: path.display().to_string(), source })?;
    let html = crate::parse::decode_html(&body, None);
    let url = path.display().to_string();
    let extracted =
        extract::extract(&html, None, selector).map_err(|source| ArticleError::Extract { url: url.clone(), source })?;
    Ok(Article { url, title: extracted.title, text: extracted.text, pages: 1, bytes: body.len() as u64 })
}

/// Whether a response is an HTML page: its Content-Type says so, or it has none (or a generic
/// one) and its first bytes are markup without NULs.
pub fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    let mime = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match mime.as_deref() {
        Some("text/html" | "application/xhtml+xml") => true,
        None | Some("" | "text/plain" | "application/octet-stream" | "application/xml" | "text/xml") => {
            let head = &body[..body.len().min(1024)];
            let text = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
            let first = text.iter().find(|b| !b.is_ascii_whitespace());
            first == Some(&b'<') && memchr::memchr(0, head).is_none()
        }
        Some(_) => false,
    }
}

/// Delays before the retries of a page that failed: all within the first hour.
pub const RETRY_DELAYS: [Duration; 3] =
    [Duration::from_secs(2 * 60), Duration::from_secs(10 * 60), Duration::from_secs(40 * 60)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_recognised_by_type_or_by_its_first_bytes() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), b""));
        assert!(looks_like_html(None, b"  <!doctype html><p>x"));
        assert!(looks_like_html(Some("application/octet-stream"), b"\xEF\xBB\xBF<html>"));
        assert!(!looks_like_html(Some("image/png"), b"<html>"));
        assert!(!looks_like_html(Some("application/pdf"), b"%PDF-1.4"));
        assert!(!looks_like_html(None, b"\x89PNG\r\n"));
        assert!(!looks_like_html(None, b"<\x00h\x00t\x00m\x00l"));
    }

    #[test]
    fn a_page_is_decoded_by_its_http_charset_else_its_meta_charset() {
        let latin = b"<html><head><meta charset=\"windows-1252\"></head><body>Caf\xe9</body></html>";
        assert!(crate::parse::decode_html(latin, None).contains("Café"));
        assert!(crate::parse::decode_html(latin, Some("text/html")).contains("Café"));
        let equiv = b"<meta http-equiv='Content-Type' content='text/html; charset=ISO-8859-1'><p>Jos\xe9</p>";
        assert!(crate::parse::decode_html(equiv, None).contains("José"));
        // The server's charset wins over the page's.
        let utf8 = "<meta charset=\"windows-1252\"><p>Café</p>".as_bytes();
        assert!(crate::parse::decode_html(utf8, Some("text/html; charset=utf-8")).contains("Café"));
        assert!(crate::parse::decode_html(b"\xEF\xBB\xBF<p>Kab\xC3\xA9</p>", None).contains("Kabé"));
    }

    #[test]
    fn only_failures_that_may_pass_are_transient() {
        let status = |s| ArticleError::Fetch(FetchError::Status { url: "u".into(), status: s, retry_after: None });
        assert!(status(503).is_transient() && status(404).is_transient());
        let not_html = ArticleError::NotHtml { url: "u".into(), content_type: "image/png".into() };
        assert!(!not_html.is_transient());
        let deep = ArticleError::Extract { url: "u".into(), source: ExtractError::TooDeep };
        assert!(!deep.is_transient());
    }
}
