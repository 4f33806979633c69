//! Drawing attention when someone writes to you: your name in a message, or a private message.
//!
//! [`for_me`] decides; the line is then highlighted (see [`crate::render`]), the terminal bell
//! rings (unless `--no-bell`), and a desktop notification is raised if one was asked for
//! ([`Notifier`]): with the OSC 777 or OSC 9 escape that some terminals turn into a notification,
//! or with `notify-send`. Everything shown comes from [`clean`], so a peer cannot smuggle an
//! escape sequence into the notification (its end included), and text given to `notify-send`
//! is passed as an argument, never through a shell, with its markup characters escaped.

use std::process::{Child, Command, Stdio};

use chat_core::names::same_name;
use chat_core::ServerLine;
use clap::ValueEnum;

use crate::sanitize::clean;

/// How to raise a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Notifier {
    /// Never.
    Off,
    /// `notify-send` when a session bus is there, else an OSC escape when the terminal is known
    /// to support one, else nothing.
    Auto,
    /// The OSC 777 escape (foot, Ghostty, WezTerm, urxvt with its notify extension).
    Osc777,
    /// The OSC 9 escape (iTerm2, WezTerm, kitty, Windows Terminal).
    Osc9,
    /// The `notify-send` program (libnotify, through the desktop session bus).
    NotifySend,
}

impl Notifier {
    /// Work out what [`Notifier::Auto`] means here, from the environment and `PATH`.
    pub fn resolve(self) -> Notifier {
        if self != Notifier::Auto {
            return self;
        }
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        if !var("DBUS_SESSION_BUS_ADDRESS").is_empty() && on_path("notify-send") {
            return Notifier::NotifySend;
        }
        let (term, program) = (var("TERM"), var("TERM_PROGRAM"));
        if term.starts_with("foot") || matches!(program.as_str(), "ghostty" | "WezTerm") {
            Notifier::Osc777
        } else if matches!(program.as_str(), "iTerm.app") || term == "xterm-kitty" {
            Notifier::Osc9
        } else {
            Notifier::Off
        }
    }
}

/// Return true if an executable named `program` is in a directory of `$PATH`.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Return true if `text` names `me` as a word of its own (ignoring case): `Ana`, `ana:`,
/// `@ana` and `(ANA)` do, `Anabel` does not.
pub fn mentions(text: &str, me: &str) -> bool {
    let me: Vec<char> = me.chars().flat_map(char::to_lowercase).collect();
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    if me.is_empty() || text.len() < me.len() {
        return false;
    }
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    (0..=text.len() - me.len()).any(|i| {
        text[i..i + me.len()] == me[..]
            && !word(i.checked_sub(1).and_then(|j| text.get(j)))
            && !word(text.get(i + me.len()))
    })
}

/// Return the notification (title, text) if `line` is for `me`: a private message to me, or a
/// message or action that names me, from someone else. Replayed history counts too (it is
/// highlighted), so callers that alert skip `HIST` lines.
pub fn for_me(line: &ServerLine<'_>, me: &str) -> Option<(String, String)> {
    let (from, text, private) = match *line {
        ServerLine::Priv { from, to, text, .. } if same_name(to, me) => (from, text, true),
        ServerLine::Msg { from, text, .. }
        | ServerLine::Me { from, text, .. }
        | ServerLine::Hist {
            name: from, text, ..
        } => (from, text, false),
        _ => return None,
    };
    if same_name(from, me) || !(private || mentions(text, me)) {
        return None;
    }
    let title = if private {
        format!("{} (private)", clean(from))
    } else {
        format!("{} mentioned you", clean(from))
    };
    Some((title, clean(text)))
}

/// The bell and the notifications, as configured.
#[derive(Debug)]
pub struct Alerts {
    bell: bool,
    notify: Notifier,
    /// The last `notify-send` started, until it ends (one at a time).
    child: Option<Child>,
}

