//! Making received text safe to print on a terminal.
//!
//! Everything a peer (or a hostile server) sends passes through [`clean`] before it reaches the
//! screen: escape sequences (CSI, OSC, DCS, SOS, PM, APC and two-byte escapes, in their 7-bit and
//! 8-bit forms), C0 and C1 control characters, DEL and the bidirectional overrides are removed,
//! and a tab becomes a space. No peer can move the cursor, set the title, clear the screen,
//! write the clipboard or ring the bell. The same function cleans lines chatc sends in script
//! mode, so `make 2>&1 | chatc` does not get its coloured lines refused.

/// Where the scanner is inside a possible escape sequence.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Plain text.
    Text,
    /// Just after ESC.
    Esc,
    /// After ESC and intermediate bytes (`ESC ( B` and the like), waiting for the final byte.
    EscIntermediate,
    /// Inside a control sequence (`ESC [` or U+009B), waiting for its final byte.
    Csi,
    /// Inside a string (OSC, DCS, SOS, PM, APC), waiting for BEL or the string terminator.
    Str,
    /// Just after ESC inside a string: `ESC \` ends it.
    StrEsc,
}

/// Return true for characters that may reorder how a line is displayed (bidi controls).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Return `s` without terminal control sequences and control characters.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut state = State::Text;
    for c in s.chars() {
        state = step(state, c, &mut out);
    }
    out
}

/// Feed one character through the scanner, pushing what is printable.
fn step(state: State, c: char, out: &mut String) -> State {
    match state {
        State::Text => text(c, out),
        State::Esc => match c {
            '[' => State::Csi,
            ']' | 'P' | 'X' | '^' | '_' => State::Str,
            '\u{1b}' => State::Esc,
            ' '..='/' => State::EscIntermediate,
            '0'..='~' => State::Text,
            // Anything else ends the escape; read the character as text.
            _ => text(c, out),
        },
        State::EscIntermediate => match c {
            ' '..='/' => State::EscIntermediate,
            '0'..='~' => State::Text,
            _ => text(c, out),
        },
        State::Csi => match c {
            ' '..='?' => State::Csi,
            '@'..='~' => State::Text,
            // A character no CSI may hold aborts it, as terminals do.
            _ => text(c, out),
        },
        State::Str => match c {
            '\u{7}' | '\u{9c}' => State::Text,
            '\u{1b}' => State::StrEsc,
            _ => State::Str,
        },
        State::StrEsc => match c {
            '\\' => State::Text,
            '\u{1b}' => State::StrEsc,
            _ => State::Str,
        },
    }
}

/// Handle a character outside any sequence.
fn text(c: char, out: &mut String) -> State {
    match c {
        '\u{1b}' => State::Esc,
        '\u{9b}' => State::Csi,
        '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => State::Str,
        '\t' => {
            out.push(' ');
            State::Text
        }
        c if c.is_control() || is_bidi_control(c) => State::Text,
        c => {
            out.push(c);
            State::Text
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn plain_text_is_untouched() {
        for s in [
            "Oi pessoal",
            "só pra você ☕",
            "日本語 テキスト",
            "a [b] ~c~ \\d",
            "",
        ] {
            assert_eq!(clean(s), s);
        }
    }

    #[test]
    fn csi_sequences_are_removed() {
        assert_eq!(clean("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(clean("a\x1b[2Jb"), "ab", "clear screen");
        assert_eq!(clean("a\x1b[Hb\x1b[10;20Hc"), "abc", "cursor moves");
        assert_eq!(
            clean("\x1b[?1049hx\x1b[?25l"),
            "x",
            "alternate screen, hide cursor"
        );
        assert_eq!(clean("x\x1b[1A\x1b[2Ky"), "xy", "up and erase line");
        assert_eq!(clean("\u{9b}31mred"), "red", "8-bit CSI");
        assert_eq!(clean("\x1b[6n"), "", "cursor position report request");
    }

    #[test]
    fn string_sequences_are_removed_whole() {
        assert_eq!(
            clean("\x1b]0;pwned\x07hi"),
            "hi",
            "set title, BEL-terminated"
        );
        assert_eq!(
            clean("\x1b]2;pwned\x1b\\hi"),
            "hi",
            "set title, ST-terminated"
        );
        assert_eq!(
            clean("\x1b]52;c;cm0gLXJmIH4=\x07ok"),
            "ok",
            "clipboard write"
        );
        assert_eq!(clean("\x1bPq#0;2;0;0;0\x1b\\ok"), "ok", "DCS / sixel");
        assert_eq!(clean("\u{9d}0;t\u{9c}ok"), "ok", "8-bit OSC and ST");
        assert_eq!(clean("\x1b_apc\x1b\\ok"), "ok", "APC");
        assert_eq!(
            clean("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\"),
            "link",
            "hyperlink"
        );
        assert_eq!(
            clean("\x1b]0;never ends"),
            "",
            "unterminated string swallows the rest"
        );
    }

    #[test]
    fn short_escapes_and_controls_are_removed() {
        assert_eq!(clean("a\x1bcb"), "ab", "full reset");
        assert_eq!(clean("a\x1b7b\x1b8c"), "abc", "save and restore cursor");
        assert_eq!(clean("\x1b(0lqk\x1b(B"), "lqk", "charset switch");
        assert_eq!(clean("ding\x07\x07"), "ding", "bell");
        assert_eq!(clean("over\rwrite"), "overwrite");
        assert_eq!(clean("back\x08\x08x"), "backx");
        assert_eq!(clean("nul\0del\x7f"), "nuldel");
        assert_eq!(clean("c1\u{85}\u{8d}x"), "c1x");
        assert_eq!(clean("a\tb"), "a b");
        assert_eq!(clean("line\nbreak"), "linebreak");
        assert_eq!(clean("\u{202e}txt.exe"), "txt.exe", "bidi override");
        assert_eq!(clean("trailing\x1b"), "trailing");
        assert_eq!(clean("\x1b[é"), "é", "aborted CSI keeps the text");
    }

    #[test]
    fn output_never_holds_a_control_character() {
        let hostile = "\x1b\x1b[[31m\u{9b}\x1b]\x07\x1bP\x1b\x1b\\x\u{90}y\u{9c}z\x1b[1;2\x00m\x7f";
        let out = clean(hostile);
        assert!(!out.chars().any(char::is_control), "{out:?}");
    }
}
