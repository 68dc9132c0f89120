//! HTTP: one GET of one feed, with a conditional request, timeouts and a body-size cap.
//!
//! The fetcher never decides *when* to poll (that is the scheduler's job) and never parses.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;

use crate::model::PollStatus;
use crate::secrets::{redact_url, scrub};

/// How many redirects one fetch follows.
pub const MAX_REDIRECTS: usize = 10;

/// The User-Agent pantau sends: its name, version and where to learn about it.
pub const USER_AGENT: &str = concat!("pantau/", env!("CARGO_PKG_VERSION"), " (+", env!("CARGO_PKG_REPOSITORY"), ")");

/// Errors of the fetch stage; each names the URL, redacted ([`crate::secrets`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connecting, sending or receiving failed (DNS, refused, reset, TLS, timeout).
    #[error("{url}: {message}")]
    Transport {
        /// The feed URL.
        url: String,
        /// What went wrong.
        message: String,
        /// Whether it was a timeout.
        timeout: bool,
    },
    /// The server answered with a status that is not success.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The feed URL.
        url: String,
        /// The status code.
        status: u16,
        /// Seconds from a Retry-After header, if any.
        retry_after: Option<Duration>,
    },
    /// The body was larger than the configured cap.
    #[error("{url}: body larger than {limit} bytes (daemon.max_body)")]
    TooLarge {
        /// The feed URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// The HTTP client could not be built.
    #[error("cannot build HTTP client: {0}")]
    Client(String),
    /// Redirects went round in a circle or did not end.
    #[error("{url}: {message}")]
    Redirect {
        /// The feed URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl FetchError {
    /// The status for the feed's health record: the HTTP status, or the kind of failure.
    pub fn status_label(&self) -> PollStatus {
        match self {
            FetchError::Status { status, .. } => PollStatus::http(*status),
            FetchError::Transport { timeout: true, .. } => PollStatus::Timeout,
            FetchError::TooLarge { .. } => PollStatus::TooLarge,
            FetchError::Redirect { .. } => PollStatus::RedirectError,
            _ => PollStatus::Error,
        }
    }
}

/// Validators from the previous response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// ETag to send as If-None-Match.
    pub etag: Option<String>,
    /// Last-Modified to send as If-Modified-Since.
    pub last_modified: Option<String>,
}

/// The outcome of a successful request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: nothing changed since the validators were issued.
    NotModified,
    /// A new document.
    Body {
        /// Set when every redirect on the way was permanent (301/308): the feed's new home.
        moved_to: Option<String>,
        /// The raw bytes (content-encoding already undone).
        body: Vec<u8>,
        /// The Content-Type header, for the charset.
        content_type: Option<String>,
        /// The final URL after redirects, for resolving relative links.
        final_url: String,
        /// Validators for the next request.
        validators: Validators,
        /// The status code.
        status: u16,
    },
}

/// Shared HTTP client with pantau's limits (and one more client per proxy in use).
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
    timeout: Duration,
    proxied: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, reqwest::Client>>>,
}

/// Per-request settings of one feed.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions<'a> {
    /// Extra headers (sent to the configured origin only).
    pub headers: &'a [(String, String)],
    /// HTTP basic auth (user, password) (sent to the configured origin only).
    pub basic_auth: Option<&'a (String, String)>,
    /// Proxy URL: `http://`, `https://`, `socks5://` or `socks5h://`, with credentials if any.
    pub proxy: Option<&'a str>,
    /// The URL as configured, when a fetch goes to another one (the feed moved): headers and
    /// credentials belong to its origin. `None`: the fetched URL is the configured one.
    pub configured: Option<&'a str>,
}

/// Whether a feed's headers and credentials may go to `target`: only to the exact origin
/// (scheme, host, port) that was configured, and never once the way there went from https down
/// to plain http.
fn trusted(configured: &reqwest::Url, target: &reqwest::Url, downgraded: bool) -> bool {
    !downgraded && target.origin() == configured.origin()
}

