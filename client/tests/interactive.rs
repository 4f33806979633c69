//! chatc on a real terminal: driven through tmux against the real chatd.
//!
//! Each test runs chatc in its own detached tmux server (a unique `-L` socket) with a fixed
//! window size, types with `send-keys`, reads the screen with `capture-pane`, and kills only
//! its own session. tmux is required: without it these tests fail and say so.
#![allow(clippy::unwrap_used)]

mod tmux;

use std::path::Path;

use chat_testkit::{chatc_bin, signal, wait_for, Chatd, Launch, Signal, TempDir};
use tmux::Tmux;

/// Return the shell command that runs chatc and then records the terminal settings.
fn chatc_then_stty(port: u16, name: &str, stty_file: &Path) -> String {
    format!(
        "env -u CHATC_PASSWORD -u NO_COLOR {} -H 127.0.0.1 -p {port} -n {name}; stty -a > {}; sleep 30",
        chatc_bin().display(),
        stty_file.display()
    )
}

/// Assert the terminal was put back into its normal (cooked, echoing) mode.
fn assert_terminal_restored(stty_file: &Path) {
    wait_for("stty output", || {
        std::fs::metadata(stty_file).is_ok_and(|m| m.len() > 0)
    });
    let stty = std::fs::read_to_string(stty_file).unwrap();
    let words: Vec<&str> = stty.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(words.contains(&flag), "{flag} not restored:\n{stty}");
    }
}

#[test]
fn incoming_lines_appear_above_the_half_typed_line() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let dir = TempDir::new("tmux");
    let stty = dir.join("stty");
    let tmux = Tmux::start("main", &chatc_then_stty(d.addr.port(), "ana", &stty));

    // The name is taken: chatc asks for another on the terminal.
    tmux.wait_screen("the name prompt", |s| {
        s.iter()
            .any(|l| l.contains("The name ana is taken. Another name:"))
    });
    tmux.type_text("Bruno");
    tmux.key("Enter");
    assert!(ana.expect("JOIN ").ends_with(" Bruno"));
    tmux.wait_screen("the prompt", |s| s.last().is_some_and(|l| l == "Bruno>"));

    // Half a line, then a message arrives.
    tmux.type_text("half typed olá");
    tmux.wait_screen("the typed text", |s| {
        s.last().is_some_and(|l| l == "Bruno> half typed olá")
    });
    ana.send("Oi Bruno, tudo bem?");
    let screen = tmux.wait_screen("Ana's message", |s| {
        s.iter().any(|l| l.ends_with("<Ana> Oi Bruno, tudo bem?"))
    });
    let msg = screen
        .iter()
        .position(|l| l.ends_with("<Ana> Oi Bruno, tudo bem?"))
        .unwrap();
    assert_eq!(
        screen.last().unwrap(),
        "Bruno> half typed olá",
        "input line intact:\n{}",
        screen.join("\n")
    );
    assert_eq!(
        msg,
        screen.len() - 2,
        "the message is right above the input line"
    );
    assert!(
        screen[msg].starts_with('[') && screen[msg].as_bytes()[6] == b']',
        "[HH:MM] {}",
        screen[msg]
    );
    assert_eq!(
        tmux.display("#{cursor_x}"),
        "21",
        "cursor after the typed text"
    );

    // Edit in the middle, finish the line and send it.
    tmux.key("Home");
    tmux.type_text(">");
    tmux.key("End");
    tmux.type_text(" e você?");
    tmux.key("Enter");
    let got = ana.expect("MSG ");
    assert!(got.ends_with(" Bruno >half typed olá e você?"), "{got}");
    tmux.wait_screen("the own message", |s| {
        s.iter()
            .any(|l| l.ends_with("<Bruno> >half typed olá e você?"))
            && s.last().is_some_and(|l| l == "Bruno>")
    });

    // A private message in the original programs' form.
    tmux.type_text("@privado:Ana só pra você");
    tmux.key("Enter");
    assert!(ana.expect("PRIV ").ends_with(" Bruno Ana só pra você"));
    tmux.wait_screen("the private message", |s| {
        s.iter().any(|l| l.ends_with("you → *Ana*: só pra você"))
    });

    // Ctrl-C leaves cleanly and the terminal is restored.
    tmux.key("C-c");
    assert!(ana.expect("LEAVE ").contains(" Bruno quit"));
    assert_terminal_restored(&stty);
    drop(tmux);
}

#[test]
fn a_signal_restores_the_terminal_too() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut ana = d.join("Ana");
    let dir = TempDir::new("tmux-signal");
    let stty = dir.join("stty");
    let tmux = Tmux::start("signal", &chatc_then_stty(d.addr.port(), "Bruno", &stty));
    tmux.wait_screen("the prompt", |s| s.last().is_some_and(|l| l == "Bruno>"));
    // A line wider than the window scrolls sideways, and a resize redraws it.
    let long: String = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    tmux.type_text(&long);
    let full = format!("Bruno> {long}");
    tmux.wait_screen("the typed text", |s| s.last().is_some_and(|l| *l == full));
    tmux.resize(40, 30);
    let tail = format!("Bruno> {}", &long[long.len() - 31..]);
    tmux.wait_screen("the scrolled line", |s| {
        s.last().is_some_and(|l| *l == tail)
    });
    ana.expect("JOIN ");
    // The pane runs `sh -c`; chatc is its child.
    let sh = tmux.display("#{pane_pid}");
    let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
    let chatc: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    signal(chatc, Signal::SIGTERM);
    assert_terminal_restored(&stty);
    assert!(ana.expect("LEAVE ").contains(" Bruno "));
    assert!(tmux.alive());
    drop(tmux);
}

