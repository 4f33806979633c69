//! Real IRC clients against the real chatd, beside native users in the same room: irssi in a
//! terminal, WeeChat, ii and a python3-irc bot (see `irc_programs/`), and chatc. Each test
//! checks what the IRC client's user sees (irssi's screen, WeeChat's and ii's files, the
//! bot's events) and what the native side gets, both ways: public and private messages,
//! actions, renames, PART and JOIN, QUIT, the history with its original time, and names
//! beyond ASCII.
#![allow(clippy::unwrap_used)]

mod irc_programs;

use chat_testkit::{chatc_bin, Launch, TempDir, Tmux};
use irc_programs::ii::Ii;
use irc_programs::irssi::Irssi;
use irc_programs::pybot::PyBot;
use irc_programs::weechat::WeeChat;

/// Two messages said long ago, as chatd saves its history: what a newcomer is replayed.
const OLD_HISTORY: &str = "HIST MSG 2026-01-02T03:04:05Z Zoë bom dia\n\
                           HIST ME 2026-01-02T03:05:06Z Zoë toma café\n";

/// A state directory whose history holds [`OLD_HISTORY`].
fn old_history() -> TempDir {
    let dir = TempDir::new("irc-clients-state");
    std::fs::write(dir.join("history"), OLD_HISTORY).unwrap();
    dir
}

#[test]
fn irssi_chats_with_a_native_user_both_ways() {
    let state = old_history();
    let d = Launch::new()
        .irc()
        .state_dir(state.path())
        .password("sesame")
        .args(&["--flood", "off"])
        .start();
    let mut joao = d.join_settled("João");
    let irc = d.irc_addr.unwrap();
    let irssi = Irssi::start("irssi", "ana");
    // The README's command: address, port, password.
    irssi.type_line(&format!("/connect {} {} sesame", irc.ip(), irc.port()));
    assert!(joao.expect("JOIN ").ends_with(" ana"));
    // chatd joined it to #chat: irssi opened the window, with the names and the history at
    // the time it was said (server-time), not now.
    irssi.window("#chat");
    irssi.wait_line("[ ana] [ João]");
    irssi.wait_line("03:04 < Zoë> bom dia");
    irssi.wait_line("03:05  * Zoë toma café");
    // Public, both ways.
    joao.send("Oi Ana, tudo bem?");
    irssi.wait_line("< João> Oi Ana, tudo bem?");
    irssi.type_line("tudo ótimo");
    assert!(joao.expect("MSG ").ends_with(" ana tudo ótimo"));
    irssi.type_line("/me acena");
    assert!(joao.expect("ME ").ends_with(" ana acena"));
    // Private, both ways: irssi opens a query window for João.
    joao.send("/msg ana segredo");
    assert!(
        joao.expect("PRIV ").ends_with(" João ana segredo"),
        "the echo"
    );
    irssi.window("João");
    irssi.wait_line("<João> segredo");
    irssi.type_line("resposta só pra você");
    let private = joao.expect("PRIV ");
    assert!(
        private.ends_with(" ana João resposta só pra você"),
        "{private}"
    );
    irssi.type_line("/msg João outra");
    assert!(joao.expect("PRIV ").ends_with(" ana João outra"));
    // A rename.
    irssi.type_line("/nick ana2");
    assert!(joao.expect("NICK ").ends_with(" ana ana2"));
    irssi.wait_line("] [ana2(+i)] ["); // the status bar
                                       // PART keeps the connection: private messages still reach it; JOIN comes back with the
                                       // names and the history.
    irssi.window("#chat");
    irssi.type_line("/part #chat almoço");
    assert!(joao.expect("LEAVE ").ends_with(" ana2 part: almoço"));
    irssi.window("João");
    joao.send("/msg ana2 ainda aí?");
    assert!(joao.expect("PRIV ").ends_with(" João ana2 ainda aí?"));
    irssi.wait_line("<João> ainda aí?");
    irssi.type_line("/join #chat");
    assert!(joao.expect("JOIN ").ends_with(" ana2"));
    irssi.window("#chat");
    irssi.wait_line("[ ana2] [ João]");
    irssi.wait_line("< ana> tudo ótimo");
    joao.send("bem-vinda de volta");
    irssi.wait_line("< João> bem-vinda de volta");
    // QUIT with a reason; irssi exits.
    irssi.type_line("/quit até logo");
    assert!(joao.expect("LEAVE ").ends_with(" ana2 quit: até logo"));
    irssi.wait_exit();
    assert!(d.log().contains("name=ana2 reason=\"quit\""), "{}", d.log());
}

