//! Who is online, as far as the server has told: the names Tab completes.
//!
//! The list is rebuilt from `WHO`, and kept up to date by `JOIN`, `LEAVE` and `NICK`; a name
//! that speaks (`MSG`, `ME`, `PRIV`) moves to the front, so the people in the conversation
//! complete first, as in irssi.

use chat_core::names::same_name;
use chat_core::ServerLine;

/// The names online, most recent speaker first.
#[derive(Debug, Default)]
pub struct Roster {
    /// Names as their owners spell them; the front spoke last.
    names: Vec<String>,
}

impl Roster {
    /// Follow one server line.
    pub fn follow(&mut self, line: &ServerLine<'_>) {
        match *line {
            ServerLine::Who { names, .. } => {
                self.names = names
                    .split(' ')
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect();
                self.names.sort_by_key(|n| n.to_lowercase());
            }
            ServerLine::Join { name, .. } => {
                self.remove(name);
                self.names.push(name.to_string());
            }
            ServerLine::Leave { name, .. } => self.remove(name),
            ServerLine::Nick { old, new, .. } => {
                if let Some(n) = self.names.iter_mut().find(|n| same_name(n, old)) {
                    *n = new.to_string();
                }
            }
            ServerLine::Msg { from, .. }
            | ServerLine::Me { from, .. }
            | ServerLine::Priv { from, .. } => {
                self.remove(from);
                self.names.insert(0, from.to_string());
            }
            _ => {}
        }
    }

    /// Forget `name`.
    fn remove(&mut self, name: &str) {
        self.names.retain(|n| !same_name(n, name));
    }

    /// Return the names starting with `prefix` (ignoring case), most recent speaker first,
    /// leaving out `me`.
    pub fn matching(&self, prefix: &str, me: &str) -> Vec<String> {
        let prefix: Vec<char> = prefix.chars().flat_map(char::to_lowercase).collect();
        self.names
            .iter()
            .filter(|n| !same_name(n, me))
            .filter(|n| {
                let lower: Vec<char> = n.chars().flat_map(char::to_lowercase).collect();
                lower.starts_with(&prefix)
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn follow(r: &mut Roster, line: &str) {
        r.follow(&ServerLine::parse(line).expect("parses"));
    }

    #[test]
    fn follows_who_join_leave_nick_and_speakers() {
        let t = "2026-11-29T14:13:05Z";
        let mut r = Roster::default();
        follow(&mut r, &format!("WHO {t} 4 bruno Ana carla Beto"));
        assert_eq!(r.matching("", "bruno"), ["Ana", "Beto", "carla"]);
        assert_eq!(r.matching("B", "x"), ["Beto", "bruno"]);
        follow(&mut r, &format!("JOIN {t} Bia"));
        follow(&mut r, &format!("LEAVE {t} beto quit"));
        assert_eq!(r.matching("b", "bruno"), ["Bia"]);
        follow(&mut r, &format!("NICK {t} Bia Bianca"));
        assert_eq!(r.matching("bi", "bruno"), ["Bianca"]);
        follow(&mut r, &format!("MSG {t} carla oi"));
        assert_eq!(r.matching("", "bruno"), ["carla", "Ana", "Bianca"]);
        follow(&mut r, &format!("PRIV {t} Ana bruno psst"));
        assert_eq!(r.matching("", "bruno"), ["Ana", "carla", "Bianca"]);
        follow(&mut r, &format!("HIST MSG {t} Zé velho"));
        assert!(
            r.matching("z", "bruno").is_empty(),
            "history is not presence"
        );
    }

    #[test]
    fn prefixes_ignore_case_beyond_ascii() {
        let mut r = Roster::default();
        follow(&mut r, "WHO 2026-11-29T14:13:05Z 2 Élodie Émile");
        assert_eq!(r.matching("él", "x"), ["Élodie"]);
        assert_eq!(r.matching("ÉM", "x"), ["Émile"]);
    }
}
