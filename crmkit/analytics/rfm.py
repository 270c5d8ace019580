"""RFM segmentation: score every customer on Recency, Frequency and Monetary value and name a segment.

>>> import pandas as pd
>>> from crmkit.analytics import rfm
>>> orders = pd.DataFrame({"contact_id": ["a", "a", "b"], "order_date": ["2024-01-05", "2024-03-01", "2024-02-10"],
...                        "amount": [20.0, 35.0, 12.5]})
>>> rfm(orders)[["contact_id", "recency_days", "frequency", "monetary", "rfm_score", "segment"]].to_dict("records")[0]
{'contact_id': 'a', 'recency_days': 1, 'frequency': 2, 'monetary': 55.0, 'rfm_score': '444', 'segment': 'Loyal Customers'}

Definitions (all documented choices, tested in tests/analytics/test_rfm.py):

* **Dates** are whole days. ``as_of`` is the analysis day; only rows dated *before* it count, so
  ``rfm(orders, as_of="2024-01-01")`` is the picture on New Year's morning. Default: the day after the
  latest order, so the latest buyer has ``recency_days == 1``.
* **Refunds**: a row with ``amount < 0`` is a refund. It nets into ``monetary`` but is not an order
  (no ``frequency``, does not move ``first_order``/``last_order``). Zero-amount rows are orders (free
  items, 100 % vouchers). Customers with refunds only are left out and counted in ``.attrs``.
  A missing amount counts as an order worth 0.
* **Frequency** counts distinct ``order_id`` values when that column exists (an order spread over several
  product lines is one order), else rows. ``mean_order_value = monetary / frequency``;
  ``tenure_days = as_of - first_order``.
* **Quantile scores** (default) use the *mid-rank percentile* stretched to the full range: with ``a`` a
  customer's average rank among all customers (ties share the mean of their ranks), ``p = (a - a_min) /
  (a_max - a_min)`` and ``score = min(floor(5 p) + 1, 5)``. Ties always share a score; without ties this is
  SQL's ``PERCENT_RANK`` and each score holds a fifth of the customers; the worst value always scores 1
  and the best 5, however many customers share it (so one-time buyers are F=1 even when most customers
  bought once), and a tied group in the middle sits where its middle falls. With a single distinct value
  (one customer, everyone bought once) everyone scores 3, the neutral middle, instead of an arbitrary 1 or
  5. Recency is reversed (recent = 5). With heavily tied data, ``thresholds`` pin the bins to business
  meaning instead.
* **Threshold scores**: four ascending cut points per metric; bins are ``(-inf, t0], (t0, t1], ...,
  (t3, inf)``. Frequency and monetary score 1..5 from the lowest bin up, recency 5..1 (``recency <= t0``
  scores 5).
* **Segments** come from a :class:`SegmentScheme`: a table of score ranges, first match wins. The default
  (:data:`DEFAULT_SCHEME`) is the classic ten-segment R x F grid; it covers all 25 cells, so every
  customer gets exactly one segment.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError, SettingsError

__all__ = [
    "SegmentRule",
    "SegmentScheme",
    "DEFAULT_SCHEME",
    "RFM_COLUMNS",
    "rfm",
    "segment_summary",
    "segment_changes",
    "export_segments",
    "tag_contacts",
]

RFM_COLUMNS = ["recency_days", "frequency", "monetary", "mean_order_value", "first_order", "last_order",
               "tenure_days", "r_score", "f_score", "m_score", "rfm_score", "segment"]
_METRICS = ("recency", "frequency", "monetary")
_SCORE_LIMITS = ("r", "f", "m", "fm")


# --------------------------------------------------------------------------------------------- scheme
@dataclass(frozen=True)
class SegmentRule:
    """One row of a segment table: a segment name and inclusive score ranges (1..5).

    ``fm`` is the combined frequency/monetary score ``round_half_up((f + m) / 2)`` for tables written
    on R and FM (the other common convention). Unset ranges are 1..5 (any).
    """

    segment: str
    r_min: int = 1
    r_max: int = 5
    f_min: int = 1
    f_max: int = 5
    m_min: int = 1
    m_max: int = 5
    fm_min: int = 1
    fm_max: int = 5

    def matches(self, r: int, f: int, m: int) -> bool:
        fm = (f + m + 1) // 2
        return (self.r_min <= r <= self.r_max and self.f_min <= f <= self.f_max
                and self.m_min <= m <= self.m_max and self.fm_min <= fm <= self.fm_max)


@dataclass(frozen=True)
class SegmentScheme:
    """An ordered table of :class:`SegmentRule`; the first rule that matches names the segment.

    Customers no rule matches get ``default``. Build one from a DataFrame or a list of dicts with columns
    ``segment, r_min, r_max, f_min, f_max`` (and optionally ``m_min, m_max, fm_min, fm_max``):

    >>> s = SegmentScheme.from_records([{"segment": "Best", "r_min": 4, "f_min": 4},
    ...                                 {"segment": "Rest"}])
    >>> SegmentScheme.from_json(s.to_json()) == s
    True
    """

    rules: tuple[SegmentRule, ...]
    default: str = "Other"
    name: str = "custom"

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        problems = []
        if not self.rules:
            problems.append("the scheme has no rules")
        for i, rule in enumerate(self.rules, start=1):
            if not isinstance(rule.segment, str) or not rule.segment.strip():
                problems.append(f"rule {i} has no segment name")
            for s in _SCORE_LIMITS:
                lo, hi = getattr(rule, f"{s}_min"), getattr(rule, f"{s}_max")
                if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (lo, hi)):
                    problems.append(f"rule {i} ({rule.segment}): {s}_min/{s}_max must be whole numbers")
                elif not 1 <= lo <= hi <= 5:
                    problems.append(f"rule {i} ({rule.segment}): need 1 <= {s}_min <= {s}_max <= 5, "
                                    f"got {lo}..{hi}")
        if problems:
            raise SettingsError("invalid RFM segment scheme: " + "; ".join(problems),
                                hint="scores run from 1 to 5; each rule needs a segment name")

    # -- lookup
    def lookup(self) -> tuple[np.ndarray, list[str]]:
        """Segment code for each of the 125 (r, f, m) cells (index ``(r-1)*25 + (f-1)*5 + m-1``) and the
        segment names in scheme order (``default`` last, only when some cell falls through)."""
        names = list(dict.fromkeys(rule.segment for rule in self.rules))
        pos = {n: i for i, n in enumerate(names)}
        lut = np.full(125, -1, dtype=np.int64)
        for r in range(1, 6):
            for f in range(1, 6):
                for m in range(1, 6):
                    for rule in self.rules:
                        if rule.matches(r, f, m):
                            lut[(r - 1) * 25 + (f - 1) * 5 + m - 1] = pos[rule.segment]
                            break
        if (lut < 0).any():
            if self.default not in pos:
                pos[self.default] = len(names)
                names.append(self.default)
            lut[lut < 0] = pos[self.default]
        return lut, names

    @property
    def segments(self) -> list[str]:
        return self.lookup()[1]

    # -- round trips
    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rules], columns=[f.name for f in fields(SegmentRule)])

    def to_dict(self) -> dict[str, Any]:
        keep = {"segment", "r_min", "r_max", "f_min", "f_max"}
        rules = []
        for rule in self.rules:  # write only non-default bounds, plus the r/f ones for readability
            d = asdict(rule)
            rules.append({k: v for k, v in d.items() if k in keep or v != (1 if k.endswith("_min") else 5)})
        return {"name": self.name, "default": self.default, "rules": rules}

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]] | pd.DataFrame, *, default: str = "Other",
                     name: str = "custom") -> "SegmentScheme":
        if isinstance(records, pd.DataFrame):
            records = records.to_dict("records")
        allowed = {f.name for f in fields(SegmentRule)}
        rules, problems = [], []
        for i, rec in enumerate(records, start=1):
            unknown = set(rec) - allowed
            if unknown:
                problems.append(f"rule {i}: unknown column(s) {sorted(unknown)}")
                continue
            clean: dict[str, Any] = {}
            for k, v in rec.items():
                if k == "segment":
                    clean[k] = v
                elif v is None or (isinstance(v, float) and np.isnan(v)):
                    continue  # blank cell in a table -> any score
                elif isinstance(v, (float, np.floating)) and float(v).is_integer():
                    clean[k] = int(v)
                elif isinstance(v, np.integer):
                    clean[k] = int(v)
                else:
                    clean[k] = v
            rules.append(SegmentRule(**clean))
        if problems:
            raise SettingsError("invalid RFM segment scheme: " + "; ".join(problems),
                                hint=f"allowed columns: {', '.join(sorted(allowed))}")
        return cls(tuple(rules), default=default, name=name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SegmentScheme":
        return cls.from_records(data.get("rules", []), default=data.get("default", "Other"),
                                name=data.get("name", "custom"))

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "SegmentScheme":
        """Load from JSON text or a path to a ``.json`` file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))


