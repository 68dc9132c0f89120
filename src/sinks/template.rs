//! Per-sink message templates: a sink's `template` (minijinja syntax) replaces pantau's own
//! layout of a single alert. The template sees the alert as CONTRACT §4 describes it (`id`,
//! `rule`, `feed.name`, `feed.url`, `item.title`, `item.link`, `item.published`,
//! `item.summary`, `item.authors`, `matched`, `created_at`, and `also_in` when present).
//!
//! Every value a template prints is escaped for the sink's markup (HTML for Telegram and
//! Matrix, mrkdwn for Slack, Markdown for Discord, Mattermost, Teams and Gotify, JSON string
//! content for webhooks), unless the template marks it `|safe`; the template's own text is
//! the sink's markup, written by the user. Rendering is bounded (fuel), so a template cannot
//! loop for ever, and an undefined name is an error that `pantau check` reports.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior};

/// Upper bound on the work of one rendering (minijinja fuel: roughly instructions).
const FUEL: u64 = 200_000;

/// Errors of compiling or rendering a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template does not parse.
    #[error("template syntax error{}: {message}", at_line(*line))]
    Syntax {
        /// Line inside the template, 1-based, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The template failed on an alert (an undefined name, a filter error, out of fuel).
    #[error("template cannot render{}: {message}", at_line(*line))]
    Render {
        /// Line inside the template, 1-based, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|l| format!(" on its line {l}")).unwrap_or_default()
}

/// How printed values are escaped.
pub type Escaper = fn(&str) -> String;

/// No escaping (console, ntfy plain text).
pub fn plain(s: &str) -> String {
    s.to_string()
}

/// Escape for the inside of a JSON string literal (webhook templates build JSON bodies).
pub fn json_string_content(s: &str) -> String {
    let quoted = serde_json::Value::from(s).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// A compiled template.
pub struct MessageTemplate {
    env: Environment<'static>,
    source: String,
    escape: Escaper,
}

/// Two templates are equal when their sources and escaping are.
impl PartialEq for MessageTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && std::ptr::fn_addr_eq(self.escape, other.escape)
    }
}

/// Shows the source, so that a reload notices a changed template.
impl std::fmt::Debug for MessageTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MessageTemplate").field(&self.source).finish()
    }
}

/// The template's name inside its environment.
const NAME: &str = "template";

impl MessageTemplate {
    /// Compile `source`, printing values through `escape`.
    pub fn compile(source: &str, escape: Escaper) -> Result<MessageTemplate, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_formatter(move |out, _state, value| {
            if value.is_undefined() || value.is_none() {
                return Ok(());
            }
            let text = match value.as_str() {
                Some(s) => s.to_string(),
                None => value.to_string(),
            };
            if value.is_safe() {
                out.write_str(&text)?;
            } else {
                out.write_str(&escape(&text))?;
            }
            Ok(())
        });
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| TemplateError::Syntax { line: e.line(), message: describe(&e) })?;
        Ok(MessageTemplate { env, source: source.to_string(), escape })
    }

    /// Render the template for one alert, given its stored payload (CONTRACT §4 JSON).
    pub fn render(&self, payload: &serde_json::Value) -> Result<String, TemplateError> {
        let template =
            self.env.get_template(NAME).map_err(|e| TemplateError::Render { line: e.line(), message: describe(&e) })?;
        // `also_in` is in the payload only while a story has twins; a template can always use it.
        let mut context = payload.clone();
        if let Some(map) = context.as_object_mut() {
            map.entry("also_in").or_insert_with(|| serde_json::Value::Array(Vec::new()));
        }
        template.render(Value::from(Serde(&context))).map_err(|e| {
            let named = (e.kind() == minijinja::ErrorKind::UndefinedError)
                .then(|| self.name_undefined(&template, e.line(), &context))
                .flatten();
            TemplateError::Render { line: e.line(), message: named.unwrap_or_else(|| describe(&e)) }
        })
    }

    /// What an undefined-value error was about: the dotted names the template uses on the failing
    /// line (minijinja's error has only the line) that `context` does not have, and what the
    /// payload has in place of the first ([`lookup`]): `undefined value item.titel; the payload
    /// has item.title, item.id, …`. None when no such name is found (a subscript such as
    /// `item['titel']`, or a name not written on the failing line).
    fn name_undefined(
        &self,
        template: &minijinja::Template<'_, '_>,
        line: Option<usize>,
        context: &serde_json::Value,
    ) -> Option<String> {
        let on_line = line.and_then(|l| self.source.lines().nth(l.checked_sub(1)?));
        let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
        used.sort();
        let mut missing = Vec::new();
        let mut hint = None;
        for name in used {
            let head = name.split('.').next().unwrap_or_default();
            let global = context.get(head).is_none() && self.env.globals().any(|(g, _)| g == head);
            if global || on_line.is_some_and(|text| !text.contains(name.as_str())) {
                continue;
            }
            if let Some(instead) = lookup(context, &name) {
                hint.get_or_insert(instead);
                missing.push(name);
            }
        }
        Some(format!("undefined value {}; {}", missing.join(", "), hint?))
    }

    /// Render for a made-up alert with every field set, so that `check` finds undefined names
    /// and filter errors before any real alert does.
    pub fn try_sample(&self) -> Result<String, TemplateError> {
        self.render(&sample_payload())
    }
}

