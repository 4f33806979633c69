//! Tab completion of names and commands, cycling through the matches.
//!
//! Tab completes the word before the cursor. A word starting with `/` (or `@`) as the first
//! word of the line completes to a command; any other word to a name from the [`Roster`]: a
//! name at the start of the line gets `: ` after it (`Ana: `, the usual way to address someone),
//! elsewhere a space. Pressing Tab again replaces the completion with the next match, and after
//! the last comes the first again; any other key ends the cycle.

use crate::editor::Editor;
use crate::roster::Roster;

/// The commands Tab completes, with what follows each (a space when it takes an argument).
const COMMANDS: &[&str] = &[
    "/help",
    "/me ",
    "/msg ",
    "/nick ",
    "/quit",
    "/sair",
    "/who",
    "@privado:",
    "@sair",
];

/// A cycle in progress: where the completed word starts and what Tab can put there.
#[derive(Debug)]
struct Cycle {
    /// The index (in characters) where the word starts.
    start: usize,
    /// The texts to put there, in order.
    choices: Vec<String>,
    /// The choice shown now.
    at: usize,
}

/// Tab completion state.
#[derive(Debug, Default)]
pub struct Completer {
    cycle: Option<Cycle>,
}

impl Completer {
    /// End the cycle (any key other than Tab).
    pub fn reset(&mut self) {
        self.cycle = None;
    }

    /// Complete the word before the cursor of `editor`, or put in the next match; return false
    /// when there is nothing to complete.
    pub fn tab(&mut self, editor: &mut Editor, roster: &Roster, me: &str) -> bool {
        if let Some(c) = self.cycle.as_mut() {
            c.at = (c.at + 1) % c.choices.len();
            editor.replace_before_cursor(c.start, &c.choices[c.at]);
            return true;
        }
        let before = editor.before_cursor();
        let start = before
            .iter()
            .rposition(|&c| c == ' ' || c == ':')
            .map_or(0, |i| i + 1);
        let word: String = before[start..].iter().collect();
        let head: String = before[..start].iter().collect();
        let choices = choices(&head, &word, roster, me);
        if choices.is_empty() {
            return false;
        }
        editor.replace_before_cursor(start, &choices[0]);
        self.cycle = Some(Cycle {
            start,
            choices,
            at: 0,
        });
        true
    }
}

/// Return what may replace `word`, which follows `head` on the line.
fn choices(head: &str, word: &str, roster: &Roster, me: &str) -> Vec<String> {
    let first_word = head.trim().is_empty();
    if first_word && word.starts_with(['/', '@']) {
        let lower = word.to_lowercase();
        return COMMANDS
            .iter()
            .filter(|c| c.starts_with(&lower) && c.len() > word.len())
            .map(|c| c.to_string())
            .collect();
    }
    let to_msg = head.trim_end().eq_ignore_ascii_case("/msg") || head.ends_with("@privado:");
    if word.is_empty() && !to_msg {
        return Vec::new();
    }
    let suffix = if head.is_empty() { ": " } else { " " };
    roster
        .matching(word, me)
        .into_iter()
        .map(|n| format!("{n}{suffix}"))
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::keys::Key;
    use chat_core::ServerLine;

    fn roster() -> Roster {
        let mut r = Roster::default();
        let who = "WHO 2026-11-29T14:13:05Z 4 Ana Anabel bruno Carla";
        r.follow(&ServerLine::parse(who).expect("parses"));
        r
    }

    fn typed(s: &str) -> Editor {
        let mut e = Editor::default();
        e.set(s);
        e
    }

    #[test]
    fn a_name_at_the_start_gets_a_colon_and_tab_cycles() {
        let r = roster();
        let (mut e, mut c) = (typed("an"), Completer::default());
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "Ana: ");
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "Anabel: ");
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "Ana: ", "back to the first");
        c.reset();
        e.insert("oi ");
        assert_eq!(e.text(), "Ana: oi ");
    }

    #[test]
    fn a_name_in_the_middle_gets_a_space_and_the_rest_stays() {
        let r = roster();
        let (mut e, mut c) = (typed("oi ca tudo"), Completer::default());
        for _ in 0.." tudo".len() {
            e.key(Key::Left);
        }
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "oi Carla  tudo");
        assert!(!Completer::default().tab(&mut typed("oi "), &r, "bruno"));
        assert!(!Completer::default().tab(&mut typed("xyz"), &r, "bruno"));
        assert!(
            !Completer::default().tab(&mut typed("br"), &r, "bruno"),
            "not my own name"
        );
    }

    #[test]
    fn commands_complete_and_msg_completes_the_receiver() {
        let r = roster();
        let (mut e, mut c) = (typed("/m"), Completer::default());
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "/me ");
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "/msg ");
        c.reset();
        assert!(c.tab(&mut e, &r, "bruno"), "every name after /msg");
        assert_eq!(e.text(), "/msg Ana ");
        let (mut e, mut c) = (typed("@privado:c"), Completer::default());
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "@privado:Carla ");
        let (mut e, mut c) = (typed("/QU"), Completer::default());
        assert!(c.tab(&mut e, &r, "bruno"));
        assert_eq!(e.text(), "/quit");
        assert!(!Completer::default().tab(&mut typed("oi /m"), &r, "bruno"));
    }

    #[test]
    fn every_completed_command_is_one_the_core_knows() {
        use chat_core::commands::Command;
        for c in COMMANDS {
            let args = match c.chars().last() {
                Some(':') => "Ana oi",
                Some(' ') => "x y",
                _ => " x",
            };
            let line = format!("{c}{args}");
            assert!(
                !matches!(Command::parse(&line), Command::Unknown(_) | Command::Say(_)),
                "{line}"
            );
        }
    }
}
