"""Phone numbers -> E.164 plus extension, with phonenumbers.

Handles full-width digits, numbers that went through a float ("4155550123.0",
"1.38001380e10"), "00"/"+" prefixes, the German "(0)", and extensions
("x123", "ext. 12", "Durchwahl -12", "转 801"). Numbers without a country code
use the row's region (ISO alpha-2) or a default region.

>>> import pandas as pd
>>> r = clean_phones(pd.Series(["+49 (0)30 1234567", "(415) 555-0123 ext. 12", "1.38001380e10"]),
...                  region=pd.Series(["DE", "US", "CN"]))
>>> r.values["phone"].tolist(), r.values["phone_ext"].tolist()
(['+49301234567', '+14155550123', '+8613800138000'], [None, '12', None])
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import phonenumbers

from crmkit.clean._base import (
    CleanResult, factorize, has_cjk, is_placeholder, normalize_text, problems_series, take,
)

_EXT_RE = re.compile(
    r"(?:\s*[,;]?\s*)(?:ext\.?|extension|x|#|durchwahl|dw\.?|nebenstelle|poste|anexo|转|轉|分机|分機)"
    r"\s*[-:.]?\s*(\d{1,6})\s*$",
    re.IGNORECASE,
)
_FLOAT_RE = re.compile(r"^\+?\d+\.0+$")
_SCI_RE = re.compile(r"^\+?\d+(?:\.\d+)?[eE]\+?\d+$")
_TRUNK0_RE = re.compile(r"\(\s*0\s*\)")
_ALLOWED_RE = re.compile(r"[^\d+]")
_PHONE_PLACEHOLDERS = frozenset({"0", "00", "000", "0000000000", "+", "tel", "phone", "keine", "kein"})
_E164 = phonenumbers.PhoneNumberFormat.E164


def _unfloat(text: str) -> str:
    """'4155550123.0' -> '4155550123'; '1.38001380e10' -> '13800138000'."""
    if _FLOAT_RE.match(text):
        return text.split(".", 1)[0]
    if _SCI_RE.match(text):
        try:
            number = Decimal(text.lstrip("+"))
        except InvalidOperation:  # pragma: no cover - regex guards this
            return text
        if number == number.to_integral_value():
            return ("+" if text.startswith("+") else "") + str(int(number))
    return text


@lru_cache(maxsize=500_000)
def _parse_one(raw: str, region: str | None) -> tuple[str | None, str | None, str | None]:
    """(phone, extension, problem) for one distinct (value, region) pair."""
    text = normalize_text(raw)
    if is_placeholder(text) or text.lower() in _PHONE_PLACEHOLDERS:
        return None, None, None
    text = text.replace("＋", "+").replace("–", "-").replace("—", "-")
    text = re.sub(r"^(?:tel|phone|fon|telefon|tél|mobile?|handy|cell|电话|手机)\.?\s*[:.]?\s*", "", text,
                  flags=re.IGNORECASE)
    ext = None
    m = _EXT_RE.search(text)
    if m and len(re.sub(r"\D", "", text[: m.start()])) >= 5:
        ext, text = m.group(1), text[: m.start()]
    text = _unfloat(text.strip())
    digits = _ALLOWED_RE.sub("", _TRUNK0_RE.sub("", text) if text.lstrip().startswith(("+", "00"))
                             else text)
    if not any(ch.isdigit() for ch in digits):
        return normalize_text(raw), None, "not a phone number"
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif "+" in digits[1:]:
        digits = digits[0] + digits[1:].replace("+", "")
    number = None
    order = ((digits, region), ("+" + digits, None))
    if region and digits.isdigit() and not digits.startswith("0") and len(digits) >= 10:
        # a number stored in a numeric cell loses its "+": 4915133231781 in a German file is +49…,
        # not a national number that happens to start with 49
        cc = str(phonenumbers.country_code_for_region(region))
        if digits.startswith(cc) and len(digits) - len(cc) >= 7:
            order = (("+" + digits, None), (digits, region))
    for candidate, reg in order:
        if candidate.startswith("++"):
            continue
        if not candidate.startswith("+") and reg is None:
            continue
        try:
            parsed = phonenumbers.parse(candidate, reg)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            number = parsed
            break
        if candidate == digits and digits.startswith("+"):
            break  # an explicit country code that is wrong: do not guess
    if number is None:
        where = f"for region {region}" if region and not digits.startswith("+") else "(no country code, no region)" \
            if not digits.startswith("+") else "for its country code"
        return normalize_text(raw), ext, f"not a valid phone number {where}"
    ext = ext or (number.extension or None)
    return phonenumbers.format_number(number, _E164), ext, None


_E164_SHAPE = re.compile(r"^\+[1-9]\d{6,14}$")
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@lru_cache(maxsize=None)
def _national_prefix(country_code: int) -> re.Pattern | None:
    """The pattern phonenumbers strips from a national number of this country code, if any."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    prefix = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(prefix) if prefix else None


