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
    """(phone, extension, problem) for one distinct (value, region) pair; candidates already in E.164
    shape are checked by :func:`_e164_one` (the same outcome as parsing them)."""
    return _parse_text(raw, region, _e164_one)


def _parse_library(raw: str, region: str | None) -> tuple[str | None, str | None, str | None]:
    """:func:`_parse_one` with phonenumbers.parse and is_valid_number for every candidate: the reference
    the fast paths are tested against."""
    return _parse_text(raw, region, None)


def _parse_text(raw: str, region: str | None, e164) -> tuple[str | None, str | None, str | None]:
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
        if e164 is not None and candidate.startswith("+") and (known := e164(candidate)) is not None:
            if known[2] is None:  # valid: its E.164 form (such a candidate has no extension)
                return known[0], ext, None
            if candidate == digits:
                break  # an explicit country code that is wrong: do not guess
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


# '+' and 7–15 ASCII digits, nothing else (full match: no trailing newline, no other digits such as
# full-width or Arabic-Indic ones, which phonenumbers normalises and this fast path would not)
_E164_SHAPE = re.compile(r"\+[1-9][0-9]{6,14}")
_COUNTRY_CODES = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_IS_COUNTRY_CODE = np.zeros(1000, dtype=bool)
_IS_COUNTRY_CODE[[cc for cc in _COUNTRY_CODES if cc < 1000]] = True
_BAD_FOR_CC = "not a valid phone number for its country code"


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
    alternation. The patterns are phonenumbers' own metadata.
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
        self.both: dict[int, re.Pattern | None] = {}

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

    def _both(self, length: int) -> re.Pattern | None:
        """General description and type alternation of one length as one pattern: the general one as a
        lookahead to the end, so a full match needs both to match the whole number."""
        if length not in self.both:
            union = self._union(length)
            lengths, general = self.general
            self.both[length] = None if union is None or lengths and length not in lengths else \
                re.compile(f"(?=(?:{general.pattern})\\Z)(?:{union.pattern})")
        return self.both[length]

    def known_types(self, nsns: list[str]) -> list[bool]:
        """``_number_type_helper(nsn, metadata) != UNKNOWN`` for each number, one length at a time."""
        out = [False] * len(nsns)
        if self.general is None:
            return out
        by_length: dict[int, list[int]] = {}
        for i, nsn in enumerate(nsns):
            by_length.setdefault(len(nsn), []).append(i)
        for length, rows in by_length.items():
            both = self._both(length)
            if both is None:
                continue
            match = both.fullmatch
            for i in rows:
                if match(nsns[i]) is not None:
                    out[i] = True
        return out


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


@lru_cache(maxsize=None)
def _region_steps(cc: int) -> tuple[tuple[str, object], ...]:
    """How ``region_code_for_number`` picks the region of a shared calling code, as steps in phonenumbers'
    order: ("type", region) for a region without leading digits (the number's type decides), and
    ("leading", pattern) for a run of regions with leading digits, joined into one alternation
    ``(?P<r0>…)|(?P<r1>…)`` whose first matching branch, as with one match per region in turn, names
    the region. Regions without metadata are skipped, as phonenumbers does."""
    steps: list[tuple[str, object]] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            names = {f"r{k}": code for k, code in enumerate(run)}
            pattern = re.compile("|".join(f"(?P<{name}>{_leading_digits(code).pattern})"
                                          for name, code in names.items()))
            steps.append(("leading", (pattern, names)))
            run.clear()

    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()):
        leading = _leading_digits(code)
        if leading is False:
            continue
        if leading is None:
            close_run()
            steps.append(("type", code))
        else:
            run.append(code)
    close_run()
    return tuple(steps)


@lru_cache(maxsize=None)
def _calling_code_fits(region: str, cc: int) -> bool:
    """``is_valid_number_for_region``'s first check: the region's calling code is the number's."""
    return region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY or \
        cc == phonenumbers.country_code_for_valid_region(region)


