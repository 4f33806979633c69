//! Checks that a manual page documents every long option and environment variable that a
//! binary's `--help` lists, so that the page cannot drift from the command line.
//!
//! Shared by `daemon/tests/man_pages.rs` (chatd(8)) and `client/tests/man_pages.rs` (chatc(1)),
//! which include it with `#[path]`.

use std::process::Command;

/// Fail unless every long option of `bin --help` appears in the roff page `man_page`.
pub fn check_options(bin: &str, man_page: &str) {
    let help = help_text(bin);
    let options = long_options(&help);
    assert!(
        options.iter().any(|o| o == "--help") && options.iter().any(|o| o == "--version"),
        "{bin} --help lists no --help/--version, is the CLI in place?\n{help}"
    );
    let page = roff_to_text(&std::fs::read_to_string(man_page).expect("read the man page"));
    let missing: Vec<&String> = options.iter().filter(|o| !has_word(&page, o)).collect();
    assert!(
        missing.is_empty(),
        "{man_page} does not document {missing:?} from {bin} --help"
    );
}

/// Fail unless every long option of `bin --help` has an entry of its own in the roff page
/// `man_page`: a tagged paragraph (`.TP`) whose tag names it. An option mentioned only in
/// another's paragraph (a `.TP` lost where two changes met) is not documented where a reader
/// looks for it.
pub fn check_option_entries(bin: &str, man_page: &str) {
    let help = help_text(bin);
    let roff = std::fs::read_to_string(man_page).expect("read the man page");
    let tags = tags(&roff);
    let missing: Vec<String> = long_options(&help)
        .into_iter()
        .filter(|o| !tags.iter().any(|t| has_word(t, o)))
        .collect();
    assert!(
        missing.is_empty(),
        "{man_page} has no .TP entry for {missing:?} from {bin} --help"
    );
}

/// Return the tags of the tagged paragraphs of `roff`: the line after each `.TP`, as text.
fn tags(roff: &str) -> Vec<String> {
    let lines: Vec<&str> = roff.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].trim_end() == ".TP")
        .map(|w| roff_to_text(w[1]))
        .collect()
}

/// Fail unless every environment variable of `bin --help` appears in the roff page `man_page`.
pub fn check_env_vars(bin: &str, man_page: &str) {
    let help = help_text(bin);
    let page = roff_to_text(&std::fs::read_to_string(man_page).expect("read the man page"));
    let missing: Vec<String> = env_vars(&help)
        .into_iter()
        .filter(|v| !has_word(&page, v))
        .collect();
    assert!(
        missing.is_empty(),
        "{man_page} does not document {missing:?} from {bin} --help"
    );
}

/// Run `BIN --help` and return what it printed.
fn help_text(bin: &str) -> String {
    let out = Command::new(bin)
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(
        out.status.success(),
        "{bin} --help failed: {:?}",
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
fn helpers_extract_and_normalise() {
    let help =
        "  -l, --listen <ADDR>  listen [env: CHATD_LISTEN=]\n      --log-level <L>\n  --  \n";
    assert_eq!(long_options(help), ["--listen", "--log-level"]);
    assert_eq!(env_vars(help), ["CHATD_LISTEN"]);
    let text = roff_to_text(".BR \\-\\-log\\-level \" \\fBinfo\\fP\"\n\\fB\\-\\-listen\\fR");
    assert!(has_word(&text, "--log-level"));
    assert!(has_word(&text, "--listen"));
    assert!(!has_word(&text, "--log"));
    let roff = ".TP\n.BR \\-\\-listen \" addr\"\nListen.\n.B \\-\\-flood\nis not a tag\n";
    assert_eq!(tags(roff), [".BR --listen \" addr\""]);
}
