//! chatc's comforts on a real terminal (issue 15): Tab completion, recalling lines, alerts for
//! mentions and private messages, Ctrl-Z and `fg`, and pasting several lines — each driven
//! through tmux against the real chatd.
#![allow(clippy::unwrap_used)]

mod tmux;

use std::path::Path;

use chat_testkit::{chatc_bin, wait_for, Chatd, TempDir};
use tmux::{chatc_command, Tmux};

/// Return how many times `needle` occurs in the file at `path` (0 if it does not exist yet).
fn count_in(path: &Path, needle: &[u8]) -> usize {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).filter(|w| *w == needle).count()
}

#[test]
fn tab_completes_names_from_the_server_and_commands() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let _anabel = d.join("Anabel");
    let mut carla = d.join("Carla");
    let tmux = Tmux::start("complete", &chatc_command(d.addr.port(), "-n Bruno"));
    tmux.wait_screen("the list of who is online", |s| {
        s.iter().any(|l| l.starts_with("-!- Online (4):"))
            && s.last().is_some_and(|l| l == "Bruno>")
    });
    ana.expect("JOIN ");

    // Names from WHO; at the start of the line a name gets ": ", and Tab cycles.
    tmux.type_text("an");
    tmux.key("Tab");
    tmux.wait_last("Bruno> Ana:");
    tmux.wait_cursor_x("Bruno> Ana: ".len());
    tmux.key("Tab");
    tmux.wait_last("Bruno> Anabel:");
    tmux.key("Tab");
    tmux.wait_last("Bruno> Ana:");
    tmux.type_text("oi");
    tmux.key("Enter");
    assert!(ana.expect("MSG ").ends_with(" Bruno Ana: oi"));

    // A name that joins later completes in the middle of a line, with a space after it.
    let _zeca = d.join("Zeca");
    tmux.wait_screen("Zeca's join", |s| {
        s.iter().any(|l| l.ends_with("--> Zeca joined"))
    });
    tmux.type_text("olha o ze");
    tmux.key("Tab");
    tmux.wait_cursor_x("Bruno> olha o Zeca ".len());
    tmux.wait_last("Bruno> olha o Zeca");

    // A name that left does not complete any more; a renamed one completes by its new name.
    tmux.key("C-u");
    carla.send("/nick Carol");
    tmux.wait_screen("the rename", |s| {
        s.iter().any(|l| l.ends_with("Carla is now known as Carol"))
    });
    tmux.type_text("car");
    tmux.key("Tab");
    tmux.wait_last("Bruno> Carol:");
    tmux.key("C-u");
    carla.send("/quit");
    tmux.wait_screen("the leave", |s| {
        s.iter().any(|l| l.contains("<-- Carol left"))
    });
    tmux.type_text("car");
    tmux.key("Tab");
    tmux.type_text("!");
    tmux.wait_last("Bruno> car!");

    // Commands, then the receiver of /msg.
    tmux.key("C-u");
    tmux.type_text("/ms");
    tmux.key("Tab");
    tmux.wait_cursor_x("Bruno> /msg ".len());
    tmux.type_text("anab");
    tmux.key("Tab");
    tmux.type_text("psst");
    tmux.wait_last("Bruno> /msg Anabel psst");
    tmux.key("Enter");
    tmux.wait_screen("the private message", |s| {
        s.iter().any(|l| l.ends_with("you → *Anabel*: psst"))
    });
    tmux.key("C-c");
    // Carol left before Bruno: skip other people's LEAVE lines (a handful at most).
    let bruno_left = (0..5).any(|_| ana.expect("LEAVE ").contains(" Bruno quit"));
    assert!(bruno_left, "Bruno's LEAVE");
}