/// The origin of `url` for messages: scheme, host and port, nothing that could be a secret.
fn origin_of(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        // Redirects are followed by hand so that permanent moves can be recorded.
        .redirect(reqwest::redirect::Policy::none())
        // Feeds are polled minutes apart: an idle connection (and its buffers) is kept only
        // for the polls of one burst.
        .pool_idle_timeout(Duration::from_secs(20))
}

impl Fetcher {
    /// A client with a total deadline of `timeout` per fetch and a `max_body` cap.
    pub fn new(timeout: Duration, max_body: u64) -> Result<Fetcher, FetchError> {
        let client = builder(timeout).build().map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Fetcher { client, max_body, timeout, proxied: Default::default() })
    }

    /// The client for `proxy` (built once per proxy URL).
    fn client_for(&self, proxy: Option<&str>) -> Result<reqwest::Client, FetchError> {
        let Some(proxy) = proxy else { return Ok(self.client.clone()) };
        let mut map = self.proxied.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(proxy) {
            return Ok(c.clone());
        }
        let p = reqwest::Proxy::all(proxy)
            .map_err(|e| FetchError::Client(scrub(&format!("proxy {}: {e}", redact_url(proxy))).into_owned()))?;
        let c = builder(self.timeout).proxy(p).build().map_err(|e| FetchError::Client(e.to_string()))?;
        map.insert(proxy.to_string(), c.clone());
        Ok(c)
    }

    /// GET `url` with `headers`, conditional on `validators`.
    pub async fn fetch(
        &self,
        url: &str,
        headers: &[(String, String)],
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        self.fetch_with(url, &RequestOptions { headers, ..Default::default() }, validators).await
    }

    /// GET `url` with a feed's request options, conditional on `validators`. Redirects are
    /// followed by hand; the feed's headers and basic auth go only to the origin it was
    /// configured with ([`RequestOptions::configured`]).
    pub async fn fetch_with(
        &self,
        url: &str,
        opts: &RequestOptions<'_>,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let client = self.client_for(opts.proxy)?;
        let shown = redact_url(url);
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: shown.clone(),
            message: error_chain(&e),
            timeout: e.is_timeout(),
        };
        let mut conditional = HeaderMap::new();
        if let Some(v) = validators.etag.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            conditional.insert(IF_NONE_MATCH, v);
        }
        if let Some(v) = validators.last_modified.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            conditional.insert(IF_MODIFIED_SINCE, v);
        }
        let mut own = conditional.clone();
        for (k, v) in opts.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                own.insert(k, v);
            }
        }
        let has_credentials = !opts.headers.is_empty() || opts.basic_auth.is_some();
        let mut target = reqwest::Url::parse(url)
            .map_err(|e| FetchError::Redirect { url: shown.clone(), message: e.to_string() })?;
        let configured = match opts.configured {
            Some(c) => reqwest::Url::parse(c).unwrap_or_else(|_| target.clone()),
            None => target.clone(),
        };
        let mut downgraded = false;
        let mut visited = vec![target.clone()];
        let mut all_permanent = true;
        let mut resp = loop {
            downgraded |= configured.scheme() == "https" && target.scheme() == "http";
            let mut req = client.get(target.clone());
            if trusted(&configured, &target, downgraded) {
                req = req.headers(own.clone());
                if let Some((user, pass)) = opts.basic_auth {
                    req = req.basic_auth(user, Some(pass));
                }
            } else {
                if has_credentials {
                    tracing::debug!(
                        origin = %origin_of(&target), configured = %origin_of(&configured), downgraded,
                        "not sending the feed's headers and credentials to another origin"
                    );
                }
                req = req.headers(conditional.clone());
            }
            let resp = req.send().await.map_err(transport)?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            let location = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
            let Some(next) = location.and_then(|l| target.join(l).ok()) else {
                return Err(FetchError::Redirect {
                    url: shown,
                    message: format!("HTTP {} without a usable Location", status.as_u16()),
                });
            };
            all_permanent &= matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT);
            if visited.contains(&next) {
                return Err(FetchError::Redirect {
                    url: shown,
                    message: format!("redirect loop at {}", redact_url(next.as_str())),
                });
            }
            if visited.len() > MAX_REDIRECTS {
                return Err(FetchError::Redirect {
                    url: shown,
                    message: format!("more than {MAX_REDIRECTS} redirects"),
                });
            }
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::Redirect {
                    url: shown,
                    message: format!("redirect to unsupported URL {}", redact_url(next.as_str())),
                });
            }
            visited.push(next.clone());
            target = next;
        };
        let moved_to = (visited.len() > 1 && all_permanent).then(|| target.to_string());
        if moved_to.is_some() && has_credentials && !trusted(&configured, &target, false) {
            tracing::warn!(
                from = %origin_of(&configured), new_origin = %origin_of(&target),
                "feed moved permanently to another origin; its headers and credentials are not sent there"
            );
        }
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: shown,
                status: status.as_u16(),
                retry_after: retry_after(resp.headers()),
            });
        }
        if resp.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge { url: shown, limit: self.max_body });
        }
        let header = |name| resp.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
        let validators = Validators { etag: header(ETAG), last_modified: header(LAST_MODIFIED) };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let final_url = resp.url().to_string();
        // Read chunk by chunk so that a lying or missing Content-Length cannot exhaust memory;
        // a stated length (at most max_body, checked above) sizes the buffer once.
        let stated = resp.content_length().unwrap_or(0).min(self.max_body);
        let mut body = Vec::with_capacity(usize::try_from(stated).unwrap_or(0));
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(FetchError::TooLarge { url: shown, limit: self.max_body });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body { moved_to, body, content_type, final_url, validators, status: status.as_u16() })
    }

    /// The underlying client, shared with delivery so both use one connection pool.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// A Retry-After header as a delay: delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

