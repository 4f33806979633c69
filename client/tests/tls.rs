//! chatc over TLS against the real chatd: trust on first use and what it remembers, a changed
//! certificate (refused, naming both fingerprints and the command that accepts the new one),
//! a pinned fingerprint, a certificate signed by a CA (`--ca-file`), no silent downgrade to
//! plain text, and TLS aimed at a plain-text port.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use chat_core::fingerprint::Fingerprint;
use chat_testkit::{msg_from, Chatc, Chatd, Launch, TempDir};

/// chatc's own data directory (for `known_hosts`), as the tests must give one.
struct Home {
    dir: TempDir,
}

impl Home {
    fn new(tag: &str) -> Home {
        Home {
            dir: TempDir::new(tag),
        }
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn known_hosts(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/chatc/known_hosts")).unwrap_or_default()
    }

    /// Run chatc in script mode against `port` with `args`, sending `line`; return its exit
    /// code and stderr.
    fn say(&self, port: u16, args: &[&str], line: &str) -> (Option<i32>, String) {
        let mut c = Chatc::start(port, args, &[("XDG_DATA_HOME", &self.data())]);
        // A chatc that refuses the server exits without reading its input.
        let _ = c.try_write(&format!("{line}\n"));
        let code = c.wait();
        (code, c.err.drain().join("\n"))
    }
}

fn logged_fingerprint(d: &Chatd) -> Fingerprint {
    let line = d.wait_log("tls-certificate fingerprint=");
    let fp = line.split("fingerprint=").nth(1).unwrap();
    Fingerprint::parse(fp.split_whitespace().next().unwrap()).unwrap()
}

fn tls_port(d: &Chatd) -> u16 {
    d.tls_addr.unwrap().port()
}

#[test]
fn first_contact_remembers_then_a_changed_certificate_is_refused_with_both_fingerprints() {
    let home = Home::new("chatc-tofu");
    let state = TempDir::new("chatc-tofu-server");
    let mut d = Launch::new().tls().state_dir(state.path()).start();
    let port = tls_port(&d);
    let first = logged_fingerprint(&d);
    let mut ana = d.join_settled("ana");

    // First contact: shown, remembered, and the line goes through.
    let (code, err) = home.say(port, &["--tls", "-n", "bia"], "olá over TLS");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("first TLS contact") && err.contains(&first.to_string()),
        "{err}"
    );
    assert!(
        home.known_hosts()
            .contains(&format!("127.0.0.1:{port} {first}")),
        "{}",
        home.known_hosts()
    );
    ana.expect("JOIN ");
    let l = ana.expect("MSG ");
    assert_eq!(msg_from(&l, "bia"), Some("olá over TLS"));

    // Later contact: checked silently.
    let (code, err) = home.say(port, &["--tls", "-n", "bia"], "again");
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("first TLS contact"), "{err}");

    // Another certificate on the same address: refused.
    drop(ana);
    d.terminate();
    let other_state = TempDir::new("chatc-tofu-other");
    let d = Launch::new()
        .tls_listen(&format!("127.0.0.1:{port}"))
        .state_dir(other_state.path())
        .start();
    let second = logged_fingerprint(&d);
    assert_ne!(first, second);
    let mut ana = d.join_settled("ana");
    let (code, err) = home.say(port, &["--tls", "-n", "bia"], "should not arrive");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("has changed"), "{err}");
    assert!(
        err.contains(&first.to_string()) && err.contains(&second.to_string()),
        "{err}"
    );
    let accept = format!("chatc --tls -H 127.0.0.1 -p {port} --fingerprint {second}");
    assert!(err.contains(&accept), "{err}");

    // Doing what the message says accepts it, and it is remembered from then on.
    let (code, err) = home.say(
        port,
        &["--fingerprint", &second.to_string(), "-n", "bia"],
        "accepted",
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = home.say(port, &["--tls", "-n", "bia"], "and remembered");
    assert_eq!(code, Some(0), "{err}");
    ana.expect("JOIN ");
    assert_eq!(msg_from(&ana.expect("MSG "), "bia"), Some("accepted"));
    assert_eq!(msg_from(&ana.expect("MSG "), "bia"), Some("and remembered"));
    assert!(!home.known_hosts().contains(&first.to_string()));
}