impl Alerts {
    /// Set up alerts: ring the bell or not, and notify how (`Auto` is resolved now).
    pub fn new(bell: bool, notify: Notifier) -> Alerts {
        Alerts {
            bell,
            notify: notify.resolve(),
            child: None,
        }
    }

    /// Raise an alert; return the bytes to write to the terminal for it (bell, OSC escape).
    pub fn raise(&mut self, title: &str, text: &str) -> String {
        let (title, text) = (clean(title).replace(';', ","), clean(text));
        let mut out = String::new();
        match self.notify {
            Notifier::Osc777 => out.push_str(&format!("\x1b]777;notify;{title};{text}\x1b\\")),
            Notifier::Osc9 => out.push_str(&format!("\x1b]9;{title}: {text}\x1b\\")),
            Notifier::NotifySend => self.notify_send(&title, &text),
            Notifier::Off | Notifier::Auto => {}
        }
        if self.bell {
            out.push('\x07');
        }
        out
    }

    /// Start `notify-send` unless the last one still runs (a burst of mentions gives one).
    fn notify_send(&mut self, title: &str, text: &str) {
        if let Some(child) = self.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return;
            }
        }
        let markup_safe = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        self.child = Command::new("notify-send")
            .args(["-a", "chatc", "--", title, &markup_safe])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn a_mention_is_the_name_as_a_word() {
        for yes in ["ana", "Oi Ana!", "ANA: olha", "@ana", "(ana)", "fala, ana"] {
            assert!(mentions(yes, "Ana"), "{yes}");
        }
        for no in ["anabel", "bana", "banana", "ana_b", "", "an"] {
            assert!(!mentions(no, "Ana"), "{no}");
        }
        assert!(mentions("olá ÉLODIE", "élodie"));
        assert!(mentions("x 日本 y", "日本") && !mentions("日本語", "日本"));
    }

    #[test]
    fn private_messages_and_mentions_are_for_me_and_my_own_are_not() {
        let t = "2026-11-29T14:13:05Z";
        let parse = |l: &str| {
            ServerLine::parse(l)
                .map(|l| for_me(&l, "bruno"))
                .ok()
                .flatten()
        };
        assert_eq!(
            parse(&format!("PRIV {t} Ana Bruno psst")),
            Some(("Ana (private)".into(), "psst".into()))
        );
        assert_eq!(
            parse(&format!("MSG {t} Ana oi bruno")),
            Some(("Ana mentioned you".into(), "oi bruno".into()))
        );
        assert!(parse(&format!("ME {t} Ana acena pro Bruno")).is_some());
        assert!(parse(&format!("HIST MSG {t} Ana bruno?")).is_some());
        assert_eq!(parse(&format!("MSG {t} Ana oi todos")), None);
        assert_eq!(parse(&format!("MSG {t} Bruno eu, bruno")), None, "my own");
        assert_eq!(parse(&format!("PRIV {t} Bruno Ana oi")), None, "sent by me");
        assert_eq!(parse(&format!("JOIN {t} bruno")), None);
    }

    #[test]
    fn alerts_ring_and_escape_only_what_is_asked_and_nothing_else() {
        let hostile = "oi\x1b]0;pwned\x07\x1b\\;\x07end";
        let mut a = Alerts::new(true, Notifier::Off);
        assert_eq!(a.raise("Ana", hostile), "\x07");
        let mut a = Alerts::new(false, Notifier::Osc777);
        assert_eq!(
            a.raise("A;na", hostile),
            "\x1b]777;notify;A,na;oi;end\x1b\\",
            "cleaned: one escape, one terminator"
        );
        let mut a = Alerts::new(false, Notifier::Osc9);
        assert_eq!(a.raise("Ana", "x\u{9c}y"), "\x1b]9;Ana: xy\x1b\\");
        let mut a = Alerts::new(false, Notifier::Off);
        assert_eq!(a.raise("Ana", "x"), "");
    }
}
