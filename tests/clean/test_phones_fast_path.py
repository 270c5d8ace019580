"""The fast path of clean_phones (E.164-shaped values) gives exactly what the full phonenumbers path gives."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import phonenumbers
import pytest

from crmkit.clean import phones
from crmkit.clean.phones import _clean_one, _is_valid, _parse_one, clean_phones

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
    out += ["+0123456789", "+999123456789", "+1234567", "+123456789012345", "+1 415 555 0123",
            "+14155550123 x12", "+4930 1234567", "+49(0)301234567", "4930123456", "+86 10 1234 5678",
            "+390612345678", "+79161234567", "+88612345678", "+8612012345678", "+441234567890"]
    return out


SAMPLE = _sample()


def test_sample_is_large_and_mixed():
    fast = [v for v in SAMPLE if phones._E164_SHAPE.match(v) and phones._parse_e164(v) is not None]
    assert len(SAMPLE) > 35_000 and len(fast) > 20_000
    results = [_clean_one(v, None) for v in fast]
    assert sum(r[2] is None for r in results) > 2_000  # many valid numbers, many invalid ones


@pytest.mark.parametrize("region", [None, "DE", "US", "CN", "GB", "IT"])
def test_fast_path_equals_full_parse(region):
    slow = _parse_one.__wrapped__  # uncached: the reference
    mismatches = [(v, _clean_one(v, region), slow(v, region)) for v in SAMPLE
                  if _clean_one(v, region) != slow(v, region)]
    assert mismatches == []


def test_validity_mirror_equals_phonenumbers():
    rng = np.random.default_rng(11)
    for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        for length in range(2, 15):
            for value in rng.integers(10 ** (length - 1), 10 ** length, 12, dtype=np.int64).tolist():
                nsn = str(value)
                expected = phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=cc, national_number=value))
                assert _is_valid(cc, nsn) == expected, (cc, nsn)


def test_clean_phones_same_with_and_without_fast_path(monkeypatch):
    values = pd.Series(SAMPLE[:5000] + [None, "n/a", "030 1234567", "+49 (0)30 1234567 x12"], dtype=object)
    regions = pd.Series(["DE", None, "US", "CN"] * (len(values) // 4) + [None] * (len(values) % 4), dtype=object)
    fast = clean_phones(values, region=regions)
    monkeypatch.setattr(phones, "_E164_SHAPE", phones.re.compile(r"(?!)"))  # nothing takes the fast path
    slow = clean_phones(values, region=regions)
    pd.testing.assert_frame_equal(fast.values, slow.values)
    pd.testing.assert_series_equal(fast.problems, slow.problems)


def test_second_fast_path_is_exercised_by_the_sample():
    """Values the first fast path leaves (national prefix after the calling code) can take the second
    one, which test_fast_path_equals_full_parse checks against the full parse too."""
    left = [v for v in SAMPLE if phones._E164_SHAPE.match(v) and phones._parse_e164(v) is None]
    second = [v for v in left if phones._parse_e164_parsed(v) is not None]
    assert len(second) > 500  # the others have leading zeros (Italian-style numbers): full path
