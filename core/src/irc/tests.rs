//! The IRC wire layer against what real clients and a real server sent, and under random input.
//!
//! `fixtures/*.log` are captures of irssi 1.4, WeeChat 3.8, ii 1.8 and python3-irc 8.5 talking
//! to ngircd 26 (one line per message: time, connection, `C>` client or `S>` server, the line).

use super::*;
use proptest::prelude::*;
use std::string::String;
use std::vec::Vec;

const TRACES: &[(&str, &str)] = &[
    ("ii", include_str!("fixtures/ii.log")),
    ("irssi", include_str!("fixtures/irssi.log")),
    ("python3-irc", include_str!("fixtures/python3-irc.log")),
    ("weechat", include_str!("fixtures/weechat.log")),
];

/// The lines of one direction (`"C>"` or `"S>"`) in every trace, connection closes left out.
fn trace_lines(dir: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    TRACES.iter().flat_map(move |&(client, log)| {
        log.lines().filter_map(move |l| {
            let (_, rest) = l.split_once(dir)?;
            let line = rest.strip_prefix(' ')?;
            (line != "<closed>").then_some((client, line))
        })
    })
}

/// Every line a client sent in the traces, and what it means: command, parameters, and whether
/// the last one was written after a `:`.
const CLIENT_LINES: &[(&str, &str, &[&str], bool)] = &[
    // ii
    ("NICK ii836", "NICK", &["ii836"], false),
    (
        "USER ii836 localhost 127.0.0.1 :irc_check ii",
        "USER",
        &["ii836", "localhost", "127.0.0.1", "irc_check ii"],
        true,
    ),
    ("JOIN #chat", "JOIN", &["#chat"], false),
    (
        "PRIVMSG #chat :hi from ii 836",
        "PRIVMSG",
        &["#chat", "hi from ii 836"],
        true,
    ),
    ("QUIT :ii bye 836", "QUIT", &["ii bye 836"], true),
    // irssi: CAP LS, then an empty JOIN before registering.
    ("CAP LS 302", "CAP", &["LS", "302"], false),
    ("JOIN :", "JOIN", &[""], true),
    (
        "CAP REQ :multi-prefix",
        "CAP",
        &["REQ", "multi-prefix"],
        true,
    ),
    ("CAP END", "CAP", &["END"], false),
    ("NICK ana836", "NICK", &["ana836"], false),
    (
        "USER root root 127.0.0.1 :root",
        "USER",
        &["root", "root", "127.0.0.1", "root"],
        true,
    ),
    ("MODE ana836 +i", "MODE", &["ana836", "+i"], false),
    (
        "PRIVMSG #chat :hi from irssi 836",
        "PRIVMSG",
        &["#chat", "hi from irssi 836"],
        true,
    ),
    (
        "PRIVMSG obsi836 :private from irssi 836",
        "PRIVMSG",
        &["obsi836", "private from irssi 836"],
        true,
    ),
    ("QUIT :irssi bye 836", "QUIT", &["irssi bye 836"], true),
    // python3-irc
    ("NICK bot836", "NICK", &["bot836"], false),
    (
        "USER bot836 0 * :irc_check bot",
        "USER",
        &["bot836", "0", "*", "irc_check bot"],
        true,
    ),
    (
        "PRIVMSG #chat :hi from bot 836",
        "PRIVMSG",
        &["#chat", "hi from bot 836"],
        true,
    ),
    (
        "PRIVMSG obsb836 :private from bot 836",
        "PRIVMSG",
        &["obsb836", "private from bot 836"],
        true,
    ),
    ("QUIT :bot bye 836", "QUIT", &["bot bye 836"], true),
    (
        "QUIT :Connection reset by peer",
        "QUIT",
        &["Connection reset by peer"],
        true,
    ),
    // weechat: NICK and USER before CAP END.
    ("NICK wee836", "NICK", &["wee836"], false),
    (
        "USER wee836 0 * :irc_check",
        "USER",
        &["wee836", "0", "*", "irc_check"],
        true,
    ),
    (
        "PRIVMSG #chat :hi from weechat 836",
        "PRIVMSG",
        &["#chat", "hi from weechat 836"],
        true,
    ),
    (
        "PRIVMSG obsw836 :private from weechat 836",
        "PRIVMSG",
        &["obsw836", "private from weechat 836"],
        true,
    ),
    ("QUIT :weechat bye 836", "QUIT", &["weechat bye 836"], true),
];

