//! chatc against the real chatd: script mode, listen mode, passwords, taken names, shutdown,
//! reconnection, and connection errors.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use chat_testkit::{Chatc, Chatd, Launch, TempDir};

#[test]
fn script_mode_sends_each_line_then_quits() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let mut c = Chatc::start(d.addr.port(), &["-n", "ci"], &[]);
    c.write("build done\n\x1b[32mall green\x1b[0m\r\n\n/me deploys\n");
    assert_eq!(c.wait(), Some(0), "stderr: {:?}", c.err.drain());
    assert!(ana.expect("JOIN ").ends_with(" ci"));
    assert!(ana.expect("MSG ").ends_with(" ci build done"));
    assert!(
        ana.expect("MSG ").ends_with(" ci all green"),
        "colour codes are stripped"
    );
    assert!(ana.expect("ME ").ends_with(" ci deploys"));
    assert!(ana.expect("LEAVE ").contains(" ci quit"));
}

#[test]
fn listen_mode_prints_what_others_say_and_exits_on_shutdown() {
    let mut d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    ana.send("before the logger");
    let mut l = Chatc::start(d.addr.port(), &["-n", "logger", "--listen"], &[]);
    let hello = l.out.expect(" HELLO chatd/1 ");
    assert!(
        hello.len() > 21 && hello.as_bytes()[19] == b'Z',
        "starts with a time: {hello}"
    );
    l.out.expect(" WELCOME logger ");
    assert!(l
        .out
        .expect(" HIST MSG ")
        .ends_with(" HIST MSG <Ana> before the logger"));
    ana.expect("JOIN ");
    ana.send("Oi pessoal");
    ana.send("/me acena");
    ana.send("/msg logger psst");
    assert!(l
        .out
        .expect(" MSG <Ana>")
        .ends_with("Z MSG <Ana> Oi pessoal"));
    assert!(l.out.expect(" ME ").ends_with("Z ME * Ana acena"));
    assert!(l
        .out
        .expect(" PRIV ")
        .ends_with("Z PRIV *Ana* -> logger: psst"));
    d.terminate();
    assert!(l.out.expect(" SHUTDOWN ").contains("Z SHUTDOWN "));
    assert_eq!(l.wait(), Some(0), "stderr: {:?}", l.err.drain());
    let out = l.out.drain();
    assert!(out.iter().all(|line| !line.contains('\x1b')), "{out:?}");
}

#[test]
fn listen_mode_reconnects_after_a_crash() {
    let mut d = Chatd::start(&["--flood", "off"]);
    let port = d.addr.port();
    let mut l = Chatc::start(port, &["-n", "logger", "--listen"], &[]);
    l.out.expect(" WELCOME logger ");
    d.crash();
    l.err.expect("lost the connection to 127.0.0.1:");
    let d2 = Launch::new()
        .listen(&format!("127.0.0.1:{port}"))
        .args(&["--flood", "off"])
        .start();
    l.err.expect("reconnected");
    let mut ana = d2.join("Ana");
    ana.send("still there?");
    assert!(l
        .out
        .expect("still there")
        .ends_with("MSG <Ana> still there?"));
    drop(d2);
}

#[test]
fn passwords_from_file_and_environment_and_wrong_ones() {
    let d = Launch::new()
        .args(&["--flood", "off"])
        .password("sesame")
        .start();
    let mut ana = d.join("Ana");
    let dir = TempDir::new("pwfile");
    let wrong = dir.join("wrong");
    std::fs::write(&wrong, "open sesame\n").unwrap();
    let mut c = Chatc::start(
        d.addr.port(),
        &["-n", "Bia", "--password-file", wrong.to_str().unwrap()],
        &[],
    );
    assert_eq!(c.wait(), Some(1));
    assert!(c.err.expect("chatc:").contains("wrong password"));

    let mut c = Chatc::start(d.addr.port(), &["-n", "Bia"], &[]);
    assert_eq!(c.wait(), Some(1));
    assert!(
        c.err.expect("chatc:").contains("CHATC_PASSWORD"),
        "script mode cannot prompt"
    );

    let right = dir.join("right");
    std::fs::write(&right, "sesame\n").unwrap();
    let mut c = Chatc::start(
        d.addr.port(),
        &["-n", "Bia", "--password-file", right.to_str().unwrap()],
        &[],
    );
    c.write("from the file\n");
    assert_eq!(c.wait(), Some(0));
    assert!(ana.expect("MSG ").ends_with(" Bia from the file"));

    let mut c = Chatc::start(
        d.addr.port(),
        &["-n", "Cid"],
        &[("CHATC_PASSWORD", "sesame")],
    );
    c.write("from the environment\n");
    assert_eq!(c.wait(), Some(0));
    assert!(ana.expect("MSG ").ends_with(" Cid from the environment"));
}

