//! The real `chatd` over TLS with real outside clients: `openssl s_client` and `socat
//! OPENSSL:` join and chat with plain-text clients, a password crosses TLS, the certificate is
//! made once and kept, `chatd --fingerprint` prints what clients see, operator certificates are
//! checked at start and on SIGHUP, `--plain refuse` and systemd's named sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use chat_core::fingerprint::Fingerprint;
use chat_testkit::{
    chatd_bin, chatd_command, clean_env, msg_from, run_to_exit, Chatd, Client, Launch, Lines,
    Reaper, TempDir,
};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::Signal;

/// An outside program talking to chatd through its stdin and stdout, killed when dropped.
struct Tool {
    child: Child,
    stdin: ChildStdin,
    out: Lines,
}

impl Tool {
    fn start(program: &str, args: &[&str]) -> Tool {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
        let stdin = child.stdin.take().unwrap();
        let out = Lines::spawn(child.stdout.take().unwrap());
        Tool { child, stdin, out }
    }

    fn send(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s_client(d: &Chatd) -> Tool {
    let addr = d.tls_addr.unwrap().to_string();
    Tool::start(
        "openssl",
        &["s_client", "-connect", &addr, "-quiet", "-verify_quiet"],
    )
}

/// Return the fingerprint chatd logged at start.
fn logged_fingerprint(d: &Chatd) -> Fingerprint {
    let line = d.wait_log("tls-certificate fingerprint=");
    let fp = line
        .split("fingerprint=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    Fingerprint::parse(fp).unwrap()
}

#[test]
fn openssl_s_client_and_a_plain_client_chat_together() {
    let d = Launch::new().tls().start();
    let mut plain = d.join_settled("plain");
    let mut ossl = s_client(&d);
    ossl.out.expect("HELLO chatd/1");
    ossl.out.expect("ASK NAME");
    ossl.send("ossl");
    ossl.out.expect("WELCOME ");
    plain.expect("JOIN ");
    ossl.send("olá from openssl");
    let l = plain.expect("MSG ");
    assert_eq!(msg_from(&l, "ossl"), Some("olá from openssl"), "{l}");
    plain.send("hello back in plain text");
    let l = ossl.out.expect("MSG ");
    assert!(l.ends_with(" plain hello back in plain text"), "{l}");
    ossl.send("/msg plain only for you");
    let l = plain.expect("PRIV ");
    assert!(l.ends_with(" ossl plain only for you"), "{l}");
    ossl.send("/quit bye");
    ossl.out.expect("BYE quit");
    plain.expect("LEAVE ");
}

#[test]
fn socat_joins_with_a_password_over_tls_and_chats_with_a_tls_client() {
    let d = Launch::new().tls().password("sesame").start();
    let addr = d.tls_addr.unwrap();
    let target = format!("OPENSSL:{addr},verify=0");
    let mut socat = Tool::start("socat", &["-", &target]);
    socat.out.expect("ASK PASSWORD");
    socat.send("wrong");
    socat.out.expect("BYE password");
    drop(socat);
    d.wait_log("auth-failure peer=127.0.0.1:");

    let mut socat = Tool::start("socat", &["-", &target]);
    socat.out.expect("ASK PASSWORD");
    socat.send("sesame");
    socat.out.expect("ASK NAME");
    socat.send("socat");
    socat.out.expect("WELCOME ");

    let mut tls = Client::connect_tls(addr);
    tls.expect("ASK PASSWORD");
    tls.send("sesame");
    tls.join_settled("rustls");
    socat.out.expect("JOIN ");
    socat.send("through socat");
    let l = tls.expect("MSG ");
    assert_eq!(msg_from(&l, "socat"), Some("through socat"), "{l}");
    tls.send("through rustls");
    let l = socat.out.expect("MSG ");
    assert!(l.ends_with(" rustls through rustls"), "{l}");
    assert!(
        !d.log().contains("sesame"),
        "the password never reaches the log"
    );
}

#[test]
fn the_certificate_is_made_once_kept_and_printed_by_chatd_fingerprint() {
    let state = TempDir::new("tls-keep");
    let mut d = Launch::new().tls().state_dir(state.path()).start();
    let logged = logged_fingerprint(&d);
    assert!(d.log().contains("made=now"), "{}", d.log());
    let c = Client::connect_tls(d.tls_addr.unwrap());
    assert_eq!(c.tls_fingerprint(), Some(logged));
    let file = state.join("tls.pem");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is for chatd alone");
    drop(c);
    d.terminate();

    // `chatd --fingerprint` prints it; openssl computes the same from the file.
    let out = Command::new(chatd_bin())
        .args(["--fingerprint", "--state-dir"])
        .arg(state.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.trim(), logged.to_string());
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&file)
        .output()
        .unwrap();
    let ossl = String::from_utf8(out.stdout).unwrap();
    let ossl = ossl.split('=').nth(1).unwrap().trim();
    assert_eq!(Fingerprint::parse(ossl).unwrap(), logged);

    // A restart (or an upgrade) keeps it.
    let d = Launch::new().tls().state_dir(state.path()).start();
    assert_eq!(logged_fingerprint(&d), logged);
    assert!(!d.log().contains("made=now"));
    let c = Client::connect_tls(d.tls_addr.unwrap());
    assert_eq!(c.tls_fingerprint(), Some(logged));
}

#[test]
fn a_state_dir_that_does_not_exist_yet_is_made_private_and_keeps_the_certificate() {
    // As in the README: `chatd --state-dir ./state` on a first start.
    let parent = TempDir::new("tls-fresh");
    let state = parent.join("state");
    let mut d = Launch::new().tls().state_dir(&state).start();
    let logged = logged_fingerprint(&d);
    assert!(
        !d.log().contains("not-kept") && d.log().contains("made=now"),
        "{}",
        d.log()
    );
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the state directory is chatd's alone");
    assert!(state.join("tls.pem").is_file());
    d.terminate();

    let mut cmd = Command::new(chatd_bin());
    cmd.args(["--fingerprint", "--state-dir"]).arg(&state);
    clean_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        logged.to_string()
    );
    let d = Launch::new().tls().state_dir(&state).start();
    assert_eq!(logged_fingerprint(&d), logged, "a restart keeps it");
    assert!(!d.log().contains("made=now"), "{}", d.log());
}

#[test]
fn chatd_fingerprint_without_a_certificate_says_so_and_makes_none() {
    let state = TempDir::new("tls-none");
    let mut cmd = Command::new(chatd_bin());
    cmd.args(["--fingerprint", "--state-dir"]).arg(state.path());
    clean_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("tls.pem") && err.contains("first start"),
        "{err}"
    );
    assert!(!state.join("tls.pem").exists());
}