def _valid_many(cc: int, nsns: list[str]) -> list[bool]:
    """``phonenumbers.is_valid_number(PhoneNumber(cc, nsn))`` for each national significant number (its
    digits as text, leading zeros included), mirrored step by step: ``region_code_for_number`` (over
    the regions of a shared calling code in phonenumbers' order, by leading digits or number type),
    then ``is_valid_number_for_region``."""
    n = len(nsns)
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if not regions or not n:
        return [False] * n
    out = [False] * n
    region_of: dict[str, list[int]] = {}
    if len(regions) == 1:
        region_of[regions[0]] = list(range(n))
    else:  # region_code_for_number over a shared calling code (+1, +44, +7...)
        pending = list(range(n))
        for kind, step in _region_steps(cc):
            if not pending:
                break
            if kind == "type":
                v = _validator(step, cc)
                hit = v.known_types([nsns[i] for i in pending]) if v is not None else [False] * len(pending)
                # found by its number type: is_valid_number_for_region repeats that very check, so such a
                # number is valid when the region's calling code is this one
                if _calling_code_fits(step, cc):
                    for i, h in zip(pending, hit):
                        if h:
                            out[i] = True
                pending = [i for i, h in zip(pending, hit) if not h]
            else:
                pattern, names = step
                match = pattern.match
                left = []
                for i in pending:
                    m = match(nsns[i])
                    if m is None:
                        left.append(i)
                    else:
                        region_of.setdefault(names[m.lastgroup], []).append(i)
                pending = left
    for region, rows in region_of.items():
        if not rows or not _calling_code_fits(region, cc):
            continue
        validator = _validator(region, cc)
        if validator is None:
            continue
        for i, ok in zip(rows, validator.known_types([nsns[i] for i in rows])):
            out[i] = ok
    return out


def _is_valid(cc: int, nsn: str) -> bool:
    """``phonenumbers.is_valid_number`` for one number (see :func:`_valid_many`)."""
    return _valid_many(cc, [nsn])[0]


def _e164_one(text: str) -> tuple[str | None, str | None, str | None] | None:
    """:func:`_fast_e164` for one value (None: not E.164-shaped, or parse has to decide)."""
    if _E164_SHAPE.fullmatch(text) is None:
        return None
    for size in (1, 2, 3):
        cc = int(text[1:1 + size])
        if cc in _COUNTRY_CODES:
            break
    else:
        return None
    nsn = text[1 + size:]
    if len(nsn) < 2 or nsn.strip("0") == "":
        return None
    prefix = _national_prefix(cc)
    if prefix is not None and prefix.match(nsn) is not None:
        return _parse_prefixed([text])[0]
    return (text, None, None) if _valid_many(cc, [nsn])[0] else (text, None, _BAD_FOR_CC)


def _parse_prefixed(texts: list[str]) -> list[tuple[str | None, str | None, str | None] | None]:
    """Fast path for E.164-shaped values whose national number starts with the national prefix (such as
    +1 1…, +86 12…), which ``phonenumbers.parse`` may strip: the national number parse would keep (see
    :func:`_parsed_national_number`), its validity by :func:`_valid_many` (``is_valid_number`` looks the
    region up over every region of a shared calling code, one by one); a valid number is written as
    ``format_number(…, E164)`` writes it. None, to take the full path, where parse itself decides."""
    out: list[tuple | None] = [None] * len(texts)
    by_cc: dict[int, list[tuple[int, str]]] = {}
    for i, text in enumerate(texts):
        for size in (1, 2, 3):
            cc = int(text[1:1 + size])
            if cc in _COUNTRY_CODES:
                break
        else:
            continue
        nsn = _parsed_national_number(cc, text[1 + size:])
        if nsn is None:
            continue
        if nsn is False:
            out[i] = (text, None, _BAD_FOR_CC)  # parse refuses it: too short or too long
            continue
        by_cc.setdefault(cc, []).append((i, nsn))
    for cc, rows in by_cc.items():
        for (i, nsn), ok in zip(rows, _valid_many(cc, [nsn for _, nsn in rows])):
            out[i] = (f"+{cc}{nsn}", None, None) if ok else (texts[i], None, _BAD_FOR_CC)
    return out


