//! Unit tests of config validation: every error is located at the right line and column.

use super::*;
use crate::model::Database;

fn load(src: &str) -> Result<Config, ConfigErrors> {
    load_vars(src, &[])
}

fn load_vars(src: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    load_str(Path::new("/etc/pantau/pantau.toml"), src, &move |name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

fn errors(src: &str) -> Vec<String> {
    load(src).expect_err("config should be rejected").0.iter().map(ToString::to_string).collect()
}

const GOOD: &str = r#"
[daemon]
database = "state/pantau.db"
default_interval = "10m"

[[feed]]
name = "world"
url = "https://news.example.id/world.rss"
tags = ["id"]

[[feed]]
name = "tech"
url = "https://tech.example.com/feed"
schedule = "0 */5 * * * *"

[[rule]]
name = "korut-senjata"
query = '''"Korea Utara" AND senjata'''
feeds = ["wor*"]
sinks = ["out"]

[[sink]]
name = "out"
type = "console"
"#;

#[test]
fn a_good_config_compiles_with_defaults_and_resolved_paths() {
    let c = load(GOOD).unwrap();
    // The installed config's directory: its relative database lives in the service's state
    // directory (elsewhere, relative paths are resolved against the config's directory).
    assert_eq!(c.daemon.database.file(), Some(Path::new("/var/lib/pantau/state/pantau.db")));
    assert_eq!(c.daemon.concurrency, 16);
    assert_eq!(c.daemon.per_host, 2);
    assert_eq!(c.daemon.first_poll, FirstPoll::Alert);
    assert_eq!(c.daemon.max_age, Some(DEFAULT_MAX_AGE), "a week by default");
    assert!(matches!(c.feeds[0].schedule, Schedule::Every(d) if d == Duration::from_secs(600)));
    assert!(matches!(c.feeds[1].schedule, Schedule::Cron(_)));
    assert_eq!(c.rules.len(), 1);
    assert!(c.rules[0].applies_to(&c.feeds[0]));
    assert!(!c.rules[0].applies_to(&c.feeds[1]));
    assert_eq!(c.sinks[0].kind, SinkKind::new(crate::sinks::console::Console));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn unknown_key_is_located() {
    let src = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\nintervall = \"5m\"\n";
    let e = errors(src);
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:4:1: unknown field `intervall`"), "{e:?}");
}

#[test]
fn a_postgres_url_is_a_database_and_other_urls_are_refused_without_repeating_them() {
    for url in ["postgres://pantau:hunter2@db.example:5432/pantau", "postgresql://pantau@db.example/pantau"] {
        let c = load(&format!("[daemon]\ndatabase = \"{url}\"\n")).unwrap();
        assert_eq!(c.daemon.database, Database::Postgres(url.to_string()));
        assert!(!c.daemon.database.to_string().contains("hunter2"), "{}", c.daemon.database);
        assert!(!format!("{:?}", c.daemon).contains("hunter2"), "Debug shows no password");
    }
    for (url, says) in [
        ("sqlite://hunter2/pantau.db", "not another kind of URL"),
        ("postgres://pantau:hunter2@db.example:notaport/pantau", "not a PostgreSQL URL that pantau can use"),
    ] {
        let e = errors(&format!("[daemon]\ndatabase = \"{url}\"\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("/etc/pantau/pantau.toml:2:12: database "), "{e:?}");
        assert!(e[0].contains(says), "{e:?}");
        assert!(!e[0].contains("hunter2"), "the URL is not repeated: {e:?}");
    }
    // A password from the environment is a secret: scrubbed from logs, never shown.
    let c = load_vars("[daemon]\ndatabase = \"postgres://p:${PW}@db/p\"\n", &[("PW", "s3cret")]).unwrap();
    assert!(c.secrets.contains("s3cret"));
    assert_eq!(c.daemon.database.to_string(), "postgres://p:***@db/p");
    // A file path is still a file path.
    assert!(load("[daemon]\ndatabase = \"data/pantau.db\"\n").unwrap().daemon.database.file().is_some());
    // The inspection commands cannot use another kind of URL either.
    let dir = std::env::temp_dir().join(format!("pantau-dburl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pantau.toml");
    std::fs::write(&file, "[daemon]\ndatabase = \"mysql://p:hunter2@db/p\"\n").unwrap();
    let refused = load_for_inspection(&file).map(|_| ()).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(refused.0[0].message.contains("not another kind of URL"), "{refused:?}");
}

#[test]
fn lease_defaults_to_thirty_seconds_and_must_leave_room_to_renew() {
    assert_eq!(load("").unwrap().daemon.lease, Duration::from_secs(30));
    assert_eq!(load("[daemon]\nlease = \"2m\"\n").unwrap().daemon.lease, Duration::from_secs(120));
    let e = errors("[daemon]\nlease = \"1s\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:2:9: lease must be at least 3s"), "{e:?}");
    // The hash a node reports is the file's text: any edit changes it.
    assert_ne!(load("").unwrap().hash, load("# a comment\n").unwrap().hash);
}

#[test]
fn unknown_top_level_table_is_rejected() {
    let e = errors("[deamon]\ndatabase = \"x\"\n");
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:1:2: unknown field `deamon`"), "{e:?}");
}

#[test]
fn missing_environment_variable_is_named() {
    let src = "[[sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"${OPS_WEBHOOK_URL}\"\n";
    let e = errors(src);
    assert_eq!(
        e,
        ["/etc/pantau/pantau.toml:4:7: environment variable OPS_WEBHOOK_URL is not set (referenced as ${OPS_WEBHOOK_URL})"]
    );
    let ok = load_vars(src, &[("OPS_WEBHOOK_URL", "http://127.0.0.1:9/hook")]).unwrap();
    assert_eq!(
        ok.sinks[0].kind,
        SinkKind::new(crate::sinks::webhook::Webhook {
            url: "http://127.0.0.1:9/hook".into(),
            secret: None,
            headers: vec![]
        })
    );
}

#[test]
fn environment_variables_expand_inside_headers() {
    let src =
        "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\nheaders = { Authorization = \"Bearer ${TOKEN}\" }\n";
    let c = load_vars(src, &[("TOKEN", "s3cret")]).unwrap();
    assert_eq!(c.feeds[0].headers, [("Authorization".to_string(), "Bearer s3cret".to_string())]);
}

#[test]
fn a_doubled_dollar_before_a_brace_is_a_literal_reference_and_reads_no_variable() {
    let src = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/$${HOME}/x?p=$$&q=$${T}${T}\"\n";
    let c = load_vars(src, &[("HOME", "/root"), ("T", "tok")]).unwrap();
    assert_eq!(c.feeds[0].url, "https://a.example/${HOME}/x?p=$$&q=${T}tok");
    // A lone `$` and `$$` not before a brace stay as written.
    let src = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\npassword = \"pa$word$$\"\nusername = \"u\"\n";
    assert_eq!(load(src).unwrap().feeds[0].basic_auth, Some(("u".into(), "pa$word$$".into())));
}

#[test]
fn the_config_knows_its_secrets() {
    let src = r#"
[daemon]
database = "${STATE}/pantau.db"
proxy = "socks5h://px:proxypass@127.0.0.1:1080"

[[feed]]
name = "a"
url = "https://u:urlpass@a.example/rss?lang=id&token=querytok&k=${FEEDKEY}"
headers = { Authorization = "Bearer literalbearer", Accept = "text/xml" }
username = "desk"
password = "basicpass"

[[sink]]
name = "hook"
type = "webhook"
url = "https://hooks.example/h?sig=${SIG}"
secret = "whsec_literal"

[[sink]]
name = "tg"
type = "telegram"
token = "tgtoken"
chat_id = "@room"
"#;
    let vars = [("STATE", "/var/lib/pantau"), ("FEEDKEY", "fromenv"), ("SIG", "sigvalue")];
    let c = load_vars(src, &vars).unwrap();
    let mut got: Vec<&str> = c.secrets.iter().collect();
    got.sort();
    let mut want = [
        "Bearer literalbearer",
        "basicpass",
        "fromenv",
        "literalbearer",
        "proxypass",
        "querytok",
        "sigvalue",
        "tgtoken",
        "urlpass",
        "whsec_literal",
    ];
    want.sort();
    assert_eq!(got, want, "the database path, user names and plain headers are not secrets");
}

#[test]
fn duplicate_names_are_rejected_at_the_second_one() {
    let src =
        "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n[[feed]]\nname = \"a\"\nurl = \"https://b.example/\"\n";
    assert_eq!(errors(src), ["/etc/pantau/pantau.toml:5:8: duplicate feed name \"a\"; feed names must be unique"]);
    let src = "[[sink]]\nname = \"s\"\ntype = \"console\"\n[[sink]]\nname = \"s\"\ntype = \"console\"\n";
    assert_eq!(errors(src), ["/etc/pantau/pantau.toml:5:8: duplicate sink name \"s\"; sink names must be unique"]);
}

#[test]
fn an_invalid_rule_points_into_the_query() {
    let src = "[[rule]]\nname = \"r\"\nquery = '\"Korea Utara\" AND (senjata'\n";
    let e = errors(src);
    assert_eq!(e.len(), 1, "{e:?}");
    // The query's value starts at column 10; the error is at or after the unclosed parenthesis.
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:3:"), "{e:?}");
    let col: usize = e[0].split(':').nth(2).unwrap().parse().unwrap();
    assert!(col >= 28, "column {col} should point into the query: {e:?}");
    assert!(e[0].contains("rule \"r\""), "{e:?}");
}

#[test]
fn references_to_missing_feeds_and_sinks_are_errors() {
    let src = "[[rule]]\nname = \"r\"\nquery = 'a'\nfeeds = [\"nope\"]\nsinks = [\"gone\"]\n";
    assert_eq!(
        errors(src),
        [
            "/etc/pantau/pantau.toml:4:10: no feed named \"nope\"",
            "/etc/pantau/pantau.toml:5:10: no sink named \"gone\"",
        ]
    );
}

#[test]
fn bad_values_are_reported_together() {
    let src = "[daemon]\ndefault_interval = \"soon\"\nconcurrency = 0\nfirst_poll = \"loud\"\n[[feed]]\nname = \"a\"\nurl = \"ftp://a.example/\"\n";
    let e = errors(src);
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:2:20: invalid default_interval \"soon\""), "{e:?}");
    assert_eq!(e[1], "/etc/pantau/pantau.toml:3:15: concurrency must be a positive number");
    assert_eq!(e[2], "/etc/pantau/pantau.toml:4:14: first_poll must be \"alert\" or \"silent\", not \"loud\"");
    assert_eq!(e[3], "/etc/pantau/pantau.toml:7:7: feed url must be an http or https URL, not ftp:");
}

#[test]
fn keys_that_do_not_fit_the_sink_type_are_rejected() {
    let src = "[[sink]]\nname = \"c\"\ntype = \"console\"\nurl = \"https://x.example/\"\n";
    assert_eq!(errors(src), ["/etc/pantau/pantau.toml:4:7: key \"url\" does not apply to a sink of type \"console\""]);
    let src = "[[sink]]\nname = \"c\"\ntype = \"pager\"\n";
    assert!(errors(src)[0].starts_with("/etc/pantau/pantau.toml:3:8: unknown sink type \"pager\""));
}

#[test]
fn toml_syntax_errors_are_located() {
    let e = errors("[[feed]]\nname = \"a\nurl = 1\n");
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:2:"), "{e:?}");
}

#[test]
fn rules_without_sinks_default_to_every_sink() {
    let src = "[[rule]]\nname = \"r\"\nquery = 'x'\n[[sink]]\nname = \"a\"\ntype = \"console\"\n[[sink]]\nname = \"b\"\ntype = \"console\"\n";
    assert_eq!(load(src).unwrap().rules[0].sinks, ["a", "b"]);
}

#[test]
fn globs_match_whole_names() {
    assert!(glob_match("wor*", "world"));
    assert!(glob_match("*", "x"));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a?c", "abbc"));
    assert!(glob_match("*-id", "kompas-id"));
    assert!(!glob_match("kompas", "kompas-id"));
}

#[test]
fn adaptive_intervals_take_bounds_and_reject_them_elsewhere() {
    let src = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\ninterval = \"auto\"\nmin_interval = \"1m\"\nmax_interval = \"1h\"\n";
    let c = load(src).unwrap();
    assert!(
        matches!(c.feeds[0].schedule, Schedule::Auto { min, max } if min == Duration::from_secs(60) && max == Duration::from_secs(3600))
    );
    let src = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\ninterval = \"5m\"\nmin_interval = \"1m\"\n";
    assert_eq!(
        errors(src),
        ["/etc/pantau/pantau.toml:5:16: min_interval and max_interval apply to interval = \"auto\" only"]
    );
}

#[test]
fn chat_sinks_need_their_keys_and_rates_parse() {
    let src = "[[sink]]\nname = \"m\"\ntype = \"matrix\"\nhomeserver = \"https://hs.example\"\naccess_token = \"t\"\n";
    assert_eq!(errors(src), ["/etc/pantau/pantau.toml:3:8: a matrix sink needs room = \"…\""]);
    let src =
        "[[sink]]\nname = \"s\"\ntype = \"slack\"\nurl = \"https://hooks.example/x\"\nrate = \"2/min\"\nburst = 5\n";
    let c = load(src).unwrap();
    assert_eq!(c.sinks[0].interval, Duration::from_secs(30));
    assert_eq!(c.sinks[0].burst, 5);
    assert_eq!(c.sinks[0].digest, DigestMode::Auto);
    let src = "[[sink]]\nname = \"w\"\ntype = \"webhook\"\nurl = \"https://hooks.example/x\"\ndigest = \"always\"\n";
    assert!(errors(src)[0].contains("digests are for chat sinks"));
    assert_eq!(parse_rate("1/s").unwrap(), Duration::from_secs(1));
    assert_eq!(parse_rate("20/min").unwrap(), Duration::from_secs(3));
    assert!(parse_rate("0/s").is_err() && parse_rate("fast").is_err());
}

#[test]
fn reload_diff_names_what_changed() {
    let old = load(GOOD).unwrap();
    let new_src = GOOD
        .replace("default_interval = \"10m\"", "default_interval = \"5m\"")
        .replace("feeds = [\"wor*\"]", "feeds = [\"*\"]")
        + "\n[[feed]]\nname = \"new\"\nurl = \"https://new.example/\"\n";
    let new = load(&new_src).unwrap();
    let d = diff(&old, &new);
    assert_eq!(d.feeds.added, ["new"]);
    assert_eq!(d.feeds.changed, ["world"], "its interval came from default_interval");
    assert_eq!(d.rules.changed, ["korut-senjata"]);
    assert!(d.sinks.is_empty());
    assert!(d.needs_restart.is_empty());
}

#[test]
fn a_reload_does_not_call_a_rule_changed_because_the_running_one_has_searched() {
    // A regex leaf compiles its own automaton when first searched with; the running config's
    // rules have searched, the freshly loaded ones have not. The rule is the same.
    let src = format!("{GOOD}\n[[rule]]\nname = \"re\"\nquery = '''/senjata\\b/i AND Korea'''\n");
    let (old, new) = (load(&src).unwrap(), load(&src).unwrap());
    let doc = crate::rules::Document::new(&crate::rules::DocFields::text_only("Korea Utara uji senjata baru"));
    let hits = old.rule_set.matches(&doc);
    assert!(hits.iter().any(|(i, _)| old.rules[*i].name == "re"), "the regex rule searched and matched");
    let d = diff(&old, &new);
    assert!(d.rules.changed.is_empty() && d.rules.added.is_empty(), "{:?}", d.rules.changed);
}

#[test]
fn quiet_alerts_ttl_floors_and_the_config_watcher_have_defaults_and_overrides() {
    let c = load("[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n").unwrap();
    assert_eq!((c.daemon.quiet_factor, c.daemon.honor_ttl, c.daemon.watch_config), (10, false, false));
    assert!(!c.feeds[0].honor_ttl, "the publisher's ttl is ignored unless the operator allows it");

    let src = "[daemon]\nquiet_factor = 0\nhonor_ttl = true\nwatch_config = true\n\n\
               [[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n\n\
               [[feed]]\nname = \"b\"\nurl = \"https://b.example/\"\nhonor_ttl = false\n";
    let c = load(src).unwrap();
    assert_eq!((c.daemon.quiet_factor, c.daemon.watch_config), (0, true));
    assert_eq!(c.feeds.iter().map(|f| f.honor_ttl).collect::<Vec<_>>(), [true, false], "a feed overrides the daemon");

    let e = errors("[daemon]\nquiet_factor = -1\n");
    assert!(e[0].starts_with("/etc/pantau/pantau.toml:2:16: quiet_factor must be 0 or a positive number"), "{e:?}");
}

#[test]
fn under_systemd_a_relative_database_goes_into_the_state_directory() {
    let with = |src: &str, state: Option<&str>| {
        let state = state.map(str::to_string);
        load_str(Path::new("/etc/pantau/pantau.toml"), src, &move |name| {
            (name == "STATE_DIRECTORY").then(|| state.clone()).flatten()
        })
        .unwrap()
        .daemon
        .database
        .file()
        .expect("a file")
        .to_path_buf()
    };
    let db = "[daemon]\ndatabase = \"../pantau.db\"\n";
    let elsewhere = |src: &str| {
        load_str(Path::new("/home/ann/pantau/pantau.toml"), src, &|_| None)
            .unwrap()
            .daemon
            .database
            .file()
            .unwrap()
            .to_path_buf()
    };
    assert_eq!(elsewhere(db), Path::new("/home/ann/pantau/../pantau.db"), "beside the config otherwise");
    assert_eq!(with(db, Some("/var/lib/pantau")), Path::new("/var/lib/pantau/pantau.db"));
    assert_eq!(with("", Some("/var/lib/pantau:/var/lib/other")), Path::new("/var/lib/pantau/pantau.db"));
    // An operator's command on the installed config finds the service's database.
    assert_eq!(with(db, None).parent(), Some(Path::new("/var/lib/pantau")), "config under /etc/pantau");
    let absolute = "[daemon]\ndatabase = \"/srv/pantau/state.db\"\n";
    assert_eq!(with(absolute, Some("/var/lib/pantau")), Path::new("/srv/pantau/state.db"), "an absolute path wins");
}

#[test]
fn max_age_is_a_week_by_default_and_off_disables_it_for_the_daemon_or_one_feed() {
    let src = "[daemon]\nmax_age = \"off\"\n\n[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n\n\
               [[feed]]\nname = \"b\"\nurl = \"https://b.example/\"\nmax_age = \"2d\"\n";
    let c = load_str(Path::new("/x/p.toml"), src, &|_| None).unwrap();
    assert_eq!(c.daemon.max_age, None);
    assert_eq!(c.feeds.iter().map(|f| f.max_age).collect::<Vec<_>>(), [None, Some(Duration::from_secs(2 * 86_400))]);
    let src = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\nmax_age = \"OFF\"\n\n\
               [[feed]]\nname = \"b\"\nurl = \"https://b.example/\"\n";
    let c = load_str(Path::new("/x/p.toml"), src, &|_| None).unwrap();
    assert_eq!(c.feeds.iter().map(|f| f.max_age).collect::<Vec<_>>(), [None, Some(DEFAULT_MAX_AGE)]);
    let bad = load_str(Path::new("/x/p.toml"), "[daemon]\nmax_age = \"never\"\n", &|_| None).unwrap_err();
    assert!(bad.0[0].to_string().contains("invalid max_age \"never\""), "{}", bad.0[0]);
}

#[test]
fn max_items_defaults_to_two_thousand_and_a_feed_may_set_its_own() {
    let feeds = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n\n\
                 [[feed]]\nname = \"b\"\nurl = \"https://b.example/\"\nmax_items = 50\n";
    let c = load_str(Path::new("/x/p.toml"), feeds, &|_| None).unwrap();
    assert_eq!(c.daemon.max_items, 2000);
    assert_eq!(c.feeds.iter().map(|f| f.max_items).collect::<Vec<_>>(), [2000, 50]);
    let c = load_str(Path::new("/x/p.toml"), &format!("[daemon]\nmax_items = 300\n\n{feeds}"), &|_| None).unwrap();
    assert_eq!(c.feeds.iter().map(|f| f.max_items).collect::<Vec<_>>(), [300, 50]);
    for bad in ["0", "-1", "100001"] {
        let e = load_str(Path::new("/x/p.toml"), &format!("[daemon]\nmax_items = {bad}\n"), &|_| None).unwrap_err();
        assert_eq!(e.0[0].to_string(), "/x/p.toml:2:13: max_items must be a number from 1 to 100000");
    }
}

#[test]
fn an_unknown_sink_key_is_refused_at_its_place_with_every_sink_key_listed() {
    let src = "[[sink]]\nname = \"s\"\ntype = \"slack\"\nurll = \"https://hooks.example/x\"\n";
    assert_eq!(
        errors(src),
        ["/etc/pantau/pantau.toml:4:1: unknown field `urll`, expected one of `name`, `type`, `url`, `secret`, \
             `headers`, `token`, `chat_id`, `api_url`, `homeserver`, `access_token`, `room`, `topic`, `rate`, \
             `burst`, `digest`, `max_attempts`, `max_age`, `template`, `digest_window`, `concurrency`"]
    );
    let src = "[[sink]]\ntype = \"console\"\n";
    assert!(errors(src)[0].contains("missing field `name`"), "{:?}", errors(src));
}

#[test]
fn a_sink_key_of_the_wrong_kind_is_a_type_error() {
    let src = "[[sink]]\nname = \"s\"\ntype = \"slack\"\nurl = 5\n";
    assert!(errors(src)[0].starts_with("/etc/pantau/pantau.toml:4:7: invalid type: integer `5`"), "{:?}", errors(src));
}

#[test]
fn reload_compares_settings_by_value() {
    let old = load(GOOD).unwrap();
    assert!(diff(&old, &load(GOOD).unwrap()) == Diff::default());
    let new = load(&GOOD.replace("schedule = \"0 */5 * * * *\"", "schedule = \"0 */10 * * * *\"")).unwrap();
    assert_eq!(diff(&old, &new).feeds.changed, ["tech"]);
    let new = load(&GOOD.replace("feeds = [\"wor*\"]", "feeds = [\"wor*\"]\nstories = \"every\"")).unwrap();
    assert_eq!(diff(&old, &new).rules.changed, ["korut-senjata"]);
    let new = load(&GOOD.replace("type = \"console\"", "type = \"console\"\nrate = \"1/min\"")).unwrap();
    assert_eq!(diff(&old, &new).sinks.changed, ["out"]);
}

#[test]
fn every_sink_type_is_registered_once_with_its_defaults() {
    let names: Vec<&str> = crate::sinks::TYPES.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "console",
            "webhook",
            "slack",
            "discord",
            "mattermost",
            "teams",
            "googlechat",
            "telegram",
            "matrix",
            "ntfy",
            "gotify"
        ]
    );
    let src = "[[sink]]\nname = \"w\"\ntype = \"webhook\"\nurl = \"https://hooks.example/x\"\n[[sink]]\nname = \"t\"\ntype = \"telegram\"\ntoken = \"x\"\nchat_id = -100\n";
    let c = load(src).unwrap();
    assert_eq!((c.sinks[0].concurrency, c.sinks[0].interval), (DEFAULT_WEBHOOK_CONCURRENCY, Duration::ZERO));
    assert_eq!((c.sinks[1].concurrency, c.sinks[1].interval), (1, Duration::from_secs(3)));
    assert_eq!(c.sinks[1].kind.kind(), "telegram");
}
