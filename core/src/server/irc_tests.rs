//! Unit tests of the IRC side of the server, and of rooms mixing both protocols, driven on a
//! simulated clock with no sockets.

use super::test_steps::{open, peer, Steps, H};
use super::*;
use crate::testing::Sim;
use crate::time::Duration;
use std::format;
use std::string::String;
use std::vec::Vec;

/// Return a line's command or numeric.
fn cmd(line: &str) -> String {
    let m = crate::irc::Message::parse(line.as_bytes()).expect("an IRC line");
    match m.command() {
        crate::irc::Command::Word(w) => w.into(),
        crate::irc::Command::Numeric(n) => format!("{n}"),
    }
}

fn cmds(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| cmd(l)).collect()
}

#[test]
fn python3_irc_registers_with_nick_and_user_and_is_joined() {
    let mut h = H::new(open());
    let a = h.irc(1);
    h.line(a, "NICK bot");
    assert_eq!(h.lines(a), Vec::<String>::new(), "nothing before USER");
    h.line(a, "USER bot 0 * :real bot");
    let got = h.lines(a);
    std::println!("{got:#?}");
    assert_eq!(
        cmds(&got),
        ["001", "002", "003", "004", "005", "422", "JOIN", "331", "353", "366"]
    );
}

#[test]
fn irssi_gets_cap_ls_and_451_for_its_early_join_then_registers_after_cap_end() {
    let mut h = H::new(open());
    let a = h.irc(1);
    h.line(a, "CAP LS 302");
    h.line(a, "JOIN :");
    assert_eq!(
        h.lines(a),
        [
            ":chatd CAP * LS :multi-prefix server-time",
            ":chatd 451 * :You have not registered"
        ]
    );
    h.line(a, "CAP REQ :multi-prefix");
    assert_eq!(h.lines(a), [":chatd CAP * ACK :multi-prefix"]);
    h.line(a, "CAP END");
    h.line(a, "NICK ana836");
    h.line(a, "USER root root 127.0.0.1 :root");
    let got = h.lines(a);
    assert_eq!(
        got[0],
        ":chatd 001 ana836 :Welcome to the chatd chat, ana836"
    );
    assert!(
        got.contains(&":ana836!~root@irc JOIN :#chat".into()),
        "{got:?}"
    );
    // irssi's own JOIN #chat after registration is harmless; any other channel is not.
    h.line(a, "JOIN #chat");
    assert_eq!(h.lines(a), Vec::<String>::new());
    h.line(a, "JOIN #other");
    assert_eq!(
        h.lines(a),
        [":chatd 403 ana836 #other :No such channel; this server has only #chat"]
    );
}

#[test]
fn weechat_registers_only_at_cap_end() {
    let mut h = H::new(open());
    let a = h.irc(1);
    h.line(a, "CAP LS 302");
    h.line(a, "NICK wee");
    h.line(a, "USER wee 0 * :irc_check");
    assert_eq!(cmds(&h.lines(a)), ["CAP"], "registration waits for CAP END");
    h.line(a, "CAP REQ :multi-prefix server-time");
    assert_eq!(h.lines(a), [":chatd CAP * ACK :multi-prefix server-time"]);
    h.line(a, "CAP REQ :sasl");
    assert_eq!(h.lines(a), [":chatd CAP * NAK :sasl"]);
    h.line(a, "CAP END");
    let got = h.lines(a);
    assert_eq!(
        got[0].split(' ').nth(2),
        Some("wee"),
        "001 names the nick: {got:?}"
    );
    h.line(a, "CAP LIST");
    assert_eq!(h.lines(a), [":chatd CAP wee LIST :server-time"]);
    h.line(a, "CAP FROB");
    assert_eq!(h.lines(a), [":chatd 410 wee FROB :Invalid CAP command"]);
}

#[test]
fn commands_before_registration_get_451_and_ping_is_answered() {
    let mut h = H::new(open());
    let a = h.irc(1);
    for l in ["PRIVMSG #chat :hi", "WHO #chat", "MODE x +i"] {
        h.line(a, l);
        assert_eq!(h.lines(a), [":chatd 451 * :You have not registered"], "{l}");
    }
    h.line(a, "PING 12345");
    assert_eq!(h.lines(a), [":chatd PONG chatd :12345"]);
    h.line(a, "USER x");
    assert_eq!(h.lines(a), [":chatd 461 * USER :Not enough parameters"]);
    h.line(a, "NICK");
    assert_eq!(h.lines(a), [":chatd 431 * :No nickname given"]);
    h.line(a, "QUIT :bye");
    assert_eq!(h.lines(a), ["ERROR :Closing link: Quit"]);
    assert_eq!(h.server.phase(a), Phase::Closing);
}