def _parsed_national_number(cc: int, nsn: str) -> str | bool | None:
    """The national significant number ``phonenumbers.parse`` gives for '+' cc nsn (digits only), by
    phonenumbers' own steps: strip the national prefix (``_maybe_strip_national_prefix_carrier_code``)
    and keep the stripped number unless ``_test_number_length`` finds it too short or of an invalid or
    local-only length. False when parse would refuse the number, None when this cannot tell (those
    helpers missing in this phonenumbers version, or a national number of zeros)."""
    steps = _parse_steps()
    if steps is None:
        return None
    strip, test_length, refused, metadata_of = steps
    metadata = metadata_of(cc)
    if metadata is None:
        return None
    _, stripped, _ = strip(nsn, metadata)
    if test_length(stripped, metadata) not in refused:
        nsn = stripped
    if len(nsn) < 2 or len(nsn) > 17:  # parse: TOO_SHORT_NSN / TOO_LONG
        return False
    if nsn.strip("0") == "":
        return None
    return nsn


@lru_cache(maxsize=1)
def _parse_steps():
    from phonenumbers import phonenumberutil as util

    strip = getattr(util, "_maybe_strip_national_prefix_carrier_code", None)
    test_length = getattr(util, "_test_number_length", None)
    results = getattr(util, "ValidationResult", None)
    if strip is None or test_length is None or results is None:
        return None
    refused = (results.TOO_SHORT, results.IS_POSSIBLE_LOCAL_ONLY, results.INVALID_LENGTH)

    @lru_cache(maxsize=None)
    def metadata_of(cc: int):
        return phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
            cc, phonenumbers.region_code_for_country_code(cc))

    return strip, test_length, refused, metadata_of


def _fast_e164(texts: list) -> list[tuple | None]:
    """:func:`_parse_one` of every E.164-shaped value ('+' and 7–15 ASCII digits), without parsing where
    the outcome is certain; None for the other values.

    Such a value does not depend on the region, and phonenumbers.parse builds from it the calling code
    (the first 1–3 digits that are one) and the national number (the rest, leading zeros kept as
    "Italian" zeros). Only a national number that starts with the country's national prefix may
    change (parse may strip it): those go through :func:`_parse_prefixed`. Then only validity is
    left, and the value is its own E.164 form.
    """
    phones, problems, done = _fast_e164_columns(texts)
    return [(p, None, q) if d else None for p, q, d in zip(phones, problems, done)]