def _rule(segment: str, r: tuple[int, int], f: tuple[int, int]) -> SegmentRule:
    return SegmentRule(segment, r_min=r[0], r_max=r[1], f_min=f[0], f_max=f[1])


#: The classic ten segments on the R x F grid (M is left to ranking inside a segment); it tiles all
#: 25 cells, so each customer lands in exactly one. R down the side, F across:
#:
#: ====  ===============  ===============  ==================  ===============  ===============
#: R\\F   1                2                3                   4                5
#: 5     New Customers    Potential Loy.   Potential Loyalist  Champions        Champions
#: 4     Promising        Potential Loy.   Potential Loyalist  Loyal Customers  Loyal Customers
#: 3     About To Sleep   About To Sleep   Need Attention      Loyal Customers  Loyal Customers
#: 1-2   Hibernating      Hibernating      At Risk             At Risk          Can't Lose Them
#: ====  ===============  ===============  ==================  ===============  ===============
DEFAULT_SCHEME = SegmentScheme(
    (
        _rule("Champions", (5, 5), (4, 5)),
        _rule("Loyal Customers", (3, 4), (4, 5)),
        _rule("Potential Loyalist", (4, 5), (2, 3)),
        _rule("New Customers", (5, 5), (1, 1)),
        _rule("Promising", (4, 4), (1, 1)),
        _rule("Need Attention", (3, 3), (3, 3)),
        _rule("About To Sleep", (3, 3), (1, 2)),
        _rule("At Risk", (1, 2), (3, 4)),
        _rule("Can't Lose Them", (1, 2), (5, 5)),
        _rule("Hibernating", (1, 2), (1, 2)),
    ),
    default="Other",
    name="classic",
)


