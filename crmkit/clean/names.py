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
    CleanResult, as_series, factorize, has_cjk, is_placeholder, normalize_text, problems_series, take,
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
    from crmkit.match._nicknames import NICKNAMES

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

    if not cjk:
        composed = not full
        if full and not first and not last:
            if "," in full:
                head, _, tail = full.partition(",")
                found, tail_tokens = _take_salutation([t for t in tail.split(" ") if t], country)
                if tail_tokens and all(t.lower() in _NAME_SUFFIXES for t in tail_tokens):
                    first, last = _split_western(head.split(" "))  # "John Smith, Jr."
                else:
                    salutation.extend(found)
                    last, first = head.strip() or None, " ".join(tail_tokens) or None
                    composed = True
            else:
                first, last = _split_western(full.split(" "))
        first, last = _recase(first, particles=False), _recase(last)
        full = " ".join(x for x in (first, last) if x) or None if composed else _recase(full)
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
    parts = [as_series(s, index) for s in (first, last, full, salutation)]
    countries = country if isinstance(country, pd.Series) else as_series([country] * len(index), index)
    frame = pd.DataFrame({i: s.astype(object).to_numpy() for i, s in enumerate(parts + [countries])}, index=index)
    present = frame.notna().any(axis=1).to_numpy()
    # the common case needs no parsing: "Sam" / "Smith" (no full name, no salutation) stays as given
    has_first, has_last = frame[0].notna().to_numpy(), frame[1].notna().to_numpy()
    simple = (frame[2].isna().to_numpy() & frame[3].isna().to_numpy() & (has_first | has_last)
              & (~has_first | _plain_words(frame[0])) & (~has_last | _plain_words(frame[1])))
    rest = present & ~simple
    sub = frame[rest]
    key = sub[0].fillna("\x02").astype(str)
    for col in range(1, 5):
        key = key + "\x1f" + sub[col].fillna("\x02").astype(str)
    sub_codes, uniq = factorize(key)
    results = []
    for k in uniq:
        vals = [None if v == "\x02" else v for v in k.split("\x1f")]
        sal = normalize_text(vals[3])
        results.append(_clean_one(vals[0], vals[1], vals[2], None if is_placeholder(sal) else sal, vals[4]))
    codes = np.full(len(frame), -1, dtype=np.int64)
    codes[rest] = sub_codes
    cols = {name: take([r[i] for r in results], codes) for i, name in enumerate(NAME_COLUMNS)}
    if simple.any():
        first = np.where(has_first, frame[0].to_numpy(dtype=object), None)[simple]
        last = np.where(has_last, frame[1].to_numpy(dtype=object), None)[simple]
        cols["first_name"][simple] = first
        cols["last_name"][simple] = last
        cols["full_name"][simple] = [a if b is None else b if a is None else f"{a} {b}" for a, b in zip(first, last)]
    problems = take([r[4] for r in results], codes)
    return CleanResult(pd.DataFrame(cols, index=index, dtype=object), problems_series(problems, index))


_PLAIN_WORD_RE = re.compile(r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+")


def _plain_words(values: pd.Series) -> np.ndarray:
    """Per row: a single capitalised word that ``_clean_one`` keeps as is (not a placeholder or honorific)."""
    codes, uniq = factorize(values)
    ok = np.array([type(v) is str and _PLAIN_WORD_RE.fullmatch(v) is not None
                   and v.lower() not in _HONORIFICS and not is_placeholder(v) for v in uniq] + [False], dtype=bool)
    return ok[codes]
