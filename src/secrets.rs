//! Secrets kept out of everything pantau prints, logs or stores.
//!
//! Two layers. URLs are redacted by their shape ([`RedactedUrl`]): a userinfo password becomes
//! `***`, and so does the value of every query parameter whose name looks like a credential
//! (`token`, `sig`, `key`, …) or whose value is a known secret. Then a final scrub ([`scrub`])
//! replaces every known secret value wherever it appears in a text: the values the config read
//! from `${VAR}`, its passwords, tokens, signing secrets and credential headers. Config loading
//! ([`crate::config::load`]) adds each config's secrets to one process-wide set, which the log writer
//! ([`ScrubWriter`]) and the error texts that pantau stores use.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::sync::RwLock;

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

/// Secret values shorter than this are not scrubbed from free text: replacing every "abc" in a
/// log line would garble it and hide little. They are still masked where a URL holds them.
pub const MIN_SCRUB_LEN: usize = 4;

/// Query parameter names (compared without case, `-` and `_`) whose values are credentials.
const SECRET_KEYS: &[&str] = &[
    "token",
    "accesstoken",
    "authtoken",
    "apitoken",
    "key",
    "apikey",
    "accesskey",
    "secret",
    "clientsecret",
    "sig",
    "signature",
    "password",
    "passwd",
    "pass",
    "pwd",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "session",
    "sessionid",
    "sid",
    "hash",
    "code",
    "xamzsignature",
    "xamzcredential",
    "xamzsecuritytoken",
];

/// Header names (without case) whose values are credentials even when written literally.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "private-token",
    "x-gotify-key",
];

/// Whether a query parameter named `key` carries a credential.
pub fn is_secret_key(key: &str) -> bool {
    let folded: String = key.chars().filter(|c| *c != '-' && *c != '_').flat_map(char::to_lowercase).collect();
    SECRET_KEYS.contains(&folded.as_str()) || folded.ends_with("token") || folded.ends_with("secret")
}

/// Whether a request header named `name` carries a credential.
pub fn is_secret_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&lower.as_str()) || lower.contains("token") || lower.contains("secret")
}

/// A set of secret values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: BTreeSet<String>,
}

impl Secrets {
    /// Remember `value` as a secret (empty values are ignored).
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.values.insert(value.to_string());
        }
    }

    /// Remember the credentials inside a configured URL: its password and the values of its
    /// credential-looking query parameters.
    pub fn add_url_parts(&mut self, url: &str) {
        let Ok(parsed) = url::Url::parse(url) else { return };
        if let Some(p) = parsed.password() {
            self.add(p);
            self.add(&percent_decode(p));
        }
        for (k, v) in parsed.query_pairs() {
            if is_secret_key(&k) {
                self.add(&v);
            }
        }
    }

    /// Whether `value` is one of the secrets.
    pub fn contains(&self, value: &str) -> bool {
        !value.is_empty() && self.values.contains(value)
    }

    /// The secret values, for tests and diagnostics of the set itself (never print them).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(String::as_str)
    }

    /// Whether the set holds nothing.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The forms a secret takes in pantau's output: as is, escaped as Rust's `{:?}` and JSON
/// escape it, and percent-encoded as in a URL.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let debug = format!("{value:?}");
    out.push(debug[1..debug.len() - 1].to_string());
    let json = serde_json::Value::from(value).to_string();
    out.push(json[1..json.len() - 1].to_string());
    out.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
    out.push(percent_encode_all(value));
    out.retain(|f| !f.is_empty());
    out.sort();
    out.dedup();
    out
}