/// Client habits the issue names that the short captures do not show.
const CLIENT_QUIRKS: &[(&str, &str, &[&str])] = &[
    // irssi and WeeChat ping without a colon.
    ("PING LAG1733061234", "PING", &["LAG1733061234"]),
    ("PING irc.example.test", "PING", &["irc.example.test"]),
    ("PONG :irc.example.test", "PONG", &["irc.example.test"]),
    ("USER bot 0 * :real", "USER", &["bot", "0", "*", "real"]),
    (
        "privmsg  #chat   :two  spaces ",
        "privmsg",
        &["#chat", "two  spaces "],
    ),
    ("MODE   #chat   ", "MODE", &["#chat"]),
    (
        "PRIVMSG #chat :\x01ACTION waves\x01",
        "PRIVMSG",
        &["#chat", "\x01ACTION waves\x01"],
    ),
    ("PASS :secret with spaces", "PASS", &["secret with spaces"]),
    (
        "CAP REQ :server-time multi-prefix",
        "CAP",
        &["REQ", "server-time multi-prefix"],
    ),
    ("WHO #chat", "WHO", &["#chat"]),
    ("AWAY", "AWAY", &[]),
];

fn emitted(m: &Message<'_>) -> Result<String, EmitError> {
    let mut s = String::new();
    m.emit(&mut s).map(|_| s)
}

#[test]
fn every_client_line_of_the_traces_is_known() {
    let mut seen = 0;
    for (client, line) in trace_lines("C>") {
        assert!(
            CLIENT_LINES.iter().any(|&(l, ..)| l == line),
            "{client} sent {line:?}, which CLIENT_LINES does not list"
        );
        seen += 1;
    }
    assert_eq!(seen, 32, "client lines in the traces");
}

#[test]
fn client_lines_parse_to_what_they_mean_and_write_back_unchanged() {
    for &(line, command, params, trailing) in CLIENT_LINES {
        let m = Message::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(m.command().is(command), "{line:?}");
        assert_eq!(m.command(), Command::Word(command), "{line:?}");
        assert_eq!(m.params(), params, "{line:?}");
        assert_eq!(m.last_is_trailing(), trailing, "{line:?}");
        assert_eq!((m.source(), m.raw_tags()), (None, None), "{line:?}");
        assert_eq!(emitted(&m), Ok(std::format!("{line}\r\n")), "{line:?}");
    }
    for &(line, command, params) in CLIENT_QUIRKS {
        let m = Message::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(m.command(), Command::Word(command), "{line:?}");
        assert_eq!(m.params(), params, "{line:?}");
    }
}

#[test]
fn irssis_empty_join_is_one_empty_param() {
    // irssi waits for CAP LS or a 451 answering this; the server must see a JOIN.
    let m = Message::parse(b"JOIN :");
    assert_eq!(
        m.map(|m| (m.command().is("JOIN"), m.param(0))),
        Ok((true, Some("")))
    );
}

#[test]
fn every_server_line_of_the_traces_writes_back_byte_identically() {
    let mut seen = 0;
    for (client, line) in trace_lines("S>") {
        let m =
            Message::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{client}: {line:?}: {e}"));
        assert_eq!(emitted(&m), Ok(std::format!("{line}\r\n")), "{client}");
        seen += 1;
    }
    assert_eq!(seen, 100, "server lines in the traces");
}

#[test]
fn server_lines_of_the_traces_mean_what_clients_wait_for() {
    for (client, line) in trace_lines("S>") {
        let Ok(m) = Message::parse(line.as_bytes()) else {
            panic!("{client}: {line:?}");
        };
        let server = m.source().filter(|s| s.user.is_none()).map(|s| s.name);
        if let Some(n) = m.command().numeric() {
            // Every numeric comes from the server, addressed to the client first.
            assert_eq!(server, Some("irc.example.test"), "{line:?}");
            let target = m.param(0).unwrap_or("");
            assert!(target == "*" || target.ends_with("836"), "{line:?}");
            if n == numeric::RPL_NAMREPLY {
                assert_eq!(&m.params()[1..3], ["=", "#chat"]);
                assert!(m.last_is_trailing());
            }
        }
        if m.command().is("JOIN") {
            // ngircd writes the channel of a JOIN echo after a colon.
            assert_eq!((m.params(), m.last_is_trailing()), (&["#chat"][..], true));
            assert!(m.source().and_then(|s| s.host).is_some(), "{line:?}");
        }
    }
    let names: Vec<Option<&str>> = trace_lines("S>")
        .filter_map(|(_, l)| Message::parse(l.as_bytes()).ok()?.command().numeric())
        .map(Numeric::name)
        .collect();
    for wanted in [
        "RPL_WELCOME",
        "RPL_ISUPPORT",
        "RPL_TOPIC",
        "RPL_NAMREPLY",
        "RPL_ENDOFNAMES",
    ] {
        assert!(names.contains(&Some(wanted)), "{wanted}");
    }
    // 250, 265 and 266 are ngircd's extras, not in chatd's list.
    assert!(names.contains(&None));
}