def _fast_e164_columns(texts: list) -> tuple[list, list, list[bool]]:
    """:func:`_fast_e164` as columns: phones, problems, and whether the value was decided (extensions are
    None: such a value has none)."""
    n = len(texts)
    phones: list = [None] * n
    problems: list = [None] * n
    done = [False] * n
    shaped = [i for i, t in enumerate(texts) if type(t) is str and _E164_SHAPE.fullmatch(t) is not None]
    if not shaped:
        return phones, problems, done
    chars = np.array([texts[i] for i in shaped], dtype="U16")
    digits = chars.view(np.uint32).reshape(len(shaped), 16).astype(np.int32) - 48  # ASCII digits (shape)
    c1 = digits[:, 1]
    c2 = c1 * 10 + digits[:, 2]
    c3 = c2 * 10 + digits[:, 3]
    size = np.where(_IS_COUNTRY_CODE[c1], 1, np.where(_IS_COUNTRY_CODE[c2], 2, np.where(_IS_COUNTRY_CODE[c3], 3, 0)))
    cc = np.choose(size, [np.zeros_like(c1), c1, c2, c3])
    order = np.argsort(cc, kind="stable")
    bounds = np.flatnonzero(np.diff(cc[order])) + 1
    shaped_arr = np.asarray(shaped, dtype=np.intp)
    prefixed: list[int] = []
    for group in np.split(order, bounds):
        code = int(cc[group[0]])
        if code == 0:
            continue  # no calling code: the full path says so
        start = 1 + len(str(code))
        rows = shaped_arr[group].tolist()
        nsns = [texts[i][start:] for i in rows]
        # too short, or nothing but zeros: the full path
        usable = [len(nsn) >= 2 and nsn.strip("0") != "" for nsn in nsns]
        prefix = _national_prefix(code)
        if prefix is not None:
            match = prefix.match
            starts = [ok and match(nsn) is not None for nsn, ok in zip(nsns, usable)]
            prefixed += [i for i, hit in zip(rows, starts) if hit]
            usable = [ok and not hit for ok, hit in zip(usable, starts)]
        direct = [i for i, ok in zip(rows, usable) if ok]
        valid = _valid_many(code, [nsn for nsn, ok in zip(nsns, usable) if ok])
        for i, ok in zip(direct, valid):
            phones[i] = texts[i]
            if not ok:
                problems[i] = _BAD_FOR_CC
            done[i] = True
    for i, res in zip(prefixed, _parse_prefixed([texts[i] for i in prefixed])):
        if res is not None:
            phones[i], _, problems[i] = res
            done[i] = True
    return phones, problems, done


def _clean_many(items: list[tuple[object, str | None]]) -> tuple[list, list, list]:
    """:func:`_parse_one` of each (value, region), as three lists (phones, extensions, problems), through the
    fast path for E.164-shaped values."""
    phones, problems, done = _fast_e164_columns([v for v, _ in items])
    extensions: list = [None] * len(items)
    for i in [i for i, d in enumerate(done) if not d]:
        v, r = items[i]
        phones[i], extensions[i], problems[i] = _parse_one(v, r)
    return phones, extensions, problems


def _clean_one(raw: str, region: str | None) -> tuple[str | None, str | None, str | None]:
    """:func:`_parse_one`, through the fast paths when the value is already in E.164 shape."""
    phones, extensions, problems = _clean_many([(raw, region)])
    return phones[0], extensions[0], problems[0]


def _region_series(region: pd.Series | str | None, index: pd.Index) -> pd.Series:
    if isinstance(region, pd.Series):
        return region.astype(object).where(region.notna(), None)
    return pd.Series([region] * len(index), index=index, dtype=object)


_INTERNATIONAL = ("+", "00", "＋")


def _region_codes(region: pd.Series, index: pd.Index) -> tuple[np.ndarray, list[str | None]]:
    """Row codes of the regions (aligned with ``index``) and the text of each code + 1 (0: no region)."""
    regions = _region_series(region, index)
    if not regions.index.equals(index):
        regions = regions.reindex(index)
    reg_codes, reg_uniq = factorize(regions)
    return reg_codes, [None] + [str(r) or None for r in reg_uniq]


