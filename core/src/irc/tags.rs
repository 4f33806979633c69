//! IRCv3 message tags: `@key=value;key2 ` before a message, values escaped.
//!
//! A tags section is `tag *(";" tag)`, a tag `key ["=" value]`, a key
//! `["+"] [vendor "/"] 1*(letter / digit / "-")` with `vendor` a host name (checked only to be
//! letters, digits, `-` and `.`). Values escape `;`,
//! space, `\`, CR and LF as `\:`, `\s`, `\\`, `\r`, `\n`; [`Tag::unescape_into`] undoes that.
//! Parsing checks the keys; an empty tag (`a;;b`, a final `;`) makes the section invalid.

use core::fmt;

use super::BufferFull;

/// Check a tags section (without `@`): `tag *(";" tag)`, `tag = key ["=" value]`,
/// `key = ["+"] [vendor "/"] 1*(alnum / "-")`, `vendor` a host name.
pub(crate) fn valid_tags(tags: &str) -> bool {
    !tags.is_empty() && tags.split(';').all(valid_tag)
}

fn valid_tag(tag: &str) -> bool {
    let key = tag.split_once('=').map_or(tag, |(k, _)| k);
    let key = key.strip_prefix('+').unwrap_or(key);
    let (vendor, name) = match key.split_once('/') {
        Some((v, n)) => (Some(v), n),
        None => (None, key),
    };
    let vendor_ok = vendor.is_none_or(|v| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    });
    vendor_ok && !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One message tag; its value is kept escaped as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// The key, with its `+` and vendor prefix if any (`time`, `+draft/reply`).
    pub key: &'a str,
    /// The value as written, escapes and all; empty when the tag has none.
    pub raw_value: &'a str,
}

impl Tag<'_> {
    /// Write the value unescaped (`\:` `;`, `\s` space, `\\` `\`, `\r` CR, `\n` LF; a `\`
    /// before anything else is dropped, as is a final lone `\`).
    ///
    /// The value never grows, so a buffer as long as [`Tag::raw_value`] is always enough.
    pub fn unescape_into<W: fmt::Write + ?Sized>(&self, out: &mut W) -> Result<(), BufferFull> {
        let mut rest = self.raw_value;
        while let Some(i) = rest.find('\\') {
            out.write_str(&rest[..i]).map_err(|_| BufferFull)?;
            let mut after = rest[i + 1..].chars();
            if let Some(c) = after.next() {
                let c = match c {
                    ':' => ';',
                    's' => ' ',
                    'r' => '\r',
                    'n' => '\n',
                    other => other,
                };
                out.write_char(c).map_err(|_| BufferFull)?;
            }
            rest = after.as_str();
        }
        out.write_str(rest).map_err(|_| BufferFull)
    }
}

/// The tags of a message, in the order written.
#[derive(Debug, Clone)]
pub struct Tags<'a>(&'a str);

impl<'a> Tags<'a> {
    pub(super) fn new(section: &'a str) -> Tags<'a> {
        Tags(section)
    }
}

impl<'a> Iterator for Tags<'a> {
    type Item = Tag<'a>;

    fn next(&mut self) -> Option<Tag<'a>> {
        if self.0.is_empty() {
            return None;
        }
        let (tag, rest) = self.0.split_once(';').unwrap_or((self.0, ""));
        self.0 = rest;
        let (key, raw_value) = tag.split_once('=').unwrap_or((tag, ""));
        Some(Tag { key, raw_value })
    }
}

impl core::iter::FusedIterator for Tags<'_> {}

#[cfg(test)]
mod test {
    use super::*;
    use crate::irc::Message;
    use std::string::String;
    use std::vec::Vec;

    fn parse(s: &str) -> Message<'_> {
        Message::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn tags_are_read_and_unescaped() {
        let m = parse("@a=b;c=32;k;rt=ql7;h= :quux ab cd");
        assert_eq!(m.raw_tags(), Some("a=b;c=32;k;rt=ql7;h="));
        let tags: Vec<(&str, &str)> = m.tags().map(|t| (t.key, t.raw_value)).collect();
        assert_eq!(
            tags,
            [("a", "b"), ("c", "32"), ("k", ""), ("rt", "ql7"), ("h", "")]
        );
        assert_eq!(m.source().map(|s| s.name), Some("quux"));
        assert_eq!(m.params(), ["cd"]);

        let m = parse(r"@a=b\\and\nk;c=72\s45;d=gh\:764;e=x\y;f=end\;a=again COMMAND");
        let value = |k: &str| {
            let mut s = String::new();
            m.tag(k).map(|t| t.unescape_into(&mut s).map(|()| s))
        };
        assert_eq!(value("a"), Some(Ok(String::from("again"))));
        assert_eq!(value("c"), Some(Ok(String::from("72 45"))));
        assert_eq!(value("d"), Some(Ok(String::from("gh;764"))));
        assert_eq!(value("e"), Some(Ok(String::from("xy"))));
        assert_eq!(value("f"), Some(Ok(String::from("end"))));
        assert_eq!(value("zz"), None);
        let first = m.tags().next().map(|t| {
            let mut s = String::new();
            t.unescape_into(&mut s).map(|()| s)
        });
        assert_eq!(first, Some(Ok(String::from("b\\and\nk"))));

        let mut small: heapless::String<3> = heapless::String::new();
        let t = Tag {
            key: "k",
            raw_value: "abcd",
        };
        assert_eq!(t.unescape_into(&mut small), Err(BufferFull));

        let m = parse("@+draft/reply=1;example.com/x-y=2;+typing=active TAGMSG #c");
        let keys: Vec<&str> = m.tags().map(|t| t.key).collect();
        assert_eq!(keys, ["+draft/reply", "example.com/x-y", "+typing"]);
    }

    #[test]
    fn keys_are_checked() {
        for good in [
            "a",
            "a=",
            "a=b=c",
            "+a",
            "example.com/a-b",
            "+x.y/z=1",
            "a;b;a",
            "a=\\",
        ] {
            assert!(valid_tags(good), "{good}");
        }
        for bad in [
            "", ";", "a;", ";a", "a;;b", "=v", "+", "a/", "/a", "a_b", "v/a/b", "é=1", "a b",
        ] {
            assert!(!valid_tags(bad), "{bad}");
        }
    }
}
