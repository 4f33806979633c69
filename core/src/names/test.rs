use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use proptest::prelude::*;

use super::*;

fn key(s: &str) -> String {
    folded(s).collect()
}

#[test]
fn accepts_ordinary_names() {
    for n in [
        "Ana",
        "bruno_2",
        "José",
        "a",
        "x-y.z",
        "日本",
        "João",
        "Zoë",
        "2pac",
        "한국어",
        "Σοφός",
        "a#b",
        "a-b",
        "a~b",
        "a+b",
        "a%b",
        "a$b",
        "a&b",
        "a/b",
        "ᾳ",
        "ΑΙ",
        "🙂",
    ] {
        assert_eq!(Name::new(n).map(|m| m.as_str() == n), Ok(true), "{n}");
    }
    assert!(Name::new(&"n".repeat(MAX_NAME)).is_ok());
    // Ten Hangul syllables: 30 bytes, 30 jamo once folded.
    assert!(Name::new("가나다라마바사아자차").is_ok());
}

#[test]
fn refuses_bad_names() {
    assert_eq!(Name::new(""), Err(NameError::Empty));
    assert_eq!(
        Name::new(&"n".repeat(MAX_NAME + 1)),
        Err(NameError::TooLong)
    );
    for n in [
        "a b",
        "a\tb",
        "a\u{1b}[2J",
        "nul\0",
        "a\u{a0}b",
        "x\u{7f}",
        "ana\u{200b}",
        "a\u{202e}nib",
        "\u{feff}ana",
        "an\u{ad}a",
        "a\u{2066}b",
        "a\u{3000}b",
        // Format characters (category Cf) outside the old hand list.
        "ana\u{1d173}",
        "ana\u{13430}",
        "ana\u{1bca0}",
        "ana\u{e0041}",
        // Blank symbols and fillers: a name of them looks empty.
        "\u{2800}",
        "a\u{2800}b",
        "\u{1d159}",
        "\u{3164}",
        "\u{115f}",
        "\u{ffa0}",
        // Invisible marks and variation selectors.
        "a\u{34f}",
        "a\u{fe0f}",
        // Private use.
        "\u{e000}",
        // A compatibility character whose folded form has a space.
        "a\u{a8}",
    ] {
        assert_eq!(Name::new(n), Err(NameError::BadChar), "{n:?}");
    }
    for n in ["a\u{378}", "\u{10ffff}", "a\u{fdd0}", "x\u{1fae9}"] {
        assert_eq!(Name::new(n), Err(NameError::Unassigned), "{n:?}");
    }
    for n in ["\u{301}", "\u{301}a", "\u{20dd}", "\u{903}x"] {
        assert_eq!(Name::new(n), Err(NameError::StartsWithMark), "{n:?}");
    }
    // U+FF9E HALFWIDTH KATAKANA VOICED SOUND MARK is a letter, but folds to a combining mark.
    assert_eq!(Name::new("\u{ff9e}a"), Err(NameError::StartsWithMark));
    assert!(Name::new("ｶ\u{ff9e}").is_ok());
    assert_eq!(Name::new("/quit"), Err(NameError::BadStart));
    assert_eq!(Name::new("@sair"), Err(NameError::BadStart));
}

#[test]
fn refuses_what_irc_reserves() {
    for c in NEVER_IN_NAME {
        for n in [format!("a{c}"), format!("a{c}b")] {
            assert_eq!(Name::new(&n), Err(NameError::Reserved(c)), "{n:?}");
        }
        let first = format!("{c}a");
        let want = if c == '@' {
            NameError::BadStart
        } else {
            NameError::Reserved(c)
        };
        assert_eq!(Name::new(&first), Err(want), "{first:?}");
    }
    for c in NEVER_FIRST {
        assert_eq!(Name::new(&format!("{c}a")), Err(NameError::BadStart), "{c}");
        assert!(Name::new(&format!("a{c}")).is_ok(), "{c}");
    }
    // Variants that fold to a reserved character are refused like it.
    assert_eq!(Name::new("ana！"), Err(NameError::Reserved('!')));
    assert_eq!(Name::new("a﹐b"), Err(NameError::Reserved(',')));
    assert_eq!(Name::new("ａ：b"), Err(NameError::Reserved(':')));
    assert_eq!(Name::new("＃chat"), Err(NameError::BadStart));
    assert_eq!(Name::new("＋1"), Err(NameError::BadStart));
    // Errors say what is wrong.
    assert_eq!(
        format!("{}", NameError::Reserved('!')),
        "a name cannot contain ! (IRC reserves it)"
    );
}

/// RFC 2812: `nickname = ( letter / special ) *8( letter / digit / special / "-" )`, here up
/// to NICKLEN; some servers also let a nick start with a digit.
const RFC2812_FIRST: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz[]\\`_^{|}0123456789";
const RFC2812_REST: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz[]\\`_^{|}0123456789-";

