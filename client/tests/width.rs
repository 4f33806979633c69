//! The width of what people type, on a real terminal: emoji and CJK take two columns,
//! combining marks none, and the cursor lands where the terminal draws it (issue 14, item 6).
#![allow(clippy::unwrap_used)]

mod tmux;

use chat_testkit::Chatd;
use tmux::{chatc_command, Tmux};

#[test]
fn the_cursor_follows_emoji_cjk_and_combining_marks() {
    let d = Chatd::start(&["--flood", "off"]);
    let mut bruno = d.join("Bruno");
    let tmux = Tmux::start("width", &chatc_command(d.addr.port(), "-n Ana"));
    tmux.wait_last("Ana>");
    bruno.expect("JOIN ");

    // The example: `Ana> ` is 5 columns, three rockets 6, a space 1, two cups 4.
    tmux.type_text("🚀🚀🚀 ☕☕");
    tmux.wait_last("Ana> 🚀🚀🚀 ☕☕");
    tmux.wait_cursor_x(16);
    tmux.key("Left");
    tmux.wait_cursor_x(14);

    tmux.key("End");
    tmux.key("C-u");
    tmux.type_text("日本語のテキスト");
    tmux.wait_last("Ana> 日本語のテキスト");
    tmux.wait_cursor_x(5 + 16);

    // e + COMBINING ACUTE is one column, and the cursor steps over the pair as one.
    tmux.key("C-u");
    tmux.type_text("e\u{301}e\u{301}x");
    tmux.wait_cursor_x(8);
    tmux.key("Left");
    tmux.wait_cursor_x(7);
    tmux.key("Left");
    tmux.wait_cursor_x(6);
    tmux.type_text("!");
    tmux.wait_cursor_x(7);
    tmux.key("BSpace");
    tmux.key("BSpace");
    tmux.wait_cursor_x(5);
    tmux.key("Enter");
    assert!(
        bruno.expect("MSG ").ends_with(" Ana e\u{301}x"),
        "Backspace took the letter with its mark"
    );

    // Marks outside the Latin combining block too: Thai vowel and tone marks, a Devanagari
    // virama (the old hand-made table gave each of them a column).
    tmux.type_text("ก\u{e35}\u{e49}क\u{94d}!");
    tmux.wait_cursor_x(5 + 3);
    tmux.key("C-u");

    // A line wider than the window scrolls by columns, not characters.
    let wide = "語".repeat(60);
    tmux.type_text(&wide);
    let screen = tmux.wait_screen("the scrolled wide line", |s| {
        s.last()
            .is_some_and(|l| l.starts_with("Ana> 語") && l.ends_with('語'))
    });
    let shown = screen.last().unwrap().trim_start_matches("Ana> ");
    let x: usize = tmux.display("#{cursor_x}").parse().unwrap();
    assert_eq!(
        x,
        5 + 2 * shown.chars().count(),
        "cursor after the last wide character"
    );
    assert!(x < 100, "inside the 100-column window: {x}");
    tmux.key("C-u");
    tmux.key("C-d");
    assert!(bruno.expect("LEAVE ").contains(" Ana quit"));
}