def _as_scheme(scheme: SegmentScheme | pd.DataFrame | Sequence[Mapping[str, Any]] | str | Path | None
               ) -> SegmentScheme:
    if scheme is None:
        return DEFAULT_SCHEME
    if isinstance(scheme, SegmentScheme):
        return scheme
    if isinstance(scheme, (str, Path)):
        return SegmentScheme.from_json(scheme)
    if isinstance(scheme, Mapping):
        return SegmentScheme.from_dict(scheme)
    return SegmentScheme.from_records(scheme)


# --------------------------------------------------------------------------------------------- scoring
def _quantile_scores(values: np.ndarray, *, higher_is_better: bool) -> np.ndarray:
    """1..5 by mid-rank percentile stretched so the worst value scores 1 and the best 5; ties share a score."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    v = values if higher_is_better else -values
    twice_rank = (pd.Series(v).rank(method="average").to_numpy() * 2).round().astype(np.int64)  # exact
    lo, hi = twice_rank.min(), twice_rank.max()
    if hi == lo:  # one distinct value: the neutral middle
        return np.full(n, 3, dtype=np.int64)
    return np.minimum((twice_rank - lo) * 5 // (hi - lo) + 1, 5)


def _threshold_scores(values: np.ndarray, edges: Sequence[float], *, higher_is_better: bool) -> np.ndarray:
    idx = np.searchsorted(np.asarray(edges, dtype=float), values, side="left")  # v <= t0 -> 0, ..., > t3 -> 4
    return (idx + 1) if higher_is_better else (5 - idx)


def _check_thresholds(thresholds: Mapping[str, Sequence[float]] | None) -> dict[str, list[float]]:
    if not thresholds:
        return {}
    problems = []
    out = {}
    for key, edges in thresholds.items():
        if key not in _METRICS:
            problems.append(f"unknown metric {key!r}")
            continue
        try:
            vals = [float(x) for x in edges]
        except (TypeError, ValueError):
            problems.append(f"{key}: cut points must be numbers, got {edges!r}")
            continue
        if len(vals) != 4 or any(b <= a for a, b in zip(vals, vals[1:])) or any(np.isnan(vals)):
            problems.append(f"{key}: need 4 strictly increasing cut points, got {edges!r}")
            continue
        out[key] = vals
    if problems:
        raise SettingsError("invalid RFM thresholds: " + "; ".join(problems),
                            hint='e.g. thresholds={"recency": [30, 90, 180, 365], "frequency": [1, 2, 4, 8]}')
    return out


# --------------------------------------------------------------------------------------------- inputs
def _engine(x: Any):
    return getattr(x, "engine", x)


def _load_orders(orders: Any, needed: list[str | None]) -> pd.DataFrame:
    """A DataFrame as is; a CSV/XLSX path read with text keys; an Engine/Store: its ``orders`` table."""
    key = needed[0]
    if isinstance(orders, pd.DataFrame):
        return orders
    if isinstance(orders, (str, Path)):
        path = Path(orders)
        text_cols = {c: str for c in (key, needed[-1]) if c}
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            return pd.read_excel(path, dtype=text_cols)
        return pd.read_csv(path, dtype=text_cols)
    import sqlalchemy as sa

    eng = _engine(orders)
    if not isinstance(eng, (sa.Engine, sa.Connection)):
        raise CrmkitError(f"rfm() cannot read orders from {type(orders).__name__}",
                          hint="pass a DataFrame, a CSV path, a SQLAlchemy Engine or a crmkit Store")
    present = {c["name"] for c in sa.inspect(eng).get_columns("orders")}
    cols = list(dict.fromkeys(c for c in needed if c and c in present))
    query = sa.select(*(sa.column(c) for c in cols)).select_from(sa.table("orders"))
    if isinstance(eng, sa.Connection):
        return pd.read_sql_query(query, eng)
    with eng.connect() as conn:
        return pd.read_sql_query(query, conn)


def _parse_one(v: Any) -> np.datetime64:
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError, OverflowError):
        return np.datetime64("NaT", "ns")
    if ts is pd.NaT:
        return np.datetime64("NaT", "ns")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)  # keep the local wall-clock day
    return ts.to_datetime64().astype("datetime64[ns]")


def _day_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 (int64) and a validity mask, from ISO text, dates or datetimes.

    Text is parsed once per distinct value (orders share few dates), so 1M rows cost ~20 ms.
    """
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        arr = s.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    elif pd.api.types.is_datetime64_any_dtype(s.dtype):
        arr = s.to_numpy(dtype="datetime64[ns]")
    else:
        codes, uniques = pd.factorize(s)
        u = pd.Series(uniques, dtype=object)
        try:
            parsed = pd.to_datetime(u, errors="coerce", format="ISO8601")
            if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                parsed = parsed.dt.tz_localize(None)
            parsed_arr = parsed.to_numpy(dtype="datetime64[ns]")
            retry = np.isnat(parsed_arr) & u.notna().to_numpy()
        except (ValueError, TypeError):  # mixed time zones or odd objects: value by value
            parsed_arr = np.full(len(u), np.datetime64("NaT", "ns"))
            retry = np.ones(len(u), dtype=bool)
        for i in np.flatnonzero(retry):  # non-ISO leftovers (date objects, '2024/03/05', ...)
            parsed_arr[i] = _parse_one(u.iloc[i])
        arr = np.where(codes >= 0, parsed_arr[np.maximum(codes, 0)] if len(parsed_arr) else
                       np.datetime64("NaT", "ns"), np.datetime64("NaT", "ns"))
    ok = ~np.isnat(arr)
    days = arr.astype("datetime64[D]").astype(np.int64)
    return days, ok


