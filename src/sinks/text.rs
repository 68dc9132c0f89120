//! Text helpers shared by the chat renderers: escaping per markup, cutting to a service's
//! limit without breaking a character or an escape, safe links and query strings.
//!
//! The rule that keeps every cut safe: text is always cut *before* it is escaped, and the cut
//! is measured on the escaped (rendered) result. A `&amp;`, a `\*` or a tag can therefore never
//! be split, and a character is never split because cuts fall on `char` boundaries.

use std::time::Duration;

use crate::model::{AlertPayload, SUMMARY_LIMIT};

/// The mark put where text was cut.
pub(super) const ELLIPSIS: &str = "…";

/// Longest title shown (characters) before it is cut.
const TITLE_MAX: usize = 300;
/// Longest feed or rule name shown (characters).
const NAME_MAX: usize = 100;
/// Longest list of matched words shown (characters).
const MATCHED_MAX: usize = 300;
/// Longest link used (bytes); a longer one is dropped rather than cut (a cut link is wrong).
const LINK_MAX: usize = 2000;

/// How a service counts the length of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    /// Unicode scalar values.
    Chars,
    /// UTF-16 code units (what Telegram and Discord count; never fewer than `Chars`).
    Utf16,
    /// UTF-8 bytes.
    Bytes,
}

impl Unit {
    /// The length of `s` in this unit.
    pub(super) fn len(self, s: &str) -> usize {
        match self {
            Unit::Chars => s.chars().count(),
            Unit::Utf16 => s.encode_utf16().count(),
            Unit::Bytes => s.len(),
        }
    }
}

