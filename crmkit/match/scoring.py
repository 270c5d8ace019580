"""Classify stage: Fellegi–Sunter weights estimated without labels, then decisions.

* ``u`` (P(level | different people)) from a seeded sample of random record pairs;
* ``m`` (P(level | same person)) and the share of matches among blocked pairs by EM over the
  blocked pairs, run on the distinct level patterns (fast: a few thousand patterns, not millions of
  pairs); levels with ``fix_m`` keep their prior value; m is clipped to ``settings.m_bounds``;
* lists under ``settings.min_train_records`` keep the default m (EM is unstable on a few hundred
  records) but still get u and the share of matches from the data; a u is never taken below its
  default there (a level unseen in a small sample is not thereby rare); under
  ``settings.min_prior_records`` everything stays at the defaults;
* the prior λ = P(two random records match) = share of matches among blocked pairs × blocked
  pairs / all pairs;
* match_weight = log2(λ/(1-λ)) + Σ per-field log2(m/u), where levels flagged ``tf_adjust`` use
  the frequency of the agreeing value instead of u (a common name counts for less), and the
  *conflict rule*: when names contradict (``settings.conflict_levels``), the evidence of fields a
  household or office shares (``settings.shared_fields``: address, company, and the phone only when
  the agreeing number is in the ``phone`` columns, a landline or switchboard, not a mobile) adds at
  most ``settings.conflict_cap`` bits, unless declared comparisons (an id, a birth date) add at least
  ``settings.conflict_release`` bits; the cut shows as the ``weight_conflict`` column.
"""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pandas as pd

from crmkit.match.compare import SHARED_PHONE, Prepared, compare_pairs
from crmkit.match.generic import IDENTIFIER_KINDS
from crmkit.match.settings import MatchSettings