def _as_day(value: Any) -> int:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.normalize().to_datetime64(), "D").astype(np.int64))


def _day_to_ts(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


# --------------------------------------------------------------------------------------------- rfm
def rfm(
    orders: pd.DataFrame | str | Path | Any,
    *,
    customer: str = "contact_id",
    date: str = "order_date",
    amount: str = "amount",
    order_id: str | None = "order_id",
    as_of: Any = None,
    scheme: SegmentScheme | pd.DataFrame | Sequence[Mapping[str, Any]] | str | Path | None = None,
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Score customers on recency, frequency and monetary value and name their segment.

    ``orders`` is a DataFrame, a CSV path, or a SQLAlchemy Engine / crmkit Store (its ``orders`` table).
    Returns one row per customer (sorted by key) with ``customer`` and :data:`RFM_COLUMNS`. Rows without a
    customer key or a readable date are skipped; counts are in ``result.attrs`` (``skipped_no_customer``,
    ``skipped_no_date``, ``skipped_after_as_of``, ``refund_rows``, ``refund_only_customers``, ``as_of``).
    See the module docstring for the exact definitions.

    >>> df = rfm(orders, thresholds={"recency": [30, 90, 180, 365]})  # doctest: +SKIP
    """
    sch = _as_scheme(scheme)
    edges = _check_thresholds(thresholds)
    df = _load_orders(orders, [customer, date, amount] + ([order_id] if order_id else []))
    missing = [c for c in (customer, date, amount) if c not in df.columns]
    if missing:
        raise CrmkitError(f"orders have no column(s) {missing}",
                          hint=f"pass customer=/date=/amount= to name them; columns are {list(df.columns)}")

    n_rows = len(df)
    # customers: work on unique keys, blank text keys count as missing
    try:
        codes, uniques = pd.factorize(df[customer], sort=True)
    except TypeError:  # mixed, unorderable keys
        codes, uniques = pd.factorize(df[customer], sort=False)
    if len(uniques) and (pd.api.types.is_object_dtype(uniques.dtype) or pd.api.types.is_string_dtype(uniques.dtype)):
        blank = np.asarray(pd.Series(uniques).astype(str).str.strip().eq("").to_numpy(), dtype=bool)
        if blank.any():
            codes = np.where((codes >= 0) & blank[np.maximum(codes, 0)], -1, codes)
    has_customer = codes >= 0

    days, has_date = _day_numbers(df[date])
    amounts = pd.to_numeric(df[amount], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    usable = has_customer & has_date
    if as_of is None:
        as_of_day = int(days[usable].max()) + 1 if usable.any() else _as_day(pd.Timestamp.today())
    else:
        as_of_day = _as_day(as_of)
    before = usable & (days < as_of_day)
    refund = before & (amounts < 0)
    purchase = before & ~(amounts < 0)

    n_cust = len(uniques)
    c_all = codes[before]
    monetary = np.bincount(c_all, weights=np.nan_to_num(amounts[before], nan=0.0), minlength=n_cust)
    c_buy = codes[purchase]
    if order_id and order_id in df.columns:
        oid_codes, oid_uniques = pd.factorize(df[order_id])
        if oid_codes.min(initial=0) >= 0 and len(oid_uniques) == n_rows:
            frequency = np.bincount(c_buy, minlength=n_cust)  # every row its own order
        else:
            oid = oid_codes[purchase].astype(np.int64)
            no_id = oid < 0  # rows without an order id are orders of their own
            oid[no_id] = len(oid_uniques) + np.arange(int(no_id.sum()))
            width = np.int64(len(oid_uniques) + len(oid) + 1)
            pairs = pd.unique(c_buy.astype(np.int64) * width + oid)
            frequency = np.bincount(pairs // width, minlength=n_cust)
    else:
        frequency = np.bincount(c_buy, minlength=n_cust)
    d_buy = days[purchase]
    first = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n_cust, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, c_buy, d_buy)
    np.maximum.at(last, c_buy, d_buy)

    keep = frequency > 0
    seen = np.bincount(c_all, minlength=n_cust) > 0
    refund_only = int((seen & ~keep).sum())

    key = pd.Series(uniques[keep], name=customer).reset_index(drop=True)
    frequency = frequency[keep].astype(np.int64)
    monetary = monetary[keep]
    first, last = first[keep], last[keep]
    recency = (as_of_day - last).astype(np.int64)
    tenure = (as_of_day - first).astype(np.int64)

    scores = {}
    # money is ranked at 1e-6 precision, so sums that differ only in float noise tie as they should
    for metric, values, higher in (("recency", recency, False), ("frequency", frequency, True),
                                   ("monetary", np.round(monetary, 6), True)):
        if metric in edges:
            scores[metric] = _threshold_scores(values.astype(float), edges[metric], higher_is_better=higher)
        else:
            scores[metric] = _quantile_scores(values, higher_is_better=higher)
    r, f, m = scores["recency"], scores["frequency"], scores["monetary"]
    cell = (r - 1) * 25 + (f - 1) * 5 + (m - 1)
    lut, names = sch.lookup()
    labels = np.array([f"{i // 25 + 1}{i // 5 % 5 + 1}{i % 5 + 1}" for i in range(125)], dtype=object)

    out = pd.DataFrame({
        customer: key,
        "recency_days": recency,
        "frequency": frequency,
        "monetary": monetary,
        "mean_order_value": monetary / frequency,
        "first_order": _day_to_ts(first),
        "last_order": _day_to_ts(last),
        "tenure_days": tenure,
        "r_score": r.astype(np.int64),
        "f_score": f.astype(np.int64),
        "m_score": m.astype(np.int64),
        "rfm_score": pd.array(labels[cell], dtype="string") if len(cell) else pd.array([], dtype="string"),
        "segment": pd.Categorical.from_codes(lut[cell], categories=names),
    })
    out.attrs = {
        "as_of": str(np.datetime64(as_of_day, "D")),
        "rows": n_rows,
        "orders_used": int(purchase.sum()),
        "refund_rows": int(refund.sum()),
        "refund_only_customers": refund_only,
        "skipped_no_customer": int((~has_customer).sum()),
        "skipped_no_date": int((has_customer & ~has_date).sum()),
        "skipped_after_as_of": int((usable & (days >= as_of_day)).sum()),
        "scoring": {k: ("thresholds" if k in edges else "quantile") for k in _METRICS},
        "thresholds": edges,
        "scheme": sch.name,
    }
    return out


# --------------------------------------------------------------------------------------------- summaries
def segment_summary(rfm_df: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, share, revenue, revenue_share and mean recency / frequency / monetary.

    Segments are listed in scheme order, including empty ones (0 customers).
    """
    seg = rfm_df["segment"]
    if not isinstance(seg.dtype, pd.CategoricalDtype):
        seg = seg.astype("category")
    g = rfm_df.groupby(seg, observed=False)
    out = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["monetary"].sum(),
        "mean_recency_days": g["recency_days"].mean(),
        "mean_frequency": g["frequency"].mean(),
        "mean_monetary": g["monetary"].mean(),
    })
    total_c = out["customers"].sum()
    total_r = out["revenue"].sum()
    out.insert(1, "share", out["customers"] / total_c if total_c else 0.0)
    out.insert(3, "revenue_share", out["revenue"] / total_r if total_r else 0.0)
    out.index = pd.Index([str(s) for s in out.index], name="segment")
    return out.reset_index()