_TYPE_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
               "fixed_line")


class _Validator:
    """``phonenumbers._number_type_helper(nsn, metadata) != UNKNOWN`` as one regex call per number.

    The general description must match, then any of the type descriptions (the same set and the
    same length rules phonenumbers checks one by one), joined per national number length into one
    alternation.
    """

    def __init__(self, metadata) -> None:
        self.metadata = metadata
        general = self._desc(metadata.general_desc)
        self.general = (general[0], re.compile(general[1])) if general is not None else None
        descs = [getattr(metadata, name) for name in _TYPE_DESCS]
        if not metadata.same_mobile_and_fixed_line_pattern:
            descs.append(metadata.mobile)
        self.types = [d for d in (self._desc(x) for x in descs) if d is not None]
        self.by_length: dict[int, re.Pattern | None] = {}

    @staticmethod
    def _desc(desc) -> tuple[frozenset[int], str] | None:
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length), desc.national_number_pattern

    def _union(self, length: int) -> re.Pattern | None:
        if length not in self.by_length:
            parts = [p for lengths, p in self.types if not lengths or length in lengths]
            self.by_length[length] = re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None
        return self.by_length[length]

    def known_type(self, nsn: str) -> bool:
        if self.general is None:
            return False
        lengths, pattern = self.general
        if lengths and len(nsn) not in lengths or not pattern.fullmatch(nsn):
            return False
        union = self._union(len(nsn))
        return union is not None and union.fullmatch(nsn) is not None


@lru_cache(maxsize=None)
def _validator(region: str, country_code: int) -> _Validator | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
    return _Validator(metadata) if metadata is not None else None


@lru_cache(maxsize=None)
def _leading_digits(region: str) -> re.Pattern | None | bool:
    """The region's leading-digits pattern; False when the region has no metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None:
        return False
    return re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None


def _is_valid(cc: int, nsn: str) -> bool:
    """``phonenumbers.is_valid_number`` for a number without leading zeros, mirrored step by step."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if not regions:
        return False
    region = regions[0] if len(regions) == 1 else None
    if region is None:  # region_code_for_number over a shared calling code (+1, +44, +7...)
        for code in regions:
            leading = _leading_digits(code)
            if leading is False:
                continue
            if leading is not None:
                if leading.match(nsn):
                    region = code
                    break
            elif (v := _validator(code, cc)) is not None and v.known_type(nsn):
                region = code
                break
    if region is None:
        return False
    if region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY and \
            cc != phonenumbers.country_code_for_valid_region(region):
        return False
    validator = _validator(region, cc)
    return validator is not None and validator.known_type(nsn)


def _parse_e164(text: str) -> tuple[str | None, str | None, str | None] | None:
    """Fast path for a value that is already '+' and 7–15 digits: the result of :func:`_parse_one`, or None.

    Builds the number phonenumbers.parse would build (country code = the first 1–3 digits that are a
    calling code, the rest as national number) without parsing, and only asks ``is_valid_number``.
    Returns None, to take the full path, whenever parse could do more than that: no calling code,
    a national number with a leading zero (Italian-style numbers) or one that starts with the
    country's national prefix (parse may strip it).
    """
    for size in (1, 2, 3):
        cc = int(text[1:1 + size])
        if cc in _COUNTRY_CODES:
            break
    else:
        return None
    nsn = text[1 + size:]
    if len(nsn) < 2 or nsn[0] == "0":
        return None
    prefix = _national_prefix(cc)
    if prefix is not None and prefix.match(nsn):
        return None
    if _is_valid(cc, nsn):
        return text, None, None
    return text, None, "not a valid phone number for its country code"


