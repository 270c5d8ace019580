"""Countries -> ISO 3166-1 alpha-2, from codes, names and variants in several languages.

The table is built once from pycountry (codes, English names and the
de/fr/es/it/nl/pt/zh translations it ships) plus hand-written variants
("USA", "U.K.", "England", "Holland", "香港"...). Near misses of at least six
letters ("Germnay") are matched with rapidfuzz.

>>> import pandas as pd
>>> clean_countries(pd.Series(["USA", "Deutschland", "中华人民共和国", "Korea, Republic of"])).values.tolist()
['US', 'DE', 'CN', 'KR']
"""
from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from crmkit.clean._base import CleanResult, fold_accents, is_placeholder, map_unique, normalize_text, problems_series

_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "zh_CN", "zh_TW", "zh_HK", "ja", "ko")

# Variants pycountry does not know; keys are normalised like _key() does.
_ALIASES: dict[str, str] = {
    # United States
    "us": "US", "usa": "US", "u s": "US", "u s a": "US", "america": "US", "united states": "US",
    "united states of america": "US", "the united states": "US", "estados unidos": "US", "eeuu": "US",
    "ee uu": "US", "etats unis": "US", "etats unis d amerique": "US", "vereinigte staaten": "US", "美国": "US",
    "美國": "US",
    # United Kingdom
    "uk": "GB", "u k": "GB", "gb": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB", "united kingdom": "GB", "grossbritannien": "GB",
    "vereinigtes konigreich": "GB", "royaume uni": "GB", "angleterre": "GB", "reino unido": "GB",
    "inglaterra": "GB", "英国": "GB", "英國": "GB",
    # Germany, Austria, Switzerland
    "germany": "DE", "deutschland": "DE", "brd": "DE", "allemagne": "DE", "alemania": "DE", "德国": "DE",
    "osterreich": "AT", "oesterreich": "AT", "autriche": "AT", "奥地利": "AT",
    "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "suiza": "CH", "switzerland": "CH", "瑞士": "CH",
    # China and neighbours
    "china": "CN", "prc": "CN", "p r china": "CN", "pr china": "CN", "mainland china": "CN",
    "people s republic of china": "CN", "peoples republic of china": "CN", "chine": "CN", "中国": "CN",
    "中国大陆": "CN", "中华人民共和国": "CN", "中國": "CN", "大陆": "CN",
    "hong kong": "HK", "hongkong": "HK", "hong kong sar": "HK", "香港": "HK", "中国香港": "HK",
    "macau": "MO", "macao": "MO", "澳门": "MO", "澳門": "MO",
    "taiwan": "TW", "台湾": "TW", "台灣": "TW", "中国台湾": "TW",
    "south korea": "KR", "korea": "KR", "republic of korea": "KR", "korea south": "KR", "rok": "KR",
    "韩国": "KR", "南韩": "KR", "north korea": "KP", "dprk": "KP", "朝鲜": "KP",
    "japan": "JP", "日本": "JP", "singapore": "SG", "新加坡": "SG",
    # others that often appear in short or local form
    "holland": "NL", "the netherlands": "NL", "netherlands": "NL", "niederlande": "NL", "pays bas": "NL",
    "paises bajos": "NL", "nederland": "NL", "荷兰": "NL",
    "espana": "ES", "spanien": "ES", "espagne": "ES", "西班牙": "ES",
    "france": "FR", "frankreich": "FR", "francia": "FR", "法国": "FR",
    "italy": "IT", "italien": "IT", "italie": "IT", "italia": "IT", "意大利": "IT",
    "russia": "RU", "russland": "RU", "russie": "RU", "rusia": "RU", "俄罗斯": "RU",
    "czech republic": "CZ", "czechia": "CZ", "tschechien": "CZ", "turkey": "TR", "turkei": "TR",
    "turquie": "TR", "turkiye": "TR", "vietnam": "VN", "viet nam": "VN", "iran": "IR", "syria": "SY",
    "ivory coast": "CI", "cote d ivoire": "CI", "uae": "AE", "u a e": "AE", "emirates": "AE",
    "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD", "laos": "LA",
    "belgien": "BE", "belgique": "BE", "belgica": "BE", "luxemburg": "LU", "danemark": "DK", "danmark": "DK",
    "schweden": "SE", "suede": "SE", "suecia": "SE", "sverige": "SE", "norwegen": "NO", "norge": "NO",
    "finnland": "FI", "suomi": "FI", "polen": "PL", "pologne": "PL", "polska": "PL", "irland": "IE",
    "eire": "IE", "portugal": "PT", "mexiko": "MX", "mexique": "MX", "kanada": "CA", "australien": "AU",
    "indien": "IN", "inde": "IN", "brasilien": "BR", "bresil": "BR", "brasil": "BR", "加拿大": "CA",
    "澳大利亚": "AU", "印度": "IN", "巴西": "BR", "墨西哥": "MX", "瑞典": "SE", "比利时": "BE",
}
# Alpha-2 look-alikes that are not ISO codes.
_NOT_CODES = {"uk": "GB", "el": "GR"}
_SPLIT_RE = re.compile(r"[^\w]+", re.UNICODE)