def _distinct_pairs(values: pd.Series, region: pd.Series, region_codes: tuple | None = None
                    ) -> tuple[np.ndarray, list[tuple[str, str | None]]]:
    """Row codes (-1 for missing) and the distinct (value as text, region) pairs of a column.

    A number with a country code does not depend on the region: its region is None (one pair each).
    ``region_codes``: :func:`_region_codes` of ``region`` for ``values.index``, when known already.
    """
    codes, uniq = factorize(values)
    if pd.api.types.infer_dtype(uniq, skipna=False) not in ("string", "empty"):  # not all text: key on str()
        regions = _region_series(region, values.index)
        international = values.astype(object).str.lstrip().str.startswith(_INTERNATIONAL).fillna(False)
        regions = regions.where(~international.to_numpy(dtype=bool), None)
        present = values.notna().to_numpy()
        key = values.astype(object).where(values.notna(), "").astype(str) + "\x1f" + regions.fillna("").astype(str)
        codes, uniq = factorize(key)
        codes = np.where(present, codes, -1)
        items = [tuple(k.rsplit("\x1f", 1)) for k in uniq]
        return codes, [(v, r or None) for v, r in items]
    international = np.fromiter((v.lstrip().startswith(_INTERNATIONAL) for v in uniq), dtype=bool, count=len(uniq))
    reg_codes, reg_text = region_codes if region_codes is not None else _region_codes(region, values.index)
    width = len(reg_text)
    present = np.flatnonzero(codes >= 0)
    value_codes = codes[present]
    region_part = np.where(international[value_codes], 0, reg_codes[present] + 1)
    pair_codes, pairs = pd.factorize(value_codes.astype(np.int64) * width + region_part)
    codes = np.full(len(codes), -1, dtype=np.intp)
    codes[present] = pair_codes
    items = [(uniq[p // width], reg_text[p % width]) for p in pairs.tolist()]
    return codes, items


def _clean_phone_codes(values: pd.Series, region: pd.Series | str | None = None, region_codes: tuple | None = None
                       ) -> tuple[np.ndarray, tuple[list, list, list]]:
    """Row codes (-1 for missing) and, per distinct (value, region), the phones, extensions and problems
    (``region_codes``: see :func:`_distinct_pairs`)."""
    if isinstance(region, pd.Series):
        codes, items = _distinct_pairs(values, region, region_codes)
    else:
        codes, uniq = factorize(values)
        items = [(v, region) for v in uniq]
    return codes, _clean_many(items)


def _phone_result(codes: np.ndarray, phones: list, extensions: list, problems: list, index: pd.Index) -> CleanResult:
    frame = pd.DataFrame({"phone": take(phones, codes), "phone_ext": take(extensions, codes)}, index=index,
                         dtype=object, copy=False)
    return CleanResult(frame, problems_series(take(problems, codes), index))


def clean_phones(values: pd.Series, region: pd.Series | str | None = None) -> CleanResult:
    """Clean a column of phone numbers into ``DataFrame[phone (E.164), phone_ext]``.

    ``region`` is a per-row Series of ISO alpha-2 codes (e.g. from the country
    column), one default region, or None. Impossible numbers keep their trimmed
    raw text and get a problem such as "not a valid phone number for region DE".
    Parsing is cached on distinct (value, region) pairs.
    """
    codes, parts = _clean_phone_codes(values, region)
    return _phone_result(codes, *parts, values.index)


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

        found = _most_common_country(clean_countries(countries.dropna()).values)
        if found is not None:
            return found
    return _region_from_numbers(phones, default, texts=texts)


def _most_common_country(codes: pd.Series) -> str | None:
    """The most common of the cleaned country codes (None when there are none)."""
    codes = codes.dropna()
    return str(codes.value_counts().index[0]) if len(codes) else None


def _region_from_numbers(phones: pd.Series | None, default: str | None, *,
                         texts: pd.Series | None = None) -> str | None:
    """:func:`infer_region` after the countries: from the international numbers, then CJK text."""
    counts: Counter[str] = Counter()
    cjk = total = 0
    samples = []
    if phones is not None:
        uniq = _first_distinct(phones, 5000)
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
        samples.append(_first_distinct(texts, 5000))
    for sample in samples:
        for value in sample[:5000]:
            total += 1
            cjk += has_cjk(str(value))
    if total and cjk / total >= 1 / 3:
        return "CN"
    return default


def _first_distinct(values: pd.Series, count: int) -> pd.Series:
    """The first ``count`` distinct non-missing values in order of appearance: the start of
    ``values.dropna().unique()``, without hashing the whole column."""
    values = values.dropna()
    found: dict = {}
    step = max(4 * count, 1)
    for start in range(0, len(values), step):
        for value in pd.unique(values.iloc[start:start + step].to_numpy(dtype=object)):
            found.setdefault(value, None)
            if len(found) >= count:
                return pd.Series(list(found), dtype=object)
    return pd.Series(list(found), dtype=object)
