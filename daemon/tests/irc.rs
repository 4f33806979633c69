//! chatd's IRC side end to end: the real daemon, raw IRC over loopback sockets, beside native
//! clients in the same room. What real clients send is taken from captures of irssi 1.4,
//! WeeChat 3.8, ii 1.8 and python3-irc 8.5 against a reference server.
#![allow(clippy::unwrap_used)]

use chat_testkit::{command_of, nick_of, params_of, Chatd, IrcClient, Launch};

fn launch() -> Chatd {
    Launch::new().irc().start()
}

/// Read lines until `command`, and return the lines from there until (and with) `last`.
fn lines_through(c: &mut IrcClient, first: &str, last: &str) -> Vec<String> {
    let mut out = vec![c.expect(first)];
    if first == last {
        return out;
    }
    let (end, before) = c.skip_to(last);
    out.extend(before);
    out.push(end);
    out
}

fn commands(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| command_of(l)).collect()
}

#[test]
fn irssi_registers_after_its_early_join_gets_451() {
    let d = launch();
    let mut c = d.irc_connect();
    // As captured: CAP LS 302 and JOIN : before anything else; irssi waits for one of the two
    // answers before it goes on.
    c.send_raw(b"CAP LS 302\r\nJOIN :\r\n");
    assert_eq!(c.line(), ":chatd CAP * LS :multi-prefix server-time");
    assert_eq!(c.line(), ":chatd 451 * :You have not registered");
    c.send("CAP REQ :multi-prefix");
    assert_eq!(c.line(), ":chatd CAP * ACK :multi-prefix");
    c.send_raw(b"CAP END\r\nNICK ana836\r\nUSER root root 127.0.0.1 :root\r\n");
    let got = lines_through(&mut c, "001", "366");
    assert_eq!(
        commands(&got),
        ["001", "002", "003", "004", "005", "422", "JOIN", "331", "353", "366"]
    );
    assert_eq!(params_of(&got[0])[0], "ana836", "001 names the nick first");
    assert_eq!(got[6], ":ana836!~root@irc JOIN :#chat");
    assert_eq!(got[8], ":chatd 353 ana836 = #chat :ana836");
    let isupport = &got[4];
    for token in [
        "CASEMAPPING=ascii",
        "UTF8MAPPING=rfc8265",
        "NICKLEN=32",
        "CHANNELLEN=32",
        "CHANTYPES=#",
        "NETWORK=chatd",
    ] {
        assert!(
            params_of(isupport).iter().any(|p| p == token),
            "{token}: {isupport}"
        );
    }
    // Then, as irssi does: user mode, the channel again, a message and a private one.
    c.send("MODE ana836 +i");
    assert_eq!(c.line(), ":ana836!~root@irc MODE ana836 :+i");
    c.send("JOIN #chat");
    c.send("PRIVMSG #chat :hi from irssi");
    c.send("QUIT :irssi bye");
    let rest = c.read_to_close();
    assert_eq!(rest, ["ERROR :Closing link: Quit: irssi bye"]);
}

