//! `irc::Message::parse` on any bytes never panics; a parsed message emits back as a line that
//! parses to the same message (or is refused only for being over 512 bytes), and the text
//! helpers (tags, CTCP, formatting, splitting) hold their promises on every parameter.
#![no_main]

use chat_core::irc::{
    is_plain, strip_formatting, Ctcp, EmitError, Message, SplitText, MAX_IRC_LINE,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a split budget, the rest is the line.
    let Some((&budget, line)) = data.split_first() else {
        return;
    };
    let Ok(m) = Message::parse(line) else {
        return;
    };

    let mut out = String::new();
    match m.emit(&mut out) {
        Ok(n) => {
            assert_eq!(n, out.len());
            let body = out.strip_suffix("\r\n").expect("emit ends in CRLF");
            assert_eq!(
                Message::parse(body.as_bytes()),
                Ok(m),
                "{line:?} wrote back as {out:?}"
            );
            assert!(out.len() <= line.len() + 2, "{line:?} grew into {out:?}");
        }
        Err(e) => {
            assert_eq!(e, EmitError::TooLong, "{line:?} parsed but did not emit");
            assert!(m.body_len().expect("measurable") > MAX_IRC_LINE);
        }
    }

    for tag in m.tags() {
        let mut value = String::new();
        tag.unescape_into(&mut value).expect("a String never fills");
        assert!(value.len() <= tag.raw_value.len(), "unescaping never grows");
    }

    for &p in m.params() {
        if let Some(c) = Ctcp::parse(p) {
            let mut again = String::new();
            c.emit(&mut again).expect("a String never fills");
        }
        let mut plain = String::new();
        strip_formatting(p, &mut plain).expect("a String never fills");
        assert!(
            is_plain(&plain) && plain.len() <= p.len(),
            "{p:?} -> {plain:?}"
        );

        let budget = usize::from(budget).max(4);
        let pieces: Vec<&str> = SplitText::new(p, budget).expect("budget >= 4").collect();
        assert!(pieces.iter().all(|s| !s.is_empty() && s.len() <= budget));
        assert_eq!(pieces.concat(), p);
    }
});