#[test]
fn chatd_without_irssi_s_password_is_refused_on_irssi_s_screen() {
    let d = Launch::new().irc().password("sesame").start();
    let irc = d.irc_addr.unwrap();
    let irssi = Irssi::start("irssi-nopass", "ana");
    irssi.type_line(&format!("/connect {} {}", irc.ip(), irc.port()));
    irssi.wait_line("Password incorrect");
    d.wait_log("auth-failure");
}

#[test]
fn weechat_logs_history_at_its_time_and_talks_with_a_unicode_name() {
    let state = old_history();
    let d = Launch::new()
        .irc()
        .state_dir(state.path())
        .password("sesame")
        .args(&["--flood", "off"])
        .start();
    let mut zoe = d.join_settled("Zoë");
    let wee = WeeChat::connect(d.irc_addr.unwrap(), "wee", Some("sesame"));
    assert!(zoe.expect("JOIN ").ends_with(" wee"));
    // WeeChat asked for server-time: the replayed history is logged at the second it was said.
    wee.wait_log("#chat", "2026-01-02 03:04:05\tZoë\tbom dia");
    wee.wait_log("#chat", "2026-01-02 03:05:06\t *\tZoë toma café");
    let isupport = wee.wait_log("server", "UTF8MAPPING=rfc8265");
    assert!(isupport.contains("CASEMAPPING=ascii"), "{isupport}");
    // Public, both ways.
    zoe.send("olá, WeeChat");
    wee.wait_log("#chat", "\tZoë\tolá, WeeChat");
    wee.input("irc.chatd.#chat", "oi, Zoë");
    assert!(zoe.expect("MSG ").ends_with(" wee oi, Zoë"));
    // Private, both ways; the nick written in capitals (as RFC 8265 folds it, and chatd too)
    // reaches the same person.
    zoe.send("/msg wee psiu");
    zoe.expect("PRIV ");
    wee.wait_log("Zoë", "\tZoë\tpsiu");
    wee.input("irc.chatd.Zoë", "fala");
    assert!(zoe.expect("PRIV ").ends_with(" wee Zoë fala"));
    wee.command("/msg ZOË em maiúsculas");
    assert!(zoe.expect("PRIV ").ends_with(" wee Zoë em maiúsculas"));
    // A rename beyond ASCII, and a quit.
    wee.command("/nick wée");
    assert!(zoe.expect("NICK ").ends_with(" wee wée"));
    wee.command("/quit até");
    assert!(zoe.expect("LEAVE ").ends_with(" wée quit: até"));
}