/// How many bytes `s` takes inside a JSON string (without the quotes), as serde_json writes it.
pub(super) fn json_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// The longest start of `raw` whose rendering costs at most `budget`.
///
/// `cost` is given a candidate (raw text, already ending in `…` when cut) and says what its
/// rendering costs in the service's unit. The whole of `raw` is returned when it fits; else
/// the longest cut (trailing spaces dropped, `…` added) that fits; else an empty string.
pub(super) fn fit(raw: &str, budget: usize, cost: impl Fn(&str) -> usize) -> String {
    if cost(raw) <= budget {
        return raw.to_string();
    }
    let bounds: Vec<usize> = raw.char_indices().map(|(i, _)| i).collect();
    let candidate = |k: usize| {
        let mut s = raw[..bounds[k]].trim_end().to_string();
        s.push_str(ELLIPSIS);
        s
    };
    // The cost of candidate(k) never decreases with k, so search for the last k that fits.
    if bounds.is_empty() || cost(&candidate(0)) > budget {
        return String::new();
    }
    let (mut lo, mut hi) = (0, bounds.len() - 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if cost(&candidate(mid)) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    candidate(lo)
}

/// `raw` cut to at most `max` units (no escaping involved).
pub(super) fn cut(raw: &str, max: usize, unit: Unit) -> String {
    fit(raw, max, |s| unit.len(s))
}

/// Escape for HTML text and attribute values (Telegram, Matrix): `&`, `<`, `>` and `"`.
pub(super) fn escape_html(s: &str) -> String {
    escape_entities(s, true)
}

/// Escape for Slack mrkdwn: only `&`, `<` and `>`.
pub(super) fn escape_slack(s: &str) -> String {
    escape_entities(s, false)
}

/// `&`, `<` and `>` as entities, and `"` too when `quotes`.
fn escape_entities(s: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The zero-width space put after `@` so that `@everyone`, `@here`, `@channel` or `<@id>` in
/// feed text can never become a mention.
pub(super) const ZWSP: char = '\u{200B}';

/// Plain text with a zero-width space after every `@`, so that it cannot mention anyone.
pub(super) fn defang(s: &str) -> String {
    s.replace('@', "@\u{200B}")
}

/// Escape feed text for Markdown (Discord, Teams, Gotify): a backslash before every character
/// with an inline Markdown meaning (and before a leading `-`, `+` or `>` that would start a
/// list or a quote, and the `.` of a leading `1.` that would start a numbered list), and a
/// zero-width space after `@`.
pub(super) fn escape_markdown(s: &str) -> String {
    markdown(s, false)
}

/// Escape feed text for Mattermost: [`escape_markdown`], and also `<` and `>` as `&lt;` and
/// `&gt;` (and an `&` that would start a character reference as `&amp;`). Mattermost rewrites
/// Slack's forms in an incoming webhook's text before it renders the Markdown: `<!channel>`,
/// `<!here>` and `<!all>` become mentions that notify everyone, `<@id>` a user mention and
/// `<url|label>` a masked link. Without a `<` none of them can form; the entities render as
/// the characters they stand for.
pub(super) fn escape_mattermost(s: &str) -> String {
    markdown(s, true)
}

/// The escaping of [`escape_markdown`], with `<`, `>` and entity-like `&` as entities when
/// `entities`.
fn markdown(s: &str, entities: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    // The `.` after leading digits starts a numbered list ("2024. A year" would render as one).
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let list_dot = (digits > 0 && s[digits..].starts_with('.')).then_some(digits);
    for (i, c) in s.char_indices() {
        match c {
            '<' if entities => out.push_str("&lt;"),
            '>' if entities => out.push_str("&gt;"),
            '&' if entities && starts_reference(&s[i + 1..]) => out.push_str("&amp;"),
            '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '(' | ')' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '>' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' if Some(i) == list_dot => out.push_str("\\."),
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether the text after an `&` makes it a character reference that Markdown decodes:
/// `#` and digits, `#x` and hex digits, or a name, each ended by `;`.
fn starts_reference(rest: &str) -> bool {
    let b = rest.as_bytes();
    let (from, ok): (usize, fn(&u8) -> bool) = match b {
        [b'#', b'x' | b'X', ..] => (2, u8::is_ascii_hexdigit),
        [b'#', ..] => (1, u8::is_ascii_digit),
        _ => (0, u8::is_ascii_alphanumeric),
    };
    let n = b[from..].iter().take_while(|c| ok(c)).count();
    n > 0 && b.get(from + n) == Some(&b';')
}

/// A link fit to put in markup: http(s) only, normalised by the URL parser (so `"`, `<`, `>`
/// and spaces are percent-encoded), and also `(`, `)`, `|` and `'` percent-encoded so that it
/// cannot end a Markdown or `<url|label>` link early. `None` for a missing, unusable or
/// overlong link.
pub(super) fn safe_link(link: Option<&str>) -> Option<String> {
    let parsed = url::Url::parse(link?.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    let mut out = String::with_capacity(parsed.as_str().len());
    for c in parsed.as_str().chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '|' => out.push_str("%7C"),
            '\'' => out.push_str("%27"),
            c => out.push(c),
        }
    }
    (out.len() <= LINK_MAX).then_some(out)
}

/// Percent-encode `s` for one URL path segment or query value: everything but
/// `A-Z a-z 0-9 - . _ ~` is encoded.
pub(super) fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` with `key=value` added to its query, whether or not it already has one (a fragment
/// stays last). The rest of the URL is kept byte for byte.
pub(super) fn add_query(url: &str, key: &str, value: &str) -> String {
    let (base, fragment) = match url.find('#') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let sep = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{base}{sep}{}={}{fragment}", pct_encode(key), pct_encode(value))
}

/// `base` without trailing slashes, then `path` (which starts with `/`).
pub(super) fn join_path(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// Plain text made single-line: control characters dropped, every run of white space one space.
pub(super) fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// What every message shows, taken from the payload once: plain text, single-line, each field
/// cut to a sane length (a service cuts further to its own limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    /// The headline (never empty).
    pub title: String,
    /// A link safe to put in markup.
    pub link: Option<String>,
    /// The feed's name.
    pub feed: String,
    /// The rule's name.
    pub rule: String,
    /// The matched words, comma-separated (may be empty).
    pub matched: String,
    /// The start of the summary (may be empty).
    pub summary: String,
}

impl Fields {
    /// The fields of `alert`.
    pub fn of(alert: &AlertPayload) -> Fields {
        let title = one_line(&alert.item.title);
        let title = if title.is_empty() { "(untitled)".to_string() } else { cut(&title, TITLE_MAX, Unit::Chars) };
        let matched: Vec<String> = alert.matched.iter().map(|m| one_line(m)).filter(|m| !m.is_empty()).collect();
        Fields {
            title,
            link: safe_link(alert.item.link.as_deref()),
            feed: cut(&one_line(&alert.feed.name), NAME_MAX, Unit::Chars),
            rule: cut(&one_line(&alert.rule), NAME_MAX, Unit::Chars),
            matched: cut(&matched.join(", "), MATCHED_MAX, Unit::Chars),
            summary: cut(&one_line(&alert.item.summary), SUMMARY_LIMIT, Unit::Chars),
        }
    }
}

/// How many of the digest lines costing `costs` fit in `budget` together with the note for the
/// lines left out, which costs `more(left_out)`. Each line's cost includes its separator.
pub(super) fn pack(costs: &[usize], budget: usize, more: impl Fn(usize) -> usize) -> usize {
    let mut total = 0usize;
    let mut kept = 0usize;
    for &c in costs {
        if total + c > budget {
            break;
        }
        total += c;
        kept += 1;
    }
    if kept == costs.len() {
        return kept;
    }
    while kept > 0 && total + more(costs.len() - kept) > budget {
        kept -= 1;
        total -= costs[kept];
    }
    kept
}

/// The note that ends a digest that could not list everything.
pub(super) fn and_more(n: usize) -> String {
    format!("{ELLIPSIS}and {n} more")
}

/// The value of header `name` (case-insensitive), if present.
pub(super) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
}

/// Seconds as a duration, if finite and not negative.
pub(super) fn secs_f64(secs: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(secs).ok()
}

/// The `Retry-After` header, read as feeds read it ([`crate::fetch::parse_retry_after`]).
pub(super) fn retry_after_header(headers: &[(String, String)]) -> Option<Duration> {
    crate::fetch::parse_retry_after(header(headers, "retry-after")?)
}

/// The JSON body of a response, if it is a JSON object.
pub(super) fn json_body(body: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str(body) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_never_splits_an_escape_or_a_character() {
        let raw = "a&b&c&d";
        // Escaped, "a&amp;…" is 9 bytes and "a&amp;b…" 10.
        let got = fit(raw, 9, |s| escape_html(s).len());
        assert_eq!(got, "a&…");
        assert_eq!(escape_html(&got), "a&amp;…");
        // With 8, the `&` is dropped whole rather than cut into `&am`.
        assert_eq!(fit(raw, 8, |s| escape_html(s).len()), "a…");
        assert_eq!(fit("🚀🚀🚀", 9, |s| s.len()), "🚀…");
        assert_eq!(fit("abc", 3, |s| s.len()), "abc");
        assert_eq!(fit("abcd", 2, |s| s.len()), "");
        assert_eq!(fit("", 0, |s| s.len()), "");
        assert_eq!(fit("ab cd", 4, |s| s.chars().count()), "ab…");
    }

    #[test]
    fn units_count_as_services_do() {
        assert_eq!(Unit::Chars.len("🚀a"), 2);
        assert_eq!(Unit::Utf16.len("🚀a"), 3);
        assert_eq!(Unit::Bytes.len("🚀a"), 5);
        assert_eq!(json_len("a\"b\n\u{1}é"), 1 + 2 + 1 + 2 + 6 + 2);
        let s = "a\"b\n\u{1}é\\";
        assert_eq!(json_len(s) + 2, serde_json::to_string(s).unwrap().len());
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_html(r#"<b>&"x"</b>"#), "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;");
        assert_eq!(escape_slack(r#"<a|b>&""#), r#"&lt;a|b&gt;&amp;""#);
        assert_eq!(escape_markdown("*a_b* @everyone [x](y) \\"), "\\*a\\_b\\* @\u{200B}everyone \\[x\\]\\(y\\) \\\\");
        assert_eq!(escape_markdown("1999. A year"), "1999\\. A year");
        assert_eq!(escape_markdown("1999 a.b"), "1999 a.b");
        assert_eq!(escape_markdown("> quote <b>"), "\\> quote <b>");
        assert_eq!(escape_mattermost("> <!here> & &amp; &#1; &x"), "&gt; &lt;!here&gt; & &amp;amp; &amp;\\#1; &x");
    }

    #[test]
    fn links_are_checked_and_made_safe() {
        assert_eq!(safe_link(Some(r#"https://ex.id/a?b=1&c="x""#)).as_deref(), Some("https://ex.id/a?b=1&c=%22x%22"));
        assert_eq!(safe_link(Some("https://ex.id/a_(b)|c")).as_deref(), Some("https://ex.id/a_%28b%29%7Cc"));
        assert_eq!(safe_link(Some("javascript:alert(1)")), None);
        assert_eq!(safe_link(Some("not a url")), None);
        assert_eq!(safe_link(None), None);
        assert_eq!(safe_link(Some(&format!("https://ex.id/{}", "a".repeat(3000)))), None);
    }

    #[test]
    fn queries_are_added_properly() {
        assert_eq!(add_query("https://h/p", "wait", "true"), "https://h/p?wait=true");
        assert_eq!(add_query("https://h/p?a=1", "wait", "true"), "https://h/p?a=1&wait=true");
        assert_eq!(add_query("https://h/p?", "wait", "true"), "https://h/p?wait=true");
        assert_eq!(add_query("https://h/p?a=1#f", "k", "a b&c"), "https://h/p?a=1&k=a%20b%26c#f");
        assert_eq!(pct_encode("!room:ex.org"), "%21room%3Aex.org");
        assert_eq!(join_path("https://h/", "/message"), "https://h/message");
    }

    #[test]
    fn pack_keeps_room_for_the_note() {
        assert_eq!(pack(&[3, 3, 3], 9, |_| 5), 3);
        assert_eq!(pack(&[3, 3, 3], 8, |_| 2), 2);
        assert_eq!(pack(&[3, 3, 3], 8, |_| 3), 1);
        assert_eq!(pack(&[3, 3, 3], 2, |_| 3), 0);
    }

    #[test]
    fn retry_after_forms() {
        let h = |v: &str| vec![("Retry-After".to_string(), v.to_string())];
        assert_eq!(retry_after_header(&h("7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_header(&h("1.5")), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after_header(&h("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let d = retry_after_header(&[("retry-after".into(), later)]).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
        assert_eq!(retry_after_header(&h("soon")), None);
        assert_eq!(retry_after_header(&h("-3")), None);
        assert_eq!(retry_after_header(&[]), None);
    }
}