#[test]
fn taken_and_erroneous_nicks_get_433_and_432_and_another_nick_works() {
    let mut h = H::new(open());
    h.join(1, "Ana");
    let b = h.irc(2);
    h.line(b, "NICK ANA");
    assert_eq!(h.lines(b), [":chatd 433 * ANA :Nickname is already in use"]);
    h.line(b, "NICK #bad");
    let got = h.lines(b);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with(":chatd 432 * #bad :Erroneous nickname: "),
        "{got:?}"
    );
    h.line(b, "USER b 0 * :b");
    assert_eq!(h.lines(b), Vec::<String>::new(), "no nick yet");
    h.line(b, "NICK bia");
    assert!(h.lines(b)[0].starts_with(":chatd 001 bia "));
    // Someone takes a pending nick before its owner registers: 433 at registration.
    let c = h.irc(3);
    h.line(c, "CAP LS");
    h.line(c, "NICK carla");
    h.line(c, "USER c 0 * :c");
    h.lines(c);
    h.register(4, "Carla");
    h.line(c, "CAP END");
    assert_eq!(
        h.lines(c),
        [":chatd 433 * carla :Nickname is already in use"]
    );
    h.line(c, "NICK carla2");
    assert!(h.lines(c)[0].starts_with(":chatd 001 carla2 "));
}

#[test]
fn a_password_is_checked_once_per_pass_and_shares_the_native_throttle() {
    let mut c = open();
    c.set_password(b"sesame").unwrap();
    let mut h = H::new(c);
    // Right.
    let a = h.irc(1);
    h.line(a, "PASS sesame");
    h.line(a, "NICK ana");
    h.line(a, "USER a 0 * :a");
    assert!(h.lines(a)[0].starts_with(":chatd 001 ana "));
    // Wrong: 464 and ERROR at once.
    let b = h.irc(2);
    h.line(b, "PASS guess");
    assert_eq!(
        h.lines(b),
        [
            ":chatd 464 * :Password incorrect",
            "ERROR :Closing link: Password incorrect"
        ]
    );
    assert!(h.ended(b));
    // Missing: 464 once NICK and USER are in; a wrong guess too.
    let b2 = h.irc(2);
    h.line(b2, "NICK bob");
    h.line(b2, "USER b 0 * :b");
    assert_eq!(cmds(&h.lines(b2)), ["464", "ERROR"]);
    // A third wrong guess from the same address, in the native protocol: then it is refused.
    let n = h.connect(2);
    h.line(n, "nope");
    assert!(h.ended(n) || h.lines(n).iter().any(|l| l.starts_with("BYE password")));
    let b3 = h.irc(2);
    assert_eq!(
        h.lines(b3),
        [
            ":chatd 465 * :Too many wrong passwords from your address; wait and try again.",
            "ERROR :Closing link: Too many wrong passwords from your address; wait and try again."
        ]
    );
    // Other addresses are not affected.
    let d = h.irc(3);
    h.line(d, "PASS sesame");
    h.line(d, "NICK dora");
    h.line(d, "USER d 0 * :d");
    assert!(h.lines(d)[0].starts_with(":chatd 001 dora "));
}

#[test]
fn public_messages_actions_and_notices_cross_both_ways() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    assert_eq!(h.lines(ana), ["JOIN 2026-11-29T14:13:05Z bob"]);
    h.line(ana, "Oi bob");
    h.line(ana, "/me acena");
    assert_eq!(
        h.lines(bob),
        [
            ":Ana!native@chatd PRIVMSG #chat :Oi bob",
            ":Ana!native@chatd PRIVMSG #chat :\u{1}ACTION acena\u{1}"
        ]
    );
    h.line(bob, "PRIVMSG #chat :oi \u{2}Ana\u{2}, \u{3}4tudo\u{3} bem?");
    h.line(bob, "PRIVMSG #CHAT :\u{1}ACTION dança\u{1}");
    h.line(bob, "NOTICE #chat :sou um bot");
    assert_eq!(
        h.lines(ana),
        [
            "MSG 2026-11-29T14:13:05Z bob oi Ana, tudo bem?",
            "ME 2026-11-29T14:13:05Z bob dança",
            "MSG 2026-11-29T14:13:05Z bob sou um bot"
        ]
    );
    assert_eq!(h.lines(bob), Vec::<String>::new(), "no echo to the sender");
    // A second IRC client sees the IRC sender's lines, formatting stripped, NOTICE kept.
    let cid = h.register(3, "carla");
    h.lines(ana);
    h.lines(bob);
    h.line(bob, "NOTICE #chat :\u{2}bot\u{2} line");
    assert_eq!(h.lines(cid), [":bob!~bob@irc NOTICE #chat :bot line"]);
    assert_eq!(h.lines(ana), ["MSG 2026-11-29T14:13:05Z bob bot line"]);
    // CTCP requests do not go to the channel.
    h.line(bob, "PRIVMSG #chat :\u{1}VERSION\u{1}");
    assert_eq!(h.lines(cid), Vec::<String>::new());
    assert_eq!(h.lines(ana), Vec::<String>::new());
    let got = h.lines(bob);
    assert!(
        got[0].starts_with(":chatd NOTICE bob :CTCP VERSION is not sent"),
        "{got:?}"
    );
    // Empty text, no text, no recipient.
    h.line(bob, "PRIVMSG #chat :\u{2}\u{2}");
    h.line(bob, "PRIVMSG #chat");
    h.line(bob, "PRIVMSG");
    assert_eq!(
        h.lines(bob),
        [
            ":chatd 412 bob :No text to send",
            ":chatd 412 bob :No text to send",
            ":chatd 411 bob :No recipient given (PRIVMSG)"
        ]
    );
    assert_eq!(h.server.history().count(), 6);
}