def segment_changes(orders: pd.DataFrame | str | Path | Any, as_of_before: Any, as_of_after: Any,
                    **rfm_kwargs: Any) -> pd.DataFrame:
    """Transition matrix: customers by segment at ``as_of_before`` (rows) and ``as_of_after`` (columns).

    Customers who had not bought yet at the first date are in the row ``"(new)"``. Each picture is
    scored against its own customer base (quantiles are relative), exactly as ``rfm(as_of=...)`` does.
    """
    df = _load_orders(orders, [rfm_kwargs.get("customer", "contact_id"), rfm_kwargs.get("date", "order_date"),
                               rfm_kwargs.get("amount", "amount"), rfm_kwargs.get("order_id", "order_id")])
    before = rfm(df, as_of=as_of_before, **rfm_kwargs)
    after = rfm(df, as_of=as_of_after, **rfm_kwargs)
    key = rfm_kwargs.get("customer", "contact_id")
    names = _as_scheme(rfm_kwargs.get("scheme")).segments
    merged = after[[key, "segment"]].merge(before[[key, "segment"]], on=key, how="outer",
                                           suffixes=("_after", "_before"))
    b = merged["segment_before"].astype(object).where(merged["segment_before"].notna(), "(new)")
    a = merged["segment_after"].astype(object).where(merged["segment_after"].notna(), "(gone)")
    table = pd.crosstab(pd.Series(b.to_numpy(), name="before"), pd.Series(a.to_numpy(), name="after"))
    rows = ["(new)"] + names + (["(gone)"] if "(gone)" in set(b) else [])
    cols = names + (["(gone)"] if "(gone)" in set(a) else [])
    rows += [x for x in table.index if x not in rows]
    cols += [x for x in table.columns if x not in cols]
    table = table.reindex(index=rows, columns=cols, fill_value=0).astype(np.int64)
    table.index.name, table.columns.name = "before", "after"
    return table


