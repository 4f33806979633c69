#!/usr/bin/env python3
"""Generate core/src/names/tables.rs, the Unicode data behind chatd's name rules.

Usage:
    python3 core/unicode/gen_tables.py           # rewrite core/src/names/tables.rs
    python3 core/unicode/gen_tables.py --check   # fail if the committed file differs

The source is the Unicode Character Database 15.0.0 as Debian's `unicode-data` package installs
it in /usr/share/unicode (or the folder given with --ucd): UnicodeData.txt, CaseFolding.txt,
DerivedCoreProperties.txt, DerivedNormalizationProps.txt and NormalizationTest.txt.bz2.

What the tables hold, per code point x:

* whether x may appear in a name at all (not a control, format, private-use, unassigned,
  separator, default-ignorable or blank character), and whether it is a combining mark;
* the comparison key of x alone: K(x) = NFKD(toCasefold(NFKD(toCasefold(NFD(x))))), the
  "compatibility caseless match" form of Unicode 15.0 section 3.13 (D146), with the canonical
  combining class of each of its characters.

Two names are the same when the canonically reordered concatenation of the keys of their
characters is equal. That is exact for D146 except for one character: U+0345 COMBINING GREEK
YPOGEGRAMMENI, a non-starter that case folding turns into a starter (U+03B9). Where D146 moves
it to the end of its run of combining marks before folding, the runtime defers the U+03B9 it
became to the end of that run; the tables say which characters leave such a deferred U+03B9 and
where its run ends (the flags below). The script checks all of this against the UCD itself:
its normalization against NormalizationTest.txt, every key against the official NFKC_Casefold
property, and the runtime algorithm (emulated here) against the exact D146 on every test string
of NormalizationTest.txt and on all pairs of the characters where the shortcut could go wrong.
"""

import argparse
import bisect
import bz2
import itertools
import os
import random
import sys

VERSION = "15.0.0"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "names", "tables.rs")

# Characters that draw nothing yet are ordinary symbols in the UCD: a name made of them would
# look empty, and one inside a name would look like a space.
BLANKS = [0x2800, 0x1D159]  # BRAILLE PATTERN BLANK, MUSICAL SYMBOL NULL NOTEHEAD
FORBIDDEN_GC = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
MARK_GC = {"Mn", "Mc", "Me"}

YPOGEGRAMMENI, IOTA = 0x0345, 0x03B9

S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT

# Flags, as in core/src/names/fold.rs.
FORBIDDEN, MARK, NOT_U_STARTER, NOT_V_STARTER, DEFER_NFD, DEFER_NFKD, UNASSIGNED = (
    1, 2, 4, 8, 16, 32, 64)
KIND_SAME, KIND_DELTA, KIND_POOL, KIND_HANGUL = 0, 1, 2, 3