def _parse_e164_parsed(text: str) -> tuple[str | None, str | None, str | None] | None:
    """Second fast path for an E.164-shaped value that :func:`_parse_e164` leaves (a national number
    starting with the national prefix, such as +1 1…, +86 12…): ``phonenumbers.parse`` builds the
    number, the validity check is :func:`_is_valid` (``is_valid_number`` looks the region up over
    every region of a shared calling code, one by one). None, to take the full path, for a number
    with leading zeros."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text, None, "not a valid phone number for its country code"
    if parsed.italian_leading_zero or parsed.extension or not parsed.national_number:
        return None
    nsn = str(parsed.national_number)
    if _is_valid(parsed.country_code, nsn):
        return f"+{parsed.country_code}{nsn}", None, None
    return text, None, "not a valid phone number for its country code"


def _clean_one(raw: str, region: str | None) -> tuple[str | None, str | None, str | None]:
    """:func:`_parse_one`, through the fast paths when the value is already in E.164 shape."""
    if _E164_SHAPE.match(raw):
        fast = _parse_e164(raw)
        if fast is None:
            fast = _parse_e164_parsed(raw)
        if fast is not None:
            return fast
    return _parse_one(raw, region)


def _region_series(region: pd.Series | str | None, index: pd.Index) -> pd.Series:
    if isinstance(region, pd.Series):
        return region.astype(object).where(region.notna(), None)
    return pd.Series([region] * len(index), index=index, dtype=object)


def clean_phones(values: pd.Series, region: pd.Series | str | None = None) -> CleanResult:
    """Clean a column of phone numbers into ``DataFrame[phone (E.164), phone_ext]``.

    ``region`` is a per-row Series of ISO alpha-2 codes (e.g. from the country
    column), one default region, or None. Impossible numbers keep their trimmed
    raw text and get a problem such as "not a valid phone number for region DE".
    Parsing is cached on distinct (value, region) pairs.
    """
    index = values.index
    regions = _region_series(region, index)
    if isinstance(region, pd.Series):
        # numbers with a country code do not depend on the region: one cache entry each
        international = values.astype(object).str.lstrip().str.startswith(("+", "00", "＋")).fillna(False)
        regions = regions.where(~international.to_numpy(dtype=bool), None)
        present = values.notna().to_numpy()
        key = values.astype(object).where(values.notna(), "").astype(str) + "\x1f" + regions.fillna("").astype(str)
        codes, uniq = factorize(key)
        codes = np.where(present, codes, -1)
        items = [tuple(k.rsplit("\x1f", 1)) for k in uniq]
        items = [(v, r or None) for v, r in items]
    else:
        codes, uniq = factorize(values)
        items = [(v, region) for v in uniq]
    results = [_clean_one(v, r) for v, r in items]
    phone, ext, problems = (take([res[i] for res in results], codes) for i in range(3))
    frame = pd.DataFrame({"phone": phone, "phone_ext": ext}, index=index, dtype=object)
    return CleanResult(frame, problems_series(problems, index))


def infer_region(phones: pd.Series | None, countries: pd.Series | None = None,
                 default: str | None = None, *, texts: pd.Series | None = None) -> str | None:
    """Guess the region (ISO alpha-2) of a file's numbers that lack a country code.

    In order: the most common country in ``countries`` (any spelling
    ``clean_countries`` understands); the most common country code among the
    international numbers in ``phones``; "CN" when at least a third of the
    non-empty ``phones``/``texts`` values contain CJK characters; else ``default``.

    >>> infer_region(pd.Series(["+49 30 1234567", "030 7654321", "+49 89 123456"]))
    'DE'
    """
    if countries is not None and countries.notna().any():
        from crmkit.clean.countries import clean_countries

        codes = clean_countries(countries.dropna()).values.dropna()
        if len(codes):
            return str(codes.value_counts().index[0])
    counts: Counter[str] = Counter()
    cjk = total = 0
    samples = []
    if phones is not None:
        uniq = pd.Series(phones.dropna().unique(), dtype=object)
        samples.append(uniq)
        for value in uniq[:5000]:
            text = (normalize_text(value) or "").replace("＋", "+")
            text = _unfloat(text)
            if text.startswith(("+", "00")):
                digits = "+" + _ALLOWED_RE.sub("", _TRUNK0_RE.sub("", text)).lstrip("+").removeprefix("00")
                try:
                    parsed = phonenumbers.parse(digits, None)
                except phonenumbers.NumberParseException:
                    continue
                reg = phonenumbers.region_code_for_number(parsed)
                if reg and reg != "ZZ":
                    counts[reg] += 1
    if counts:
        return counts.most_common(1)[0][0]
    if texts is not None:
        samples.append(pd.Series(texts.dropna().unique()[:5000], dtype=object))
    for sample in samples:
        for value in sample[:5000]:
            total += 1
            cjk += has_cjk(str(value))
    if total and cjk / total >= 1 / 3:
        return "CN"
    return default
