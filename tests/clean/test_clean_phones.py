"""clean_phones and infer_region."""
from __future__ import annotations

import pandas as pd
import pytest

from crmkit.clean import clean_phones, infer_region


def S(*values, index=None):
    return pd.Series(list(values), index=index, dtype=object)


@pytest.mark.parametrize("raw, region, phone, ext", [
    ("+49 (0)30 1234567", None, "+49301234567", None),
    ("0049 30 1234567", "US", "+49301234567", None),
    ("030/1234567", "DE", "+49301234567", None),
    ("(415) 555-0123 ext. 12", "US", "+14155550123", "12"),
    ("+1 415-555-0123 x123", None, "+14155550123", "123"),
    ("4155550123.0", "US", "+14155550123", None),
    ("1.38001380e10", "CN", "+8613800138000", None),
    ("8613800138000.0", "CN", "+8613800138000", None),
    ("8613800138000.0", None, "+8613800138000", None),  # country code without "+"
    ("＋８６ １３８ ００１３ ８０００", None, "+8613800138000", None),
    ("030 1234567 Durchwahl -12", "DE", "+49301234567", "12"),
    ("010-12345678 转 801", "CN", "+861012345678", "801"),
    ("Tel: +44 20 7946 0958", None, "+442079460958", None),
    ("0", "DE", None, None), ("n/a", "DE", None, None), (None, "DE", None, None),
])
def test_clean_phones_valid(raw, region, phone, ext):
    result = clean_phones(S(raw), region=region)
    assert result.values["phone"].iloc[0] == phone
    assert result.values["phone_ext"].iloc[0] == ext
    assert result.problems.iloc[0] is None


@pytest.mark.parametrize("raw, region, problem", [
    ("12345", "DE", "not a valid phone number for region DE"),
    ("+49 123", None, "not a valid phone number for its country code"),
    ("030 1234567", None, "not a valid phone number (no country code, no region)"),
    ("call me", "US", "not a phone number"),
])
def test_clean_phones_invalid_keeps_raw(raw, region, problem):
    result = clean_phones(S(f"  {raw} "), region=region)
    assert result.values["phone"].iloc[0] == raw
    assert result.problems.iloc[0] == problem


def test_clean_phones_region_per_row_and_index():
    values = S("030 1234567", "12345", "(415) 555-0123", index=[5, 6, 7])
    result = clean_phones(values, region=S("DE", "FR", "US", index=[5, 6, 7]))
    assert list(result.values.index) == [5, 6, 7]
    assert result.values["phone"].tolist() == ["+49301234567", "12345", "+14155550123"]
    assert result.problems.tolist() == [None, "not a valid phone number for region FR", None]


def test_infer_region():
    assert infer_region(S("+49 30 1234567", "030 7654321", "+49 89 123456")) == "DE"
    assert infer_region(S("030 7654321"), countries=S("Deutschland", "Germany", "France")) == "DE"
    assert infer_region(S("13800138000"), texts=S("张伟", "王芳", "Li")) == "CN"
    assert infer_region(S("0301234567"), default="AT") == "AT"
    assert infer_region(S("0301234567")) is None


def test_numbers_that_lost_their_plus_in_a_numeric_cell():
    import pandas as pd
    from crmkit.clean import clean_phones

    res = clean_phones(pd.Series(["4915133231781", "4155550123", "447911746241"]),
                       region=pd.Series(["DE", "US", "US"]))
    assert res.values["phone"].tolist() == ["+4915133231781", "+14155550123", "+447911746241"]


def test_row_region_from_the_email_domain():
    import pandas as pd
    from crmkit.clean import clean

    df = pd.DataFrame({"email": ["a@firma.de", "b@empresa.es", "c@gmail.com"],
                       "phone": ["030 2585713", "946 619 892", "(415) 555-0123"],
                       "source_file": "x.csv", "source_sheet": "", "source_row": [2, 3, 4]})
    out, issues = clean(df, "contact", region="US")
    assert out["phone"].tolist() == ["+49302585713", "+34946619892", "+14155550123"]
