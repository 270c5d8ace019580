"""Company names: a clean display name and a match key without legal forms.

>>> import pandas as pd
>>> r = clean_companies(pd.Series(["ACME CORP.", "Müller GmbH & Co. KG", "The Smith & Sons Ltd", "阿里巴巴集团控股有限公司"]))
>>> r.values["company"].tolist()
['Acme Corp.', 'Müller GmbH & Co. KG', 'The Smith & Sons Ltd', '阿里巴巴集团控股有限公司']
>>> r.values["company_key"].tolist()
['acme', 'muller', 'smith and sons', '阿里巴巴集团控股']
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crmkit.clean._base import (
    CleanResult, factorize, fold_accents, has_cjk, is_placeholder, normalize_text, problems_series, take,
)

# Legal forms as token sequences after punctuation removal ("L.L.C." -> "llc", "GmbH & Co. KG" -> gmbh and co kg).
_LEGAL_FORMS: list[tuple[str, ...]] = sorted(
    {
        tuple(form.split())
        for form in (
            "inc", "incorporated", "llc", "l l c", "ltd", "limited", "corp", "corporation", "co", "company",
            "plc", "llp", "lp", "gmbh", "gmbh and co kg", "gmbh and co", "gmbh co kg", "ag", "kg", "ohg", "ek",
            "e k", "eg", "ev", "e v", "ug", "ug haftungsbeschrankt", "mbh", "kgaa", "se", "sarl", "sa", "sas",
            "s a", "s a s", "s a r l", "sl", "s l", "srl", "s r l", "spa", "s p a", "bv", "b v", "nv", "n v",
            "oy", "oyj", "ab", "as", "a s", "asa", "aps", "pty ltd", "pty", "pte ltd", "pte", "sdn bhd", "kk",
            "k k", "co ltd", "co inc", "corp ltd", "ltda", "sa de cv", "s a de c v", "sociedad anonima",
            "holding", "holdings", "group",
        )
    },  # a form is only removed when something else remains: "Group" alone stays
    key=len,
    reverse=True,
)
# The same forms by number of tokens, longest first: at most one form of each length can end a name.
_FORMS_BY_LENGTH: list[tuple[int, frozenset[tuple[str, ...]]]] = [
    (n, frozenset(f for f in _LEGAL_FORMS if len(f) == n))
    for n in sorted({len(f) for f in _LEGAL_FORMS}, reverse=True)
]
_CJK_FORMS = ("股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "集团公司", "集团", "集團", "公司",
              "株式会社", "有限会社")
_DOTTED_RE = re.compile(r"\b([a-z])\.(?=[a-z]\.)")
_DOTTED_PAIR_RE = re.compile(r"\b([a-z])\.([a-z])\b\.?")
_AND_RE = re.compile(r"\s*(?:&|\+|\band\b|\bund\b|\bet\b)\s*", re.IGNORECASE)
_PUNCT_RE = re.compile(r"[^\w]+", re.UNICODE)
# Display casing for legal forms when a name is re-cased.
_FORM_DISPLAY = {
    "inc": "Inc", "llc": "LLC", "ltd": "Ltd", "plc": "PLC", "llp": "LLP", "gmbh": "GmbH", "ag": "AG", "kg": "KG",
    "ohg": "OHG", "ug": "UG", "mbh": "mbH", "kgaa": "KGaA", "se": "SE", "sarl": "SARL", "sa": "SA", "sas": "SAS",
    "sl": "SL", "srl": "SRL", "spa": "SpA", "bv": "BV", "nv": "NV", "ab": "AB", "as": "AS", "asa": "ASA",
    "aps": "ApS", "pty": "Pty", "pte": "Pte", "oy": "Oy", "oyj": "Oyj", "corp": "Corp", "co": "Co", "e.k": "e.K",
    "gbr": "GbR", "ek": "eK", "ev": "eV", "usa": "USA", "uk": "UK", "it": "IT", "ai": "AI", "hr": "HR",
}
_SMALL = {"and", "of", "the", "for", "de", "la", "le", "du", "des", "und", "et", "y", "del", "der", "die", "von",
          "van", "&"}
_VOWELS = set("aeiouyäöüéèáíóú")


def _display_case(name: str) -> str:
    """Re-case an ALL CAPS or all lower-case name; keep any mixed-case name as given."""
    if has_cjk(name):
        return name
    letters = "".join(filter(str.isalpha, name))
    if not letters or not (letters.isupper() or letters.islower()):
        return name
    was_upper = letters.isupper()
    if was_upper and " " not in name and len(letters) <= 4:
        return name  # "IBM", "SAP": a short all-caps name is an acronym
    out = []
    for i, word in enumerate(name.split(" ")):
        bare = word.strip(".,()").lower()
        if bare in _FORM_DISPLAY and i > 0:
            out.append(word.lower().replace(bare, _FORM_DISPLAY[bare], 1))
        elif bare in _SMALL and i > 0:
            out.append(word.lower())
        elif was_upper and 1 < len(bare) <= 3 and bare.isalpha() and not (set(bare) & _VOWELS):
            out.append(word)  # acronyms such as "BMW", "KPMG" stay upper
        else:
            out.append("-".join(p[:1].upper() + p[1:].lower() for p in word.split("-")))
    return " ".join(out)


def company_key(name: str) -> str | None:
    """Match key: lower, accents folded, punctuation and legal forms removed, '&' = 'and'.

    >>> company_key("The Coca-Cola Company")
    'coca cola'
    """
    text = name
    if has_cjk(text):
        text = re.sub(r"[（(][^）)]*[）)]", "", text)  # "(北京)" region markers
        changed = True
        while changed:
            changed = False
            for form in _CJK_FORMS:
                if text.endswith(form) and len(text) > len(form):
                    text, changed = text[: -len(form)].rstrip(), True
    text = fold_accents(text).lower()
    if "." in text:
        text = _DOTTED_RE.sub(r"\1", text)  # "s.a." -> "sa.", "l.l.c." -> "llc."
        text = _DOTTED_PAIR_RE.sub(r"\1\2", text)
    text = _AND_RE.sub(" and ", text)
    tokens = _PUNCT_RE.sub(" ", text).replace("_", " ").split()
    if tokens[:1] == ["the"] and len(tokens) > 1:
        tokens = tokens[1:]
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for n, forms in _FORMS_BY_LENGTH:  # the longest legal form the name ends with
            if len(tokens) > n and tuple(tokens[-n:]) in forms:
                tokens = tokens[:-n]
                changed = True
                break
        while len(tokens) > 1 and tokens[-1] == "and":
            tokens = tokens[:-1]
    return " ".join(tokens) or None


def _clean_company_value(raw: object) -> tuple[str | None, str | None, str | None]:
    text = normalize_text(raw)
    if is_placeholder(text):
        return None, None, None
    text = text.strip(" ,;")
    return _display_case(text), company_key(text), None


def clean_companies(values: pd.Series) -> CleanResult:
    """Clean company names into ``DataFrame[company, company_key]``.

    ``company`` is the display name (trimmed; casing fixed only when ALL CAPS or
    all lower case); ``company_key`` is the match key (see :func:`company_key`).
    """
    return _company_result(*_company_codes(values), values.index)


def _company_codes(values: pd.Series) -> tuple[np.ndarray, list, list, list]:
    """Row codes (-1 for missing) and, per distinct value, the display name, key and problem (compact enough
    to travel from a forked process)."""
    codes, uniq = factorize(values)
    outs = [_clean_company_value(v) for v in uniq]
    return codes, [o[0] for o in outs], [o[1] for o in outs], [o[2] for o in outs]


def _company_result(codes: np.ndarray, company: list, key: list, problems: list, index: pd.Index) -> CleanResult:
    frame = pd.DataFrame({"company": take(company, codes), "company_key": take(key, codes)}, index=index,
                         dtype=object, copy=False)
    return CleanResult(frame, problems_series(take(problems, codes), index))
