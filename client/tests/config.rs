//! The configuration file against the real chatd: plain `chatc` connects where the file says,
//! options override it, and a mistake in it stops chatc with the file and line (exit 2).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chat_testkit::{chatc_bin, signal, Chatd, Signal, TempDir, WAIT};

/// Run chatc in script mode (with `input` on stdin) with `XDG_CONFIG_HOME` at `xdg`.
fn chatc(xdg: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(chatc_bin())
        .args(args)
        .env_remove("CHATC_HOST")
        .env_remove("CHATC_PORT")
        .env_remove("CHATC_PASSWORD")
        .env("XDG_CONFIG_HOME", xdg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            signal(pid, Signal::SIGKILL);
            panic!("chatc {args:?} did not exit in time");
        }
    }
}

/// Write `text` as the configuration file under `xdg`.
fn write_config(xdg: &Path, text: &str) {
    std::fs::create_dir_all(xdg.join("chatc")).unwrap();
    std::fs::write(xdg.join("chatc/config"), text).unwrap();
}

#[test]
fn plain_chatc_goes_where_the_file_says_and_options_override_it() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let xdg = TempDir::new("config-xdg");
    write_config(
        xdg.path(),
        &format!(
            "# where the chat is\nhost = 127.0.0.1\nport = {}\nname = Filed\n",
            d.addr.port()
        ),
    );
    let out = chatc(xdg.path(), &[], "from the file\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ana.expect("MSG ").ends_with(" Filed from the file"));

    let out = chatc(xdg.path(), &["-n", "Flagged"], "from a flag\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ana.expect("MSG ").ends_with(" Flagged from a flag"));

    // --config names another file; a port from the command line beats it.
    let other = xdg.join("other");
    std::fs::write(&other, "host = 127.0.0.1\nport = 1\nname = Other\n").unwrap();
    let port = d.addr.port().to_string();
    let out = chatc(
        xdg.path(),
        &["--config", other.to_str().unwrap(), "-p", &port],
        "via --config\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ana.expect("MSG ").ends_with(" Other via --config"));
}

#[test]
fn a_mistake_in_the_file_is_one_line_naming_it_and_exit_status_2() {
    let xdg = TempDir::new("config-bad");
    let file = xdg.join("chatc/config");
    let cases = [
        (
            "host = chat.lan\n\ncolour = yes\n",
            ":3: unknown key \"colour\"",
        ),
        ("port = 99999\n", ":1: bad value \"99999\" for port"),
        (
            "bell = loud\n",
            ":1: bad value \"loud\" for bell: expected yes or no",
        ),
        ("notify = popup\n", ":1: bad value \"popup\" for notify"),
        ("name = /root\n", ":1: bad value \"/root\" for name"),
        ("just some words\n", ":1: expected `key = value`"),
    ];
    for (text, want) in cases {
        write_config(xdg.path(), text);
        let out = chatc(xdg.path(), &[], "");
        assert_eq!(out.status.code(), Some(2), "{text:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(
            lines[0].starts_with(&format!("chatc: {}{want}", file.display())),
            "{text:?}: {err}"
        );
    }
    let out = chatc(xdg.path(), &["--config", "/nonexistent/chatc.conf"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/chatc.conf"));
}