# --------------------------------------------------------------------------------------------- export
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(s: pd.Series) -> pd.Series:
    """Prefix ``'`` to text cells a spreadsheet would run as a formula (numbers such as -3.5 stay)."""
    text = s.astype(object)
    mask = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START), na_action="ignore")
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return s
    numeric = pd.to_numeric(text[mask].str.strip(), errors="coerce").notna()
    hit = mask.copy()
    hit[mask] = ~numeric.to_numpy()
    out = text.copy()
    out[hit] = "'" + text[hit].astype(str)
    return out


def export_segments(rfm_df: pd.DataFrame, path: str | Path, segments: Iterable[str] | None = None) -> Path:
    """Write customers (optionally only some ``segments``) to ``.csv`` or ``.xlsx``; returns the path.

    Text cells starting with ``= + - @``, tab or CR that are not numbers get a leading ``'`` so a
    spreadsheet shows them as text instead of running them (CSV/formula injection).
    """
    path = Path(path)
    df = rfm_df
    if segments is not None:
        wanted = [segments] if isinstance(segments, str) else list(segments)
        known = set(map(str, df["segment"].astype(object).unique())) | set(
            map(str, getattr(df["segment"].dtype, "categories", [])))
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise SettingsError(f"unknown segment(s) {unknown}", hint=f"segments are {sorted(known)}")
        df = df[df["segment"].astype(object).isin(wanted)]
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = _neutralise(s.astype(object))
        else:
            out[c] = s
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        out.to_excel(path, index=False, sheet_name="segments")
    elif suffix in {".csv", ".txt", ""}:
        out.to_csv(path, index=False, encoding="utf-8")
    else:
        raise SettingsError(f"cannot export segments to {path.name!r}", hint="use a .csv or .xlsx file name")
    return path