#[test]
fn ii_talks_in_the_channel_and_privately() {
    let d = Launch::new().irc().args(&["--flood", "off"]).start();
    let mut ana = d.join_settled("Ana");
    ana.send("antes do ii");
    let mut ii = Ii::connect(d.irc_addr.unwrap(), "iiu", None);
    assert!(ana.expect("JOIN ").ends_with(" iiu"));
    // ii opens the channel's directory at the JOIN chatd sends it; no server-time, so the
    // history has the time in its text.
    ii.wait_out("#chat", "-!- iiu(~iiu@irc) has joined #chat");
    let hist = ii.wait_out("#chat", "<Ana> [");
    assert!(hist.ends_with("] antes do ii"), "{hist}");
    ana.send("Oi ii");
    ii.wait_out("#chat", "<Ana> Oi ii");
    ii.write("#chat", "oi Ana, do ii");
    assert!(ana.expect("MSG ").ends_with(" iiu oi Ana, do ii"));
    ana.send("/msg iiu só pra você");
    ana.expect("PRIV ");
    ii.wait_out("ana", "<Ana> só pra você");
    ii.write("", "/privmsg Ana resposta");
    assert!(ana.expect("PRIV ").ends_with(" iiu Ana resposta"));
    ii.write("", "/n iinovo");
    assert!(ana.expect("NICK ").ends_with(" iiu iinovo"));
    ii.write("", "/q fui");
    assert!(ana.expect("LEAVE ").ends_with(" iinovo quit: fui"));
    assert!(ii.process.wait_exit(), "ii exits after /q");
}

/// Return a shell command that runs chatc as `name` against chatd's native port, away from
/// the user's environment and configuration.
fn chatc_in_terminal(port: u16, name: &str) -> String {
    format!(
        "exec env -u CHATC_PASSWORD -u CHATC_HOST -u CHATC_PORT \
         XDG_CONFIG_HOME=/nonexistent/chatc-test {} -H 127.0.0.1 -p {port} -n {name} --no-bell",
        chatc_bin().display()
    )
}

#[test]
fn chatc_and_a_python3_irc_bot_talk_both_ways() {
    let d = Launch::new().irc().args(&["--flood", "off"]).start();
    let chatc = Tmux::start("chatc-pybot", &chatc_in_terminal(d.addr.port(), "Bruno"));
    chatc.wait_last("Bruno>");
    let mut bot = PyBot::connect(d.irc_addr.unwrap(), "pybot", None);
    let names = bot.expect("namreply\t");
    assert_eq!(names[3..], ["=", "#chat", "Bruno pybot"], "{names:?}");
    bot.expect("endofnames\t");
    chatc.wait_screen("the bot's join", |s| {
        s.iter().any(|l| l.ends_with("--> pybot joined"))
    });
    // Public, both ways, and an action.
    bot.send("privmsg #chat olá do python");
    chatc.wait_screen("the bot's message", |s| {
        s.iter().any(|l| l.ends_with("<pybot> olá do python"))
    });
    chatc.type_text("oi python");
    chatc.key("Enter");
    let msg = bot.expect("pubmsg\t");
    assert_eq!(msg[1..], ["Bruno!native@chatd", "#chat", "oi python"]);
    bot.send("action #chat acena");
    chatc.wait_screen("the bot's action", |s| {
        s.iter().any(|l| l.ends_with("* pybot acena"))
    });
    // Private, both ways.
    chatc.type_text("/msg pybot segredo");
    chatc.key("Enter");
    let private = bot.expect("privmsg\t");
    assert_eq!(private[1..], ["Bruno!native@chatd", "pybot", "segredo"]);
    bot.send("privmsg Bruno resposta");
    chatc.wait_screen("the bot's private answer", |s| {
        s.iter().any(|l| l.ends_with("*pybot* → you: resposta"))
    });
    // A rename and a quit with a reason.
    bot.send("nick pybot2");
    bot.expect("nick\tpybot!");
    chatc.wait_screen("the rename", |s| {
        s.iter()
            .any(|l| l.ends_with("-!- pybot is now known as pybot2"))
    });
    bot.send("quit até mais");
    bot.expect("closed");
    chatc.wait_screen("the quit", |s| {
        s.iter()
            .any(|l| l.ends_with("<-- pybot2 left (quit: até mais)"))
    });
}