#[test]
fn weechat_ii_and_python3_irc_register_their_own_ways() {
    let d = launch();
    // WeeChat: NICK and USER before CAP REQ and CAP END; registration waits for CAP END.
    let mut w = d.irc_connect();
    w.send_raw(b"CAP LS 302\r\nNICK wee836\r\nUSER wee836 0 * :irc_check\r\n");
    assert_eq!(w.line(), ":chatd CAP * LS :multi-prefix server-time");
    w.send("CAP REQ :multi-prefix");
    assert_eq!(w.line(), ":chatd CAP * ACK :multi-prefix");
    w.send("PING early");
    assert_eq!(
        w.line(),
        ":chatd PONG chatd :early",
        "no 001 before CAP END"
    );
    w.send("CAP END");
    assert_eq!(command_of(&w.line()), "001");
    w.expect("366");
    // ii: no CAP at all.
    let mut i = d.irc_connect();
    i.send_raw(b"NICK ii836\r\nUSER ii836 localhost 127.0.0.1 :irc_check ii\r\n");
    assert_eq!(params_of(&i.expect("001"))[0], "ii836");
    i.send("JOIN #chat");
    i.expect("366");
    // python3-irc: USER bot 0 * :real.
    let mut p = d.irc_connect();
    p.send_raw(b"NICK bot836\r\nUSER bot836 0 * :irc_check bot\r\n");
    let got = lines_through(&mut p, "001", "366");
    assert_eq!(got[6], ":bot836!~bot836@irc JOIN :#chat");
    assert_eq!(got[8], ":chatd 353 bot836 = #chat :wee836 ii836 bot836");
    // Everybody saw the later ones join.
    assert_eq!(w.expect("JOIN"), ":ii836!~ii836@irc JOIN :#chat");
    assert_eq!(w.expect("JOIN"), ":bot836!~bot836@irc JOIN :#chat");
    // The PING tokens irssi and WeeChat send have no colon.
    w.send("PING irc.example.test");
    assert_eq!(w.expect("PONG"), ":chatd PONG chatd :irc.example.test");
}

#[test]
fn native_and_irc_clients_talk_both_ways() {
    let d = launch();
    let mut ana = d.join_settled("Ana");
    let mut bob = d.irc_join("bob");
    assert!(ana.expect("JOIN ").ends_with(" bob"));
    // Native to IRC: public, action, private.
    ana.send("Oi bob");
    ana.send("/me acena");
    ana.send("/msg bob só pra você");
    assert_eq!(bob.line(), ":Ana!native@chatd PRIVMSG #chat :Oi bob");
    assert_eq!(
        bob.line(),
        ":Ana!native@chatd PRIVMSG #chat :\u{1}ACTION acena\u{1}"
    );
    assert_eq!(bob.line(), ":Ana!native@chatd PRIVMSG bob :só pra você");
    assert!(ana.expect("PRIV ").ends_with(" Ana bob só pra você"));
    // IRC to native: public, action, private, notice; formatting removed.
    bob.send("PRIVMSG #chat :oi \u{2}Ana\u{2}");
    bob.send("PRIVMSG #chat :\u{1}ACTION dança\u{1}");
    bob.send("PRIVMSG Ana :psiu");
    bob.send("NOTICE #chat :aviso");
    let l = ana.line();
    assert!(l.starts_with("MSG ") && l.ends_with(" bob oi Ana"), "{l}");
    let l = ana.line();
    assert!(l.starts_with("ME ") && l.ends_with(" bob dança"), "{l}");
    let l = ana.line();
    assert!(
        l.starts_with("PRIV ") && l.ends_with(" bob Ana psiu"),
        "{l}"
    );
    let l = ana.line();
    assert!(l.starts_with("MSG ") && l.ends_with(" bob aviso"), "{l}");
    assert!(bob.sync().is_empty(), "IRC senders get no echo");
    // Renames, both ways, the IRC renamer included.
    ana.send("/nick Ana2");
    assert_eq!(bob.line(), ":Ana!native@chatd NICK :Ana2");
    bob.send("NICK bobby");
    assert_eq!(bob.line(), ":bob!~bob@irc NICK :bobby");
    assert!(ana.expect("NICK ").ends_with(" Ana Ana2"));
    assert!(ana.expect("NICK ").ends_with(" bob bobby"));
    // A newcomer from each side is seen by the other; leaves too.
    let mut carla = d.join_settled("Carla");
    assert_eq!(bob.line(), ":Carla!native@chatd JOIN :#chat");
    let mut dora = d.irc_join("dora");
    assert!(carla.expect("JOIN ").ends_with(" dora"));
    assert_eq!(bob.line(), ":dora!~dora@irc JOIN :#chat");
    carla.send("/quit tchau");
    assert_eq!(bob.line(), ":Carla!native@chatd QUIT :Quit: tchau");
    assert_eq!(dora.expect("QUIT"), ":Carla!native@chatd QUIT :Quit: tchau");
    dora.send("QUIT :fui");
    assert_eq!(dora.read_to_close(), ["ERROR :Closing link: Quit: fui"]);
    assert_eq!(bob.line(), ":dora!~dora@irc QUIT :Quit: fui");
    let l = ana.expect("LEAVE ");
    let l = if l.contains(" Carla ") {
        ana.expect("LEAVE ")
    } else {
        l
    };
    assert!(l.ends_with(" dora quit: fui"), "{l}");
    // A client that just goes away.
    drop(dora);
    drop(carla);
    ana.send("/quit");
    assert_eq!(bob.line(), ":Ana2!native@chatd QUIT :Quit");
}