#[test]
fn private_messages_go_both_ways_between_the_protocols() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    let carla = h.register(3, "carla");
    h.lines(ana);
    h.lines(bob);
    h.line(ana, "/msg BOB só pra você");
    assert_eq!(h.lines(bob), [":Ana!native@chatd PRIVMSG bob :só pra você"]);
    assert_eq!(
        h.lines(ana),
        ["PRIV 2026-11-29T14:13:05Z Ana bob só pra você"]
    );
    h.line(bob, "PRIVMSG ana :\u{2}oi\u{2}");
    h.line(bob, "PRIVMSG ana :\u{1}ACTION pisca\u{1}");
    h.line(bob, "NOTICE ana :aviso");
    assert_eq!(
        h.lines(ana),
        [
            "PRIV 2026-11-29T14:13:05Z bob Ana oi",
            "PRIV 2026-11-29T14:13:05Z bob Ana /me pisca",
            "PRIV 2026-11-29T14:13:05Z bob Ana aviso"
        ]
    );
    assert_eq!(
        h.lines(bob),
        Vec::<String>::new(),
        "IRC clients show their own"
    );
    // CTCP to a native user: dropped, the sender told; a CTCP reply (NOTICE): dropped silently.
    h.line(bob, "PRIVMSG ana :\u{1}VERSION\u{1}");
    h.line(bob, "NOTICE ana :\u{1}VERSION irssi\u{1}");
    assert_eq!(h.lines(ana), Vec::<String>::new());
    let got = h.lines(bob);
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("cannot answer CTCP VERSION"), "{got:?}");
    // Between IRC clients, CTCP and formatting pass.
    h.lines(carla);
    h.line(bob, "PRIVMSG carla :\u{1}VERSION\u{1}");
    h.line(bob, "PRIVMSG carla :\u{2}bold\u{2}");
    h.line(bob, "PRIVMSG carla :\u{1}ACTION pisca\u{1}");
    assert_eq!(
        h.lines(carla),
        [
            ":bob!~bob@irc PRIVMSG carla :\u{1}VERSION\u{1}",
            ":bob!~bob@irc PRIVMSG carla :\u{2}bold\u{2}",
            ":bob!~bob@irc PRIVMSG carla :\u{1}ACTION pisca\u{1}"
        ]
    );
    // Nobody, and other channels.
    h.line(bob, "PRIVMSG dora :hi");
    h.line(bob, "PRIVMSG #other :hi");
    h.line(bob, "NOTICE dora :hi");
    // Two targets, even both real: refused as a whole (MAXTARGETS=1), nobody gets it.
    h.line(bob, "PRIVMSG carla,#chat :hi");
    h.line(bob, "NOTICE carla,#chat :hi");
    assert_eq!(
        h.lines(bob),
        [
            ":chatd 401 bob dora :No such nick/channel",
            ":chatd 403 bob #other :No such channel; this server has only #chat",
            ":chatd 407 bob carla,#chat :Too many recipients"
        ]
    );
    assert!(
        h.lines(carla).is_empty(),
        "a message with two targets went somewhere"
    );
    assert_eq!(
        h.server.history().count(),
        0,
        "private words never enter the history"
    );
}

