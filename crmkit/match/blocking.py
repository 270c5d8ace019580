"""Index stage: candidate pairs from several blocking keys, unioned.

Each blocking rule is one small function ``prepared frame -> key Series`` (or a list of Series whose
keys are pooled, like phone and mobile) registered in :data:`BLOCKING_KEYS`. Records sharing a key
become pairs. Pairs are generated with array arithmetic over the key codes (no loop over rows);
a block larger than ``max_block_size`` (a common name with 5,000 rows) is not dropped but cut into
sorted-neighbourhood windows: each record meets the next ``window`` records in the block, sorted
by name and email.

>>> import pandas as pd
>>> from crmkit.match.compare import prepare
>>> df = pd.DataFrame({"record_id": ["a", "b", "c"], "email": ["x@y.com", "x@y.com", None],
...                    "full_name": ["Ann Lee", "Ann Lee", "Bo Chen"]})
>>> block_pairs(prepare(df), ["email"]).tolist()
[[0, 1]]
"""
from __future__ import annotations

from typing import Callable

import jellyfish
import numpy as np
import pandas as pd

from crmkit.match.compare import _on_unique

_GENERIC_LOCAL = {"info", "sales", "contact", "office", "admin", "mail", "hello", "support", "service",
                  "kontakt", "team", "enquiries", "inquiries", "post", "billing", "accounts", "noreply"}


def _join(*parts: pd.Series) -> pd.Series:
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + "|" + p.astype(object)
    return out.where(pd.concat(parts, axis=1).notna().all(axis=1), None)


def _key_email(p: pd.DataFrame):
    return p["email"]


def _key_phone(p: pd.DataFrame):
    return [p["phone1"], p["phone2"]]


def _sorted_pair(a: pd.Series, b: pd.Series) -> pd.Series:
    fa, fb = a.fillna("").to_numpy(dtype=object), b.fillna("").to_numpy(dtype=object)
    first = fa <= fb
    out = pd.Series(np.where(first, fa, fb), dtype=object) + "|" + pd.Series(np.where(first, fb, fa), dtype=object)
    return out.where((a.notna() & b.notna()).to_numpy(), None)


def _key_name_tokens(p: pd.DataFrame):
    """Sorted (canonical first name, last name): catches swaps and nicknames."""
    return _sorted_pair(p["fn_canon"], p["ln"])


def _key_name_prefixes(p: pd.DataFrame):
    """Sorted 3-letter prefixes of first and last name: typos after the third letter, swaps."""
    return _sorted_pair(p["fn"].str[:3], p["ln"].str[:3])


def _key_phonetic_initial(p: pd.DataFrame):
    """Metaphone of the last name + initial of the canonical first name."""
    code = _on_unique(p["ln"], lambda v: jellyfish.metaphone(v) or v)
    return _join(code, p["fn_canon"].str[:1])


def _key_surname_company(p: pd.DataFrame):
    return _join(p["ln"], p["company_key"])


def _key_surname_postcode(p: pd.DataFrame):
    return _join(p["ln"], p["postcode"])


def _key_surname_city(p: pd.DataFrame):
    return _join(p["ln"], p["city"])


def _key_cjk_name(p: pd.DataFrame):
    return p["cjk"]


def _key_cjk_pinyin(p: pd.DataFrame):
    """Pinyin of a CJK name (sorted family|given) and the same key of Latin names that equal one: 周刚 meets
    'Gang Zhou' and 'Zhou Gang'. Latin names without a CJK counterpart get no key (name_tokens has them)."""
    cjk = _sorted_pair(p["py_family"], p["py_given"])
    latin = _sorted_pair(p["fn"], p["ln"])
    latin = latin.where(latin.isin(set(cjk.dropna())), None)
    return cjk.where(cjk.notna(), latin)


def _key_email_local(p: pd.DataFrame):
    loc = p["email_local"]
    ok = loc.str.len().fillna(0).ge(5) & ~loc.isin(_GENERIC_LOCAL)
    return loc.where(ok, None)


BLOCKING_KEYS: dict[str, Callable[[pd.DataFrame], pd.Series | list[pd.Series]]] = {
    "email": _key_email, "phone": _key_phone, "name_tokens": _key_name_tokens,
    "name_prefixes": _key_name_prefixes, "phonetic_initial": _key_phonetic_initial,
    "surname_company": _key_surname_company, "surname_postcode": _key_surname_postcode,
    "surname_city": _key_surname_city, "cjk_name": _key_cjk_name,
    "cjk_pinyin": _key_cjk_pinyin, "email_local": _key_email_local,
}


def _pairs_in_groups(pos: np.ndarray, group: np.ndarray, order_key: np.ndarray, max_block: int, window: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """All pairs inside each group; groups above max_block get sorted-neighbourhood windows."""
    if len(pos) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    idx = np.lexsort((order_key, group))
    pos, group = pos[idx], group[idx]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    end = np.repeat(starts + sizes, sizes)              # one past each row's group end
    here = np.arange(len(group))
    partners = end - here - 1
    big = np.repeat(sizes > max_block, sizes)
    partners = np.where(big, np.minimum(partners, window), partners)
    total = int(partners.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    left = np.repeat(here, partners)
    offset = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    right = left + 1 + offset
    return pos[left], pos[right]


def block_pairs(prep: pd.DataFrame, rules: list[str], *, max_block_size: int = 200, window: int = 12,
                return_rules: bool = False):
    """Candidate pairs (n × 2 int64 array of positions, left < right, unique) from the union of rules.

    With ``return_rules`` also a dict rule -> number of pairs it produced (before the union).
    """
    n = len(prep)
    sort_codes = pd.factorize(prep["name_key"].fillna("") + "|" + prep["email"].fillna(""), sort=True)[0]
    chunks, counts = [], {}
    for rule in rules:
        keys = BLOCKING_KEYS[rule](prep)
        keys = keys if isinstance(keys, list) else [keys]
        pos = np.concatenate([np.arange(n)] * len(keys))
        key = pd.concat([pd.Series(k.to_numpy(), dtype=object) for k in keys], ignore_index=True)
        codes = pd.factorize(key, use_na_sentinel=True)[0]
        ok = codes >= 0
        pos, codes = pos[ok], codes[ok]
        if len(keys) > 1:   # the same row with the same key twice (pooled columns)
            uniq = np.unique(codes.astype(np.int64) * n + pos)
            codes, pos = uniq // n, uniq % n
        a, b = _pairs_in_groups(pos, codes, sort_codes[pos], max_block_size, window)
        counts[rule] = len(a)
        chunks.append(np.minimum(a, b) * n + np.maximum(a, b))
        chunks[-1] = chunks[-1][a != b]
    enc = np.sort(np.concatenate(chunks)) if chunks else np.empty(0, np.int64)
    enc = enc[np.r_[True, enc[1:] != enc[:-1]]] if len(enc) else enc
    pairs = np.stack([enc // n, enc % n], axis=1) if len(enc) else np.empty((0, 2), np.int64)
    return (pairs, counts) if return_rules else pairs