#[test]
fn part_keeps_the_nick_and_join_brings_the_room_back() {
    let d = launch();
    let mut ana = d.join_settled("Ana");
    let mut bob = d.irc_join("bob");
    ana.expect("JOIN ");
    bob.send("PART #chat :almoço");
    assert_eq!(bob.line(), ":bob!~bob@irc PART #chat :almoço");
    assert!(ana.expect("LEAVE ").ends_with(" bob part: almoço"));
    ana.send("ninguém?");
    ana.send("/msg bob ainda aí?");
    assert_eq!(
        bob.line(),
        ":Ana!native@chatd PRIVMSG bob :ainda aí?",
        "only the private one"
    );
    bob.send("PRIVMSG #chat :hello?");
    assert_eq!(
        bob.line(),
        ":chatd 404 bob #chat :Cannot send to channel (you left it; JOIN to come back)"
    );
    bob.send("PART #chat");
    assert_eq!(
        bob.line(),
        ":chatd 442 bob #chat :You're not on that channel"
    );
    bob.send("JOIN #chat");
    let got = lines_through(&mut bob, "JOIN", "366");
    assert_eq!(got[2], ":chatd 353 bob = #chat :Ana bob");
    let hist = bob.sync();
    assert!(
        hist.iter().any(|l| l.ends_with("] ninguém?")),
        "the history, with what was said meanwhile: {hist:?}"
    );
    assert!(ana.expect("JOIN ").ends_with(" bob"));
}

#[test]
fn a_part_and_join_sent_with_the_registration_get_their_own_names_and_history() {
    // What python3-irc writes when its user asks at once, before it read its welcome: the
    // second JOIN once got no names and no history, and the first names lacked the client.
    let d = launch();
    let mut ana = d.join_settled("Ana");
    ana.send("primeira");
    let mut c = d.irc_connect();
    c.send_raw(b"NICK bob\r\nUSER bob 0 * :bob\r\nPART #chat :brb\r\nJOIN #chat\r\n");
    let got = c.sync();
    let from = got.iter().position(|l| command_of(l) == "422").unwrap() + 1;
    let got = &got[from..];
    assert_eq!(
        commands(got),
        ["JOIN", "331", "353", "366", "PRIVMSG", "PART", "JOIN", "331", "353", "366", "PRIVMSG"],
        "{got:#?}"
    );
    for names in [&got[2], &got[8]] {
        assert_eq!(names, ":chatd 353 bob = #chat :Ana bob");
    }
    for hist in [&got[4], &got[10]] {
        assert!(hist.ends_with("] primeira"), "{hist}");
    }
}

