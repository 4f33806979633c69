//! Check that chatc(1) documents every long option and environment variable
//! that `chatc --help` lists, so that the manual page cannot drift from the
//! command line.
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// The manual page this binary's options must appear in.
const MAN_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/chatc.1");

/// Run `chatc --help` and return what it printed.
fn help_text() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_chatc"))
        .arg("--help")
        .output()
        .expect("run chatc --help");
    assert!(
        out.status.success(),
        "chatc --help failed: {:?}",
        out.status
    );
    String::from_utf8(out.stdout).expect("--help output is UTF-8")
}

/// Return the long options (`--name`) mentioned in `help`, sorted, without repeats.
fn long_options(help: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = help.as_bytes();
    let mut i = 0;
    while let Some(pos) = help[i..].find("--") {
        let start = i + pos;
        let before_ok = start == 0 || !is_word_byte(bytes[start - 1]);
        let mut end = start + 2;
        while end < bytes.len() && is_word_byte(bytes[end]) {
            end += 1;
        }
        let name_ok = end > start + 2 && bytes[start + 2].is_ascii_alphanumeric();
        if before_ok && name_ok {
            found.push(help[start..end].trim_end_matches('-').to_string());
        }
        i = end.max(start + 2);
    }
    found.sort();
    found.dedup();
    found
}

/// Return the environment variables clap shows as `[env: NAME=…]` in `help`.
fn env_vars(help: &str) -> Vec<String> {
    let mut found: Vec<String> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Whether `b` can be part of an option name.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Turn roff source into plain text: `\-` becomes `-`, font changes and
/// zero-width escapes disappear.
fn roff_to_text(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    let mut chars = roff.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('-') => out.push('-'),
            Some('e') => out.push('\\'),
            Some('&') | Some('/') | Some(',') | Some('%') => {}
            Some('f') => match chars.next() {
                Some('(') => {
                    chars.next();
                    chars.next();
                }
                Some('[') => {
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Whether `word` occurs in `text` as a whole word (not as a prefix of a
/// longer option such as `--log` inside `--log-level`).
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].bytes().next_back();
        let after = text[at + word.len()..].bytes().next();
        before.is_none_or(|b| !is_word_byte(b)) && after.is_none_or(|b| !is_word_byte(b))
    })
}

#[test]
fn every_long_option_in_help_is_in_the_man_page() {
    let help = help_text();
    let options = long_options(&help);
    assert!(
        options.iter().any(|o| o == "--help") && options.iter().any(|o| o == "--version"),
        "chatc --help lists no --help/--version, is the CLI in place?\n{help}"
    );
    let page = roff_to_text(&std::fs::read_to_string(MAN_PAGE).expect("read man/chatc.1"));
    let missing: Vec<&String> = options.iter().filter(|o| !has_word(&page, o)).collect();
    assert!(
        missing.is_empty(),
        "man/chatc.1 does not document {missing:?} from chatc --help"
    );
}

#[test]
fn every_environment_variable_in_help_is_in_the_man_page() {
    let help = help_text();
    let page = roff_to_text(&std::fs::read_to_string(MAN_PAGE).expect("read man/chatc.1"));
    let missing: Vec<String> = env_vars(&help)
        .into_iter()
        .filter(|v| !has_word(&page, v))
        .collect();
    assert!(
        missing.is_empty(),
        "man/chatc.1 does not document {missing:?} from chatc --help"
    );
}

#[test]
fn helpers_extract_and_normalise() {
    let help =
        "  -l, --listen <ADDR>  listen [env: CHATD_LISTEN=]\n      --log-level <L>\n  --  \n";
    assert_eq!(long_options(help), ["--listen", "--log-level"]);
    assert_eq!(env_vars(help), ["CHATD_LISTEN"]);
    let text = roff_to_text(".BR \\-\\-log\\-level \" \\fBinfo\\fP\"\n\\fB\\-\\-listen\\fR");
    assert!(has_word(&text, "--log-level"));
    assert!(has_word(&text, "--listen"));
    assert!(!has_word(&text, "--log"));
}