def tag_contacts(engine_or_store: Any, rfm_df: pd.DataFrame, prefix: str = "rfm:", *,
                 customer: str = "contact_id") -> dict[str, int]:
    """Write each customer's segment as a tag ``prefix + segment`` into ``contacts.tags``.

    Tags are ``"; "``-separated; an older tag starting with ``prefix`` is replaced, other tags are kept in
    order. Contacts not in ``rfm_df`` are left alone. One transaction. Returns counts
    ``{"updated", "unchanged", "missing"}`` (missing = customers with no row in ``contacts``).
    """
    import sqlalchemy as sa

    if not prefix:
        raise SettingsError("tag prefix is empty", hint='use e.g. prefix="rfm:" so old tags can be replaced')
    wanted = dict(zip(rfm_df[customer].astype(str), rfm_df["segment"].astype(str)))
    eng = _engine(engine_or_store)
    with eng.begin() as conn:
        rows = conn.execute(sa.text("SELECT contact_id, tags FROM contacts")).all()
        updates, unchanged, found = [], 0, set()
        for cid, tags in rows:
            seg = wanted.get(str(cid))
            if seg is None:
                continue
            found.add(str(cid))
            parts = [t.strip() for t in (tags or "").split(";")]
            parts = [t for t in parts if t and not t.startswith(prefix)]
            new = "; ".join(list(dict.fromkeys(parts + [prefix + seg])))
            if new == (tags or ""):
                unchanged += 1
            else:
                updates.append({"tags": new, "cid": cid})
        if updates:
            conn.execute(sa.text("UPDATE contacts SET tags = :tags WHERE contact_id = :cid"), updates)
            from crmkit.store import touch

            touch(conn)
    return {"updated": len(updates), "unchanged": unchanged, "missing": len(wanted) - len(found)}