#[test]
fn history_reaches_an_irc_newcomer_with_server_time_or_a_visible_time() {
    let d = launch();
    let mut ana = d.join_settled("Ana");
    for k in 0..3 {
        ana.send(&format!("mensagem {k}"));
    }
    ana.send("/me sai");
    ana.sync();
    let mut tagged = d.irc_connect();
    tagged.send_raw(b"CAP LS 302\r\nCAP REQ :server-time\r\nCAP END\r\n");
    tagged.register("tagged");
    let hist = tagged.sync();
    assert_eq!(hist.len(), 4, "{hist:?}");
    for (k, l) in hist.iter().take(3).enumerate() {
        let rest = l
            .strip_prefix("@time=")
            .unwrap_or_else(|| panic!("no tag: {l}"));
        let (time, line) = rest.split_once(' ').unwrap();
        assert!(time.len() == 24 && time.ends_with(".000Z"), "{time}");
        assert_eq!(
            line,
            format!(":Ana!history@chatd PRIVMSG #chat :mensagem {k}")
        );
    }
    assert!(hist[3].ends_with(":Ana!history@chatd PRIVMSG #chat :\u{1}ACTION sai\u{1}"));
    let mut plain = d.irc_join("plain");
    let hist = plain.sync();
    assert_eq!(hist.len(), 4, "{hist:?}");
    let text = &params_of(&hist[0])[1];
    let b = text.as_bytes();
    assert!(
        b[0] == b'[' && b[3] == b':' && b[6] == b']' && text.ends_with("] mensagem 0"),
        "{text}"
    );
}

#[test]
fn a_full_native_line_reaches_irc_whole_in_pieces() {
    let d = launch();
    let mut ana = d.join_settled("Ana");
    let mut bob = d.irc_join("bob");
    ana.expect("JOIN ");
    let text = "João diz: ".repeat(93);
    assert_eq!(text.len(), 1023);
    ana.send(&text);
    // Once Ana's /who is answered her line has been relayed: bob's PONG comes after it.
    ana.sync();
    let lines = bob.sync();
    assert!(lines.len() >= 3, "{lines:?}");
    let mut back = String::new();
    for l in &lines {
        assert_eq!(nick_of(l).as_deref(), Some("Ana"));
        let p = params_of(l);
        assert_eq!(p[0], "#chat");
        back.push_str(&p[1]);
    }
    assert_eq!(back, text, "nothing lost, nothing cut inside a character");
}

