//! Reading a joined client's line as a command.
//!
//! A line that does not start with `/` or `@` is a public message. The forms of the original
//! programs (`@privado:NAME TEXT`, `@sair`, `/sair`) sit beside the usual `/msg`, `/quit`.
//! Command words are case-insensitive; `//text` sends the literal text `/text`.
//! [`Command::parse`] reads a line; `Display` writes the line a client sends for a command, in
//! its canonical form, which reads back as the same command.

use core::fmt;

/// What a client asked for with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// An empty line: nothing to do.
    Empty,
    /// A public message.
    Say(&'a str),
    /// A public action (`/me TEXT`).
    Me(&'a str),
    /// A private message (`/msg NAME TEXT` or `@privado:NAME TEXT`).
    Msg {
        /// The receiver's name as typed.
        to: &'a str,
        /// The message, for the receiver alone.
        text: &'a str,
    },
    /// List who is online (`/who`).
    Who,
    /// Rename (`/nick NEW`).
    Nick(&'a str),
    /// Leave, with an optional reason (`/quit`, `/sair`, `@sair`).
    Quit(Option<&'a str>),
    /// Show the commands (`/help`).
    Help,
    /// A command word nobody knows; carries the word.
    Unknown(&'a str),
    /// A known command used wrongly; carries its usage text.
    Usage(&'static str),
}

/// Usage text of `/msg`.
pub const MSG_USAGE: &str = "/msg NAME TEXT";
/// Usage text of `/nick`.
pub const NICK_USAGE: &str = "/nick NEW";
/// Usage text of `/me`.
pub const ME_USAGE: &str = "/me TEXT";

/// Lines of help, one command per line.
pub const HELP: &[&str] = &[
    "Commands: a plain line is a public message.",
    "/msg NAME TEXT (or @privado:NAME TEXT) - a private message",
    "/me TEXT - an action",
    "/who - who is online",
    "/nick NEW - change your name",
    "/quit [REASON] (or /sair, @sair) - leave",
    "//TEXT - a public message that starts with /",
    "/help - this text",
];

fn split_word(s: &str) -> (&str, &str) {
    match s.split_once(' ') {
        Some((w, rest)) => (w, rest.trim_start_matches(' ')),
        None => (s, ""),
    }
}

fn private(rest: &str) -> Command<'_> {
    let (to, text) = split_word(rest.trim_start_matches(' '));
    if to.is_empty() || text.trim().is_empty() {
        Command::Usage(MSG_USAGE)
    } else {
        Command::Msg { to, text }
    }
}

fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

impl<'a> Command<'a> {
    /// Read one line (without its terminator).
    pub fn parse(line: &'a str) -> Command<'a> {
        if line.trim().is_empty() {
            return Command::Empty;
        }
        if line.starts_with("//") {
            return Command::Say(&line[1..]);
        }
        if let Some(rest) = strip_prefix_ci(line, "@privado:") {
            return private(rest);
        }
        if let Some(rest) = strip_prefix_ci(line, "@sair") {
            if rest.is_empty() || rest.starts_with(' ') {
                return Command::Quit(non_empty(rest));
            }
        }
        let Some(cmd) = line.strip_prefix('/') else {
            return Command::Say(line);
        };
        let (word, rest) = split_word(cmd);
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        if is("msg") {
            private(rest)
        } else if is("me") {
            non_empty(rest).map_or(Command::Usage(ME_USAGE), |_| Command::Me(rest))
        } else if is("who") {
            Command::Who
        } else if is("nick") {
            match non_empty(rest) {
                Some(n) if !n.contains(' ') => Command::Nick(n),
                _ => Command::Usage(NICK_USAGE),
            }
        } else if is("quit") || is("sair") {
            Command::Quit(non_empty(rest))
        } else if is("help") {
            Command::Help
        } else {
            Command::Unknown(word)
        }
    }
}

/// Writes the line (without `\n`) that reads back as this command: what [`Command::parse`]
/// returns always does. A `Say` starting with `/` is escaped as `//`; `Usage` writes the bare
/// command word; a hand-made `Say("@sair")`, which no line reads as, is written as it is.
impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Command::Empty => Ok(()),
            Command::Say(text) if text.starts_with('/') => write!(f, "/{text}"),
            Command::Say(text) => f.write_str(text),
            Command::Me(text) => write!(f, "/me {text}"),
            Command::Msg { to, text } => write!(f, "/msg {to} {text}"),
            Command::Who => f.write_str("/who"),
            Command::Nick(name) => write!(f, "/nick {name}"),
            Command::Quit(None) => f.write_str("/quit"),
            Command::Quit(Some(reason)) => write!(f, "/quit {reason}"),
            Command::Help => f.write_str("/help"),
            Command::Unknown(word) => write!(f, "/{word}"),
            Command::Usage(usage) => f.write_str(usage.split(' ').next().unwrap_or(usage)),
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn plain_lines_are_public() {
        assert_eq!(Command::parse("Oi pessoal"), Command::Say("Oi pessoal"));
        assert_eq!(Command::parse("a/b"), Command::Say("a/b"));
        assert_eq!(Command::parse("//etc/passwd"), Command::Say("/etc/passwd"));
        assert_eq!(Command::parse(""), Command::Empty);
        assert_eq!(Command::parse("   "), Command::Empty);
        assert_eq!(Command::parse("@someone hi"), Command::Say("@someone hi"));
    }

    #[test]
    fn private_messages_in_both_forms() {
        let want = Command::Msg {
            to: "Ana",
            text: "só pra você",
        };
        assert_eq!(Command::parse("/msg Ana só pra você"), want);
        assert_eq!(Command::parse("/MSG Ana  só pra você"), want);
        assert_eq!(Command::parse("@privado:Ana só pra você"), want);
        assert_eq!(Command::parse("@privado: Ana só pra você"), want);
        assert_eq!(Command::parse("/msg Ana"), Command::Usage(MSG_USAGE));
        assert_eq!(Command::parse("/msg"), Command::Usage(MSG_USAGE));
        assert_eq!(Command::parse("@privado:"), Command::Usage(MSG_USAGE));
    }

    #[test]
    fn quit_forms() {
        assert_eq!(Command::parse("/quit"), Command::Quit(None));
        assert_eq!(
            Command::parse("/quit bye now"),
            Command::Quit(Some("bye now"))
        );
        assert_eq!(Command::parse("/sair"), Command::Quit(None));
        assert_eq!(Command::parse("@sair"), Command::Quit(None));
        assert_eq!(Command::parse("@sair tchau"), Command::Quit(Some("tchau")));
        assert_eq!(Command::parse("@saire"), Command::Say("@saire"));
    }

    #[test]
    fn other_commands() {
        assert_eq!(Command::parse("/who"), Command::Who);
        assert_eq!(Command::parse("/help"), Command::Help);
        assert_eq!(Command::parse("/nick Bia"), Command::Nick("Bia"));
        assert_eq!(Command::parse("/nick"), Command::Usage(NICK_USAGE));
        assert_eq!(Command::parse("/nick a b"), Command::Usage(NICK_USAGE));
        assert_eq!(Command::parse("/me dança"), Command::Me("dança"));
        assert_eq!(Command::parse("/me"), Command::Usage(ME_USAGE));
        assert_eq!(Command::parse("/frob x"), Command::Unknown("frob"));
        assert_eq!(Command::parse("/"), Command::Unknown(""));
    }

    #[test]
    fn written_commands_read_back_the_same() {
        use std::string::ToString;
        let lines = [
            "Oi pessoal",
            "//etc/passwd",
            "/me dança",
            "/msg Ana só pra você",
            "@privado:Ana x",
            "/who",
            "/nick Bia",
            "/quit",
            "/QUIT tchau  ",
            "@sair",
            "/help",
            "/frob x",
            "/",
            "/msg Ana",
            "/nick a b",
            "/me",
            "",
            "  lead",
            "@someone hi",
            "///x",
        ];
        for line in lines {
            let c = Command::parse(line);
            assert_eq!(Command::parse(&c.to_string()), c, "{line:?} wrote {c}");
        }
        assert_eq!(Command::Quit(None).to_string(), "/quit");
        assert_eq!(Command::parse("/MSG Ana  oi").to_string(), "/msg Ana oi");
        assert_eq!(Command::Say("/etc").to_string(), "//etc");
    }

    #[test]
    fn multibyte_prefixes_do_not_panic() {
        assert_eq!(Command::parse("@priv\u{e9}"), Command::Say("@priv\u{e9}"));
        assert_eq!(Command::parse("@sa\u{ef}"), Command::Say("@sa\u{ef}"));
    }
}