#[test]
fn joins_leaves_and_renames_are_seen_both_ways() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    h.lines(ana);
    let carla = h.join(3, "Carla");
    assert_eq!(h.lines(bob), [":Carla!native@chatd JOIN :#chat"]);
    h.lines(ana);
    h.line(carla, "/nick Carol");
    assert_eq!(h.lines(bob), [":Carla!native@chatd NICK :Carol"]);
    h.line(bob, "NICK Bruno");
    assert_eq!(
        h.lines(bob),
        [":bob!~bob@irc NICK :Bruno"],
        "the renamer gets it too"
    );
    assert_eq!(
        h.lines(ana),
        [
            "NICK 2026-11-29T14:13:05Z Carla Carol",
            "NICK 2026-11-29T14:13:05Z bob Bruno"
        ]
    );
    h.line(bob, "NICK carol");
    assert_eq!(
        h.lines(bob),
        [":chatd 433 Bruno carol :Nickname is already in use"]
    );
    h.line(bob, "NICK a!b");
    assert!(h.lines(bob)[0].starts_with(":chatd 432 Bruno a!b :Erroneous nickname"));
    h.line(carla, "/quit até");
    assert_eq!(h.lines(bob), [":Carol!native@chatd QUIT :Quit: até"]);
    h.line(bob, "QUIT :fui");
    assert_eq!(h.lines(bob), ["ERROR :Closing link: Quit: fui"]);
    assert_eq!(
        h.lines(ana)[1],
        "LEAVE 2026-11-29T14:13:05Z Bruno quit: fui"
    );
    h.server.closed(h.now(), bob, CloseReason::Closed);
    let dora = h.register(4, "dora");
    h.lines(ana);
    h.server.closed(h.now(), ana, CloseReason::Reset);
    assert_eq!(h.lines(dora), [":Ana!native@chatd QUIT :connection reset"]);
}

#[test]
fn a_native_line_of_1023_bytes_reaches_irc_whole_in_pieces() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    h.lines(ana);
    let text: String = "João diz: ".repeat(93);
    assert_eq!(text.len(), 1023);
    h.line(ana, &text);
    let got = h.lines(bob);
    assert!(got.len() >= 3, "{got:?}");
    let mut back = String::new();
    for l in &got {
        let m = crate::irc::Message::parse(l.as_bytes()).unwrap();
        assert_eq!(m.params()[0], "#chat");
        back.push_str(m.params()[1]);
    }
    assert_eq!(back, text);
    // The same in a private message, and as an action.
    h.line(ana, &format!("/msg bob {}", &text[..1014]));
    h.line(ana, &format!("/me {}", &text[..1019]));
    let got = h.lines(bob);
    let mut private = String::new();
    let mut action = String::new();
    for l in &got {
        let m = crate::irc::Message::parse(l.as_bytes()).unwrap();
        match crate::irc::Ctcp::parse(m.params()[1]) {
            Some(crate::irc::Ctcp::Action(a)) => action.push_str(a),
            _ => private.push_str(m.params()[1]),
        }
    }
    assert_eq!(private, &text[..1014]);
    assert_eq!(action, &text[..1019]);
}

#[test]
fn history_is_replayed_to_irc_with_server_time_or_a_visible_time() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    for k in 0..12 {
        h.line(ana, &format!("m{k}"));
    }
    h.line(ana, "/me acena");
    // With server-time.
    let a = h.irc(2);
    h.line(a, "CAP LS 302");
    h.line(a, "CAP REQ server-time");
    h.line(a, "CAP END");
    h.line(a, "NICK tagged");
    h.line(a, "USER t 0 * :t");
    let got = h.lines(a);
    let end = got.iter().position(|l| cmd(l) == "366").unwrap();
    let hist = &got[end + 1..];
    assert_eq!(hist.len(), 10);
    assert_eq!(
        hist[0],
        "@time=2026-11-29T14:13:05.000Z :Ana!history@chatd PRIVMSG #chat :m3"
    );
    assert_eq!(
        hist[9],
        "@time=2026-11-29T14:13:05.000Z :Ana!history@chatd PRIVMSG #chat :\u{1}ACTION acena\u{1}"
    );
    // Without.
    let b = h.register(3, "plain");
    let _ = b;
    let b = h.irc(4);
    h.line(b, "NICK plain2");
    h.line(b, "USER p 0 * :p");
    let got = h.lines(b);
    let end = got.iter().position(|l| cmd(l) == "366").unwrap();
    assert_eq!(got[end + 1], ":Ana!history@chatd PRIVMSG #chat :[14:13] m3");
    assert_eq!(got.len() - end - 1, 10);
}

#[test]
fn history_for_irc_is_complete_and_before_any_live_line() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let long = "x ".repeat(500);
    for _ in 0..10 {
        h.line(ana, &long);
    }
    let a = h.irc(2);
    h.line(a, "NICK bob");
    h.line(a, "USER b 0 * :b");
    // Live lines arrive before bob has read his join burst.
    h.line(ana, "live one");
    h.line(ana, "/msg bob private one");
    let got = h.lines(a);
    let end = got.iter().position(|l| cmd(l) == "366").unwrap();
    let hist = &got[end + 1..got.len() - 2];
    // Ten entries of 1000 bytes, several IRC lines each, none left out.
    let mut back = String::new();
    for l in hist {
        let m = crate::irc::Message::parse(l.as_bytes()).unwrap();
        back.push_str(m.params()[1].strip_prefix("[14:13] ").unwrap());
    }
    std::println!("{} {}", back.len(), hist.len());
    assert_eq!(back, long.repeat(10));
    assert_eq!(
        &got[got.len() - 2..],
        [
            ":Ana!native@chatd PRIVMSG #chat :live one",
            ":Ana!native@chatd PRIVMSG bob :private one"
        ]
    );
}

