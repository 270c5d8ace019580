"""Email addresses: extract, normalise, validate the syntax (no network).

A cell may hold several addresses ("a@x.com; b@y.com"): the first becomes
``email``, the rest go, cleaned and joined with "; ", to ``email_others``.

>>> import pandas as pd
>>> r = clean_emails(pd.Series(["Ann Lee <ANN@Example.COM>", "a@x.com; b@y.com", "bob.example.com"]))
>>> r.values["email"].tolist()
['ann@example.com', 'a@x.com', 'bob.example.com']
>>> r.values["email_others"].tolist(), r.problems.tolist()
([None, 'b@y.com', None], [None, None, 'invalid email: no @'])
"""
from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from crmkit.clean._base import CleanResult, arrow_text, factorize, is_placeholder, normalize_text, problems_series, take

# Addresses anywhere in a cell; separators are whitespace and the usual list punctuation.
_ADDRESS_RE = re.compile(r"[^\s<>;,:\"'()\[\]|/]+@[^\s<>;,:\"'()\[\]|/]+")
_ANGLE_RE = re.compile(r"<([^<>]*@[^<>]*)>")
_STRIP = " \t.,;:'\"`<>()[]{}!?*|/\\"
# Fast path: a plain ASCII address email-validator would accept; anything else goes through it.
_SIMPLE_RE = re.compile(
    r"^[a-z0-9!#$%&'*+=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_SPECIAL_TLDS = {"arpa", "invalid", "local", "localhost", "onion", "test", "internal", "home", "lan", "alt"}


def _normalize_address(text: str) -> str:
    text = text.strip(_STRIP)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.replace("＠", "@").split("?", 1)[0]  # mailto:a@b.com?subject=...
    return text.strip(_STRIP).lower()


@lru_cache(maxsize=200_000)
def _validate(address: str) -> str | None:
    """None when the syntax is valid, else a short problem text."""
    if "@" not in address:
        return "invalid email: no @"
    if address.count("@") > 1:
        return "invalid email: more than one @"
    local, _, domain = address.rpartition("@")
    if not local:
        return "invalid email: nothing before the @"
    if not domain:
        return "invalid email: no domain after the @"
    if len(address) <= 254 and len(local) <= 64 and _SIMPLE_RE.match(address) \
            and domain.rsplit(".", 1)[-1] not in _SPECIAL_TLDS:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        return f"invalid email: {reason[0].lower() + reason[1:] if reason else 'bad syntax'}"
    return None


def _clean_email_value(raw: object) -> tuple[str | None, str | None, str | None]:
    text = normalize_text(raw)
    if is_placeholder(text):
        return None, None, None
    text = text.replace("＠", "@")
    if text.count("@") > 1 or _ANGLE_RE.search(text):
        found = [_normalize_address(m) for m in _ADDRESS_RE.findall(text)]
        found = list(dict.fromkeys(a for a in found if a))
    else:
        found = [_normalize_address(text)]
    if not found or not found[0]:
        return text, None, "invalid email: empty address"
    first, others = found[0], found[1:]
    problem = _validate(first)
    if problem is not None:
        # keep the trimmed raw text, as the contract asks for identity values
        return text, None, problem
    bad = [o for o in others if _validate(o) is not None]
    if bad:
        problem = f"invalid email among others: {bad[0]}"
    return first, ("; ".join(others) or None), problem


# A lower-case ASCII address that _clean_email_value returns as it is: what _SIMPLE_RE accepts, without
# "?" (mailto query) and starting with a letter or digit (nothing _normalize_address strips).
_PLAIN_RE = re.compile(
    r"[a-z0-9][a-z0-9!#$%&'*+=^_`{|}~-]*(?:\.[a-z0-9!#$%&'*+=^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


# _PLAIN_RE with the other checks of _clean_email_fast inside: at most 64 characters before the "@", and a
# top-level domain (the last label: [a-z] has no dot) that is not a special-use one.
_PLAIN_CHECKED_RE = re.compile(
    r"(?=[^@]{0,64}@)" + _PLAIN_RE.pattern.replace(
        r"[a-z]{2,63}", r"(?!(?:" + "|".join(sorted(_SPECIAL_TLDS)) + r")\Z)[a-z]{2,63}")
)


def _clean_email_fast(raw: object) -> tuple[str | None, str | None, str | None]:
    """:func:`_clean_email_value`, without its work for a plain valid address (most of them)."""
    if type(raw) is str and len(raw) <= 254 and _PLAIN_CHECKED_RE.fullmatch(raw) is not None:
        return raw, None, None
    return _clean_email_value(raw)


_ARROW_MIN_VALUES = 5_000  # distinct addresses from which _plain_addresses asks pyarrow


def _plain_addresses(uniq) -> list[bool] | None:
    """``len(v) <= 254 and _PLAIN_CHECKED_RE.fullmatch(v)`` for each text, with pyarrow's regular expressions
    (RE2: no lookaround, so the two lookarounds are checks of their own); None for few values or when
    pyarrow cannot take them."""
    if len(uniq) < _ARROW_MIN_VALUES:
        return None
    text = arrow_text(uniq)
    if text is None:
        return None
    import pyarrow.compute as pc

    plain = pc.and_(pc.less_equal(pc.utf8_length(text), 254), pc.match_substring_regex(text, _PLAIN_RE2))
    plain = pc.and_(plain, pc.match_substring_regex(text, r"^[^@]{0,64}@"))
    plain = pc.and_(plain, pc.invert(pc.match_substring_regex(text, _SPECIAL_TLD_RE2)))
    return plain.to_numpy(zero_copy_only=False).tolist()


# _PLAIN_CHECKED_RE in RE2 terms: the whole text is a _PLAIN_RE address ...
_PLAIN_RE2 = "^(?:" + _PLAIN_RE.pattern + ")$"
# ... whose top-level domain (the text after the last dot: a _PLAIN_RE domain ends in [a-z]{2,63}) is not special
_SPECIAL_TLD_RE2 = r"\.(?:" + "|".join(sorted(_SPECIAL_TLDS)) + ")$"


def clean_emails(values: pd.Series) -> CleanResult:
    """Clean a column of email addresses.

    Returns ``CleanResult(DataFrame[email, email_others], problems)``. Lower-cases,
    extracts from ``Name <addr>`` and ``mailto:``, drops trailing punctuation, and
    checks the syntax with email-validator (``check_deliverability=False``).
    Invalid addresses keep their trimmed raw text and get a problem.
    """
    codes, uniq = factorize(values)
    # plain valid addresses (what _clean_email_fast returns as they are) first, in one pass
    match = _PLAIN_CHECKED_RE.fullmatch
    if pd.api.types.infer_dtype(uniq, skipna=False) == "string":
        plain = _plain_addresses(uniq)
        if plain is None:
            plain = [len(v) <= 254 and match(v) is not None for v in uniq]
    else:
        plain = [type(v) is str and len(v) <= 254 and match(v) is not None for v in uniq]
    email = uniq.copy()
    others: list[str | None] = [None] * len(uniq)
    problems: list[str | None] = [None] * len(uniq)
    for i in (i for i, ok in enumerate(plain) if not ok):
        email[i], others[i], problems[i] = _clean_email_value(uniq[i])
    frame = pd.DataFrame({"email": take(email, codes), "email_others": take(others, codes)}, index=values.index,
                         dtype=object, copy=False)
    return CleanResult(frame, problems_series(take(problems, codes), values.index))