def _key(text: str) -> str:
    return " ".join(_SPLIT_RE.sub(" ", fold_accents(text).lower()).replace("_", " ").split())


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    import gettext

    import pycountry

    table: dict[str, str] = {}
    inverted: list[tuple[str, str]] = []  # added last so exact names win

    def add(name: str | None, code: str) -> None:
        if not name:
            return
        table.setdefault(_key(name), code)
        if "," in name:  # "Korea, Republic of" -> "Republic of Korea", "Korea"
            head, _, tail = name.partition(",")
            inverted.append((_key(f"{tail} {head}"), code))
            inverted.append((_key(head), code))

    translations = []
    for lang in _LANGUAGES:
        try:
            translations.append(gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]))
        except OSError:  # a locale pycountry does not ship
            continue
    for country in pycountry.countries:
        code = country.alpha_2
        table[code.lower()] = code
        table[country.alpha_3.lower()] = code
        names = [country.name, getattr(country, "official_name", None), getattr(country, "common_name", None)]
        for name in names:
            add(name, code)
        for tr in translations:
            for name in names:
                if name:
                    add(tr.gettext(name), code)
    for key, code in inverted:
        table.setdefault(key, code)
    for key, code in _NOT_CODES.items():
        table[key] = code
    for key, code in _ALIASES.items():
        table[_key(key)] = code
    return table


@lru_cache(maxsize=1)
def _fuzzy_choices() -> list[str]:
    return [k for k in _table() if len(k) >= 6 and k.isascii()]


def _lookup(text: str) -> str | None:
    table = _table()
    key = _key(text)
    if key in table:
        return table[key]
    stripped = re.sub(r"^(the|la|le|les|el|die|der|das)\s+", "", key)
    if stripped in table:
        return table[stripped]
    if len(key) >= 6 and key.isascii():
        from rapidfuzz import fuzz, process

        hit = process.extractOne(key, _fuzzy_choices(), scorer=fuzz.ratio, score_cutoff=85)
        if hit:
            return table[hit[0]]
    return None


def _clean_country_value(raw: object) -> tuple[str | None, str | None]:
    text = normalize_text(raw)
    if is_placeholder(text):
        return None, None
    code = _lookup(text)
    return (code, None) if code else (None, f"unknown country: {text!r}")


def clean_countries(values: pd.Series) -> CleanResult:
    """Map country names, codes and local variants to ISO alpha-2; unknown -> None + problem."""
    codes, problems = map_unique(values, _clean_country_value, 2)
    return CleanResult(pd.Series(codes, index=values.index, dtype=object, copy=False),
                       problems_series(problems, values.index))
