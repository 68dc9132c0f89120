//! The documented systemd install works as written: the README's install steps run into a
//! scratch root, then `pantau check` and `pantau once` run as an unprivileged user with the
//! unit's environment (its `Environment=` lines and the `$STATE_DIRECTORY` that
//! `StateDirectory=` gives), reading the installed config and writing the database.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::util::{show, FeedServer, Receiver, TempDir};

/// The install lines of the README's "Running as a service" block, without `sudo`.
fn readme_install_steps() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("## Running as a service").nth(1).expect("the README has a service section");
    let block = section.split("```sh").nth(1).and_then(|b| b.split("```").next()).expect("an install block");
    block
        .lines()
        .map(|l| l.trim().replace("sudo ", ""))
        .filter(|l| l.starts_with("install "))
        .flat_map(|l| l.split(" && ").map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn the_documented_install_starts_as_the_services_unprivileged_user() {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        let msg = "SKIPPED: the install test needs root and setpriv (CI runs as root)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg}");
        return;
    }
    let dir = TempDir::new("deploy");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("root");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The README's steps, with every absolute path moved under the scratch root and the
    // release binary replaced by the one under test.
    let steps = readme_install_steps();
    assert!(steps.len() >= 5, "{steps:?}");
    for step in &steps {
        let step = step
            .replace("target/release/pantau", env!("CARGO_BIN_EXE_pantau"))
            .replace(" /usr/", &format!(" {}/usr/", root.display()))
            .replace(" /etc/", &format!(" {}/etc/", root.display()));
        let mut args: Vec<&str> = step.split_whitespace().collect();
        // install(1) creates the target's directory with -D; the README's /usr/local/bin and
        // /etc/systemd/system exist on a real system.
        if !args.contains(&"-d") && !args.contains(&"/dev/null") {
            args.insert(1, "-D");
        }
        if args.contains(&"/dev/null") {
            std::fs::create_dir_all(root.join("etc/pantau")).unwrap();
        }
        let out = Command::new(args[0]).args(&args[1..]).current_dir(repo).output().unwrap();
        assert!(out.status.success(), "{step}: {}", show(&out));
    }
    let config = root.join("etc/pantau/pantau.toml");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o004, 0o004, "the service's dynamic user must be able to read the config ({mode:o})");
    let env_file = root.join("etc/pantau/env");
    assert_eq!(std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777, 0o600, "secrets stay private");

    // No internet in tests: the shipped feeds are pointed at a local server, a secret goes
    // into the environment file, and a webhook (with the secret) replaces the console.
    let (feeds, rx) = (FeedServer::start(), Receiver::start());
    feeds.set("/world.rss", crate::util::sample_feed());
    let text = std::fs::read_to_string(&config).unwrap();
    let mut local = String::new();
    for line in text.lines() {
        if line.starts_with("url = \"https://") {
            local.push_str(&format!("url = \"{}\"\n", feeds.url("/world.rss")));
        } else if line.starts_with("max_age") {
            local.push_str("max_age = \"off\"\n");
        } else {
            local.push_str(line);
            local.push('\n');
        }
    }
    local = local.replace("type = \"console\"", "type = \"webhook\"\nurl = \"${HOOK_URL}\"");
    std::fs::write(&config, local).unwrap();
    std::fs::write(&env_file, format!("HOOK_URL={}\n", rx.url())).unwrap();

    // What systemd does for the unit: its Environment= lines, the EnvironmentFile, and a
    // state directory owned by the dynamic user (here: nobody).
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/pantau.service")).unwrap();
    let mut env: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("/etc/", &format!("{}/etc/", root.display()))))
        .collect();
    assert!(env.iter().any(|(k, _)| k == "PANTAU_CONFIG"), "the unit names the config: {unit}");
    assert!(unit.contains("StateDirectory=pantau") && unit.contains("DynamicUser=yes"), "{unit}");
    let state = root.join("var/lib/pantau");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(root.join("var"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chown = Command::new("chown").args(["65534:65534", state.to_str().unwrap()]).output().unwrap();
    assert!(chown.status.success(), "{}", show(&chown));
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.push(("STATE_DIRECTORY".into(), state.display().to_string()));
    for line in std::fs::read_to_string(&env_file).unwrap().lines() {
        if let Some((k, v)) = line.split_once('=') {
            env.push((k.into(), v.into()));
        }
    }
    let binary = root.join("usr/local/bin/pantau");
    let as_service = |command: &str| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&binary)
            .arg(command)
            .current_dir(&state)
            .env_clear()
            .env("RUST_LOG", "pantau=info");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let check = as_service("check");
    assert_eq!(check.status.code(), Some(0), "ExecStartPre=pantau check: {}", show(&check));
    let once = as_service("once");
    assert_eq!(once.status.code(), Some(0), "{}", show(&once));
    assert!(state.join("pantau.db").is_file(), "the database is in the state directory: {}", show(&once));
    assert!(!root.join("etc/pantau.db").exists() && !root.join("etc/pantau/pantau.db").exists());
    assert!(!rx.posts().is_empty(), "the installed service alerts: {}", show(&once));
}