#[test]
fn every_short_irc_nick_is_a_name() {
    for a in RFC2812_FIRST.chars() {
        assert!(Name::new(&format!("{a}")).is_ok(), "{a}");
        for b in RFC2812_REST.chars() {
            let n = format!("{a}{b}");
            assert!(Name::new(&n).is_ok(), "{n}");
        }
    }
    let rest: String = RFC2812_REST
        .chars()
        .rev()
        .cycle()
        .take(NICKLEN - 1)
        .collect();
    let longest = format!("z{rest}");
    assert!(Name::new(&longest).is_ok(), "{longest}");
}

proptest! {
    #[test]
    fn every_irc_nick_is_a_name(n in "[A-Za-z\\[\\]\\\\`_^{|}0-9][A-Za-z0-9\\[\\]\\\\`_^{|}-]{0,31}") {
        prop_assert!(Name::new(&n).is_ok(), "{}", n);
    }
}

#[test]
fn every_name_is_an_unambiguous_irc_nick() {
    // What IRC needs of a nick, checked on a sample of valid names of all kinds.
    for n in [
        "Ana",
        "José",
        "日本",
        "x-y.z",
        "a~b",
        "ᾳ",
        "Ｗｉｄｅ",
        "ﬀ",
        "🙂",
        "[a]",
    ] {
        let n = Name::new(n).unwrap();
        let s = n.as_str();
        assert!(s.len() <= NICKLEN);
        assert!(
            !s.contains([' ', '!', '@', ',', '*', '?', ':', '\r', '\n', '\0']),
            "{s}"
        );
        assert!(
            !s.starts_with(['#', '&', '+', '%', '~', '$', '-', '/']),
            "{s}"
        );
    }
}

#[test]
fn names_are_the_same_ignoring_case_width_and_variants() {
    for (a, b) in [
        ("Ana", "aNA"),
        ("JOSÉ", "josé"),
        ("Straße", "STRASSE"),
        ("Straße", "strasse"),
        ("ΣΟΦΟΣ", "σοφος"),
        ("ΣΟΦΟΣ", "σοφοσ"),
        ("ﬀ", "FF"),
        ("Ａｎａ", "ana"),
        ("ｶﾞ", "ガ"),
        // Precomposed or not, marks in either order.
        ("é", "e\u{301}"),
        ("a\u{301}\u{323}", "a\u{323}\u{301}"),
        ("ạ\u{301}", "á\u{323}"),
        // Letter-like and compatibility symbols.
        ("\u{212a}elvin", "kelvin"),
        ("\u{212b}", "å"),
        ("\u{338f}", "KG"),
        ("𝐀𝐧𝐚", "ana"),
        ("①", "1"),
        ("x²", "x2"),
        // Hangul syllables are their jamo.
        ("한", "\u{1112}\u{1161}\u{11ab}"),
        ("\u{130}", "i\u{307}"),
        // The iota subscript folds to iota, after the other marks of its letter.
        ("ᾳ", "αι"),
        ("ᾼ", "ΑΙ"),
        ("ᾳ\u{301}", "ά\u{3b9}"),
        ("α\u{345}\u{301}", "ά\u{3b9}"),
    ] {
        assert!(same_name(a, b), "{a} {b}");
        assert!(same_name(b, a), "{b} {a}");
        assert_eq!(key(a), key(b), "{a} {b}");
        assert_eq!(fold_hash(a), fold_hash(b), "{a} {b}");
    }
    for (a, b) in [
        ("Ana", "Anna"),
        ("Ana", "An"),
        ("é", "e"),
        ("\u{130}", "i"),
        ("ı", "i"),
        ("ᾳ\u{301}", "α\u{3b9}\u{301}"),
        ("[a]", "{a}"),
        ("a^", "a~"),
        ("ab", "ab\u{301}"),
    ] {
        assert!(!same_name(a, b), "{a} {b}");
        assert_ne!(key(a), key(b), "{a} {b}");
    }
}

#[test]
fn names_compare_by_their_folded_form() {
    let n = Name::new("Bruno").unwrap();
    assert!(n.same_as("BRUNO"));
    let strasse = Name::new("STRASSE").unwrap();
    let sz = Name::new("Straße").unwrap();
    assert!(strasse.is_same(&sz) && sz.is_same(&strasse));
    assert_ne!(strasse, sz, "== compares spelling");
    assert_eq!(strasse.fold_hash(), fold_hash("strasse"));
    assert!(!strasse.is_same(&n));
    assert_eq!(key("ΣΟΦΟΣ"), "σοφοσ");
    assert_eq!(key("Straße"), "strasse");
    assert_eq!(key("é"), "e\u{301}");
}

#[test]
fn folding_long_strings_is_safe() {
    // Far longer runs of marks than a name can hold: no panic, and still a function.
    for s in [
        "a".repeat(5000),
        format!("a{}", "\u{301}".repeat(500)),
        format!("α{}", "\u{345}\u{301}".repeat(300)),
        "\u{fdfa}".repeat(200),
        "\u{37a}\u{345}\u{ff9e}".repeat(100),
    ] {
        let k1: Vec<char> = folded(&s).collect();
        let k2: Vec<char> = folded(&s).collect();
        assert_eq!(k1, k2);
        assert!(same_name(&s, &s));
    }
}