#[test]
fn the_password_prompt_does_not_echo_and_a_wrong_one_is_reported() {
    let d = Launch::new()
        .args(&["--flood", "off"])
        .password("sesame")
        .start();
    let mut ana = d.join("Ana");
    let dir = TempDir::new("tmux-password");
    let stty = dir.join("stty");
    let once = format!(
        "env -u CHATC_PASSWORD {} -H 127.0.0.1 -p {} -n Bruno",
        chatc_bin().display(),
        d.addr.port()
    );
    let cmd = format!(
        "{once}; echo exit=$?; {once}; stty -a > {}; sleep 30",
        stty.display()
    );
    let tmux = Tmux::start("password", &cmd);

    tmux.wait_screen("the password prompt", |s| {
        s.last().is_some_and(|l| l == "Password:")
    });
    tmux.type_text("open-sesame");
    tmux.key("Enter");
    let screen = tmux.wait_screen("the error", |s| s.iter().any(|l| l == "exit=1"));
    let text = screen.join("\n");
    assert!(text.contains("chatc: wrong password"), "{text}");
    assert!(
        !text.contains("open-sesame"),
        "the password was echoed:\n{text}"
    );

    tmux.wait_screen("the second prompt", |s| {
        s.last().is_some_and(|l| l == "Password:")
    });
    tmux.type_text("sesame");
    tmux.key("Enter");
    tmux.wait_screen("the input line", |s| {
        s.last().is_some_and(|l| l == "Bruno>")
    });
    assert!(ana.expect("JOIN ").ends_with(" Bruno"));
    assert!(!tmux.screen().join("\n").contains("sesame"));
    tmux.type_text("/quit até logo");
    tmux.key("Enter");
    assert!(ana.expect("LEAVE ").ends_with(" Bruno quit: até logo"));
    assert_terminal_restored(&stty);
    drop(tmux);
}

#[test]
fn a_restarted_server_is_rejoined_and_the_typed_line_survives() {
    let mut d = Chatd::start(&["--flood", "off"]);
    let port = d.addr.port();
    let dir = TempDir::new("tmux-restart");
    let stty = dir.join("stty");
    let tmux = Tmux::start("restart", &chatc_then_stty(port, "Bruno", &stty));
    tmux.wait_screen("the prompt", |s| s.last().is_some_and(|l| l == "Bruno>"));
    tmux.type_text("typed before");
    d.terminate();
    tmux.wait_screen("the shutdown notice", |s| {
        s.iter().any(|l| l.contains("server shutting down"))
    });
    tmux.wait_screen("the lost-connection notice", |s| {
        s.iter().any(|l| {
            l.contains("lost the connection to 127.0.0.1:") && l.contains("reconnecting in 1 s")
        })
    });
    tmux.wait_screen("the offline prompt", |s| {
        s.last()
            .is_some_and(|l| l == "(offline) Bruno> typed before")
    });

    let d2 = Launch::new()
        .listen(&format!("127.0.0.1:{port}"))
        .args(&["--flood", "off"])
        .start();
    tmux.wait_screen("the rejoin", |s| {
        s.iter().any(|l| l.contains("reconnected to 127.0.0.1:"))
    });
    tmux.wait_screen("the prompt again", |s| {
        s.last().is_some_and(|l| l == "Bruno> typed before")
    });
    let mut ana = d2.join("Ana");
    assert!(
        ana.expect("WHO ").contains(" Bruno"),
        "rejoined under the same name"
    );
    tmux.key("Enter");
    assert!(ana.expect("MSG ").ends_with(" Bruno typed before"));
    tmux.key("C-d");
    assert!(ana.expect("LEAVE ").contains(" Bruno quit"));
    assert_terminal_restored(&stty);
    drop(tmux);
}

#[test]
fn typing_and_ctrl_c_work_while_a_rejoin_hangs() {
    let mut d = Chatd::start(&["--flood", "off"]);
    let port = d.addr.port();
    let dir = TempDir::new("tmux-hang");
    let stty = dir.join("stty");
    let tmux = Tmux::start("hang", &chatc_then_stty(port, "Bruno", &stty));
    tmux.wait_screen("the prompt", |s| s.last().is_some_and(|l| l == "Bruno>"));
    d.crash();
    // Something that accepts connections but never says HELLO: the rejoin hangs.
    let silent = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    tmux.wait_screen("the lost-connection notice", |s| {
        s.iter().any(|l| l.contains("lost the connection"))
    });
    silent.set_nonblocking(true).unwrap();
    let mut held = Vec::new();
    wait_for("the rejoin attempt", || match silent.accept() {
        Ok((stream, _)) => {
            held.push(stream);
            true
        }
        Err(_) => false,
    });
    let typed = std::time::Instant::now();
    tmux.type_text("still typing");
    tmux.wait_screen("the typed text", |s| {
        s.last()
            .is_some_and(|l| l == "(offline) Bruno> still typing")
    });
    assert!(
        typed.elapsed() < std::time::Duration::from_secs(5),
        "keys were not echoed while the attempt hung: {:?}",
        typed.elapsed()
    );
    let pressed = std::time::Instant::now();
    tmux.key("C-c");
    assert_terminal_restored(&stty);
    assert!(
        pressed.elapsed() < std::time::Duration::from_secs(5),
        "Ctrl-C waited for the hanging attempt: {:?}",
        pressed.elapsed()
    );
    drop(held);
    drop(tmux);
}