#[test]
fn a_pinned_fingerprint_is_the_only_one_accepted() {
    let home = Home::new("chatc-pin");
    let d = Launch::new().tls().start();
    let port = tls_port(&d);
    let right = logged_fingerprint(&d);
    let wrong = Fingerprint([0x42; 32]);
    let (code, err) = home.say(
        port,
        &["--fingerprint", &wrong.to_string(), "-n", "bia"],
        "x",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&wrong.to_string()) && err.contains(&right.to_string()),
        "{err}"
    );
    assert!(err.contains("given with --fingerprint"), "{err}");
    assert!(
        home.known_hosts().is_empty(),
        "nothing remembered on a failure"
    );
    let mut ana = d.join_settled("ana");
    let lower = right.to_string().to_lowercase();
    let (code, err) = home.say(port, &["--fingerprint", &lower, "-n", "bia"], "pinned");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !err.contains("first TLS contact"),
        "a pin is no first contact: {err}"
    );
    ana.expect("JOIN ");
    assert_eq!(msg_from(&ana.expect("MSG "), "bia"), Some("pinned"));
}

/// Run openssl with `args` in `dir`; panic with its stderr if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Make a CA and a certificate it signs for 127.0.0.1 (and one from another CA) in `dir`.
fn make_ca(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        let mut args = vec!["req", "-x509", "-days", "2", "-subj"];
        let subj = format!("/CN=test {ca}");
        args.push(&subj);
        args.extend(ec);
        let (key, crt) = (format!("{ca}.key"), format!("{ca}.crt"));
        args.extend(["-keyout", &key, "-out", &crt]);
        openssl(dir, &args);
    }
    let mut args = vec!["req", "-subj", "/CN=chatd test server"];
    args.extend(ec);
    args.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

#[test]
fn a_ca_signed_certificate_is_checked_against_the_ca_file() {
    let home = Home::new("chatc-ca");
    let pki = TempDir::new("chatc-ca-pki");
    make_ca(pki.path());
    let p = |f: &str| pki.join(f).display().to_string();
    let d = Launch::new()
        .tls()
        .args(&[
            "--tls-cert",
            &p("server.crt"),
            "--tls-key",
            &p("server.key"),
        ])
        .start();
    let port = tls_port(&d);
    let mut ana = d.join_settled("ana");
    let (code, err) = home.say(port, &["--ca-file", &p("ca.crt"), "-n", "bia"], "signed");
    assert_eq!(code, Some(0), "{err}");
    ana.expect("JOIN ");
    assert_eq!(msg_from(&ana.expect("MSG "), "bia"), Some("signed"));
    let (code, err) = home.say(port, &["--ca-file", &p("other-ca.crt"), "-n", "cy"], "x");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("TLS with 127.0.0.1:") && err.contains("failed"),
        "{err}"
    );
    let (code, err) = home.say(port, &["--ca-file", &p("nowhere.crt"), "-n", "cy"], "x");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("nowhere.crt"), "{err}");
}

#[test]
fn no_silent_downgrade_after_tls_and_tls_at_a_plain_port_is_named() {
    let home = Home::new("chatc-downgrade");
    let d = Launch::new().tls().start();
    let (code, err) = home.say(
        d.addr.port(),
        &["-n", "bia"],
        "plain before any TLS is fine",
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = home.say(tls_port(&d), &["--tls", "-n", "bia"], "now over TLS");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = home.say(d.addr.port(), &["-n", "bia"], "plain again");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("will not send plain text") && err.contains("--no-tls"),
        "{err}"
    );
    let (code, err) = home.say(d.addr.port(), &["--no-tls", "-n", "bia"], "told so");
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = home.say(d.addr.port(), &["--tls", "-n", "bia"], "x");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("answered in plain text"), "{err}");
}

#[test]
fn listen_mode_over_tls_and_the_environment_variable() {
    let home = Home::new("chatc-listen-tls");
    let d = Launch::new().tls().start();
    let data = home.data();
    let mut l = Chatc::start(
        tls_port(&d),
        &["-n", "logger", "--listen"],
        &[("XDG_DATA_HOME", &data), ("CHATC_TLS", "yes")],
    );
    l.out.expect(" WELCOME logger ");
    let mut ana = d.join_settled("ana");
    ana.send("seen through TLS");
    assert!(l
        .out
        .expect(" MSG <ana>")
        .ends_with("MSG <ana> seen through TLS"));
}
