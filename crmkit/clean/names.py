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
    n = len(index)
    parts = [_text_codes(s) if s is not None else (np.full(n, -1, dtype=np.intp), np.empty(0, dtype=object))
             for s in (as_series(s, index) if s is not None else None for s in (first, last, full, salutation))]
    # A row with only a first and/or last name, each one word (the usual case), is cleaned word by word:
    # _clean_one would only re-case each word and join them (see _one_word).
    words = [[_one_word(v) for v in parts[i][1]] + [(True, None)] for i in (0, 1)]  # last entry: missing
    by_words = (parts[2][0] < 0) & (parts[3][0] < 0)
    for i in (0, 1):
        by_words &= np.array([ok for ok, _ in words[i]], dtype=bool)[parts[i][0]]
    # The country only matters for a first or full name with a token such as "M." (French "Monsieur"):
    # elsewhere it is left out of the key, so each distinct name is cleaned once.
    may_say_monsieur = np.zeros(n, dtype=bool)
    for i in (0, 2):
        codes, uniq = parts[i]
        if len(uniq):
            flags = np.array([_may_say_monsieur(v) for v in uniq] + [False], dtype=bool)
            may_say_monsieur |= flags[codes]
    country_rows = np.flatnonzero(may_say_monsieur & ~by_words)
    if isinstance(country, pd.Series):
        country_codes, country_uniq = _text_codes(as_series(country.to_numpy(dtype=object)[country_rows]))
    else:
        one_code, country_uniq = _text_codes(as_series([country]))
        country_codes = np.full(len(country_rows), one_code[0], dtype=np.intp)
    country_part = np.zeros(n, dtype=np.intp)
    country_part[country_rows] = country_codes + 1
    # the other rows: one integer key per row from the codes of the four parts and the (relevant) country
    columns = [codes for codes, _ in parts] + [country_part - 1]
    present = np.zeros(n, dtype=bool)
    for codes in columns[:4]:
        present |= codes >= 0
    rows = np.flatnonzero(present & ~by_words)
    key = np.zeros(len(rows), dtype=np.int64)
    for codes, size in zip(columns, [len(uniq) + 1 for _, uniq in parts] + [len(country_uniq) + 1]):
        if int(key.max(initial=0)) >= 2 ** 62 // size:  # keep the key small: renumber first
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * size + (codes[rows] + 1)
    group_codes = pd.factorize(key)[0]
    row_codes = np.full(n, -1, dtype=np.intp)
    row_codes[rows] = group_codes
    # factorize numbers the groups in order of first appearance: their first rows stand for them
    if len(rows):
        running = np.maximum.accumulate(group_codes)
        firsts = rows[np.r_[True, running[1:] > running[:-1]]]
    else:
        firsts = rows
    results = []
    for f, l, fu, sa, c in zip(*(codes[firsts].tolist() for codes in columns)):
        sal = normalize_text(parts[3][1][sa]) if sa >= 0 else None
        results.append(_clean_one(parts[0][1][f] if f >= 0 else None, parts[1][1][l] if l >= 0 else None,
                                  parts[2][1][fu] if fu >= 0 else None, None if is_placeholder(sal) else sal,
                                  country_uniq[c] if c >= 0 else None))
    cols = {name: take([r[i] for r in results], row_codes) for i, name in enumerate(NAME_COLUMNS)}
    problems = take([r[4] for r in results], row_codes)
    # the rows cleaned word by word: each word's form, and "first last" once per distinct pair
    by_word_rows = np.flatnonzero(by_words)
    if len(by_word_rows):
        first_codes, last_codes = parts[0][0][by_word_rows], parts[1][0][by_word_rows]
        first_form_of = np.array([form for _, form in words[0]], dtype=object)
        last_form_of = np.array([form for _, form in words[1]], dtype=object)
        first_form, last_form = first_form_of[first_codes], last_form_of[last_codes]
        width = len(words[1]) + 1
        pair_codes, pairs = pd.factorize((first_codes.astype(np.int64) + 1) * width + last_codes + 1)
        firsts_of, lasts_of = first_form_of[pairs // width - 1].tolist(), last_form_of[pairs % width - 1].tolist()
        full_forms = [a if b is None else b if a is None else f"{a} {b}" for a, b in zip(firsts_of, lasts_of)]
        cols["first_name"][by_word_rows] = first_form
        cols["last_name"][by_word_rows] = last_form
        cols["full_name"][by_word_rows] = take(full_forms, pair_codes)
    return CleanResult(pd.DataFrame(cols, index=index, dtype=object, copy=False), problems_series(problems, index))


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
    text = normalize_text(value)
    return text is not None and "." in text and "m" in text.lower()


def _one_word(value: str) -> tuple[bool, str | None]:
    """``(True, name)`` when ``_clean_one`` takes this first or last name, given without a full name or
    salutation, as one word on its own, else ``(False, None)``.

    Such a word (no space, "@", digit or CJK character, not an honorific; a placeholder is no name) is
    not split, has no salutation to take, no problem, and does not depend on the country; _clean_one
    only re-cases it (:func:`_recase`; for one word the particle rule never applies) and joins first
    and last name with a space.
    """
    text = normalize_text(value)
    if is_placeholder(text):
        return True, None
    text = text.replace("’", "'").replace("`", "'")
    if " " in text or "@" in text or has_cjk(text) or any(ch.isdigit() for ch in text) \
            or text.lower().rstrip(".") in _HONORIFICS:
        return False, None
    return True, _recase(text, particles=False)