/// The one Retry-After reading of pantau (feeds and sinks alike): delay-seconds (fractional
/// seconds accepted, as some services send them), or an HTTP date, a past one meaning now.
/// Negative, non-finite or unreadable values are no hint. Callers cap the result.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A reqwest error with its causes, which carry the useful part ("connection refused"), with
/// URLs redacted and secrets scrubbed ([`crate::secrets::scrub`]).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    scrub(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_pantau_and_version() {
        assert!(USER_AGENT.starts_with(&format!("pantau/{} (+http", env!("CARGO_PKG_VERSION"))));
    }

    #[test]
    fn credentials_go_to_the_exact_configured_origin_only() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let configured = u("https://feeds.example/rss");
        assert!(trusted(&configured, &u("https://feeds.example/other?x=1"), false));
        assert!(trusted(&configured, &u("https://feeds.example:443/rss"), false), "the default port is the same port");
        assert!(!trusted(&configured, &u("https://feeds.example:8443/rss"), false), "another port");
        assert!(!trusted(&configured, &u("http://feeds.example/rss"), false), "downgraded to http");
        assert!(!trusted(&configured, &u("https://cdn.feeds.example/rss"), false), "another host");
        assert!(!trusted(&configured, &u("https://feeds.example/rss"), true), "back on https after a downgrade");
        assert_eq!(origin_of(&u("https://user:pw@feeds.example:8443/rss?token=t")), "https://feeds.example:8443");
    }

    #[test]
    fn errors_name_the_url_without_its_secrets() {
        let e = FetchError::Status {
            url: redact_url("https://u:pw1234@feeds.example/rss?token=abcd"),
            status: 500,
            retry_after: None,
        };
        assert_eq!(e.to_string(), "https://u:***@feeds.example/rss?token=***: HTTP 500");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(600)).to_rfc2822();
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(590) && d <= Duration::from_secs(600), "{d:?}");
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        // Fractional seconds, as the sinks' services send them, read the same for feeds.
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("1.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("-3"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }
}
