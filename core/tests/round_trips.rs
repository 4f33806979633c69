//! What the core writes reads back the same: the commands a client sends, and the history
//! entries the daemon saves as `HIST` lines.
#![allow(clippy::unwrap_used)]

use chat_core::commands::Command;
use chat_core::config::MAX_LINE;
use chat_core::{Entry, EntryKind, Name, Timestamp};
use proptest::prelude::*;

/// Lines a user might type: command words (any case), names, odd spacing, and anything at all.
fn typed() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (
            prop::sample::select(vec![
                "", "/", "//", "@", "/msg", "/MSG", "/me", "/who", "/nick", "/NiCk", "/quit",
                "/sair", "@sair", "/help", "/frob", "@privado:", "@PRIVADO:", "@someone",
            ]),
            "[ ]{0,3}",
            "[a-zA-Zé日/@:]{0,8}",
            "[ ]{0,3}",
            "[ a-zA-Zé/@]{0,20}",
        )
            .prop_map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}")),
        1 => "[^\n]{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any command read from a line is written (Display) as a line that reads back the same.
    #[test]
    fn a_parsed_command_writes_back_to_itself(line in typed()) {
        let c = Command::parse(&line);
        let written = c.to_string();
        prop_assert_eq!(Command::parse(&written), c, "{:?} was written as {:?}", line, written);
    }

    /// Any entry the server could keep is saved as a `HIST` line that loads back the same.
    #[test]
    fn an_entry_saves_and_loads_back_the_same(
        me in any::<bool>(),
        secs in 0u64..253_402_300_799,
        name in "[A-Za-z0-9_é日]{1,10}",
        text in "[^\\p{Cc}]{0,80}",
    ) {
        let kind = if me { EntryKind::Me } else { EntryKind::Msg };
        let e = Entry::new(kind, Timestamp(secs), Name::new(&name).unwrap(), &text).unwrap();
        prop_assert!(e.text.len() < MAX_LINE);
        prop_assert_eq!(Entry::parse(&e.line().to_string()), Ok(e));
    }
}