# --------------------------------------------------------------------------- estimation
def _random_pairs(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    size = int(min(size, max(n * (n - 1) // 2, 0)))
    if size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a = rng.integers(0, n, size)
    b = rng.integers(0, n - 1, size)
    b = b + (b >= a)                      # b != a
    return np.minimum(a, b), np.maximum(a, b)


def estimate_u(prep: Prepared, settings: MatchSettings) -> dict[str, np.ndarray]:
    """u per level from random pairs (null level excluded from the denominator)."""
    l, r = _random_pairs(prep.n, settings.u_sample_size, settings.seed)
    levels, _ = compare_pairs(prep, l, r, settings)
    out = {}
    for comp in settings.comparisons:
        k = len(comp.levels)
        counts = np.bincount(levels[comp.field], minlength=k).astype(float)[1:]
        total = counts.sum()
        floor = max(settings.u_min, 0.5 / max(total, 1.0))
        u = np.maximum(counts / max(total, 1.0), floor) if total else np.full(k - 1, 1.0 / (k - 1))
        out[comp.field] = np.r_[np.nan, u / u.sum()]
    return out


def _patterns(levels: dict[str, np.ndarray], comps: list, mask: np.ndarray | None = None,
              code: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct level patterns of the pairs (those of ``mask``) and their counts; ``code``: the pairs'
    :func:`_pattern_codes`, when known already."""
    fields = [c.field for c in comps]
    size = len(levels[fields[0]]) if fields else 0
    base = np.array([len(c.levels) for c in comps], np.int64)
    if size == 0:
        return np.empty((0, len(fields)), np.int64), np.empty(0)
    mult = np.cumprod(np.r_[1, base[:-1]])
    code = _pattern_codes(levels, comps) if code is None else code
    if mask is not None:
        code = code[mask]
    if int(mult[-1] * base[-1]) <= 1 << 24:     # few possible patterns: count them directly
        counts = np.bincount(code, minlength=int(mult[-1] * base[-1]))
        uniq = np.flatnonzero(counts)
        counts = counts[uniq]
    else:
        uniq, counts = np.unique(code, return_counts=True)
    pats = (uniq[:, None] // mult[None, :]) % base[None, :]
    return pats, counts.astype(float)


def _pattern_codes(levels: dict[str, np.ndarray], comps: list) -> np.ndarray:
    """One pattern code per pair, field by field (no pairs × fields matrix)."""
    base = np.array([len(c.levels) for c in comps], np.int64)
    mult = np.cumprod(np.r_[1, base[:-1]])
    code = np.zeros(len(levels[comps[0].field]), np.int64)
    for c, m in zip(comps, mult):
        code += levels[c.field].astype(np.int64) * m
    return code


def _em(pats: np.ndarray, w: np.ndarray, comps: list, m: dict, ub: dict, settings: MatchSettings,
        train_m: set[str], lam: float = 0.3, fixed_lam: bool = False) -> float:
    """EM on level patterns (rows of pats, counts w); updates m[f] for f in train_m in place."""
    lo, hi = settings.m_bounds
    fields = [c.field for c in comps]
    for _ in range(settings.em_iterations):
        logit = np.full(len(w), math.log(lam / (1 - lam)))
        for j, f in enumerate(fields):
            lv = pats[:, j]
            nn = lv > 0
            ratio = np.ones(len(w))
            ratio[nn] = m[f][lv[nn]] / ub[f][lv[nn]]
            logit += np.log(ratio)
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        new_lam = float((w * p).sum() / w.sum())
        delta = abs(new_lam - lam)
        lam = min(max(new_lam, 1e-9), 1 - 1e-9)
        if fixed_lam:
            if delta < settings.em_tolerance:
                break
            continue
        for j, (f, comp) in enumerate(zip(fields, comps)):
            k = len(comp.levels)
            lv = pats[:, j]
            wu = np.bincount(lv, weights=w * (1 - p), minlength=k)[1:]
            ub[f] = np.r_[np.nan, np.clip(wu / max(wu.sum(), 1e-12), settings.u_min, 1.0)]
            if f not in train_m:
                continue
            wm = np.bincount(lv, weights=w * p, minlength=k)[1:]
            new_m = np.clip(wm / max(wm.sum(), 1e-12), lo, hi)
            fixed = np.array([lv_.fix_m and lv_.m is not None for lv_ in comp.levels[1:]])
            old = m[f][1:]
            new_m = np.where(fixed, old, new_m)
            delta = max(delta, float(np.abs(new_m - old).max()))
            m[f] = np.r_[np.nan, new_m]
        if delta < settings.em_tolerance:
            break
    return lam


def run_em(levels: dict[str, np.ndarray], settings: MatchSettings, u_random: dict[str, np.ndarray]
           ) -> tuple[dict[str, np.ndarray], float]:
    """m per level and the share of matches among blocked pairs, Splink-style in sessions.

    One EM over all blocked pairs lets "same name" become the match class (namesakes outnumber
    duplicates in name blocks). So, as Splink does with training blocking rules:
    session 1 takes pairs agreeing on an identifier (email or phone exact) and estimates the m of
    the other fields; session 2 takes pairs agreeing on the name (exact, nickname, swapped) and
    estimates the m of the other fields. Fields learned in both sessions average them. Finally,
    with m and u fixed, EM estimates only the share of matches over all blocked pairs.
    """
    comps = settings.comparisons
    fields = [c.field for c in comps]
    m0 = {c.field: np.array([np.nan] + [lv.m if lv.m else 1.0 / (len(c.levels) - 1) for lv in c.levels[1:]])
          for c in comps}
    if not len(next(iter(levels.values()), [])):
        return m0, 0.5
    learned: dict[str, list[np.ndarray]] = {f: [] for f in fields}
    name_lv = levels.get("name")
    sessions = []
    ident = np.zeros(len(name_lv) if name_lv is not None else 0, bool)
    id_fields = {"email", "phone"} | {c.field for c in comps if c.kind in IDENTIFIER_KINDS}
    for f in id_fields & set(fields):
        ident |= levels[f] == 1
    sessions.append((ident, {f for f in fields if f not in id_fields}))
    if name_lv is not None:
        sessions.append((np.isin(name_lv, [1, 2, 3]), {f for f in fields if f != "name"}))
    code = _pattern_codes(levels, comps) if comps else None    # once for all the pairs; sessions take their share
    for mask, train_m in sessions:
        if mask.sum() < 50:
            continue
        pats, w = _patterns(levels, comps, mask, code)
        m = {f: m0[f].copy() for f in fields}
        ub = {f: u_random[f].copy() for f in fields}
        _em(pats, w, comps, m, ub, settings, train_m)
        for f in train_m:
            learned[f].append(m[f])
    m_final = {f: (np.mean(learned[f], axis=0) if learned[f] else m0[f]) for f in fields}
    pats, w = _patterns(levels, comps, code=code)
    ub = {f: u_random[f].copy() for f in fields}
    lam = _em(pats, w, comps, m_final, ub, settings, set(), lam=0.1, fixed_lam=True)
    return m_final, lam


def train(prep: Prepared, pairs: np.ndarray, levels: dict[str, np.ndarray], settings: MatchSettings,
          u: dict[str, np.ndarray] | None = None) -> MatchSettings:
    """A trained copy of ``settings``: u from random pairs (``u``: :func:`estimate_u` of these settings, when
    computed already), m and the prior by EM."""
    s = copy.deepcopy(settings)
    n = prep.n
    if n < s.min_prior_records:            # too few records to estimate anything: defaults
        s.prior = s.prior or 1e-4
        s.trained = True
        return s
    u = estimate_u(prep, s) if u is None else {f: v.copy() for f, v in u.items()}
    if n < s.min_train_records:
        # EM for m is unstable on a few hundred records (it happily learns "a different email
        # never happens"): keep the default m, but u and the share of matches come from the data
        comps = s.comparisons
        for c in comps:   # a level unseen among a few hundred thousand pairs is not rarer than the default says
            default_u = np.array([np.nan] + [lv.u if lv.u else 0.0 for lv in c.levels[1:]])
            uu = np.fmax(u[c.field], default_u)
            u[c.field] = np.r_[np.nan, uu[1:] / uu[1:].sum()]
        m = {c.field: np.array([np.nan] + [lv.m if lv.m else 1.0 / (len(c.levels) - 1) for lv in c.levels[1:]])
             for c in comps}
        pats, w = _patterns(levels, comps)
        ub = {f: u[f].copy() for f in m}
        lam_blocked = _em(pats, w, comps, m, ub, s, set(), lam=0.1, fixed_lam=True) if len(w) else 0.5
    else:
        m, lam_blocked = run_em(levels, s, u)
    total = n * (n - 1) / 2
    prior = lam_blocked * len(pairs) / total if total else 0.5
    s.prior = float(min(max(prior, 1e-12), 0.5))
    lam = s.prior
    # a field without data (no blocked pair has it on both sides) would have EM push its m to the floor;
    # it says nothing either way here, so it keeps its default m/u (and a later run with data starts sane)
    empty = [c.field for c in s.comparisons if not (levels[c.field] > 0).any()
             and all(lv.m and lv.u for lv in c.levels[1:])]
    if empty:
        warnings.warn(f"no candidate pair has both values of {', '.join(empty)}: their m/u stay at the defaults",
                      stacklevel=3)
    for comp in s.comparisons:
        if comp.field in empty:
            continue
        # random pairs include a few true matches: u_raw = lam*m + (1-lam)*u
        uc = (u[comp.field][1:] - lam * m[comp.field][1:]) / (1 - lam)
        uc = np.maximum(uc, np.maximum(u[comp.field][1:] * 0.05, s.u_min))
        uc = np.r_[np.nan, uc / uc.sum()]
        for k, lv in enumerate(comp.levels):
            if k == 0:
                lv.m = lv.u = None
                continue
            lv.u = float(uc[k])
            lv.m = float(m[comp.field][k])
    s.trained = True
    return s


# --------------------------------------------------------------------------- scoring
def score(levels: dict[str, np.ndarray], tf: dict[str, np.ndarray], settings: MatchSettings
          ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-field weights (incl. term-frequency adjustment and the conflict cut), match weight, probability."""
    weights: dict[str, np.ndarray] = {}
    for comp in settings.comparisons:
        lv = levels[comp.field]
        table = np.array([level.weight() for level in comp.levels])
        w = table[lv]
        for k, level in enumerate(comp.levels):
            if level.tf_adjust and comp.field in tf and level.m:
                hit = (lv == k) & ~np.isnan(tf[comp.field])
                if hit.any():
                    u_tf = np.maximum(tf[comp.field][hit], settings.u_min)
                    # a value shared by more records than u says is weaker; a rarer one is not made stronger
                    if comp.field == "name" and k == 1:       # a rare name may count a little more
                        w[hit] = np.log2(level.m / np.maximum(u_tf, level.u * 0.1))
                    else:                                      # a common value counts less, never more
                        w[hit] = np.minimum(np.log2(level.m / u_tf), level.weight())
        weights[comp.field] = w
    n = len(next(iter(levels.values()))) if levels else 0
    name_comp = next((c for c in settings.comparisons if c.field == "name"), None)
    conflict = np.zeros(n)
    if name_comp is not None and settings.conflict_levels:
        codes = [name_comp.labels.index(x) for x in settings.conflict_levels if x in name_comp.labels]
        contra = np.isin(levels["name"], codes)
        shared = np.zeros(n)
        for f in settings.shared_fields:
            if f in weights:
                w = np.maximum(weights[f], 0)
                if f == "phone" and SHARED_PHONE in levels:    # a mobile is personal: only landlines
                    w = np.where(levels[SHARED_PHONE], w, 0.0)
                shared += w
        # declared identifiers (an id, a birth date: not the built-in contact fields, which a family may
        # share, like a family email) agreeing this strongly are not a household's: no cut
        declared = sum((weights[c.field] for c in settings.comparisons
                        if c.kind is not None and c.field not in settings.shared_fields), np.zeros(n))
        contra &= declared < settings.conflict_release
        conflict = np.where(contra, -np.maximum(shared - settings.conflict_cap, 0.0), 0.0)
    weights["conflict"] = conflict
    prior = settings.prior if settings.prior else 1e-6
    total = math.log2(prior / (1 - prior)) + sum(weights.values())
    prob = 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))
    return weights, total, prob


def prior_weight(settings: MatchSettings) -> float:
    p = settings.prior if settings.prior else 1e-6
    return math.log2(p / (1 - p))


def decide(prob: np.ndarray, settings: MatchSettings) -> np.ndarray:
    return np.where(prob >= settings.merge_threshold, "merge",
                    np.where(prob >= settings.review_threshold, "review", "no")).astype(object)


def pair_frame(prep: Prepared, l: np.ndarray, r: np.ndarray, levels, weights, total, prob, settings,
               demoted: np.ndarray | None = None) -> pd.DataFrame:
    """The output columns for scored pairs (``demoted``: merge pairs the chain guard sends to review)."""
    ids = prep.frame["record_id"].to_numpy()
    text = _text_columns(ids, l, r, levels, prob, settings, demoted)
    if text is None:            # pandas' own inference of the object columns
        decision = decide(prob, settings)
        if demoted is not None:
            decision[demoted] = "review"
        text = {"record_id_l": ids[l], "record_id_r": ids[r], "decision": decision}
        for comp in settings.comparisons:
            text[f"level_{comp.field}"] = np.array(comp.labels, dtype=object)[levels[comp.field]]
    out = {"record_id_l": text["record_id_l"], "record_id_r": text["record_id_r"], "match_weight": total,
           "match_probability": prob, "decision": text["decision"]}
    for comp in settings.comparisons:
        out[f"level_{comp.field}"] = text[f"level_{comp.field}"]
    for f, w in weights.items():
        out[f"weight_{f}"] = w
    return pd.DataFrame(out)


def _text_columns(ids: np.ndarray, l: np.ndarray, r: np.ndarray, levels, prob, settings, demoted) -> dict | None:
    """The text columns of :func:`pair_frame` (record ids, decision, level labels) in the dtype pandas infers for
    text, built by Arrow from positions and codes (no Python str per pair); None where pandas does not infer
    Arrow-backed text, for no pairs, or for ids Arrow cannot take: the caller builds object columns then."""
    dtype = pd.Series(np.array(["a"], dtype=object)).dtype
    if not len(l) or getattr(dtype, "storage", None) != "pyarrow":
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        id_text = pa.array(ids, type=pa.large_string())
    except (pa.ArrowException, UnicodeError, ValueError, TypeError):
        return None

    def pick(values, codes) -> pd.api.extensions.ExtensionArray:
        return pd.array(pc.take(values, pa.array(codes)), dtype=dtype)

    decision = np.where(prob >= settings.merge_threshold, 0, np.where(prob >= settings.review_threshold, 1, 2))
    if demoted is not None:
        decision[demoted] = 1
    out = {"record_id_l": pick(id_text, l), "record_id_r": pick(id_text, r),
           "decision": pick(pa.array(["merge", "review", "no"], type=pa.large_string()), decision)}
    for comp in settings.comparisons:
        out[f"level_{comp.field}"] = pick(pa.array(list(comp.labels), type=pa.large_string()), levels[comp.field])
    return out