/// The error's own words, without minijinja's source dump.
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

/// Resolve the dotted `name` in `context`: None when it is there; otherwise what the payload
/// has in its place: the dotted names of the object a typo was meant for, closest to the missing
/// part first (`the payload has item.title, …`), or what the value is that has no attributes
/// (`feed.name is a string`).
fn lookup(context: &serde_json::Value, name: &str) -> Option<String> {
    let (mut value, mut path) = (context, String::new());
    for part in name.split('.') {
        let Some(map) = value.as_object() else {
            let what = match value {
                serde_json::Value::Null => "null",
                serde_json::Value::Bool(_) => "a boolean",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::String(_) => "a string",
                _ => "a list",
            };
            return Some(format!("{path} is {what}"));
        };
        let Some(next) = map.get(part) else {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| distance(k, part));
            let dotted: Vec<String> =
                keys.into_iter().map(|k| if path.is_empty() { k.clone() } else { format!("{path}.{k}") }).collect();
            return Some(format!("the payload has {}", dotted.join(", ")));
        };
        value = next;
        path = if path.is_empty() { part.to_string() } else { format!("{path}.{part}") };
    }
    None
}

/// Levenshtein distance in characters: orders the payload's names by likeness to a typo.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// An alert with every field set, for [`MessageTemplate::try_sample`].
fn sample_payload() -> serde_json::Value {
    serde_json::json!({
        "id": "0123456789abcdef",
        "rule": "korut-senjata",
        "feed": {"name": "suara", "url": "https://www.suara.com/rss"},
        "item": {
            "id": "https://www.suara.com/news/1",
            "title": "Korea Utara uji senjata <baru> & rudal",
            "link": "https://www.suara.com/news/1?a=1&b=2",
            "published": "2026-11-27T07:00:00Z",
            "summary": "Pyongyang menguji senjata baru.",
            "authors": ["Redaksi"],
        },
        "matched": ["korea utara", "senjata"],
        "created_at": "2026-11-27T07:01:00Z",
        "also_in": [{"name": "tempo", "url": "https://rss.tempo.co/nasional"}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(s: &str) -> String {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    }

    #[test]
    fn values_are_escaped_for_the_markup_and_safe_values_are_not() {
        let t = MessageTemplate::compile(
            "<b>{{ item.title }}</b> {{ feed.name|upper }} {{ '<i>x</i>'|safe }} {{ matched|join(', ') }}",
            html,
        )
        .unwrap();
        let out = t.try_sample().unwrap();
        assert_eq!(out, "<b>Korea Utara uji senjata &lt;baru&gt; &amp; rudal</b> SUARA <i>x</i> korea utara, senjata");
    }

    #[test]
    fn missing_values_print_nothing_and_conditionals_work() {
        let t =
            MessageTemplate::compile("{{ item.title }}{% if item.link %} {{ item.link }}{% endif %}", plain).unwrap();
        let mut p = sample_payload();
        p["item"]["link"] = serde_json::Value::Null;
        assert_eq!(t.render(&p).unwrap(), "Korea Utara uji senjata <baru> & rudal");
        let t = MessageTemplate::compile("[{{ item.link }}]", plain).unwrap();
        assert_eq!(t.render(&p).unwrap(), "[]", "null prints as nothing, not \"none\"");
    }

    #[test]
    fn also_in_is_always_there_so_templates_checked_on_the_sample_work_on_every_alert() {
        let t = MessageTemplate::compile(
            "{{ rule }}{% if also_in %} (also {{ also_in|map(attribute='name')|join(',') }}){% endif %}",
            plain,
        )
        .unwrap();
        assert_eq!(t.try_sample().unwrap(), "korut-senjata (also tempo)");
        let mut p = sample_payload();
        p.as_object_mut().unwrap().remove("also_in");
        assert_eq!(t.render(&p).unwrap(), "korut-senjata");
    }

    #[test]
    fn json_bodies_stay_valid_whatever_the_text() {
        let t = MessageTemplate::compile(
            r#"{"text": "{{ rule }}: {{ item.title }}", "n": {{ matched|length }}}"#,
            json_string_content,
        )
        .unwrap();
        let mut p = sample_payload();
        p["item"]["title"] = serde_json::Value::from("quote \" backslash \\ newline \n tab \t");
        let v: serde_json::Value = serde_json::from_str(&t.render(&p).unwrap()).unwrap();
        assert_eq!(v["text"], "korut-senjata: quote \" backslash \\ newline \n tab \t");
        assert_eq!(v["n"], 2);
    }

    #[test]
    fn syntax_errors_undefined_names_and_endless_loops_are_errors_not_hangs() {
        let e = MessageTemplate::compile("line one\n{{ item.title", plain).unwrap_err();
        assert!(matches!(e, TemplateError::Syntax { line: Some(2), .. }), "{e:?}");
        let t = MessageTemplate::compile("{{ item.titel }}", plain).unwrap();
        let e = t.try_sample().unwrap_err();
        assert!(matches!(e, TemplateError::Render { .. }), "{e:?}");
        assert!(e.to_string().contains("undefined"), "{e}");
        let t = MessageTemplate::compile(
            "{% for a in also_in %}{{ a.name }}{% endfor %}\n{{ rule }}: {{ item.titel|upper }} {{ item.link }}",
            plain,
        )
        .unwrap();
        assert_eq!(
            t.try_sample().unwrap_err().to_string(),
            "template cannot render on its line 2: undefined value item.titel; the payload has item.title, \
             item.id, item.link, item.authors, item.published, item.summary"
        );
        let e = MessageTemplate::compile("{{ titel }}", plain).unwrap().try_sample().unwrap_err();
        assert!(e.to_string().contains("undefined value titel; the payload has item, "), "{e}");
        let e = MessageTemplate::compile("{{ feed.name.first }}", plain).unwrap().try_sample().unwrap_err();
        assert!(e.to_string().ends_with("undefined value feed.name.first; feed.name is a string"), "{e}");
        // A name the line does not spell out is not guessed at.
        let e = MessageTemplate::compile("{{ item['titel'] }}", plain).unwrap().try_sample().unwrap_err();
        assert!(e.to_string().ends_with(": undefined value"), "{e}");
        let t = MessageTemplate::compile(
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
            plain,
        )
        .unwrap();
        assert!(t.try_sample().is_err(), "bounded by fuel");
    }
}