#[test]
fn a_long_native_message_reaches_irc_whole() {
    let text: String = "Zoë und João: ".repeat(70);
    let text = &text[..1023 - (1023 % 2)];
    assert!(text.len() <= 1023);
    let fixed = Message::new("PRIVMSG")
        .with_source(Source::user("joão", "~joão", "192.168.1.20"))
        .with_param("#chat");
    let budget = fixed.text_budget().unwrap_or(0);
    let mut joined = String::new();
    let mut lines = 0;
    for piece in SplitText::new(text, budget).unwrap_or_else(|e| panic!("{e}")) {
        let line = emitted(&fixed.with_trailing(piece)).unwrap_or_else(|e| panic!("{e}"));
        assert!(line.len() <= MAX_IRC_LINE, "{}", line.len());
        let back = Message::parse(line.trim_end_matches("\r\n").as_bytes());
        joined.push_str(back.ok().and_then(|m| m.param(1)).unwrap_or(""));
        lines += 1;
    }
    assert_eq!(joined, text);
    assert_eq!(lines, 3);
}

#[test]
fn an_action_from_irc_becomes_plain_native_text() {
    let Ok(m) = Message::parse(b"PRIVMSG #chat :\x01ACTION waves \x02hello\x02 \x0304red\x01")
    else {
        panic!("parse");
    };
    let Some(Ctcp::Action(text)) = m.param(1).and_then(Ctcp::parse) else {
        panic!("not an action");
    };
    let mut plain: heapless::String<64> = heapless::String::new();
    assert_eq!(strip_formatting(text, &mut plain), Ok(()));
    assert_eq!(plain.as_str(), "waves hello red");
}

// ---------------------------------------------------------------- properties

/// Lines shaped like IRC, so that most of them parse and exercise every part of the grammar.
fn irc_like() -> impl Strategy<Value = String> {
    let tags = prop_oneof![
        4 => Just(String::new()),
        4 => "@(\\+?([a-z0-9-]{1,5}\\.)?[a-z0-9-]{1,5}/)?[a-z0-9-]{1,6}(=[^ ;\r\n\0]{0,6})?(;[a-z]{1,4}(=[a-z\\\\:]{0,4})?){0,3} +",
        1 => "@[a-z0-9+/.=;\\\\-]{0,12} +",
    ];
    let source = prop_oneof![
        2 => Just(String::new()),
        4 => ":[!-~\t\u{e9}]{1,16} +",
        1 => ": ",
    ];
    let command = prop_oneof![
        8 => "[A-Za-z]{1,8}",
        4 => "[0-9]{3}",
        1 => "[0-9A-Z_]{1,4}",
    ];
    let params = prop_oneof![
        8 => "( +[^ :\r\n\0][^ \r\n\0]{0,6}){0,14}( +:[^\r\n\0]{0,24})?",
        1 => "( +[^ \r\n\0]{1,3}){14,17}( +:[^\r\n\0]{0,4})?",
    ];
    let end = prop_oneof![12 => " *\r?", 1 => " *\r\r", 1 => " *\n"];
    (" {0,2}", tags, source, command, params, end)
        .prop_map(|(a, b, c, d, e, f)| [a, b, c, d, e, f].concat())
}

/// Text of up to `n` characters, from one to four bytes each, many of them spaces.
fn unicode_text(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec((0u8..8, any::<char>()), 0..n).prop_map(|v| {
        v.into_iter()
            .map(|(k, c)| match k {
                0..=2 => char::from(b'a' + (u32::from(c) % 26) as u8),
                3 => ' ',
                4 => 'é',
                5 => '日',
                6 => '🎉',
                _ => c,
            })
            .collect()
    })
}

