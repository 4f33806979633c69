//! Bad command lines: one line naming the option and the value, exit status 2.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use chat_testkit::{chatd_bin, clean_env};

fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::new(chatd_bin());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    clean_env(&mut cmd);
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_values_exit_2_with_one_line_naming_option_and_value() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--max-clients", "0"], "--max-clients", "0"),
        (&["-m", "1025"], "--max-clients", "1025"),
        (&["--max-clients", "many"], "--max-clients", "many"),
        (&["--listen", "nowhere"], "--listen", "nowhere"),
        (&["--flood", "fast"], "--flood", "fast"),
        (&["--flood", "0/5"], "--flood", "0/5"),
        (&["--join-timeout", "0"], "--join-timeout", "0"),
        (&["--join-timeout=-3"], "--join-timeout", "-3"),
        (&["--log", "paper"], "--log", "paper"),
        (&["--log-level", "loud"], "--log-level", "loud"),
        (&["--tls-listen", "nowhere"], "--tls-listen", "nowhere"),
        (&["--plain", "sometimes"], "--plain", "sometimes"),
        (
            &["--plain", "refuse", "--tls-listen", "off"],
            "--plain",
            "refuse",
        ),
        (&["--tls-listen", "off,127.0.0.1:0"], "--tls-listen", "off"),
        (&["--tls-cert", "c.pem"], "--tls-key", "--tls-cert"),
        (&["--irc-listen", "nowhere"], "--irc-listen", "nowhere"),
        (&["--irc-listen", "off,127.0.0.1:1"], "--irc-listen", "off"),
        (&["--irc-channel", "chat"], "--irc-channel", "chat"),
        (&["--irc-channel", "#a,b"], "--irc-channel", "#a,b"),
        (&["--irc-server-name", "a@b"], "--irc-server-name", "a@b"),
        (&["--irc-network", "my net"], "--irc-network", "my net"),
        (&["--irc-ping", "0"], "--irc-ping", "0"),
        (&["--max-per-address", "1025"], "--max-per-address", "1025"),
        (&["--max-per-address", "lots"], "--max-per-address", "lots"),
    ];
    for (args, option, value) in cases {
        let (code, err) = run(args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(option) && err.contains(value),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_values_from_the_environment_too() {
    let (code, err) = run(&[], &[("CHATD_MAX_CLIENTS", "5000")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--max-clients") && err.contains("5000"),
        "{err}"
    );
    let (code, err) = run(&[], &[("CHATD_FLOOD", "x/y")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--flood"), "{err}");
    let (code, err) = run(&[], &[("CHATD_IRC_LISTEN", "6667")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--irc-listen") && err.contains("6667"),
        "{err}"
    );
    let (code, err) = run(&[], &[("CHATD_MAX_PER_ADDRESS", "-1")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-per-address"), "{err}");
}

#[test]
fn unknown_option_exits_2() {
    let (code, err) = run(&["--password", "x"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--password"), "{err}");
}

#[test]
fn help_and_version_exit_0() {
    let out = Command::new(chatd_bin()).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("chatd "));
    let out = Command::new(chatd_bin()).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--listen",
        "--max-clients",
        "--password-file",
        "--state-dir",
        "--daemon",
        "--pidfile",
        "--log",
        "--syslog-socket",
        "--flood",
        "--join-timeout",
        "--tls-listen",
        "--tls-cert",
        "--tls-key",
        "--plain",
        "--fingerprint",
        "--irc-listen",
        "--irc-channel",
        "--irc-server-name",
        "--irc-network",
        "--irc-topic",
        "--irc-ping",
        "--max-per-address",
    ] {
        assert!(help.contains(opt), "{opt} missing from --help");
    }
}