#[test]
fn every_numeric_a_client_acts_on() {
    let d = Launch::new()
        .irc()
        .args(&["--irc-topic", "a sala", "--flood", "off"])
        .start();
    let mut ana = d.join_settled("Ana");
    let mut bob = d.irc_join("bob");
    ana.expect("JOIN ");
    let mut ask = |line: &str, want: &[&str]| {
        bob.send(line);
        for w in want {
            assert_eq!(bob.line(), *w, "after {line}");
        }
    };
    ask("TOPIC #chat", &[":chatd 332 bob #chat :a sala"]);
    ask(
        "TOPIC #chat :outro",
        &[":chatd 482 bob #chat :The topic is set in chatd's configuration"],
    );
    ask(
        "WHO #chat",
        &[
            ":chatd 352 bob #chat native chatd chatd Ana H :0 Ana",
            ":chatd 352 bob #chat ~bob irc chatd bob H :0 bob",
            ":chatd 315 bob #chat :End of /WHO list.",
        ],
    );
    ask(
        "WHOIS Ana",
        &[
            ":chatd 311 bob Ana native chatd * :Ana",
            ":chatd 312 bob Ana chatd :chatd (its own protocol)",
            ":chatd 319 bob Ana :#chat",
            ":chatd 318 bob Ana :End of /WHOIS list.",
        ],
    );
    ask(
        "WHOIS nobody",
        &[
            ":chatd 401 bob nobody :No such nick/channel",
            ":chatd 318 bob nobody :End of /WHOIS list.",
        ],
    );
    ask(
        "LIST",
        &[
            ":chatd 321 bob Channel :Users  Name",
            ":chatd 322 bob #chat 2 :a sala",
            ":chatd 323 bob :End of /LIST",
        ],
    );
    ask(
        "NAMES #chat",
        &[
            ":chatd 353 bob = #chat :Ana bob",
            ":chatd 366 bob #chat :End of /NAMES list.",
        ],
    );
    ask("MODE #chat", &[":chatd 324 bob #chat +nt"]);
    ask(
        "MODE #chat b",
        &[":chatd 368 bob #chat :End of channel ban list"],
    );
    ask(
        "MODE #chat +m",
        &[":chatd 482 bob #chat :Channel modes are fixed"],
    );
    ask("MODE bob", &[":chatd 221 bob +"]);
    ask("MODE bob +z", &[":chatd 501 bob :Unknown MODE flag"]);
    ask(
        "MODE Ana +i",
        &[":chatd 502 bob Ana :Can't change mode for other users"],
    );
    ask("USERHOST Ana", &[":chatd 302 bob :Ana=+native@chatd"]);
    ask("ISON ana zed", &[":chatd 303 bob :Ana"]);
    ask(
        "AWAY :fui",
        &[":chatd 306 bob :You have been marked as being away"],
    );
    ask(
        "AWAY",
        &[":chatd 305 bob :You are no longer marked as being away"],
    );
    ask("PING", &[":chatd 409 bob :No origin specified"]);
    ask("FROB", &[":chatd 421 bob FROB :Unknown command"]);
    ask("JOIN", &[":chatd 461 bob JOIN :Not enough parameters"]);
    ask(
        "JOIN #outro",
        &[":chatd 403 bob #outro :No such channel; this server has only #chat"],
    );
    ask(
        "PRIVMSG zed :oi",
        &[":chatd 401 bob zed :No such nick/channel"],
    );
    ask("PRIVMSG", &[":chatd 411 bob :No recipient given (PRIVMSG)"]);
    ask("PRIVMSG #chat", &[":chatd 412 bob :No text to send"]);
    ask("USER a b c d", &[":chatd 462 bob :You may not reregister"]);
    ask("NICK", &[":chatd 431 bob :No nickname given"]);
    ask(
        "NICK ana",
        &[":chatd 433 bob ana :Nickname is already in use"],
    );
    ask("CAP FROB", &[":chatd 410 bob FROB :Invalid CAP command"]);
    ask("MOTD", &[":chatd 422 bob :MOTD File is missing"]);
    bob.send(&format!("PRIVMSG #chat :{}", "x".repeat(1100)));
    assert_eq!(bob.line(), ":chatd 417 bob :Input line was too long");
    bob.send("NICK a:b");
    let l = bob.line();
    assert!(
        l.starts_with(":chatd 432 bob a:b :Erroneous nickname: "),
        "{l}"
    );
    assert!(ana.sync().is_empty(), "none of that reached the room");
}

#[test]
fn nick_in_use_or_erroneous_at_registration_and_another_works() {
    let d = launch();
    let _ana = d.join_settled("Ana");
    let mut c = d.irc_connect();
    c.send_raw(b"NICK ANA\r\nUSER x 0 * :x\r\n");
    assert_eq!(c.line(), ":chatd 433 * ANA :Nickname is already in use");
    c.send("NICK -x");
    assert!(c
        .line()
        .starts_with(":chatd 432 * -x :Erroneous nickname: "));
    c.send("NICK João");
    let got = lines_through(&mut c, "001", "366");
    assert_eq!(params_of(&got[0])[0], "João");
}

#[test]
fn the_password_is_checked_and_guesses_are_throttled_across_protocols() {
    let d = Launch::new().irc().password("sesame").start();
    let ok = d.irc_join("ana");
    drop(ok);
    let mut wrong = d.irc_connect();
    wrong.send("PASS nope");
    assert_eq!(
        wrong.read_to_close(),
        [
            ":chatd 464 * :Password incorrect",
            "ERROR :Closing link: Password incorrect"
        ]
    );
    let mut missing = d.irc_connect();
    missing.send_raw(b"NICK bob\r\nUSER bob 0 * :bob\r\n");
    assert_eq!(
        commands(&missing.read_to_close()),
        ["464", "ERROR"],
        "no PASS is a wrong guess"
    );
    let mut native = d.connect();
    native.expect("ASK PASSWORD");
    native.send("nope again");
    assert!(native.expect("BYE ").starts_with("BYE password"));
    // Three wrong guesses from this address, in either protocol: the next is turned away.
    let mut next = d.irc_connect();
    assert_eq!(
        next.read_to_close(),
        [
            ":chatd 465 * :Too many wrong passwords from your address; wait and try again.",
            "ERROR :Closing link: Too many wrong passwords from your address; wait and try again."
        ]
    );
    d.wait_log("auth-throttled peer=127.0.0.1:");
}