#[test]
fn a_taken_name_is_an_error_in_script_mode() {
    let d = Chatd::start(&["--flood", "off"]);
    let _ana = d.join("Ana");
    let mut c = Chatc::start(d.addr.port(), &["-n", "ANA"], &[]);
    c.write("hello\n");
    assert_eq!(c.wait(), Some(1));
    let err = c.err.expect("chatc:");
    assert!(err.contains("name ANA is taken"), "{err}");
    assert!(!err.contains("panick"), "{err}");
}

#[test]
fn server_shutdown_is_reported_in_script_mode() {
    let mut d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let mut c = Chatc::start(d.addr.port(), &["-n", "ci"], &[]);
    c.write("first\n");
    ana.expect("MSG ");
    d.terminate();
    assert_eq!(c.wait(), Some(1));
    let err = c.err.expect("chatc:");
    assert!(err.contains("the server shut down"), "{err}");
}

#[test]
fn cannot_connect_names_the_address_and_the_likely_causes() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = Chatc::start(port, &["-n", "ci"], &[]);
    assert_eq!(c.wait(), Some(1));
    let err = c.err.drain();
    assert_eq!(err.len(), 1, "one line: {err:?}");
    assert!(err[0].contains(&format!("127.0.0.1:{port}")), "{err:?}");
    assert!(
        err[0].contains("chatd running") && err[0].contains("firewall"),
        "{err:?}"
    );
}

#[test]
fn hostile_text_from_a_server_never_reaches_the_output() {
    // A fake server that tries every trick on the client.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        w.write_all(b"HELLO chatd/1 hi\x1b]0;title\x07\nASK NAME name?\n")
            .unwrap();
        let mut name = String::new();
        r.read_line(&mut name).unwrap();
        let evil = "MSG 2026-11-24T14:03:05Z Evil a\x1b[H\x07b\u{9b}31mc\x1bPdcs\x1b\\d\x7f\r\n";
        w.write_all(b"WELCOME 2026-11-24T14:03:00Z logger hi\n")
            .unwrap();
        w.write_all(evil.as_bytes()).unwrap();
        // A name with a control character does not parse: the line is skipped.
        w.write_all(b"JOIN 2026-11-24T14:03:05Z Ev\x1b[2Jil\n")
            .unwrap();
        w.write_all(b"SHUTDOWN 2026-11-24T14:03:06Z bye\n").unwrap();
    });
    let mut c = Chatc::start(port, &["-n", "logger", "--listen"], &[]);
    assert_eq!(c.wait(), Some(0));
    server.join().unwrap();
    let out = c.out.drain();
    assert!(
        out.contains(&"2026-11-24T14:03:05Z MSG <Evil> abcd".to_string()),
        "{out:?}"
    );
    assert!(out[0].ends_with("Z HELLO chatd/1 hi"), "{out:?}");
    assert!(!out.iter().any(|l| l.contains("JOIN")), "{out:?}");
    assert!(
        out.iter().all(|l| !l.chars().any(char::is_control)),
        "{out:?}"
    );
}

#[test]
fn a_long_script_is_paced_under_the_default_flood_limit() {
    let d = Chatd::start(&["--flood", "20/5"]);
    let mut ana = d.join("Ana");
    let mut c = Chatc::start(d.addr.port(), &["-n", "ci"], &[]);
    let lines: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    c.write(&lines);
    assert_eq!(c.wait(), Some(0), "stderr: {:?}", c.err.drain());
    for i in 1..=30 {
        assert!(
            ana.expect("MSG ").ends_with(&format!(" ci line {i}")),
            "line {i}"
        );
    }
}

#[test]
fn ipv6_hosts_work_with_and_without_brackets() {
    let d = Launch::new()
        .listen("[::1]:0")
        .args(&["--flood", "off"])
        .start();
    let mut ana = d.join("Ana");
    for host in ["::1", "[::1]"] {
        let mut c = Chatc::start_at(host, d.addr.port(), &["-n", "v6"], &[]);
        c.write(&format!("via {host}\n"));
        assert_eq!(c.wait(), Some(0), "stderr: {:?}", c.err.drain());
        assert!(ana.expect("MSG ").ends_with(&format!(" v6 via {host}")));
    }
}
