"""The fast path of clean_phones (E.164-shaped values) gives exactly what the full phonenumbers path gives."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from crmkit.clean import phones
from crmkit.clean.phones import (
    _clean_many, _clean_one, _e164_one, _is_valid, _parse_library, _valid_many, clean_phones,
)

_TYPES = [t for t in vars(phonenumbers.PhoneNumberType).values() if isinstance(t, int)]


def _examples() -> list[str]:
    """Valid example numbers of every region and number type, in E.164."""
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    for cc in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(cc)
        if number is not None:
            out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(set(out))


def _sample(seed: int = 5) -> list[str]:
    """Realistic and adversarial values: examples, one-digit typos, extra/missing digits, random digits
    after every calling code (leading zeros, national prefixes such as RU 8 or CN 1[12]), other shapes."""
    rng = random.Random(seed)
    examples = _examples()
    out = list(examples)
    for e in examples:
        digits = e[1:]
        i = rng.randrange(1, len(digits))
        out.append("+" + digits[:i] + str(rng.randrange(10)) + digits[i + 1:])  # typo
        out.append(e + str(rng.randrange(10)))                                   # one digit too many
        out.append(e[:-1])                                                       # one too few
        out.append(e[:3] + "0" + e[3:])                                          # a trunk zero kept
    for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for _ in range(150):
            n = rng.randint(2, 14)
            out.append(f"+{cc}" + "".join(rng.choice("0123456789") for _ in range(n)))
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):  # a national prefix (or carrier code) kept after "+cc"
        cc = phonenumbers.country_code_for_region(region)
        prefix = phones._national_prefix(cc)
        example = phonenumbers.example_number(region)
        if prefix is None or example is None:
            continue
        nsn = phonenumbers.national_significant_number(example)
        for _ in range(12):
            head = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 5)))
            if prefix.match(head + nsn):
                out += [f"+{cc}{head}{nsn}", f"+{cc}{head}{nsn[:-2]}", f"+{cc}{head}{nsn}0"]
    out += ["+0123456789", "+999123456789", "+1234567", "+123456789012345", "+1 415 555 0123",
            "+14155550123 x12", "+4930 1234567", "+49(0)301234567", "4930123456", "+86 10 1234 5678",
            "+390612345678", "+79161234567", "+88612345678", "+8612012345678", "+441234567890"]
    return out


SAMPLE = _sample()
# E.164 look-alikes with characters phonenumbers normalises (full-width and Arabic-Indic digits, a newline)
ODD = ["+4９301234567", "+4930１234567", "+1415٥550123", "+4930123456７", "+4930123456\n", "+14155550123\n"]


def test_sample_is_large_and_mixed():
    fast = [r for r in phones._fast_e164(SAMPLE) if r is not None]
    assert len(SAMPLE) > 35_000 and len(fast) > 20_000
    assert sum(r[2] is None for r in fast) > 2_000  # many valid numbers, many invalid ones
    assert sum(r[2] is not None for r in fast) > 2_000


def _other_shapes(seed: int = 9) -> list[str]:
    """The sample's numbers as files hold them: spaced, "00" instead of "+", without "+" (a numeric cell),
    national with a trunk 0, stored as a float, with a stray "x" or an extension."""
    rng = random.Random(seed)
    out = []
    for v in rng.sample(SAMPLE, 1500):
        digits = v[1:]
        i = rng.randint(1, len(digits) - 1)
        out += [f"+{digits[:i]} {digits[i:]}", "00" + digits, digits, "0" + digits[i:], digits + ".0",
                f"{digits[:3]} {digits[3:6]} {digits[6:]}x", f"{v} ext. {rng.randint(1, 999)}",
                f"({digits[:i]}) {digits[i:]}"]
    return out


OTHER_SHAPES = _other_shapes()


@pytest.mark.parametrize("region", [None, "DE", "US", "CN", "GB", "IT"])
def test_fast_path_equals_full_parse(region):
    slow = _parse_library  # phonenumbers for every candidate: the reference
    values = SAMPLE + ODD + OTHER_SHAPES
    fast = list(zip(*_clean_many([(v, region) for v in values])))
    mismatches = [(v, f, slow(v, region)) for v, f in zip(values, fast) if f != slow(v, region)]
    assert mismatches == []
    assert [_clean_one(v, region) for v in values[:300]] == fast[:300]


def test_one_value_fast_path_equals_the_batch():
    assert phones._fast_e164(SAMPLE + ODD) == [_e164_one(v) for v in SAMPLE + ODD]


def test_candidates_in_e164_shape_skip_parsing():
    """Values that are not E.164-shaped themselves but give an E.164 candidate ("+" + digits) use the fast
    check for it; test_fast_path_equals_full_parse shows the outcome is the same."""
    candidates = [v for v in OTHER_SHAPES if _e164_one("+" + "".join(ch for ch in v if ch.isdigit())) is not None]
    assert len(candidates) > 4_000


def test_fast_path_leaves_values_phonenumbers_would_normalise():
    """Other digits than ASCII ones, a trailing newline: phonenumbers normalises them, so the fast path
    must not take them as they are."""
    assert phones._fast_e164(ODD) == [None] * len(ODD)
    assert _clean_one("+4９301234567", None) == ("+49301234567", None, None)
    assert _clean_one("+4930123456\n", None) == ("+4930123456", None, None)


def test_validity_mirror_equals_phonenumbers():
    rng = np.random.default_rng(11)
    for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        nsns, expected = [], []
        for length in range(2, 15):
            for value in rng.integers(10 ** (length - 1), 10 ** length, 12, dtype=np.int64).tolist():
                nsn = str(value)
                expected.append(phonenumbers.is_valid_number(
                    phonenumbers.PhoneNumber(country_code=cc, national_number=value)))
                assert _is_valid(cc, nsn) == expected[-1], (cc, nsn)
                nsns.append(nsn)
            for zeros in (1, 2):  # "Italian" leading zeros are part of the national significant number
                value = int(rng.integers(10 ** (length - 1), 10 ** length))
                nsns.append("0" * zeros + str(value))
                expected.append(phonenumbers.is_valid_number(phonenumbers.PhoneNumber(
                    country_code=cc, national_number=value, italian_leading_zero=True,
                    number_of_leading_zeros=zeros)))
        assert _valid_many(cc, nsns) == expected, cc  # the batch gives what one number at a time gives


def test_validity_mirror_on_example_numbers_of_shared_calling_codes():
    """Every region of a shared calling code (+1, +44, +7...) is found by its leading digits or number type."""
    examples = [phonenumbers.parse(e) for e in _examples()]
    shared = [p for p in examples if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[p.country_code]) > 1]
    assert len(shared) > 100
    for p in shared:
        nsn = phonenumbers.national_significant_number(p)
        assert _valid_many(p.country_code, [nsn]) == [phonenumbers.is_valid_number(p)], nsn


def test_clean_phones_same_with_and_without_fast_path(monkeypatch):
    values = pd.Series(SAMPLE[:5000] + [None, "n/a", "030 1234567", "+49 (0)30 1234567 x12"], dtype=object)
    regions = pd.Series(["DE", None, "US", "CN"] * (len(values) // 4) + [None] * (len(values) % 4), dtype=object)
    fast = clean_phones(values, region=regions)
    monkeypatch.setattr(phones, "_E164_SHAPE", phones.re.compile(r"(?!)"))  # nothing takes the fast path
    slow = clean_phones(values, region=regions)
    pd.testing.assert_frame_equal(fast.values, slow.values)
    pd.testing.assert_series_equal(fast.problems, slow.problems)


def test_parsed_fast_path_is_exercised_by_the_sample():
    """Values whose national number starts with the national prefix are parsed (phonenumbers may strip
    it), then checked with the validity mirror; test_fast_path_equals_full_parse checks them too."""
    prefixed = []
    for v in SAMPLE:
        for size in (1, 2, 3):
            if int(v[1:1 + size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                prefix = phones._national_prefix(int(v[1:1 + size]))
                if prefix is not None and prefix.match(v[1 + size:]) and len(v) > 3 + size:
                    prefixed.append(v)
                break
    assert len(prefixed) > 500
    assert sum(r is not None for r in phones._parse_prefixed(prefixed)) > 500
    assert sum(v.startswith("+39") and v[3] == "0" and r is not None  # Italian numbers: fast path too
               for v, r in zip(SAMPLE, phones._fast_e164(SAMPLE))) > 20