/// Characters where folding is subtle: marks of several classes, the iota subscript, letters
/// that fold to several, compatibility and width variants, Hangul, Tibetan vowel signs.
const TRICKY: &[char] = &[
    'a', 'A', 'e', 'i', 'I', 's', 'S', 'k', 'K', ' ', '1', 'é', 'É', 'ß', 'ẞ', 'ﬀ', 'ﬃ', 'Ａ', 'ｶ',
    '\u{ff9e}', '\u{ff9f}', '\u{3099}', 'ガ', '\u{301}', '\u{300}', '\u{323}', '\u{31b}',
    '\u{334}', '\u{345}', '\u{37a}', '\u{344}', '\u{340}', 'α', 'Α', 'ά', 'ᾳ', 'ᾼ', 'ᾈ', 'ᾴ', 'ῃ',
    'ι', 'ͅ', 'Σ', 'σ', 'ς', 'ΐ', '\u{130}', 'ı', '\u{212a}', '\u{212b}', 'Å', 'å', 'µ', 'μ', 'ǅ',
    'Ǆ', '한', '\u{1100}', '\u{1161}', '\u{11a8}', 'ㄱ', '\u{f73}', '\u{f71}', '\u{f72}',
    '\u{f77}', '\u{f81}', '\u{fb2}', '\u{5b0}', '\u{e38}', '①', '²', '㎏', '𝐀', '\u{1e9e}', 'ŉ',
    'ǰ', '\u{1f80}', '\u{fdfa}', '¨', '\u{309b}', 'ﬅ', 'ﬆ',
];

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TRICKY), 0..8).prop_map(|v| v.into_iter().collect())
}

/// Any character assigned in the tables' version of Unicode (whose folding cannot change).
fn assigned_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("assigned", |&c| fold::flags(c) & UNASSIGNED == 0),
        0..6,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Unicode's compatibility caseless form (D146), from two independent crates.
fn d146(s: &str) -> String {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;
    s.chars()
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkd()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn folding_is_unicode_compatibility_caseless_matching(a in tricky_string(), b in tricky_string()) {
        prop_assert_eq!(key(&a), d146(&a), "{:?}", a);
        let joined = format!("{a}{b}");
        prop_assert_eq!(key(&joined), d146(&joined), "{:?}", joined);
        prop_assert_eq!(same_name(&a, &b), d146(&a) == d146(&b));
    }

    #[test]
    fn folding_any_assigned_text_is_d146(a in assigned_string()) {
        prop_assert_eq!(key(&a), d146(&a), "{:?}", a);
    }

    #[test]
    fn same_name_is_the_equivalence_of_keys(a in tricky_string(), b in tricky_string(), c in tricky_string()) {
        prop_assert_eq!(same_name(&a, &b), key(&a) == key(&b));
        prop_assert_eq!(same_name(&a, &b), same_name(&b, &a));
        prop_assert!(same_name(&a, &a));
        if same_name(&a, &b) && same_name(&b, &c) {
            prop_assert!(same_name(&a, &c));
        }
        if same_name(&a, &b) {
            prop_assert_eq!(fold_hash(&a), fold_hash(&b));
        }
        // Folding is idempotent: the key of a key is itself.
        let k = key(&a);
        prop_assert_eq!(key(&k), k.clone());
        if let (Ok(na), Ok(nb)) = (Name::new(&a), Name::new(&b)) {
            prop_assert_eq!(na.is_same(&nb), same_name(&a, &b));
            prop_assert_eq!(na.same_as(&b), same_name(&a, &b));
        }
    }

    #[test]
    fn ascii_comparison_is_irc_ascii_casemapping(a in "[ -~]{0,8}", b in "[ -~]{0,8}") {
        // The CASEMAPPING chatd advertises: A-Z and a-z are the same, nothing else is.
        let ascii = |s: &str| -> Vec<u8> {
            s.bytes().map(|x| if x.is_ascii_uppercase() { x + 32 } else { x }).collect()
        };
        let irc = ascii(&a) == ascii(&b);
        prop_assert_eq!(same_name(&a, &b), irc);
        prop_assert_eq!(Folded::new(&a).eq(Folded::new(&b)), irc);
    }
}

#[test]
fn the_oracle_agrees_on_the_examples() {
    // The examples above, against the independent D146.
    for (a, b) in [
        ("Straße", "STRASSE"),
        ("ΣΟΦΟΣ", "σοφος"),
        ("ﬀ", "FF"),
        ("Ａｎａ", "ana"),
    ] {
        assert_eq!(d146(a), d146(b));
        assert_eq!(key(a), d146(a));
    }
    let v: Vec<&str> = vec![
        "ᾳ\u{301}",
        "\u{37a}\u{301}\u{ff9e}",
        "\u{37a}\u{345}\u{ff9e}",
    ];
    for s in v {
        assert_eq!(key(s), d146(s), "{s:?}");
    }
}