/// Make a self-signed P-256 certificate and key with openssl in `dir`, named `tag`.
fn openssl_pair(dir: &Path, tag: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        dir.join(format!("{tag}.crt")),
        dir.join(format!("{tag}.key")),
    );
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
        ])
        .arg(format!("/CN={tag}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}

/// Run chatd with `args` and TLS on; return its exit code and stderr (it must exit).
fn start_and_fail(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    run_to_exit(
        chatd_command(dir)
            .args(["--tls-listen", "127.0.0.1:0"])
            .args(args),
    )
}

#[test]
fn operator_certificates_are_checked_at_start_and_reloaded_on_sighup() {
    let dir = TempDir::new("tls-operator");
    let (cert_a, key_a) = openssl_pair(dir.path(), "a");
    let (cert_b, key_b) = openssl_pair(dir.path(), "b");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let fp = |cert: &Path| {
        let pem = std::fs::read_to_string(cert).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        chat_testkit::fingerprint(&base64_decode(&b64))
    };

    // Refused at start, in one line naming the file: a key others can read, a key of
    // another certificate, a missing file.
    std::fs::set_permissions(&key_a, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = start_and_fail(
        &["--tls-cert", &s(&cert_a), "--tls-key", &s(&key_a)],
        dir.path(),
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("a.key") && err.contains("0644"), "{err}");
    std::fs::set_permissions(&key_a, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, err) = start_and_fail(
        &["--tls-cert", &s(&cert_a), "--tls-key", &s(&key_b)],
        dir.path(),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("b.key") && err.contains("a.crt"), "{err}");
    let (code, err) = start_and_fail(
        &[
            "--tls-cert",
            &s(&dir.join("nope.crt")),
            "--tls-key",
            &s(&key_a),
        ],
        dir.path(),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("nope.crt") && err.lines().count() == 1,
        "{err}"
    );

    // Served, then replaced on SIGHUP; a bad new pair keeps the old one.
    let live_cert = dir.join("live.crt");
    let live_key = dir.join("live.key");
    std::fs::copy(&cert_a, &live_cert).unwrap();
    std::fs::copy(&key_a, &live_key).unwrap();
    let d = Launch::new()
        .tls()
        .args(&["--tls-cert", &s(&live_cert), "--tls-key", &s(&live_key)])
        .start();
    assert_eq!(logged_fingerprint(&d), fp(&cert_a));
    let mut old = Client::connect_tls(d.tls_addr.unwrap());
    assert_eq!(old.tls_fingerprint(), Some(fp(&cert_a)));
    old.join_settled("old");

    std::fs::copy(&cert_b, &live_cert).unwrap(); // key still a's: a mismatched pair
    d.signal(Signal::SIGHUP);
    let warn = d.wait_log("tls-reload-failed");
    assert!(
        warn.contains("live.key") && warn.contains("keeping the old"),
        "{warn}"
    );
    let c = Client::connect_tls(d.tls_addr.unwrap());
    assert_eq!(c.tls_fingerprint(), Some(fp(&cert_a)), "the old pair stays");
    drop(c);

    std::fs::copy(&key_b, &live_key).unwrap();
    d.signal(Signal::SIGHUP);
    let line = d.wait_log("tls-reloaded");
    assert!(line.contains(&fp(&cert_b).to_string()), "{line}");
    let mut new = Client::connect_tls(d.tls_addr.unwrap());
    assert_eq!(new.tls_fingerprint(), Some(fp(&cert_b)));
    new.join_settled("new");
    old.expect("JOIN ");
    new.send("the old connection keeps its session");
    let l = old.expect("MSG ");
    assert_eq!(
        msg_from(&l, "new"),
        Some("the old connection keeps its session")
    );
}

/// Decode standard base64 (enough for PEM bodies in a test).
fn base64_decode(text: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        acc = (acc << 6) | val(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn plain_refuse_turns_plain_clients_away_naming_the_tls_port() {
    let d = Launch::new().tls().args(&["--plain", "refuse"]).start();
    let port = d.tls_addr.unwrap().port();
    let mut plain = Client::connect(d.addr);
    let lines = plain.read_to_close();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("BYE tls ") && lines[0].contains(&format!("-p {port}")),
        "{lines:?}"
    );
    d.wait_log("refused peer=127.0.0.1:");
    let mut tls = Client::connect_tls(d.tls_addr.unwrap());
    tls.join_settled("safe");
}

#[test]
fn a_systemd_socket_named_tls_is_a_tls_listener() {
    let dir = TempDir::new("tls-systemd");
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls = TcpListener::bind("127.0.0.1:0").unwrap();
    let (plain_addr, tls_addr) = (plain.local_addr().unwrap(), tls.local_addr().unwrap());
    for l in [&plain, &tls] {
        fcntl(l, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
    }
    let script = format!(
        "exec 3<&{p} 4<&{t}; export LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=chatd.socket:tls; \
         exec \"$0\" --state-dir \"$1\"",
        p = plain.as_raw_fd(),
        t = tls.as_raw_fd()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&script).arg(chatd_bin()).arg(dir.path());
    clean_env(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = Lines::spawn(child.stderr.take().unwrap());
    drop((plain, tls));
    let _child = Reaper(child);
    let l = log.expect(&format!("listening addr={plain_addr} "));
    assert!(l.ends_with("protocol=native tls=no"), "{l}");
    let l = log.expect(&format!("listening addr={tls_addr} "));
    assert!(l.ends_with("protocol=native tls=yes"), "{l}");
    let mut a = Client::connect(plain_addr);
    a.join_settled("plain");
    let mut b = Client::connect_tls(tls_addr);
    b.join_settled("tls");
    b.send("passed by systemd");
    let l = a.expect("MSG ");
    assert_eq!(msg_from(&l, "tls"), Some("passed by systemd"));
}

#[test]
fn irc_clients_chat_over_tls_on_their_own_port_with_natives() {
    let d = Launch::new().irc().irc_tls().tls().start();
    let irc_tls = d.irc_tls_addr.unwrap();
    let mut native = Client::connect_tls(d.tls_addr.unwrap());
    native.join_settled("native");
    let mut irc = chat_testkit::IrcClient::connect_tls(irc_tls);
    irc.register("ircuser");
    native.expect("JOIN ");
    irc.send("PRIVMSG #chat :olá over IRC and TLS");
    let l = native.expect("MSG ");
    assert_eq!(msg_from(&l, "ircuser"), Some("olá over IRC and TLS"), "{l}");
    native.send("and back");
    let l = irc.expect("PRIVMSG");
    assert!(l.ends_with(":and back"), "{l}");

    // A real IRC-over-TLS client, by hand: openssl speaking IRC.
    let mut ossl = Tool::start(
        "openssl",
        &[
            "s_client",
            "-connect",
            &irc_tls.to_string(),
            "-quiet",
            "-verify_quiet",
            "-crlf",
        ],
    );
    ossl.send("NICK osslirc");
    ossl.send("USER osslirc 0 * :osslirc");
    ossl.out.expect(" 001 osslirc ");
    ossl.out.expect(" 366 osslirc ");
    native.expect("JOIN ");

    // Plain text on the IRC TLS port gets IRC's words for it, naming the plain IRC port.
    let mut plain = Client::connect(irc_tls);
    plain.send_raw(b"NICK lost\r\n");
    assert!(plain.closes(), "plain text on the IRC TLS port is closed");
    let text = String::from_utf8_lossy(plain.received());
    let irc_port = d.irc_addr.unwrap().port();
    assert!(
        text.starts_with("ERROR :Closing link: This port speaks TLS")
            && text.contains(&format!("port {irc_port}")),
        "{text:?}"
    );
}