/// IRC text with formatting codes, colours with and without their digits, and controls.
fn formatted_text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        4 => "[a-z ,0-9]{1,6}",
        2 => "[\x02\x0f\x11\x16\x1d\x1e\x1f\x01\x07\t\x7f\u{85}]",
        2 => "\x03[0-9]{0,3}(,[0-9]{0,3})?",
        2 => "\x04[0-9a-fA-FxX]{0,7}(,[0-9a-f]{0,7})?",
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(part, 0..30).prop_map(|v| v.concat())
}

/// What parse then emit must give: either the same message back, or a refusal for length.
fn check_round_trip(line: &[u8]) -> Result<(), TestCaseError> {
    let Ok(m) = Message::parse(line) else {
        return Ok(());
    };
    match emitted(&m) {
        Ok(out) => {
            prop_assert!(out.ends_with("\r\n"));
            let body = &out[..out.len() - 2];
            let again = Message::parse(body.as_bytes());
            prop_assert_eq!(again, Ok(m), "{:?} wrote back as {:?}", line, out);
            prop_assert_eq!(emitted(&m), Ok(out.clone()));
            prop_assert!(
                out.len() <= line.len() + 2,
                "only spaces and a \\r are dropped"
            );
        }
        Err(e) => {
            prop_assert_eq!(e, EmitError::TooLong, "{:?} parsed but did not emit", line);
            prop_assert!(m.body_len().unwrap_or(0) > MAX_IRC_LINE);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parse_never_panics_and_round_trips(line in prop::collection::vec(any::<u8>(), 0..1100)) {
        check_round_trip(&line)?;
    }

    #[test]
    fn irc_like_lines_round_trip(line in irc_like()) {
        check_round_trip(line.as_bytes())?;
    }

    #[test]
    fn built_lines_read_back_as_built(
        nick in "[a-zA-Z\u{e9}\u{65e5}]{1,9}",
        host in "[a-z0-9.:]{1,20}",
        middles in prop::collection::vec("[!-9;-~][!-~]{0,8}", 0..14),
        last in "[^\r\n\0]{0,40}",
        trailing in any::<bool>(),
        secs in proptest::option::of(0u64..4_102_444_800),
    ) {
        let mut m = Message::new("PRIVMSG").with_source(Source::user(&nick, "~u", &host));
        for p in &middles {
            m = m.with_param(p);
        }
        m = if trailing { m.with_trailing(&last) } else { m.with_param(&last) };
        if let Some(s) = secs {
            m = m.with_time(crate::time::Timestamp(s));
        }
        let out = emitted(&m);
        prop_assert!(out.is_ok(), "{:?}: {:?}", m, out);
        let out = out.unwrap_or_default();
        let back = Message::parse(out.trim_end_matches("\r\n").as_bytes());
        prop_assert!(back.is_ok());
        let back = back.unwrap_or(Message::new("X"));
        prop_assert_eq!(back.params(), m.params());
        prop_assert_eq!(back.source(), m.source());
        prop_assert_eq!(back.command(), m.command());
        prop_assert_eq!(back.tag("time").is_some(), secs.is_some());
    }

    #[test]
    fn split_loses_nothing_and_every_piece_fits(
        text in unicode_text(1100),
        budget in 4usize..600,
    ) {
        let pieces: Vec<&str> = SplitText::new(&text, budget)
            .map(Iterator::collect)
            .unwrap_or_default();
        prop_assert_eq!(pieces.concat(), text.clone());
        for p in &pieces {
            prop_assert!(!p.is_empty() && p.len() <= budget, "{:?} in {}", p, budget);
        }
        let (lo, hi) = SplitText::new(&text, budget).map(|s| s.size_hint()).unwrap_or((0, None));
        prop_assert!(lo <= pieces.len() && hi.is_some_and(|h| pieces.len() <= h));
    }

    #[test]
    fn stripped_text_is_plain_and_plain_text_is_untouched(text in formatted_text()) {
        let mut out = String::new();
        prop_assert_eq!(strip_formatting(&text, &mut out), Ok(()));
        prop_assert!(is_plain(&out));
        prop_assert!(out.len() <= text.len());
        if is_plain(&text) {
            prop_assert_eq!(&out, &text);
        }
        let _ = Ctcp::parse(&text);
    }
}
