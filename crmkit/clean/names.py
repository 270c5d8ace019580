"""Person names: split full names, pull out salutations, fix ALL CAPS / all lower case.

Rules:

* "Last, First" and "First Last" are split when first/last are missing; name
  particles (van der, von, de la, ...) stay with the last name. A lone name is the first name
  when it is a known given name ("Jürgen", "Bob"), else the last name ("Schneider", and any
  given name the list does not know).
* Leading honorifics (Mr, Mrs, Dr., Herr, Frau, Dr. med., M., Mme, Sr., Sra., ...)
  and the Chinese suffixes 先生/女士/小姐 go to ``salutation``.
* Only names written in ALL CAPS or all lower case are re-cased (McDonald,
  O'Brien, van der Berg, d'Artagnan, Müller-Lüdenscheidt; "Mac" only for a
  known list, so Mackey and Macias stay as they are); mixed case is kept.
* CJK names are never split or re-cased; ``full_name`` is family name first,
  without a space.

>>> import pandas as pd
>>> r = clean_names(None, None, pd.Series(["DR. JOHN MCDONALD", "müller, hans", "张伟先生"]))
>>> r.values[["first_name", "last_name", "full_name", "salutation"]].values.tolist()
[['John', 'McDonald', 'John McDonald', 'Dr.'], ['Hans', 'Müller', 'Hans Müller', None], [None, None, '张伟', '先生']]
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np
import pandas as pd

from crmkit.clean._base import (
    PLACEHOLDERS, CleanResult, arrow_text, as_series, factorize, has_cjk, is_placeholder, normalize_text, problems_series, take,
)

NAME_COLUMNS = ["first_name", "last_name", "full_name", "salutation"]

# lower-cased token (without trailing dot) -> display form
_HONORIFICS: dict[str, str] = {
    "mr": "Mr", "mister": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss", "mx": "Mx", "dr": "Dr.",
    "prof": "Prof.", "professor": "Prof.", "sir": "Sir", "dame": "Dame", "herr": "Herr", "frau": "Frau",
    "hr": "Herr", "fr": "Frau", "mme": "Mme", "mlle": "Mlle", "madame": "Madame", "mademoiselle": "Mlle",
    "monsieur": "M.", "sr": "Sr.", "sra": "Sra.", "srta": "Srta.", "senor": "Sr.", "señor": "Sr.",
    "senora": "Sra.", "señora": "Sra.", "don": "Don", "dona": "Doña", "doña": "Doña", "ing": "Ing.",
    "dipl": "Dipl.", "mag": "Mag.", "rev": "Rev.",
}
# multi-token honorifics, matched first (normalised: lower, dots removed)
_HONORIFIC_PHRASES: dict[tuple[str, ...], str] = {
    ("dr", "med"): "Dr. med.", ("dr", "rer", "nat"): "Dr. rer. nat.", ("dr", "ing"): "Dr.-Ing.",
    ("dr", "-ing"): "Dr.-Ing.", ("prof", "dr"): "Prof. Dr.", ("dipl", "-ing"): "Dipl.-Ing.",
}
_FRENCH_COUNTRIES = {"FR", "BE", "CH", "LU", "MC", "CA"}
_CJK_SUFFIXES = ("先生", "女士", "小姐", "老师", "博士", "教授", "总", "经理")
_CJK_SUFFIX_KEEP = ("先生", "女士", "小姐", "博士", "教授")  # those that are honorifics
_NAME_SUFFIXES = {"jr", "jr.", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d.", "esq", "esq."}
_PARTICLES = {"van", "von", "der", "den", "de", "la", "le", "du", "da", "di", "del", "della", "dos", "das",
              "do", "ten", "ter", "zu", "zum", "zur", "vom", "y", "bin", "al", "el", "st", "st."}
_MAC_NAMES = {"macarthur", "macdonald", "macdougall", "macgregor", "macintyre", "mackay", "mackenzie",
              "maclean", "macleod", "macmillan", "macneil", "macpherson", "macrae", "macaulay", "macbeth",
              "maccallum", "macdonnell", "macfarlane", "macinnes", "mackinnon", "maclachlan", "macnamara"}
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def _cap_word(word: str) -> str:
    """Capitalise one word (no spaces/hyphens): McDonald, O'Brien, d'Artagnan."""
    low = word.lower()
    if "'" in low:
        head, _, tail = low.partition("'")
        if head in ("d", "l") and tail:
            return f"{head}'{_cap_word(tail)}"
        if head == "o" and tail:
            return f"O'{_cap_word(tail)}"
        return "'".join(p[:1].upper() + p[1:] for p in low.split("'"))
    if low.startswith("mc") and len(low) > 3:
        return "Mc" + low[2].upper() + low[3:]
    if low in _MAC_NAMES:
        return "Mac" + low[3].upper() + low[4:]
    return low[:1].upper() + low[1:]


def _recase(text: str | None, *, particles: bool = True) -> str | None:
    """Re-case words written in ALL CAPS or all lower case; mixed-case words and CJK are kept.

    'JAN VAN DER BERG' -> 'Jan van der Berg'; 'Jean DUPONT' -> 'Jean Dupont'; 'DeShawn' stays.
    """
    if not text or has_cjk(text) or "@" in text:
        return text
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        letters = "".join(_WORD_RE.findall(word))
        if not letters or not (letters.isupper() or letters.islower()) or (len(letters) == 1 and letters.isupper()):
            out.append(word)  # mixed case as given, or an initial
        elif particles and word.lower() in _PARTICLES and i < len(words) - 1:
            out.append(word.lower())
        else:
            out.append("-".join(_cap_word(part) for part in word.split("-")))
    return " ".join(out)


def _take_salutation(tokens: list[str], country: str | None) -> tuple[list[str], list[str]]:
    """Leading honorific tokens -> (salutation parts, remaining tokens)."""
    if not tokens:
        return [], tokens
    head = tokens[0].lower().rstrip(".").rstrip(",")
    if head != "m" and head not in _HONORIFICS:  # (every phrase starts with an honorific too)
        return [], tokens
    found: list[str] = []
    while tokens:
        norm = [t.lower().rstrip(".").rstrip(",") for t in tokens]
        matched = False
        for phrase, display in _HONORIFIC_PHRASES.items():
            if tuple(norm[: len(phrase)]) == phrase and len(tokens) > len(phrase):
                found.append(display)
                tokens = tokens[len(phrase):]
                matched = True
                break
        if matched:
            continue
        head = norm[0]
        if head == "m" and tokens[0].endswith(".") and len(tokens) > 1 and (
                country in _FRENCH_COUNTRIES or (country is None and len(tokens) > 2)):
            found.append("M.")
            tokens = tokens[1:]
            continue
        if head in _HONORIFICS and len(tokens) > 1:
            found.append(_HONORIFICS[head])
            tokens = tokens[1:]
            continue
        break
    return found, tokens


@functools.cache
def _given_names() -> frozenset[str]:
    # the matcher's nickname table is plain data (no matching code): every nickname and full form in it
    from crmkit.clean._nicknames import NICKNAMES

    return frozenset(NICKNAMES) | frozenset(NICKNAMES.values())


def _is_given_name(word: str) -> bool:
    """Is a lone word a known given name (Jürgen, Juergen, Bob, Liz)? A lone surname and a given name
    the list does not know cannot be told apart."""
    low = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(ch for ch in low if not unicodedata.combining(ch))
    spelled = unicodedata.normalize("NFC", low).replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    return plain in _given_names() or spelled in _given_names()


def _split_western(tokens: list[str]) -> tuple[str | None, str | None]:
    """['Jan', 'van', 'der', 'Berg'] -> ('Jan', 'van der Berg')."""
    tokens = [t for t in tokens if t]
    while len(tokens) > 2 and tokens[-1].lower().rstrip(",") in _NAME_SUFFIXES:
        tokens = tokens[:-1]
    tokens[-1] = tokens[-1].rstrip(",")
    if len(tokens) == 1:      # a lone name: a known given name is the first name, anything else the last
        return (tokens[0], None) if _is_given_name(tokens[0]) else (None, tokens[0])
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(tokens[:start]), " ".join(tokens[start:])


def _clean_one(first: str | None, last: str | None, full: str | None, saluted: str | None,
               country: str | None) -> tuple:
    first, last, full = (None if is_placeholder(x) else x for x in
                         (normalize_text(first), normalize_text(last), normalize_text(full)))
    first, last, full = (x.replace("’", "'").replace("`", "'") if x else x for x in (first, last, full))
    salutation: list[str] = [saluted] if saluted else []
    problem = None
    for part in (first, last, full):
        if part and "@" in part:
            problem = "name looks like an email address"
        elif part and sum(ch.isdigit() for ch in part) >= 3:
            problem = "name contains digits"

    def strip_cjk_suffix(text: str | None) -> str | None:
        if text and has_cjk(text):
            for suffix in _CJK_SUFFIX_KEEP:
                if text.endswith(suffix) and len(text) > len(suffix):
                    salutation.append(suffix)
                    return text[: -len(suffix)].strip()
        return text

    def strip_salutation(text: str | None) -> str | None:
        if not text or has_cjk(text):
            return text
        found, rest = _take_salutation(text.split(" "), country)
        salutation.extend(found)
        return " ".join(rest) if rest else None

    for part in (full, first):
        if part and part.lower().rstrip(".") in _HONORIFICS and " " not in part:  # a lone "Mr"
            salutation.append(_HONORIFICS[part.lower().rstrip(".")])
    full = None if full and full.lower().rstrip(".") in _HONORIFICS and " " not in full else full
    first = None if first and first.lower().rstrip(".") in _HONORIFICS and " " not in first else first
    full = strip_cjk_suffix(strip_salutation(full))
    first = strip_cjk_suffix(strip_salutation(first))
    last = strip_cjk_suffix(last)
    cjk = any(x and has_cjk(x) for x in (first, last, full))

    if not cjk and full and not first and not last:
        first, last, full, found = _split_alone(full, False, country, lambda t, p: _recase(t, particles=p))
        salutation.extend(found)
    elif not cjk:
        first, last = _recase(first, particles=False), _recase(last)
        full = _recase(full) if full else " ".join(x for x in (first, last) if x) or None
    elif not full:
        parts = [x for x in (last, first) if x]
        full = "".join(parts) if all(has_cjk(x) for x in parts) else " ".join(reversed(parts))
    seen = list(dict.fromkeys(salutation))
    return first, last, full, (" ".join(seen) or None), problem


def clean_names(first: pd.Series | None, last: pd.Series | None, full: pd.Series | None, *,
                country: pd.Series | str | None = None,
                salutation: pd.Series | None = None) -> CleanResult:
    """Clean first/last/full name columns into ``DataFrame[first_name, last_name, full_name, salutation]``.

    Any of ``first``, ``last`` and ``full`` may be None. ``country`` (alpha-2,
    per row or one value) only helps read "M." as the French "Monsieur".
    A given ``salutation`` column is kept and completed from the names.
    ``full_name`` is filled whenever any name part exists.
    """
    index = next((s.index for s in (first, last, full, salutation) if isinstance(s, pd.Series)), pd.RangeIndex(0))
    n = len(index)
    parts = [_text_codes(s) if s is not None else (np.full(n, -1, dtype=np.intp), np.empty(0, dtype=object))
             for s in (as_series(s, index) if s is not None else None for s in (first, last, full, salutation))]
    # _clean_one row by row, taken apart (see _clean_one): each first, last and full name is read on its
    # own, once per distinct value (and country class where "M." can occur); then the rows' parts are put
    # together with whole-column operations.
    classes = _country_classes(country, n)
    recase = _Recaser()
    (f_codes, f_uniq), (l_codes, l_uniq), (u_codes, u_uniq), (s_codes, s_uniq) = parts
    fk, f_keys = _part_keys(f_codes, f_uniq, classes)
    lk, l_keys = _part_keys(l_codes, l_uniq, None)
    uk, u_keys = _part_keys(u_codes, u_uniq, classes)
    f_parts = _Parts(f_uniq, f_keys, saluted=True, particles=False, recase=recase)
    l_parts = _Parts(l_uniq, l_keys, saluted=False, particles=True, recase=recase)
    u_parts = _Parts(u_uniq, u_keys, saluted=True, particles=True, recase=recase)

    f_has, l_has, u_has = f_parts.has[fk], l_parts.has[lk], u_parts.has[uk]
    cjk = f_parts.cjk[fk] | l_parts.cjk[lk] | u_parts.cjk[uk]
    alone = ~f_has & ~l_has  # no first or last name (left): the full name is split
    latin = ~cjk
    # rows with a first or last name: the values as read (CJK) or re-cased
    first_out = np.where(latin, f_parts.rec[fk], f_parts.val[fk])
    last_out = np.where(latin, l_parts.rec[lk], l_parts.val[lk])
    full_out = np.where(latin, u_parts.rec[uk], u_parts.val[uk])
    # ... and without a full name: composed from first and last, once per distinct pair
    composed = np.flatnonzero(~alone & ~u_has)
    if len(composed):
        pair_codes, pairs = pd.factorize((fk[composed].astype(np.int64) + 1) * (len(l_keys) + 1) + lk[composed] + 1)
        full_out[composed] = take([_compose(f_parts, l_parts, int(p) // (len(l_keys) + 1) - 1,
                                            int(p) % (len(l_keys) + 1) - 1) for p in pairs], pair_codes)
    # rows without: the full name split, once per distinct full name (only those: a split can fail)
    alone_rows = np.flatnonzero(alone & u_has)
    found: dict[int, tuple] = {}  # per full name split: the salutation the split found
    has_found = np.zeros(len(u_keys) + 1, dtype=bool)
    if len(alone_rows):
        first_of, last_of, full_of = (np.full(len(u_keys) + 1, None, dtype=object) for _ in range(3))
        for u in np.unique(uk[alone_rows]).tolist():
            first_of[u], last_of[u], full_of[u], found[u] = _split_alone(
                u_parts.val[u], u_parts.cjk[u], _CLASS_COUNTRY[u_keys[u][1]], recase)
            has_found[u] = bool(found[u])
        at = uk[alone_rows]
        first_out[alone_rows], last_out[alone_rows], full_out[alone_rows] = first_of[at], last_of[at], full_of[at]

    # the salutation: the given one, then what each part held, in _clean_one's order; once per distinct set
    s_norm = np.array([_saluted(v) for v in s_uniq] + [None], dtype=object)
    u_sal = u_parts.has_sal[uk] | (alone & has_found[uk])
    sal_rows = np.flatnonzero((s_norm[s_codes] != None) | f_parts.has_sal[fk] | l_parts.has_sal[lk] | u_sal)  # noqa: E711
    salutation_out = np.full(n, None, dtype=object)
    if len(sal_rows):
        r = sal_rows
        key = np.column_stack([s_codes[r], np.where(f_parts.has_sal[fk[r]], fk[r], -1),
                               np.where(l_parts.has_sal[lk[r]], lk[r], -1),
                               np.where(u_sal[r], uk[r], -1), alone[r] & u_sal[r]]).astype(np.int64)
        groups, firsts = _row_groups(key)
        texts = []
        for s, f, la, u, a in key[firsts].tolist():
            pieces = [s_norm[s]] if s_norm[s] is not None else []
            pieces += [u_parts.lone[u], f_parts.lone[f]]
            pieces += [*(u_parts.sals[u] or ()), *(f_parts.sals[f] or ()), *(l_parts.sals[la] or ())]
            if a:
                pieces += found.get(u, ())
            seen = list(dict.fromkeys(p for p in pieces if p))
            texts.append(" ".join(seen) or None)
        salutation_out[r] = take(texts, groups)

    # the problem: the full name's, else the last name's, else the first name's
    problems = u_parts.problem[uk]
    for other in (l_parts.problem[lk], f_parts.problem[fk]):
        problems = np.where(problems == None, other, problems)  # noqa: E711
    cols = {"first_name": first_out, "last_name": last_out, "full_name": full_out, "salutation": salutation_out}
    return CleanResult(pd.DataFrame(cols, index=index, dtype=object, copy=False), problems_series(problems, index))


# the country as far as it matters (the French "M."): None, a French-speaking country, any other
_CLASS_COUNTRY = (None, "FR", "")


def _country_classes(country: pd.Series | str | None, n: int) -> np.ndarray:
    """Each row's country class: 0 none, 1 French-speaking, 2 any other (see :data:`_CLASS_COUNTRY`)."""
    if isinstance(country, pd.Series):
        values = country.to_numpy(dtype=object)
        missing = pd.isna(values)
        french = pd.Series(values, dtype=object).isin(list(_FRENCH_COUNTRIES)).to_numpy()
        return np.where(missing, 0, np.where(french, 1, 2)).astype(np.int8)
    if country is None or pd.isna(country):
        return np.zeros(n, dtype=np.int8)
    return np.full(n, 1 if str(country) in _FRENCH_COUNTRIES else 2, dtype=np.int8)