#[test]
fn part_keeps_the_connection_and_the_nick_and_join_comes_back() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    let carla = h.register(3, "carla");
    h.lines(ana);
    h.lines(bob);
    h.line(bob, "PART #chat :almoço");
    assert_eq!(h.lines(bob), [":bob!~bob@irc PART #chat :almoço"]);
    assert_eq!(h.lines(carla), [":bob!~bob@irc PART #chat :almoço"]);
    assert_eq!(
        h.lines(ana),
        ["LEAVE 2026-11-29T14:13:05Z bob part: almoço"]
    );
    assert!(!h.server.in_room(bob));
    assert_eq!(h.server.phase(bob), Phase::Joined);
    // Out of the room: nothing of it, no speaking in it; private words still work.
    h.line(ana, "who is here?");
    assert_eq!(h.lines(bob), Vec::<String>::new());
    assert_eq!(
        h.lines(carla),
        [":Ana!native@chatd PRIVMSG #chat :who is here?"]
    );
    h.line(bob, "PRIVMSG #chat :hello?");
    assert_eq!(
        h.lines(bob),
        [":chatd 404 bob #chat :Cannot send to channel (you left it; JOIN to come back)"]
    );
    h.line(bob, "PART #chat");
    assert_eq!(
        h.lines(bob),
        [":chatd 442 bob #chat :You're not on that channel"]
    );
    h.line(ana, "/who");
    assert_eq!(h.lines(ana), ["WHO 2026-11-29T14:13:05Z 2 Ana carla"]);
    h.line(ana, "/msg bob still there?");
    assert_eq!(
        h.lines(bob),
        [":Ana!native@chatd PRIVMSG bob :still there?"]
    );
    h.line(bob, "PRIVMSG ana :yes");
    assert_eq!(h.lines(ana)[1], "PRIV 2026-11-29T14:13:05Z bob Ana yes");
    // The nick stays taken; a rename out of the room is for the renamer alone.
    let d = h.irc(4);
    h.line(d, "NICK BOB");
    assert_eq!(cmds(&h.lines(d)), ["433"]);
    h.line(bob, "NICK bobby");
    assert_eq!(h.lines(bob), [":bob!~bob@irc NICK :bobby"]);
    assert_eq!(h.lines(carla), Vec::<String>::new());
    // Back: the join burst again, with the history.
    h.line(bob, "JOIN #chat");
    let got = h.lines(bob);
    assert_eq!(
        cmds(&got),
        ["JOIN", "331", "353", "366", "PRIVMSG"],
        "{got:?}"
    );
    assert_eq!(got[2], ":chatd 353 bobby = #chat :Ana bobby carla");
    assert_eq!(h.lines(carla), [":bobby!~bob@irc JOIN :#chat"]);
    assert_eq!(h.lines(ana), ["JOIN 2026-11-29T14:13:05Z bobby"]);
    // JOIN 0 leaves too.
    h.line(bob, "JOIN 0");
    assert_eq!(cmds(&h.lines(bob)), ["PART"]);
    h.server.check_invariants().unwrap();
}

#[test]
fn part_then_join_at_once_keeps_the_order_of_everything() {
    // irssi's /cycle: PART and JOIN in one write, before the PART echo was read.
    let mut h = H::new(open());
    let bob = h.register(1, "bob");
    h.send_unread(bob, b"PART #chat\r\nJOIN #chat\r\n");
    let got = h.lines(bob);
    assert_eq!(cmds(&got), ["PART", "JOIN", "331", "353", "366"], "{got:?}");
    assert!(h.server.in_room(bob));
    h.server.check_invariants().unwrap();
}

#[test]
fn a_join_while_the_last_join_burst_waits_gets_a_burst_of_its_own() {
    // python3-irc writes whatever its user asks at once, before it has read its welcome: here
    // a PART and a JOIN come while the registration's NAMES and history are still to be sent.
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    h.line(ana, "old news");
    let bob = h.irc(2);
    h.send_unread(
        bob,
        b"NICK bob\r\nUSER bob 0 * :bob\r\nPART #chat :brb\r\nJOIN #chat\r\n",
    );
    let got = h.lines(bob);
    let from = got.iter().position(|l| cmd(l) == "422").expect("a 422") + 1;
    let got = &got[from..];
    assert_eq!(
        cmds(got),
        ["JOIN", "331", "353", "366", "PRIVMSG", "PART", "JOIN", "331", "353", "366", "PRIVMSG"],
        "{got:#?}"
    );
    for names in [&got[2], &got[8]] {
        assert_eq!(names, ":chatd 353 bob = #chat :Ana bob");
    }
    assert_eq!(got[4], got[10], "the history, twice");
    h.server.check_invariants().unwrap();
}