#[test]
fn a_silent_irc_client_is_pinged_then_dropped() {
    let d = Launch::new().irc().args(&["--irc-ping", "1"]).start();
    let mut ana = d.join_settled("Ana");
    let mut bob = d.irc_join("bob");
    ana.expect("JOIN ");
    assert_eq!(bob.expect("PING"), ":chatd PING :chatd");
    // Answering keeps it; then silence drops it.
    bob.send("PONG :chatd");
    assert_eq!(bob.expect("PING"), ":chatd PING :chatd");
    let rest = bob.read_to_close();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("ERROR :Closing link: Ping timeout")
    );
    assert!(ana.expect("LEAVE ").ends_with(" bob ping timeout"));
    d.wait_log("reason=ping-timeout");
}

#[test]
fn an_irc_flooder_is_warned_then_dropped_alone() {
    let d = launch();
    let mut ana = d.join_settled("Ana");
    let mut bob = d.irc_join("bob");
    ana.expect("JOIN ");
    let mut burst = String::new();
    for k in 0..60 {
        burst.push_str(&format!("PRIVMSG #chat :spam {k}\r\n"));
    }
    bob.send_raw(burst.as_bytes());
    let got = bob.read_to_close();
    assert!(
        got.iter()
            .any(|l| l.starts_with(":chatd NOTICE bob :Too fast")),
        "{got:?}"
    );
    assert_eq!(
        got.last().map(String::as_str),
        Some("ERROR :Closing link: Excess flood")
    );
    let (leave, _) = ana.skip_to("LEAVE ");
    assert!(leave.ends_with(" bob flood"), "{leave}");
    ana.send("/who");
    assert!(ana.expect("WHO ").ends_with(" 1 Ana"));
}

#[test]
fn registration_times_out_like_a_native_join() {
    let d = Launch::new().irc().args(&["--join-timeout", "1"]).start();
    let mut c = d.irc_connect();
    c.send("NICK slow");
    assert_eq!(
        c.read_to_close(),
        ["ERROR :Closing link: Registration timed out"]
    );
    d.wait_log("reason=join-timeout");
}

#[test]
fn a_full_server_says_so_in_each_protocol() {
    let d = Launch::new().irc().args(&["--max-clients", "1"]).start();
    let _ana = d.join_settled("Ana");
    let mut c = d.irc_connect();
    assert_eq!(c.read_to_close(), ["ERROR :Closing link: server full"]);
}

#[test]
fn irc_connections_count_under_the_per_address_cap() {
    let d = Launch::new()
        .irc()
        .args(&["--max-per-address", "1"])
        .start();
    let _ana = d.join_settled("Ana");
    let mut c = d.irc_connect();
    assert_eq!(
        c.read_to_close(),
        ["ERROR :Closing link: Too many connections from your address; close one and try again."]
    );
    d.wait_log("reason=per-address");
}

#[test]
fn the_listening_lines_name_each_protocol() {
    let d = launch();
    let native = d.wait_log(" protocol=native tls=no");
    assert!(
        native.contains(&format!("listening addr={} ", d.addr)),
        "{native}"
    );
    let irc = d.wait_log(" protocol=irc tls=no");
    let irc_addr = d.irc_addr.unwrap();
    assert!(
        irc.contains(&format!("listening addr={irc_addr} ")),
        "{irc}"
    );
    let mut c = d.irc_connect();
    c.register("ana");
    d.wait_log("conn=0 protocol=irc");
    d.wait_log(" name=ana protocol=irc");
}
