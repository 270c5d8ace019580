"""clean_text, clean_tags, clean_emails."""
from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from crmkit.clean import clean_emails, clean_tags, clean_text, normalize_text


def S(*values, index=None):
    return pd.Series(list(values), index=index, dtype=object)


@pytest.mark.parametrize("raw, expected", [
    ("  Sales\u3000 Manager\t", "Sales Manager"),
    ("ＣＥＯ ＆ Ｆｏｕｎｄｅｒ", "CEO & Founder"),
    ("北京市\u200b朝阳区", "北京市朝阳区"),  # CJK untouched, zero-width removed
    ("a\x00b\x07c", "abc"),
    ("n/a", None), ("N/A", None), ("-", None), ("--", None), ("none", None), ("NULL", None),
    ("unknown", None), ("#N/A", None), ("?", None), ("nan", None), ("   ", None), (None, None),
])
def test_clean_text(raw, expected):
    result = clean_text(S(raw))
    assert result.values.iloc[0] == expected
    assert result.problems.iloc[0] is None


def test_normalize_text_keeps_cjk_fullwidth_punctuation_meaning():
    assert normalize_text("张伟（北京）") == "张伟(北京)"
    assert normalize_text("１２３") == "123"


def test_clean_text_keeps_index():
    values = S("a", None, " b ", index=[10, 20, 30])
    pdt.assert_series_equal(clean_text(values).values, S("a", None, "b", index=[10, 20, 30]))


def test_clean_tags():
    result = clean_tags(S("VIP, Newsletter | vip / Partner", "a;b;;", "n/a", "客户、重要", None))
    assert result.values.tolist() == ["VIP; Newsletter; Partner", "a; b", None, "客户; 重要", None]


def test_clean_emails_formats():
    result = clean_emails(S(
        "  Ann Lee <ANN@Example.COM> ", "mailto:Joe@X.de.", "ｊｏｅ＠ｘ．ｃｏｍ", "a@x.com; b@y.com, c@z.org",
        '"Doe, Jane" <jane@doe.io>', "bob.example.com", "x@@y.com", "a@b", "n/a", None, "(hans@firma.de)",
    ))
    assert result.values["email"].tolist() == [
        "ann@example.com", "joe@x.de", "joe@x.com", "a@x.com", "jane@doe.io", "bob.example.com", "x@@y.com",
        "a@b", None, None, "hans@firma.de"]
    assert result.values["email_others"].tolist() == [
        None, None, None, "b@y.com; c@z.org", None, None, None, None, None, None, None]
    problems = result.problems.tolist()
    assert problems[5] == "invalid email: no @"
    assert problems[6].startswith("invalid email")
    assert problems[7].startswith("invalid email")
    assert [p for i, p in enumerate(problems) if i not in (5, 6, 7)] == [None] * 8


def test_clean_emails_internationalised_and_index():
    result = clean_emails(S("Müller@Bücher.DE", index=["r1"]))
    assert result.values.loc["r1", "email"] == "müller@bücher.de"
    assert result.problems.loc["r1"] is None


def test_plain_address_fast_path_matches_full_cleaning():
    """Plain lower-case addresses skip the cleaning steps; every value must come out as the full path gives."""
    import random

    from crmkit.clean.emails import _PLAIN_RE, _clean_email_fast, _clean_email_value

    rng = random.Random(7)
    parts = ["a", "z9", "john.smith", "x_y", "o'neil", "a+b", "?", "!", "{x}", "mailto:", "A", "é", "..", ".", "-",
             "`", "|", "~", "#", "0", "-x", "x-", "q" * 64, "w" * 70]
    domains = ["example.com", "x.co.uk", "localhost", "a.local", "b.test", "mail.onion", "x-y.de", "-x.de",
               "x.c", "x." + "c" * 64, "sub.domain.io", "EXAMPLE.COM", "x..de", "123.45"]
    values = [rng.choice(["", " ", "<"]) + "".join(rng.choice(parts) for _ in range(rng.randint(1, 3))) +
              rng.choice(["@", "@@", "＠", ""]) + rng.choice(domains) + rng.choice(["", ".", " ", ">", "?x=1"])
              for _ in range(20_000)]
    values += [f"{rng.choice(parts[:6])}{i}@{rng.choice(domains)}" for i in range(3_000)]
    values += ["a@b.com", "john.smith@example.com", "x" * 250 + "@b.com", "n/a", None]
    for v in values:
        assert _clean_email_fast(v) == _clean_email_value(v), v
    assert sum(isinstance(v, str) and _PLAIN_RE.fullmatch(v) is not None for v in values) > 1_000
    # the column cleaner (plain addresses found in one pass) gives the same, value by value
    column = pd.Series(values + values[::-1], dtype=object)
    result = clean_emails(column)
    expected = [_clean_email_value(v) for v in column]
    assert list(zip(result.values["email"], result.values["email_others"], result.problems)) == expected
    mixed = clean_emails(pd.Series(["a@b.com", 5, None, "A@B.COM"], dtype=object))
    assert mixed.values["email"].tolist() == ["a@b.com", "5", None, "a@b.com"]