#[test]
fn a_listing_asked_for_again_after_other_lines_comes_again() {
    let mut h = H::new(open());
    let bob = h.register(1, "bob");
    // The WHO waits behind the NAMES, then a line comes after it, then another WHO.
    h.send_unread(bob, b"NAMES #chat\r\nWHO #chat\r\nPING a\r\nWHO #chat\r\n");
    let got = h.lines(bob);
    assert_eq!(
        cmds(&got),
        ["353", "366", "352", "315", "PONG", "352", "315"],
        "{got:#?}"
    );
    h.server.check_invariants().unwrap();
}

#[test]
fn queries_are_answered_sanely() {
    let mut c = open();
    c.irc.set_topic("a sala de todos").unwrap();
    let mut h = H::new(c);
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    h.lines(ana);
    let q = |h: &mut H, l: &str| {
        h.line(bob, l);
        h.lines(bob)
    };
    assert_eq!(
        q(&mut h, "WHO #chat"),
        [
            ":chatd 352 bob #chat native chatd chatd Ana H :0 Ana",
            ":chatd 352 bob #chat ~bob irc chatd bob H :0 bob",
            ":chatd 315 bob #chat :End of /WHO list."
        ]
    );
    assert_eq!(
        q(&mut h, "WHO ana"),
        [
            ":chatd 352 bob #chat native chatd chatd Ana H :0 Ana",
            ":chatd 315 bob ana :End of /WHO list."
        ]
    );
    assert_eq!(
        q(&mut h, "WHOIS ana"),
        [
            ":chatd 311 bob Ana native chatd * :Ana",
            ":chatd 312 bob Ana chatd :chatd (its own protocol)",
            ":chatd 319 bob Ana :#chat",
            ":chatd 318 bob Ana :End of /WHOIS list."
        ]
    );
    assert_eq!(
        q(&mut h, "WHOIS nobody"),
        [
            ":chatd 401 bob nobody :No such nick/channel",
            ":chatd 318 bob nobody :End of /WHOIS list."
        ]
    );
    assert_eq!(
        q(&mut h, "LIST"),
        [
            ":chatd 321 bob Channel :Users  Name",
            ":chatd 322 bob #chat 2 :a sala de todos",
            ":chatd 323 bob :End of /LIST"
        ]
    );
    assert_eq!(
        q(&mut h, "TOPIC #chat"),
        [":chatd 332 bob #chat :a sala de todos"]
    );
    assert_eq!(
        q(&mut h, "TOPIC #chat :new"),
        [":chatd 482 bob #chat :The topic is set in chatd's configuration"]
    );
    assert_eq!(q(&mut h, "MODE #chat"), [":chatd 324 bob #chat +nt"]);
    assert_eq!(
        q(&mut h, "MODE #chat b"),
        [":chatd 368 bob #chat :End of channel ban list"]
    );
    assert_eq!(
        q(&mut h, "MODE #chat +b"),
        [":chatd 368 bob #chat :End of channel ban list"]
    );
    // irssi's /ban: a ban to set is a change, refused like the others.
    assert_eq!(
        q(&mut h, "MODE #chat +b *!*native@chatd"),
        [":chatd 482 bob #chat :Channel modes are fixed"]
    );
    assert_eq!(
        q(&mut h, "MODE #chat +o bob"),
        [":chatd 482 bob #chat :Channel modes are fixed"]
    );
    assert_eq!(q(&mut h, "MODE bob +i"), [":bob!~bob@irc MODE bob :+i"]);
    assert_eq!(q(&mut h, "MODE bob"), [":chatd 221 bob +i"]);
    assert_eq!(
        q(&mut h, "MODE bob +x"),
        [":chatd 501 bob :Unknown MODE flag"]
    );
    assert_eq!(
        q(&mut h, "MODE ana +i"),
        [":chatd 502 bob ana :Can't change mode for other users"]
    );
    assert_eq!(
        q(&mut h, "USERHOST ana bob zed"),
        [":chatd 302 bob :Ana=+native@chatd bob=+~bob@irc"]
    );
    assert_eq!(q(&mut h, "ISON ANA zed BOB"), [":chatd 303 bob :Ana bob"]);
    assert_eq!(
        q(&mut h, "AWAY :lunch"),
        [":chatd 306 bob :You have been marked as being away"]
    );
    assert_eq!(
        q(&mut h, "AWAY"),
        [":chatd 305 bob :You are no longer marked as being away"]
    );
    assert_eq!(q(&mut h, "PING abc"), [":chatd PONG chatd :abc"]);
    assert_eq!(q(&mut h, "PING"), [":chatd 409 bob :No origin specified"]);
    assert_eq!(q(&mut h, "PONG :chatd"), Vec::<String>::new());
    assert_eq!(
        q(&mut h, "FROBNICATE x"),
        [":chatd 421 bob FROBNICATE :Unknown command"]
    );
    assert_eq!(
        q(&mut h, "USER a b c d"),
        [":chatd 462 bob :You may not reregister"]
    );
    assert_eq!(
        q(&mut h, "JOIN"),
        [":chatd 461 bob JOIN :Not enough parameters"]
    );
    assert_eq!(
        q(&mut h, "NAMES #other"),
        [":chatd 366 bob #other :End of /NAMES list."]
    );
    assert_eq!(
        q(&mut h, "NAMES"),
        [
            ":chatd 353 bob = #chat :Ana bob",
            ":chatd 366 bob #chat :End of /NAMES list."
        ]
    );
    assert_eq!(q(&mut h, "MOTD"), [":chatd 422 bob :MOTD File is missing"]);
    // Malformed lines are dropped with a notice; an empty one is ignored.
    h.send_unread(bob, b"\xff\xfe\r\n   \r\nPRIVMSG #chat :a\x00b\r\n");
    let got = h.lines(bob);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got
        .iter()
        .all(|l| l.starts_with(":chatd NOTICE bob :Your line was dropped")));
    assert_eq!(h.lines(ana), Vec::<String>::new());
}