#[test]
fn up_down_and_ctrl_r_recall_what_was_typed() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let tmux = Tmux::start("recall", &chatc_command(d.addr.port(), "-n Bruno"));
    tmux.wait_last("Bruno>");
    for line in ["first line", "second line", "/me waves"] {
        tmux.type_text(line);
        tmux.key("Enter");
    }
    assert!(ana.expect("MSG ").ends_with(" Bruno first line"));
    assert!(ana.expect("MSG ").ends_with(" Bruno second line"));
    assert!(ana.expect("ME ").ends_with(" Bruno waves"));

    tmux.type_text("a draft");
    tmux.key("Up");
    tmux.wait_last("Bruno> /me waves");
    tmux.key("Up");
    tmux.wait_last("Bruno> second line");
    tmux.key("Up");
    tmux.wait_last("Bruno> first line");
    tmux.key("Up");
    tmux.wait_last("Bruno> first line");
    tmux.key("Down");
    tmux.wait_last("Bruno> second line");
    tmux.key("Down");
    tmux.key("Down");
    tmux.wait_last("Bruno> a draft");
    tmux.key("C-u");

    // Ctrl-R: search back, again for an older match, Enter sends it.
    tmux.key("C-r");
    tmux.type_text("line");
    tmux.wait_last("(search 'line') second line");
    tmux.key("C-r");
    tmux.wait_last("(search 'line') first line");
    tmux.key("Enter");
    assert!(ana.expect("MSG ").ends_with(" Bruno first line"));
    tmux.wait_last("Bruno>");

    // Ctrl-G cancels and gives back what was typed; a miss says so.
    tmux.type_text("kept");
    tmux.key("C-r");
    tmux.type_text("zzz");
    tmux.wait_last("(failed search 'zzz')");
    tmux.key("C-g");
    tmux.wait_last("Bruno> kept");
    tmux.key("Enter");
    assert!(ana.expect("MSG ").ends_with(" Bruno kept"));
    tmux.key("C-d");
    assert!(ana.expect("LEAVE ").contains(" Bruno quit"));
}

#[test]
fn a_mention_or_a_private_message_is_highlighted_and_rings_the_bell() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let dir = TempDir::new("mention");
    let raw = dir.join("output");
    let tmux = Tmux::start("mention", &chatc_command(d.addr.port(), "-n Bruno"));
    tmux.wait_last("Bruno>");
    tmux.record_output(&raw);
    ana.expect("JOIN ");

    ana.send("nothing for you");
    tmux.wait_screen("the plain line", |s| {
        s.iter().any(|l| l.ends_with("<Ana> nothing for you"))
    });
    ana.send("oi bruno, tudo bem?");
    let screen = tmux.wait_screen("the mention", |s| {
        s.iter().any(|l| l.ends_with("<Ana> oi bruno, tudo bem?"))
    });
    wait_for("the bell", || count_in(&raw, b"\x07") == 1);
    let lit = tmux.screen_with_escapes();
    let row = screen
        .iter()
        .position(|l| l.ends_with("tudo bem?"))
        .unwrap();
    let plain = screen
        .iter()
        .position(|l| l.ends_with("nothing for you"))
        .unwrap();
    assert!(
        lit[row].contains("\x1b[1m") && lit[row].contains("33m"),
        "bold yellow: {:?}",
        lit[row]
    );
    assert!(
        !lit[plain].contains("33m"),
        "not highlighted: {:?}",
        lit[plain]
    );

    ana.send("/msg Bruno só pra você");
    tmux.wait_screen("the private message", |s| {
        s.iter().any(|l| l.ends_with("*Ana* → you: só pra você"))
    });
    wait_for("the second bell", || count_in(&raw, b"\x07") == 2);
    // Bruno's own line naming himself rings nothing.
    tmux.type_text("eu sou o Bruno");
    tmux.key("Enter");
    ana.expect("MSG ");
    ana.send("/msg Bruno marker");
    tmux.wait_screen("the marker", |s| {
        s.iter().any(|l| l.ends_with("you: marker"))
    });
    wait_for("the third bell", || count_in(&raw, b"\x07") == 3);
    assert_eq!(
        count_in(&raw, b"\x1b]777;"),
        0,
        "no notification unless asked for"
    );
    tmux.key("C-c");
    drop(tmux);
}