/// Every byte outside unreserved characters percent-encoded (the url crate's most eager form).
fn percent_encode_all(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("x={value}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// The process-wide scrub list: every form of every secret, longest first (so that a secret
/// containing another is masked whole).
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Add `secrets` to the process-wide set used by [`scrub`] and [`redact_url`]. Secrets of an
/// earlier config stay in it, so a reload cannot make an old value printable.
pub fn remember(secrets: &Secrets) {
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for v in secrets.iter() {
        for f in forms(v) {
            if !known.contains(&f) {
                known.push(f);
            }
        }
    }
    known.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
}

fn is_known(value: &str) -> bool {
    !value.is_empty() && KNOWN.read().unwrap_or_else(|e| e.into_inner()).iter().any(|k| k == value)
}

/// `text` with every URL in it redacted ([`RedactedUrl`]) and every known secret value replaced
/// by `***`: the last step before an error text is logged, stored or printed.
pub fn scrub(text: &str) -> Cow<'_, str> {
    match redact_urls_in(text) {
        Cow::Borrowed(t) => scrub_values(t),
        Cow::Owned(t) => Cow::Owned(scrub_values(&t).into_owned()),
    }
}

/// `url` as it may be shown: see [`RedactedUrl`].
pub fn redact_url(url: &str) -> String {
    RedactedUrl(url).to_string()
}

/// A URL that redacts itself when displayed: the userinfo password becomes `***`, and so does
/// each query value whose parameter name looks like a credential or which is a known secret;
/// whatever else is a known secret (a token in the path) is scrubbed too. Text that is not a
/// URL is only scrubbed.
#[derive(Debug, Clone, Copy)]
pub struct RedactedUrl<'a>(pub &'a str);

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(redacted) = redact_one(self.0) else { return f.write_str(&scrub_values(self.0)) };
        f.write_str(&scrub_values(&redacted))
    }
}