#[test]
fn a_python3_irc_bot_gets_long_lines_whole_and_its_hasty_rejoin_in_order() {
    let d = Launch::new().irc().args(&["--flood", "off"]).start();
    let mut joao = d.join_settled("João");
    joao.send("primeira");
    // The bot writes PART and JOIN as soon as it is connected (python3-irc sends what it is
    // told when it is told, welcome or not): it gets its join, then the PART and JOIN echoes,
    // and after each JOIN the names (itself among them) and the history. (Whether chatd had
    // written the first join's listings before the PART came depends on timing; the case
    // where it had not is daemon/tests/irc.rs's, over a raw socket.)
    let mut bot = PyBot::connect(d.irc_addr.unwrap(), "pybot", None);
    // (python3-irc 8.5 writes PART's reason without a colon: one word is all it can give.)
    bot.send("part #chat brb");
    bot.send("join #chat");
    for round in ["registration", "rejoin"] {
        let join = bot.expect("join\t");
        assert_eq!(join[1..], ["pybot!~pybot@irc", "#chat"], "{round}");
        let names = bot.expect("namreply\t");
        assert_eq!(names[3..], ["=", "#chat", "João pybot"], "{round}");
        bot.expect("endofnames\t");
        let hist = bot.expect("pubmsg\t");
        assert_eq!(hist[1..3], ["João!history@chatd", "#chat"], "{round}");
        assert!(hist[3].ends_with("] primeira"), "{round}: {hist:?}");
        if round == "registration" {
            let part = bot.expect("part\t");
            assert_eq!(part[1..], ["pybot!~pybot@irc", "#chat", "brb"]);
        }
    }
    // A native line of 1023 bytes, with characters of 2, 3 and 4 bytes, is more than an IRC
    // line holds: the bot gets it as several messages, each valid UTF-8 (python3-irc decodes
    // strictly), that make up the text exactly.
    let unit = "ação日本🙂 ";
    let mut text = String::new();
    while text.len() + unit.len() <= 1023 {
        text.push_str(unit);
    }
    let text = text.trim_end().to_string();
    joao.send(&text);
    let mut got = String::new();
    for _ in 0..4 {
        if got.len() >= text.len() {
            break;
        }
        let piece = bot.expect("pubmsg\tJoão!native@chatd\t#chat\t");
        got.push_str(&piece[3]);
    }
    assert_eq!(got, text);
    // And the bot reaches João by his name.
    bot.send("privmsg João recebi tudo");
    assert!(joao.expect("PRIV ").ends_with(" pybot João recebi tudo"));
    bot.send("quit");
    bot.expect("closed");
    assert!(bot.errors.drain().is_empty(), "python3-irc complained");
}

#[test]
fn irssi_keeps_the_readme_s_server_and_connects_to_it_at_start() {
    let d = Launch::new().irc().password("sesame").start();
    let mut bruno = d.join_settled("Bruno");
    let irc = d.irc_addr.unwrap();
    let irssi = Irssi::start("irssi-save", "ana");
    // README: "Joining from irssi, WeeChat, HexChat or a phone".
    irssi.type_line("/network add chatd");
    irssi.type_line(&format!(
        "/server add -auto -network chatd {} {} sesame",
        irc.ip(),
        irc.port()
    ));
    irssi.type_line("/save");
    irssi.wait_line("Saved configuration");
    irssi.type_line("/quit");
    let irssi = irssi.restart("irssi-saved");
    assert!(bruno.expect("JOIN ").ends_with(" ana"));
    irssi.window("#chat");
    irssi.wait_line("[ ana] [ Bruno]");
}

#[test]
fn irssi_says_why_when_chatd_shuts_down() {
    let mut d = Launch::new().irc().start();
    let irc = d.irc_addr.unwrap();
    let irssi = Irssi::start("irssi-shutdown", "ana");
    irssi.type_line(&format!("/connect {} {}", irc.ip(), irc.port()));
    irssi.window("#chat");
    d.terminate();
    irssi.window("(status)");
    irssi.wait_line("chatd is shutting down.");
}