#[test]
fn the_config_file_turns_the_bell_off_and_notifications_on() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let dir = TempDir::new("notify");
    // A notify-send that records its arguments, and a session bus address to find.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("calls");
    let fake = bin.join("notify-send");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" >> '{}'\necho >> '{0}'\n",
            calls.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .unwrap();
    let config = dir.join("chatc");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config"),
        format!(
            "# test\nhost = 127.0.0.1\nport = {}\nname = Bruno\nbell = no\nnotify = auto\n",
            d.addr.port()
        ),
    )
    .unwrap();
    let raw = dir.join("output");
    let cmd = format!(
        "env -u CHATC_HOST -u CHATC_PORT -u CHATC_PASSWORD XDG_CONFIG_HOME={} \
         DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent PATH={}:$PATH {}; sleep 30",
        dir.path().display(),
        bin.display(),
        chatc_bin().display()
    );
    let tmux = Tmux::start("notify", &cmd);
    tmux.wait_last("Bruno>");
    tmux.record_output(&raw);
    ana.expect("JOIN ");
    ana.send("/msg Bruno <b>segredo</b> & mais");
    tmux.wait_screen("the private message", |s| {
        s.iter().any(|l| l.ends_with("& mais"))
    });
    wait_for("notify-send", || {
        std::fs::read_to_string(&calls).is_ok_and(|c| c.lines().count() == 1)
    });
    let call = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        call.trim_end(),
        "-a|chatc|--|Ana (private)|&lt;b&gt;segredo&lt;/b&gt; &amp; mais|",
        "markup escaped, passed as arguments"
    );
    ana.send("and bruno again");
    tmux.wait_screen("the mention", |s| {
        s.iter().any(|l| l.ends_with("and bruno again"))
    });
    wait_for("the second notification", || {
        std::fs::read_to_string(&calls).is_ok_and(|c| c.lines().count() == 2)
    });
    assert_eq!(count_in(&raw, b"\x07"), 0, "bell = no");
    tmux.key("C-c");
    drop(tmux);

    // The same with OSC 777 from the command line, and a hostile name part of the text.
    let raw = dir.join("output-osc");
    let tmux = Tmux::start(
        "notify-osc",
        &chatc_command(d.addr.port(), "-n Bruno --notify osc777 --no-bell"),
    );
    tmux.wait_last("Bruno>");
    tmux.record_output(&raw);
    ana.send("bruno: olha]9;x");
    tmux.wait_screen("the mention", |s| s.iter().any(|l| l.ends_with("olha]9;x")));
    wait_for("the OSC 777 notification", || {
        count_in(
            &raw,
            b"\x1b]777;notify;Ana mentioned you;bruno: olha]9;x\x1b\\",
        ) == 1
    });
    assert_eq!(count_in(&raw, b"\x1b]"), 1, "one escape, chatc's own");
    assert_eq!(count_in(&raw, b"\x07"), 0, "--no-bell");
    tmux.key("C-c");
    drop(tmux);
}