#[test]
fn names_of_a_big_room_span_several_lines_and_wait_their_turn() {
    let mut h: Sim<40> = Sim::new(open());
    let mut natives = Vec::new();
    for k in 0..30u8 {
        natives.push(h.join(k + 1, &format!("{}{k:02}", "n".repeat(28))));
    }
    let bob = h.register(100, "bob");
    h.line(natives[0], "/msg bob first");
    h.line(bob, "NAMES #chat");
    h.line(natives[1], "after the request");
    let got = h.lines(bob);
    assert_eq!(
        cmd(&got[0]),
        "PRIVMSG",
        "a line queued first goes first: {got:?}"
    );
    let names: Vec<&String> = got.iter().filter(|l| cmd(l) == "353").collect();
    assert!(names.len() >= 2, "{names:?}");
    let mut all = Vec::new();
    for l in &names {
        assert!(l.len() + 2 <= 512);
        let m = crate::irc::Message::parse(l.as_bytes()).unwrap();
        all.extend(m.params()[3].split(' ').map(String::from));
    }
    assert_eq!(all.len(), 31);
    let end = got.iter().position(|l| cmd(l) == "366").unwrap();
    assert_eq!(
        end + 2,
        got.len(),
        "the live line after the listing: {got:?}"
    );
    assert!(got[end + 1].ends_with("PRIVMSG #chat :after the request"));
}

#[test]
fn silent_irc_clients_are_pinged_then_dropped() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    let carla = h.register(3, "carla");
    h.lines(ana);
    h.lines(bob);
    let ping = h.server.config().irc.ping;
    let at = h.server.poll_at().unwrap();
    assert_eq!(at, h.now().instant + ping);
    h.advance(ping);
    let now = h.now();
    h.server.tick(now);
    assert_eq!(h.lines(bob), [":chatd PING :chatd"]);
    assert_eq!(h.lines(carla), [":chatd PING :chatd"]);
    assert_eq!(h.server.poll_at(), Some(now.instant + ping));
    // carla answers; bob does not.
    h.advance(Duration::from_secs(1));
    h.line(carla, "PONG :chatd");
    h.advance(ping - Duration::from_secs(1));
    let now = h.now();
    h.server.tick(now);
    assert_eq!(h.lines(bob), ["ERROR :Closing link: Ping timeout"]);
    assert_eq!(h.server.phase(bob), Phase::Closing);
    assert_eq!(h.lines(carla), [":bob!~bob@irc QUIT :ping timeout"]);
    assert_eq!(
        h.lines(ana),
        ["LEAVE 2026-11-29T14:17:05Z bob ping timeout"]
    );
    assert_eq!(h.server.phase(carla), Phase::Joined);
    assert!(h.server.poll_at().is_some_and(|t| t > now.instant));
}

#[test]
fn registration_times_out_like_a_native_join() {
    let mut h = H::new(open());
    let a = h.irc(1);
    h.line(a, "NICK slow");
    h.advance(crate::config::JOIN_TIMEOUT);
    let now = h.now();
    h.server.tick(now);
    assert_eq!(h.lines(a), ["ERROR :Closing link: Registration timed out"]);
    assert_eq!(h.server.phase(a), Phase::Closing);
}