/// Known secret values replaced, URLs left as they are.
fn scrub_values(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    for secret in known.iter().filter(|k| k.len() >= MIN_SCRUB_LEN) {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// One URL with its password and secret query values masked, spelled otherwise as written;
/// `None` when it is not a URL.
fn redact_one(text: &str) -> Option<String> {
    url::Url::parse(text).ok()?;
    let (scheme, rest) = text.split_once("://")?;
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            match userinfo.split_once(':') {
                Some((user, pass)) if !pass.is_empty() => out.push_str(&format!("{user}:{MASK}")),
                _ => out.push_str(userinfo),
            }
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let parts: Vec<String> = query
                .split('&')
                .map(|part| {
                    let (key, value) = part.split_once('=').unwrap_or((part, ""));
                    let decoded = percent_decode(value);
                    let secret = is_secret_key(&percent_decode(key)) || is_known(&decoded) || is_known(value);
                    if secret && !value.is_empty() {
                        format!("{key}={MASK}")
                    } else {
                        part.to_string()
                    }
                })
                .collect();
            out.push_str(&parts.join("&"));
        }
        None => out.push_str(before_fragment),
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// Characters that end a URL inside a message.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\' | '(' | ')' | '[' | ']' | '{' | '}' | '|')
}

/// Every `scheme://…` inside `text` redacted; trailing punctuation of the sentence is kept out
/// of the URL.
fn redact_urls_in(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        // The scheme: letters, digits, `+`, `-`, `.` before `://`.
        let start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(at, |(i, _)| i);
        let tail = &rest[at + 3..];
        let len = tail.find(ends_url).unwrap_or(tail.len());
        let mut end = at + 3 + len;
        while end > at + 3 && rest[..end].ends_with(['.', ',', ':', ';', '!', '?']) {
            end -= 1;
        }
        out.push_str(&rest[..start]);
        let candidate = &rest[start..end];
        match redact_one(candidate) {
            Some(r) if start < at => {
                changed |= r != candidate;
                out.push_str(&r);
            }
            _ => out.push_str(candidate),
        }
        rest = &rest[end.max(at + 3)..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// A log writer that scrubs each event ([`scrub`]) before handing it to `W`, for
/// `tracing_subscriber::fmt().with_writer(|| ScrubWriter::new(…))`. It collects one event and
/// writes it when dropped, as the subscriber drops its writer after each event.
#[derive(Debug)]
pub struct ScrubWriter<W: Write> {
    buf: Vec<u8>,
    inner: W,
}

impl<W: Write> ScrubWriter<W> {
    /// Scrub what is written before it reaches `inner`.
    pub fn new(inner: W) -> Self {
        ScrubWriter { buf: Vec::new(), inner }
    }
}

impl<W: Write> Write for ScrubWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for ScrubWriter<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let _ = self.inner.write_all(scrub(&text).as_bytes());
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_credential_query_values_are_masked() {
        assert_eq!(redact_url("https://user:hunter2@feeds.example/rss"), "https://user:***@feeds.example/rss");
        assert_eq!(
            redact_url("https://feeds.example/rss?lang=id&api_key=abc123&Token=x&page=2"),
            "https://feeds.example/rss?lang=id&api_key=***&Token=***&page=2"
        );
        assert_eq!(redact_url("http://127.0.0.1:9/hook?sig=s3cr3t"), "http://127.0.0.1:9/hook?sig=***");
        assert_eq!(redact_url("https://feeds.example/rss?page=2"), "https://feeds.example/rss?page=2");
        assert_eq!(redact_url("not a url"), "not a url");
        // Everything else is spelled as written, not re-encoded.
        assert_eq!(redact_url("https://ex.id/${HOME}/rss?key=a%20b#top"), "https://ex.id/${HOME}/rss?key=***#top");
        assert_eq!(redact_url("http://u@h.example:8080/?q"), "http://u@h.example:8080/?q");
    }

    #[test]
    fn known_secrets_are_masked_in_any_query_parameter_and_the_path() {
        let mut s = Secrets::default();
        s.add("zq-unit-7f3a91");
        remember(&s);
        assert_eq!(redact_url("https://x.example/feeds/zq-unit-7f3a91/rss"), "https://x.example/feeds/***/rss");
        assert_eq!(redact_url("https://x.example/rss?u=zq-unit-7f3a91&n=1"), "https://x.example/rss?u=***&n=1");
        assert_eq!(scrub("denied for \"zq-unit-7f3a91\""), "denied for \"***\"");
    }

    #[test]
    fn urls_inside_messages_are_redacted_and_the_sentence_kept() {
        let msg = "error sending request for url (https://a:pw77@h.example:8443/f?token=t0k&x=1): refused";
        assert_eq!(scrub(msg), "error sending request for url (https://a:***@h.example:8443/f?token=***&x=1): refused");
        assert_eq!(scrub("http://h.example/rss?key=abc: HTTP 500"), "http://h.example/rss?key=***: HTTP 500");
        assert_eq!(scrub("proxy socks5://u:pw@127.0.0.1:1080."), "proxy socks5://u:***@127.0.0.1:1080.");
        assert_eq!(scrub("nothing here: ://"), "nothing here: ://");
    }

    #[test]
    fn escaped_forms_of_a_secret_are_scrubbed_too() {
        let mut s = Secrets::default();
        s.add("zq\"quote/slash 9");
        remember(&s);
        assert_eq!(scrub(r#"a "zq\"quote/slash 9" b"#), r#"a "***" b"#);
        assert_eq!(scrub("q=zq%22quote%2Fslash+9"), "q=***");
    }

    #[test]
    fn the_writer_scrubs_each_event() {
        let mut s = Secrets::default();
        s.add("zq-writer-55aa");
        remember(&s);
        let mut out = Vec::new();
        {
            let mut w = ScrubWriter::new(&mut out);
            w.write_all(b"WARN poll failed error=zq-writer-55aa\n").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "WARN poll failed error=***\n");
    }

    #[test]
    fn secret_names_are_recognised() {
        for k in ["token", "access_token", "apiKey", "X-Amz-Signature", "sig", "client_secret", "auth"] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["page", "lang", "q", "format"] {
            assert!(!is_secret_key(k), "{k}");
        }
        assert!(is_secret_header("Authorization") && is_secret_header("X-Api-Key") && !is_secret_header("Accept"));
    }
}