def fields(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield [p.strip() for p in line.split(";")]


def cps(text):
    return [int(h, 16) for h in text.split()]


def cp_range(text):
    if ".." in text:
        a, b = text.split("..")
        return range(int(a, 16), int(b, 16) + 1)
    return range(int(text, 16), int(text, 16) + 1)


class Ucd:
    def __init__(self, folder):
        self.folder = folder
        with open(os.path.join(folder, "DerivedNormalizationProps.txt"), encoding="utf-8") as f:
            head = f.readline()
        if f"DerivedNormalizationProps-{VERSION}.txt" not in head:
            sys.exit(f"{folder} holds the UCD {head.strip()!r}, not {VERSION}: "
                     "install Debian's unicode-data (15.0.0) or pass --ucd")
        self.gc, self.ccc, self.decomp = {}, {}, {}
        first = None
        for f in fields(os.path.join(folder, "UnicodeData.txt")):
            cp, name, gc, ccc = int(f[0], 16), f[1], f[2], int(f[3])
            if name.endswith(", First>"):
                first = cp
                continue
            span = range(first, cp + 1) if name.endswith(", Last>") else range(cp, cp + 1)
            for c in span:
                self.gc[c] = gc
                if ccc:
                    self.ccc[c] = ccc
            if f[5]:
                d = f[5].split()
                compat = d[0].startswith("<")
                self.decomp[cp] = (compat, cps(" ".join(d[1:] if compat else d)))
        self.fold = {}
        for f in fields(os.path.join(folder, "CaseFolding.txt")):
            if f[1] in ("C", "F"):
                self.fold[int(f[0], 16)] = cps(f[2])
        self.ignorable = set()
        for f in fields(os.path.join(folder, "DerivedCoreProperties.txt")):
            if f[1] == "Default_Ignorable_Code_Point":
                self.ignorable.update(cp_range(f[0]))
        self.nfkc_cf = {}
        for f in fields(os.path.join(folder, "DerivedNormalizationProps.txt")):
            if f[1] == "NFKC_CF":
                for c in cp_range(f[0]):
                    self.nfkc_cf[c] = cps(f[2])

    def gc_of(self, c):
        return self.gc.get(c, "Cn")

    def ccc_of(self, c):
        return self.ccc.get(c, 0)

    def decompose(self, c, compat):
        """Full decomposition of one code point (not reordered across code points)."""
        if S_BASE <= c < S_BASE + S_COUNT:
            s = c - S_BASE
            out = [L_BASE + s // N_COUNT, V_BASE + (s % N_COUNT) // T_COUNT]
            if s % T_COUNT:
                out.append(T_BASE + s % T_COUNT)
            return out
        d = self.decomp.get(c)
        if d is None or (d[0] and not compat):
            return [c]
        return [y for x in d[1] for y in self.decompose(x, compat)]

    def reorder(self, items, key=lambda x: x):
        """Canonical ordering: a stable sort of each run of non-starters by combining class."""
        out, run = [], []
        for it in items:
            k = self.ccc_of(key(it))
            if k == 0:
                out += sorted(run, key=lambda x: self.ccc_of(key(x)))
                run = []
                out.append(it)
            else:
                run.append(it)
        return out + sorted(run, key=lambda x: self.ccc_of(key(x)))

    def nfd(self, s):
        return self.reorder([y for c in s for y in self.decompose(c, False)])

    def nfkd(self, s):
        return self.reorder([y for c in s for y in self.decompose(c, True)])

    def casefold(self, s):
        return [y for c in s for y in self.fold.get(c, [c])]

    def d146(self, s):
        """The exact D146 key: NFKD(toCasefold(NFKD(toCasefold(NFD(s)))))."""
        return self.nfkd(self.casefold(self.nfkd(self.casefold(self.nfd(s)))))

    def key_of_char(self, x):
        """D146 of one code point, with the U+03B9 that came from a U+0345 tagged by the stage
        at which that happened (1: the first case folding, 3: the second)."""
        k = lambda it: it[0]
        items = self.reorder([(y, 0) for y in self.decompose(x, False)], k)

        def fold(items, tag):
            out = []
            for c, t in items:
                if c == YPOGEGRAMMENI and t == 0:
                    out.append((IOTA, tag))
                else:
                    out += [(y, t) for y in self.fold.get(c, [c])]
            return out

        def nfkd(items):
            return self.reorder([(y, t) for c, t in items for y in self.decompose(c, True)], k)

        items = nfkd(fold(nfkd(fold(items, 1)), 3))
        return items


def build(ucd):
    """Compute the per-code-point records."""
    recs = {}
    defer_max = 0
    for x in range(0x110000):
        if 0xD800 <= x < 0xE000:
            continue
        gc = ucd.gc_of(x)
        if gc == "Cn":
            recs[x] = (FORBIDDEN | UNASSIGNED, [(x, 0)])
            continue
        flags = 0
        if gc in FORBIDDEN_GC or x in ucd.ignorable or x in BLANKS:
            flags |= FORBIDDEN
        if gc in MARK_GC:
            flags |= MARK
        d = ucd.decompose(x, False)
        if ucd.ccc_of(d[0]):
            flags |= NOT_U_STARTER
        # A run after the first folding starts here only if one started before it: U+0345 folds
        # to a starter but stays at the end of its run, where its U+03B9 is deferred to.
        v = ucd.nfkd(ucd.casefold(ucd.nfd([x])))
        if ucd.ccc_of(v[0]) or flags & NOT_U_STARTER:
            flags |= NOT_V_STARTER
        key = ucd.key_of_char(x)
        tags = [t for _, t in key]
        body = [c for c, t in key if t == 0]
        tagged = [c for c, t in key if t != 0]
        # The deferred U+03B9 come last, and there is at most one of each kind per character.
        assert tags == sorted(tags, key=lambda t: t != 0), (hex(x), key)
        assert all(c == IOTA for c in tagged), (hex(x), key)
        assert tags.count(1) <= 1 and tags.count(3) <= 1, (hex(x), key)
        if 1 in tags:
            flags |= DEFER_NFD
        if 3 in tags:
            flags |= DEFER_NFKD
        defer_max = max(defer_max, len(tagged))
        recs[x] = (flags, [(c, ucd.ccc_of(c)) for c in body])
    return recs


def check_assumptions(ucd, recs):
    """What the runtime's shortcut relies on, checked for every code point."""
    for x in range(0x110000):
        if x not in recs:
            continue
        flags, body = recs[x]
        # A non-starter keeps its combining class through folding and decomposition, except
        # U+0345 (which becomes U+03B9 and is deferred).
        if ucd.ccc_of(x) and x != YPOGEGRAMMENI:
            assert all(ucd.ccc_of(c) == ucd.ccc_of(x) for c, _ in body), hex(x)
        # A decomposition is all non-starters or starts with a starter.
        d = ucd.decompose(x, False)
        if ucd.ccc_of(d[0]):
            assert all(ucd.ccc_of(c) for c in d), hex(x)
        # Keys are closed: the key of a key character is itself.
        for c, _ in body:
            if c != x:
                assert recs[c][1] == [(c, ucd.ccc_of(c))], (hex(x), hex(c))


def check_normalization(ucd):
    """Our NFD and NFKD against Unicode's own test file."""
    path = os.path.join(ucd.folder, "NormalizationTest.txt.bz2")
    strings = []
    with bz2.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("@"):
                continue
            c = [cps(p) for p in line.split(";")[:5]]
            assert ucd.nfd(c[0]) == c[2] and ucd.nfkd(c[0]) == c[4], line
            strings.append(c[0])
    return strings


def check_nfkc_casefold(ucd, recs):
    """Every key against the official NFKC_Casefold property (which drops default-ignorables)."""
    for x, (flags, body) in recs.items():
        if x in ucd.ignorable or ucd.gc_of(x) == "Cn":
            continue
        official = ucd.nfd(ucd.nfkc_cf.get(x, [x]))
        key = [c for c in ucd.d146([x]) if c not in ucd.ignorable]
        assert official == key, (hex(x), official, key)


def runtime_key(ucd, recs, s):
    """The runtime algorithm of core/src/names/fold.rs, in Python."""
    out, pend_nfd, pend_nfkd = [], 0, 0
    for x in s:
        flags, body = recs.get(x, (FORBIDDEN, [(x, ucd.ccc_of(x))]))
        # A deferred U+03B9 of the first folding ends the run at the next starter; as a
        # starter itself, it also ends the run of any U+03B9 deferred from the second.
        if (not flags & NOT_U_STARTER and pend_nfd) or not flags & NOT_V_STARTER:
            out += [IOTA] * (pend_nfd + pend_nfkd)
            pend_nfd = pend_nfkd = 0
        out += [c for c, _ in body]
        pend_nfd += 1 if flags & DEFER_NFD else 0
        pend_nfkd += 1 if flags & DEFER_NFKD else 0
    out += [IOTA] * (pend_nfd + pend_nfkd)
    return ucd.reorder(out)


def check_runtime(ucd, recs, strings):
    """The shortcut against the exact D146, on Unicode's test strings and tricky combinations."""
    for s in strings:
        assert runtime_key(ucd, recs, s) == ucd.d146(s), [hex(c) for c in s]
    # Every character whose key holds a non-starter, or that defers or breaks a run.
    tricky = sorted(x for x, (flags, body) in recs.items()
                    if flags & (NOT_U_STARTER | NOT_V_STARTER | DEFER_NFD | DEFER_NFKD)
                    or any(k for _, k in body))
    # Plus some starters between which runs form and end.
    tricky += [0x61, 0x3B1, 0x1100, 0xAC00, 0xFF76, 0x309B, 0x0F77, 0x0F40]
    small = [x for x in tricky if x in (YPOGEGRAMMENI, 0x037A, 0x1FB3, 0x1F88, 0xFF9E, 0x0301,
                                        0x0323, 0x031B, 0x0F73, 0x0344, 0x0F71, 0x3099, 0x0F77,
                                        0x309B, 0x61, 0x3B1, 0x05B0, 0x0E38)]
    for a in tricky:
        for b in small:
            for s in ([a, b], [b, a]):
                assert runtime_key(ucd, recs, s) == ucd.d146(s), [hex(c) for c in s]
    for s in itertools.product(small, repeat=3):
        assert runtime_key(ucd, recs, list(s)) == ucd.d146(list(s)), [hex(c) for c in s]
    rng = random.Random(15)
    for _ in range(20000):
        s = [rng.choice(tricky) for _ in range(rng.randint(1, 8))]
        assert runtime_key(ucd, recs, s) == ucd.d146(s), [hex(c) for c in s]


def encode(recs):
    """Ranges of code points with the same flags and a regular mapping, and the pool."""
    pool, pool_at = [], {}

    def entry(x):
        flags, body = recs.get(x, (FORBIDDEN, None))
        if S_BASE <= x < S_BASE + S_COUNT:
            return (flags, KIND_HANGUL, 0)
        if body is None:
            return (flags, KIND_SAME, 0)
        if len(body) == 1 and body[0][0] == x:
            return (flags, KIND_SAME, body[0][1])
        if len(body) == 1 and body[0][1] == 0:
            return (flags, KIND_DELTA, body[0][0] - x)
        seq = tuple(c | k << 24 for c, k in body)
        if seq not in pool_at:
            pool_at[seq] = len(pool)
            pool.extend(seq)
        return (flags, KIND_POOL, (pool_at[seq], len(seq)))

    ranges = []  # (start, flags, kind, data)
    prev = None
    for x in range(0x110000):
        if 0xD800 <= x < 0xE000:
            e = (FORBIDDEN | UNASSIGNED, KIND_SAME, 0)
        else:
            e = entry(x)
        if prev is not None and e == prev and e[1] != KIND_POOL:
            continue
        ranges.append((x,) + e)
        prev = e
    return ranges, pool


def pack(r):
    start, flags, kind, data = r
    if kind == KIND_POOL:
        off, n = data
        assert off < 1 << 18 and n < 1 << 5
        payload = off | n << 18
    elif kind == KIND_DELTA:
        assert -(1 << 22) <= data < 1 << 22
        payload = data & 0x7FFFFF
    else:
        payload = data
    assert flags < 128 and payload < 1 << 23
    return flags | kind << 7 | payload << 9


def render(ranges, pool, max_ns):
    out = []
    w = out.append
    w("// @generated by core/unicode/gen_tables.py from the Unicode Character Database "
      f"{VERSION}.\n")
    w("// Do not edit: change the script and run it again (CI runs it with --check).\n\n")
    w("/// The version of Unicode the tables were built from; later characters are unassigned.\n")
    major, minor, patch = VERSION.split(".")
    w(f"pub const UNICODE_VERSION: (u8, u8, u8) = ({major}, {minor}, {patch});\n\n")
    w("/// The most non-starters the key of a character holds per byte of its UTF-8.\n")
    w(f"pub(super) const MAX_NON_STARTERS_PER_BYTE: usize = {max_ns};\n\n")
    w("/// First code point of each range; the ranges cover all of Unicode, in order.\n")
    w(f"pub(super) static STARTS: [u32; {len(ranges)}] = [\n")
    for i in range(0, len(ranges), 10):
        w("    " + " ".join(f"0x{r[0]:05X}," for r in ranges[i:i + 10]) + "\n")
    w("];\n\n")
    w("/// For each block of 128 code points of the Basic Multilingual Plane (and the end), the\n")
    w("/// index of the range holding its first code point: where a lookup starts searching.\n")
    starts = [r[0] for r in ranges]
    blocks = [bisect.bisect_right(starts, b << 7) - 1 for b in range(0x10000 >> 7)]
    blocks.append(bisect.bisect_right(starts, 0x10000) - 1)
    w(f"pub(super) static BMP_BLOCKS: [u16; {len(blocks)}] = [\n")
    for i in range(0, len(blocks), 12):
        w("    " + " ".join(f"{b}," for b in blocks[i:i + 12]) + "\n")
    w("];\n\n")
    w("/// What each range is: flags (bits 0-6), kind (7-8), payload (9-31).\n")
    w(f"pub(super) static INFO: [u32; {len(ranges)}] = [\n")
    for i in range(0, len(ranges), 8):
        w("    " + " ".join(f"0x{pack(r):08X}," for r in ranges[i:i + 8]) + "\n")
    w("];\n\n")
    w("/// Keys longer than one character, or of one non-starter: code point (bits 0-20) and\n")
    w("/// canonical combining class (bits 24-31).\n")
    w(f"pub(super) static POOL: [u32; {len(pool)}] = [\n")
    for i in range(0, len(pool), 8):
        w("    " + " ".join(f"0x{p:08X}," for p in pool[i:i + 8]) + "\n")
    w("];\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args()
    ucd = Ucd(args.ucd)
    strings = check_normalization(ucd)
    recs = build(ucd)
    check_assumptions(ucd, recs)
    check_nfkc_casefold(ucd, recs)
    check_runtime(ucd, recs, strings)
    max_ns = max(sum(1 for _, k in body if k) / len(chr(x).encode("utf-8", "surrogatepass"))
                 for x, (_, body) in recs.items())
    ranges, pool = encode(recs)
    text = render(ranges, pool, int(max_ns + 0.999))
    size = 8 * len(ranges) + 4 * len(pool) + 2 * (0x10000 // 128 + 1)
    print(f"{len(ranges)} ranges, {len(pool)} pool entries: {size} bytes", file=sys.stderr)
    if args.check:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit(f"{OUT} is not what {__file__} generates: run it again")
        print("tables match the UCD", file=sys.stderr)
    else:
        with open(OUT, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
