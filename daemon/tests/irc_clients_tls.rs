//! irssi and WeeChat over TLS, on chatd's IRC TLS port, with the README's commands: chatd's
//! certificate is self-signed, so a client that verifies it the usual way refuses it, one
//! pinned to another fingerprint refuses it before the password is sent, and one pinned to
//! what `chatd --fingerprint` prints joins and chats with a native user.
#![allow(clippy::unwrap_used)]

mod irc_programs;

use std::process::Command;

use chat_testkit::{chatd_bin, clean_env, Chatd, Launch};
use irc_programs::irssi::Irssi;
use irc_programs::weechat::WeeChat;

/// Start chatd with an IRC TLS listener and a password.
fn chatd() -> Chatd {
    Launch::new()
        .irc()
        .irc_tls()
        .password("sesame")
        .args(&["--flood", "off"])
        .start()
}

/// Return the fingerprint as the README says to learn it, `chatd --fingerprint --state-dir
/// DIR`: `SHA256:AB:CD:…`.
fn printed_fingerprint(d: &Chatd) -> String {
    let mut cmd = Command::new(chatd_bin());
    cmd.args(["--fingerprint", "--state-dir"]).arg(&d.state_dir);
    clean_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let fp = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(fp.starts_with("SHA256:"), "{fp}");
    fp
}

/// Return `fp` with its last hex digit changed: a certificate that is not chatd's.
fn other(fp: &str) -> String {
    let mut s = fp.to_string();
    let last = s.pop().unwrap();
    s.push(if last == '0' { '1' } else { '0' });
    s
}

#[test]
fn irssi_over_tls_refuses_the_self_signed_certificate_unless_pinned_to_it() {
    let d = chatd();
    let mut joao = d.join_settled("João");
    let tls = d.irc_tls_addr.unwrap();
    // irssi's pin is the fingerprint in chatd's form, without `SHA256:`.
    let fp = printed_fingerprint(&d);
    let pin = fp.strip_prefix("SHA256:").unwrap();
    let irssi = Irssi::start("irssi-tls", "ana");
    let connect = |options: &str| {
        irssi.type_line(&format!(
            "/connect -tls {options}{} {} sesame",
            tls.ip(),
            tls.port()
        ));
    };
    // Verification the usual way: no authority vouches for the certificate.
    connect("-tls_verify ");
    irssi.wait_line("Could not verify TLS servers certificate: self-signed certificate");
    // Pinned to another certificate: refused before the password is sent.
    connect(&format!("-tls_pinned_cert {} ", other(pin)));
    irssi.wait_line("Pinned certificate mismatch");
    // The README's command.
    connect(&format!("-tls_pinned_cert {pin} "));
    assert!(joao.expect("JOIN ").ends_with(" ana"));
    irssi.window("#chat");
    joao.send("agora cifrado");
    irssi.wait_line("< João> agora cifrado");
    irssi.type_line("por aqui também");
    assert!(joao.expect("MSG ").ends_with(" ana por aqui também"));
    assert!(
        !d.log().contains("auth-failure"),
        "a refused certificate got no password: {}",
        d.log()
    );
}

#[test]
fn weechat_over_tls_refuses_the_self_signed_certificate_unless_pinned_to_it() {
    let d = chatd();
    let mut zoe = d.join_settled("Zoë");
    let tls = d.irc_tls_addr.unwrap();
    // WeeChat's pin is lowercase hex without colons (what the mDNS TXT record's `tlsfp` holds
    // after `sha256:`); its options are `-tls…` since WeeChat 4, `-ssl…` before.
    let hex = printed_fingerprint(&d)
        .strip_prefix("SHA256:")
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    let tls_opt = WeeChat::tls_word();

    // WeeChat verifies by default: no authority vouches for the certificate.
    let wee = WeeChat::connect_with(tls, "wee", &format!("-{tls_opt} -password=sesame"));
    wee.wait_log("server", "peer's certificate is NOT trusted");
    wee.wait_log("server", "TLS handshake failed");
    drop(wee);
    // Pinned to another certificate.
    let wee = WeeChat::connect_with(
        tls,
        "wee",
        &format!(
            "-{tls_opt} -{tls_opt}_fingerprint={} -password=sesame",
            other(&hex)
        ),
    );
    wee.wait_log("server", "certificate fingerprint does NOT match");
    drop(wee);
    // The README's command.
    let wee = WeeChat::connect_with(
        tls,
        "wee",
        &format!("-{tls_opt} -{tls_opt}_fingerprint={hex} -password=sesame"),
    );
    wee.wait_log("server", "certificate fingerprint matches");
    assert!(zoe.expect("JOIN ").ends_with(" wee"));
    zoe.send("agora cifrado");
    wee.wait_log("#chat", "\tZoë\tagora cifrado");
    wee.input("irc.chatd.#chat", "oi, Zoë");
    assert!(zoe.expect("MSG ").ends_with(" wee oi, Zoë"));
    assert!(
        !d.log().contains("auth-failure"),
        "a refused certificate got no password: {}",
        d.log()
    );
}