#[test]
fn an_irc_flooder_is_warned_then_dropped_and_others_keep_going() {
    let mut h = H::new(Config::default());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    h.lines(ana);
    let mut burst = String::new();
    for k in 0..40 {
        burst.push_str(&format!("PRIVMSG #chat :spam {k}\r\n"));
    }
    h.send_unread(bob, burst.as_bytes());
    let got = h.lines(bob);
    assert!(got[0].starts_with(":chatd NOTICE bob :Too fast"), "{got:?}");
    assert_eq!(
        got.last().map(String::as_str),
        Some("ERROR :Closing link: Excess flood")
    );
    let seen = h.lines(ana);
    assert!(
        seen.last().is_some_and(|l| l.ends_with("bob flood")),
        "{seen:?}"
    );
}

#[test]
fn the_irc_ring_is_written_only_while_an_irc_client_is_in_the_room() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bruno = h.join(2, "Bruno");
    h.line(ana, "only natives here");
    assert_eq!(
        h.server.irc_ring.head(),
        0,
        "no IRC reader, no IRC rendering"
    );
    let bob = h.register(3, "bob");
    h.line(ana, "now an IRC reader");
    let head = h.server.irc_ring.head();
    assert!(head > 0);
    h.line(bob, "PART #chat");
    let head = h.server.irc_ring.head().max(head);
    h.line(ana, "the IRC reader left");
    assert_eq!(h.server.irc_ring.head(), head);
    h.lines(bruno);
    h.server.check_invariants().unwrap();
}

#[test]
fn an_irc_client_that_stops_reading_is_dropped_alone() {
    let mut h = H::new(open());
    let ana = h.join(1, "Ana");
    let bob = h.register(2, "bob");
    let carla = h.register(3, "carla");
    h.lines(ana);
    let line = "z".repeat(900);
    let mut seen = Vec::new();
    for _ in 0..(RING_BYTES_FOR_TESTS / 900 + 10) {
        h.line(ana, &line);
        h.drain(carla, None);
        seen.extend(h.take_lines(carla));
    }
    assert_eq!(h.server.phase(bob), Phase::Closing, "bob never read");
    assert_eq!(h.server.phase(carla), Phase::Joined);
    assert!(seen
        .iter()
        .any(|l| l == ":bob!~bob@irc QUIT :slow consumer"));
}

const RING_BYTES_FOR_TESTS: usize = crate::config::RING_BYTES;

#[test]
fn shutdown_says_error_to_irc_clients() {
    let mut h = H::new(open());
    let bob = h.register(1, "bob");
    let reg = h.irc(2);
    let now = h.now();
    h.server.shutdown(now, "chatd is shutting down.");
    assert_eq!(
        h.lines(bob),
        ["ERROR :Closing link: chatd is shutting down."]
    );
    assert_eq!(
        h.lines(reg),
        ["ERROR :Closing link: chatd is shutting down."]
    );
    assert!(h.ended(bob) && h.ended(reg));
    assert_eq!(
        h.server.accept(h.now(), peer(3), Dialect::Irc),
        Err(Refused::Full)
    );
}

#[test]
fn a_long_irc_listing_never_crowds_the_private_queue() {
    // Many requests at once: markers collapse, the queue stays small.
    let mut h = H::new(open());
    let bob = h.register(1, "bob");
    let mut burst = String::new();
    for _ in 0..200 {
        burst.push_str("NAMES\r\nWHO #chat\r\n");
    }
    h.send_unread(bob, burst.as_bytes());
    assert!(
        h.server.slots[bob.index()].queued() < 200,
        "repeats collapse"
    );
    let got = h.lines(bob);
    assert!(
        got.iter().filter(|l| cmd(l) == "366").count() <= 3,
        "{got:?}"
    );
    assert_eq!(h.server.phase(bob), Phase::Joined);
}

#[test]
fn irc_connections_count_under_the_same_per_address_cap() {
    let mut h = H::new(Config {
        max_per_address: Some(2),
        ..open()
    });
    let same = |port| SocketAddr::from(([10, 0, 0, 1], port));
    h.accept(same(1)).unwrap();
    h.accept_as(same(2), Dialect::Irc).unwrap();
    let refused = h.server.accept(h.now(), same(3), Dialect::Irc);
    assert_eq!(refused, Err(Refused::PerAddress));
    let line = refused.unwrap_err().line_in(Dialect::Irc);
    assert_eq!(
        line,
        &b"ERROR :Closing link: Too many connections from your address; close one and try again.\r\n"[..]
    );
    assert!(h
        .accept_as(SocketAddr::from(([10, 0, 0, 2], 1)), Dialect::Irc)
        .is_ok());
}