#[test]
fn ctrl_z_gives_the_shell_a_sane_terminal_and_fg_brings_the_line_back() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let dir = TempDir::new("suspend");
    let stty = dir.join("stty");
    // dash with job control, which does not reset the terminal itself when a job stops.
    let tmux = Tmux::start("suspend", "env PS1='$ ' dash -i");
    tmux.wait_last("$");
    tmux.type_text(&chatc_command(d.addr.port(), "-n Bruno").replace("; sleep 30", ""));
    tmux.key("Enter");
    tmux.wait_last("Bruno>");
    ana.expect("JOIN ");
    tmux.type_text("half typed ☕");
    tmux.wait_last("Bruno> half typed ☕");

    tmux.key("C-z");
    tmux.wait_screen("the shell's prompt", |s| {
        s.iter().any(|l| l.contains("Stopped")) && s.last().is_some_and(|l| l == "$")
    });
    tmux.type_text(&format!("stty -a > {}", stty.display()));
    tmux.key("Enter");
    wait_for("stty output", || {
        std::fs::metadata(&stty).is_ok_and(|m| m.len() > 0)
    });
    let modes = std::fs::read_to_string(&stty).unwrap();
    let words: Vec<&str> = modes.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig", "icrnl"] {
        assert!(
            words.contains(&flag),
            "{flag} not restored while stopped:\n{modes}"
        );
    }
    // A message while stopped waits in the socket and shows after fg.
    ana.send("while you were away");
    tmux.type_text("fg");
    tmux.key("Enter");
    tmux.wait_screen("the message and the line back", |s| {
        s.iter().any(|l| l.ends_with("<Ana> while you were away"))
            && s.last().is_some_and(|l| l == "Bruno> half typed ☕")
    });
    tmux.wait_cursor_x("Bruno> half typed ".len() + 2);
    tmux.type_text(" e mais");
    tmux.key("Enter");
    assert!(ana.expect("MSG ").ends_with(" Bruno half typed ☕ e mais"));
    // Raw mode is back: Ctrl-C is a key for chatc again, not a signal for the shell.
    tmux.key("C-c");
    assert!(ana.expect("LEAVE ").contains(" Bruno quit"));
    tmux.wait_last("$");
    drop(tmux);
}

#[test]
fn a_paste_is_sent_line_by_line_paced_and_a_long_one_is_confirmed_first() {
    // The server's default flood limit: 20 lines at once, then 5 a second.
    let d = Chatd::start(&["--flood", "20/5"]);
    let mut ana = d.join("Ana");
    let tmux = Tmux::start("paste", &chatc_command(d.addr.port(), "-n Bruno"));
    tmux.wait_last("Bruno>");
    ana.expect("JOIN ");

    // A few lines go at once; an unfinished last line stays to be edited.
    tmux.type_text(">> ");
    tmux.paste("um\ndois\n\ntrês\nquase");
    for want in [" Bruno >> um", " Bruno dois", " Bruno três"] {
        assert!(ana.expect("MSG ").ends_with(want), "{want}");
    }
    tmux.wait_last("Bruno> quase");
    tmux.type_text(" lá");
    tmux.key("Enter");
    assert!(ana.expect("MSG ").ends_with(" Bruno quase lá"));

    // Many lines: asked first; "n" sends none.
    let eight: String = (1..=8).map(|i| format!("oops {i}\n")).collect();
    tmux.paste(&eight);
    tmux.wait_last("Send 8 pasted lines? (y/n)");
    tmux.type_text("n");
    tmux.wait_screen("the refusal", |s| {
        s.iter().any(|l| l.ends_with("8 pasted lines not sent"))
    });
    tmux.wait_last("Bruno>");

    // "y" sends them all, in order, under the flood limit: no warning, no kick.
    let thirty: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    tmux.paste(&thirty);
    tmux.wait_last("Send 30 pasted lines? (y/n)");
    tmux.type_text("y");
    for i in 1..=30 {
        let got = ana.expect("MSG ");
        assert!(
            got.ends_with(&format!(" Bruno line {i}")),
            "line {i}: {got}"
        );
    }
    tmux.type_text("after");
    tmux.key("Enter");
    assert!(
        ana.expect("MSG ").ends_with(" Bruno after"),
        "the refused 8 never came"
    );
    let screen = tmux.screen().join("\n");
    assert!(!screen.contains("error"), "no flood warning:\n{screen}");
    tmux.key("C-c");
    assert!(ana.expect("LEAVE ").contains(" Bruno quit"));
}