def _part_keys(codes: np.ndarray, uniq: np.ndarray, classes: np.ndarray | None) -> tuple[np.ndarray, list]:
    """Each row's key (-1 missing) and the distinct (value code, country class) keys; the class is kept only
    for values where "M." can occur."""
    if classes is None or not len(uniq):
        return codes, [(c, 0) for c in range(len(uniq))]
    relevant = np.array([_may_say_monsieur(v) for v in uniq] + [False], dtype=bool)[codes]
    if not relevant.any():
        return codes, [(c, 0) for c in range(len(uniq))]
    present = np.flatnonzero(codes >= 0)
    key = codes[present].astype(np.int64) * 3 + np.where(relevant[present], classes[present], 0)
    group, keys = pd.factorize(key)
    out = np.full(len(codes), -1, dtype=np.intp)
    out[present] = group
    return out, [(int(k) // 3, int(k) % 3) for k in keys]


class _Parts:
    """The reading (:func:`_read_part`) of each distinct first, last or full name (``keys``: (value code,
    country class) pairs), as arrays with one more entry at the end for a missing value (key -1):
    ``val``, ``rec`` (re-cased), ``cjk``, ``lone``, ``sals`` (a tuple, or None for none), ``problem``.

    Plain names (:func:`_plain_names`) are read as they are, without a Python call each."""

    def __init__(self, uniq: np.ndarray, keys: list[tuple[int, int]], *, saluted: bool, particles: bool,
                 recase: "_Recaser"):
        n = len(keys)
        values = uniq[np.fromiter((c for c, _ in keys), dtype=np.intp, count=n)] if n else np.empty(0, dtype=object)
        plain, keeps_case = _plain_names(values, saluted)
        self.val = np.empty(n + 1, dtype=object)
        self.val[:-1] = values
        self.val[-1] = None
        self.rec = self.val.copy()
        self.lone, self.sals, self.problem = (np.full(n + 1, None, dtype=object) for _ in range(3))
        self.cjk = np.zeros(n + 1, dtype=bool)
        for i in np.flatnonzero(~plain).tolist():
            x, rec, cjk, lone, sals, problem = _read_part(values[i], _CLASS_COUNTRY[keys[i][1]], saluted, recase,
                                                          particles)
            self.val[i], self.rec[i], self.cjk[i], self.lone[i], self.problem[i] = x, rec, cjk, lone, problem
            self.sals[i] = sals or None
        for i in np.flatnonzero(plain & ~keeps_case).tolist():
            self.rec[i] = recase(values[i], particles)
        self.has = self.val != None  # noqa: E711
        self.has_sal = (self.lone != None) | (self.sals != None)  # noqa: E711


# Names in these forms need no Python call each (see _plain_names)
_PLAIN_MIN = 2_000
_NOT_PLAIN_RE = r"[\x00-\x1f\x7f@`0-9]|  |^ | $|^$"
_CHANGES_CASE_RE = r"(?:^| )[^A-Z ]*[a-z][^A-Z ]*(?: |$)|(?:^| )[^a-z ]*[A-Z][^a-z ]*[A-Z][^a-z ]*(?: |$)"


def _plain_names(values: np.ndarray, saluted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Which values :func:`_read_part` returns as they are, and which of those :func:`_recase` keeps, found
    with pyarrow over the whole array: ASCII names in normal form (no control character, no double,
    leading or trailing space), without "@", backquote or digit (no problem), no placeholder, and (for a
    first or full name, ``saluted``) a first word that is no honorific; the case is kept when no word is
    all lower case, or all upper case with two letters or more (so no word is re-cased). All False for few
    values, or without pyarrow."""
    none = np.zeros(len(values), dtype=bool)
    if len(values) < _PLAIN_MIN:
        return none, none
    text = arrow_text(values)
    if text is None:
        return none, none
    import pyarrow as pa
    import pyarrow.compute as pc

    lower = pc.ascii_lower(text)
    plain = pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring_regex(text, _NOT_PLAIN_RE)))
    plain = pc.and_(plain, pc.invert(pc.is_in(lower, value_set=pa.array(sorted(PLACEHOLDERS)))))
    if saluted:  # _take_salutation's first look: the first word, lower case, without trailing dots, commas
        head = pc.ascii_rtrim(pc.ascii_rtrim(pc.replace_substring_regex(lower, " .*", ""), "."), ",")
        plain = pc.and_(plain, pc.invert(pc.is_in(head, value_set=pa.array(sorted({*_HONORIFICS, "m"})))))
    keeps = pc.and_(plain, pc.invert(pc.match_substring_regex(text, _CHANGES_CASE_RE)))
    return (plain.to_numpy(zero_copy_only=False).astype(bool, copy=False),
            keeps.to_numpy(zero_copy_only=False).astype(bool, copy=False))


def _read_part(value, country: str | None, saluted: bool, recase: "_Recaser", particles: bool) -> tuple:
    """One name part as _clean_one reads it: (value left, its re-cased form, CJK?, lone honorific,
    salutations taken, problem). ``saluted``: a first or full name (salutations are looked for)."""
    x = normalize_text(value)
    x = None if is_placeholder(x) else x.replace("’", "'").replace("`", "'")
    problem = None
    if x:
        if "@" in x:
            problem = "name looks like an email address"
        elif _count_digits(x) >= 3:
            problem = "name contains digits"
    lone, sals = None, []
    if saluted and x:
        low = x.lower().rstrip(".")
        if low in _HONORIFICS and " " not in x:  # a lone "Mr"
            lone, x = _HONORIFICS[low], None
        elif not has_cjk(x):
            sals, rest = _take_salutation(x.split(" "), country)
            x = " ".join(rest) if rest else None
    cjk = False
    if x and has_cjk(x):
        for suffix in _CJK_SUFFIX_KEEP:
            if x.endswith(suffix) and len(x) > len(suffix):
                sals.append(suffix)
                x = x[: -len(suffix)].strip()
                break
        cjk = bool(x) and has_cjk(x)
    return x, (x if cjk else recase(x, particles)), cjk, lone, tuple(sals), problem


def _compose(f_parts: _Parts, l_parts: _Parts, f: int, la: int) -> str | None:
    """The full name of a row with a first and/or last name but none given (_clean_one's rule)."""
    if f_parts.cjk[f] or l_parts.cjk[la]:
        names = [x for x in (l_parts.val[la], f_parts.val[f]) if x]
        return "".join(names) if all(has_cjk(x) for x in names) else " ".join(reversed(names))
    return " ".join(x for x in (f_parts.rec[f], l_parts.rec[la]) if x) or None


def _split_alone(full: str, cjk: bool, country: str | None, recase: "_Recaser") -> tuple:
    """(first, last, full, salutation found) of a full name given without first and last name."""
    if cjk:
        return None, None, full, ()
    composed, found = False, []
    if "," in full:
        head, _, tail = full.partition(",")
        taken, tail_tokens = _take_salutation([t for t in tail.split(" ") if t], country)
        if tail_tokens and all(t.lower() in _NAME_SUFFIXES for t in tail_tokens):
            first, last = _split_western(head.split(" "))  # "John Smith, Jr."
        else:
            found = taken
            last, first = head.strip() or None, " ".join(tail_tokens) or None
            composed = True
    else:
        first, last = _split_western(full.split(" "))
    first, last = recase(first, False), recase(last, True)
    full = (" ".join(x for x in (first, last) if x) or None) if composed else recase(full, True)
    return first, last, full, tuple(found)


def _saluted(value) -> str | None:
    text = normalize_text(value)
    return None if is_placeholder(text) else text


def _row_groups(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group codes of the rows of ``key`` (one row of integers per row) and the first row of each group."""
    _, firsts, groups = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return groups.reshape(-1), firsts


class _Recaser:
    """:func:`_recase` with each distinct word re-cased once."""

    def __init__(self):
        self.words: dict[tuple[str, bool], str] = {}

    def __call__(self, text: str | None, particles: bool) -> str | None:
        if not text or has_cjk(text) or "@" in text:
            return text
        words = text.split(" ")
        last = len(words) - 1
        get = self.words.get
        out = []
        for i, word in enumerate(words):
            key = (word, particles and i < last)
            done = get(key)
            if done is None:
                done = self.words[key] = _recase_word(word, key[1])
            out.append(done)
        return " ".join(out)


def _recase_word(word: str, particle: bool) -> str:
    """One word as :func:`_recase` writes it (``particle``: it may be a lower-case name particle)."""
    letters = "".join(_WORD_RE.findall(word))
    if not letters or not (letters.isupper() or letters.islower()) or (len(letters) == 1 and letters.isupper()):
        return word  # mixed case as given, or an initial
    if particle and word.lower() in _PARTICLES:
        return word.lower()
    return "-".join(_cap_word(part) for part in word.split("-"))


_ASCII_DIGIT_RE = re.compile(r"[0-9]")


def _count_digits(text: str) -> int:
    """How many characters of ``text`` str.isdigit() counts (as _clean_one counts them)."""
    if text.isascii():
        return len(_ASCII_DIGIT_RE.findall(text))
    return sum(map(str.isdigit, text))


def _text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values of a column, values that are not text taken as ``str(value)``."""
    codes, uniq = factorize(values)
    if len(uniq) and pd.api.types.infer_dtype(uniq, skipna=False) != "string":
        present = values.notna().to_numpy()
        arr = values.to_numpy(dtype=object, copy=True)
        arr[present] = [str(v) for v in arr[present]]
        arr[~present] = None
        codes, uniq = factorize(pd.Series(arr, dtype=object))
    return codes, uniq


def _may_say_monsieur(value: str) -> bool:
    """Can ``_take_salutation`` see the French "M." in this name? (Only then does the country matter.)"""
    if isinstance(value, str) and "." not in value and "．" not in value:
        return False  # (normalize_text only adds a dot for a full-width one)
    text = normalize_text(value)
    return text is not None and "." in text and "m" in text.lower()
