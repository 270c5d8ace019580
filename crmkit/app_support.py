"""Small, Streamlit-free helpers the app needs that the pipeline modules do not offer.

Everything here is plain pandas / SQLAlchemy so it can be tested without a browser; the app's pages
(``app_pages/``) only lay out widgets and call these and the public crmkit API.

>>> compare_values("Anna Müller", "anna muller")
'similar'
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa

from crmkit.errors import CrmkitError, StoreError
from crmkit.store import TABLE_COLUMNS, Store, is_url

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"
SAMPLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".ods"}

__all__ = [
    "sample_store_path", "ensure_sample_store", "open_or_create", "hide_password", "table_counts",
    "overview_metrics", "revenue_last_12_months", "compare_values", "side_by_side", "current_thresholds",
    "threshold_preview", "search_contacts", "search_haystack", "split_tags", "record_files", "contact_detail",
    "NO_ORDERS", "default_as_of", "contact_segments", "contact_history",
    "filter_deals", "close_months",
    "board_columns", "explanation_chart", "suggest_columns", "stale_ids",
    "MASK_CHOICES", "segment_and_tag_options", "export_archive", "export_file_table",
    "reread_sheet", "migrate_files",
]


# --------------------------------------------------------------------------------------------- stores
def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crmkit"


def _sample_files(sample_dir: Path = SAMPLE_DIR) -> list[Path]:
    return sorted(p for p in sample_dir.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES and p.is_file())


def sample_store_path(sample_dir: Path = SAMPLE_DIR) -> Path:
    """Where the sample store lives: the user cache, named after a hash of the sample files' content,
    so a changed sample set (or crmkit version) gets a fresh store."""
    from crmkit import __version__

    h = hashlib.sha256(__version__.encode())
    for p in _sample_files(sample_dir):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return _cache_dir() / f"sample-{h.hexdigest()[:12]}.sqlite"


def ensure_sample_store(progress: Callable[[str, float], None] | None = None,
                        sample_dir: Path = SAMPLE_DIR) -> Path:
    """Build the bundled sample data into a store once (``crmkit.migrate``); returns its path."""
    from crmkit.migrate import migrate

    path = sample_store_path(sample_dir)
    if Store(path).exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate([sample_dir], path, progress=progress, actor="sample")
    return path


def open_or_create(target: str | Path, *, create: bool = False) -> Store:
    """A Store at a path or SQLAlchemy URL; with ``create`` an empty crmkit schema is made when missing."""
    target = str(target).strip()
    if not target:
        raise StoreError("no store given", hint="give a path such as crm.sqlite or a URL such as "
                                                "postgresql://user@host/db")
    if not is_url(target) and not target.lower().endswith((".sqlite", ".sqlite3", ".db")):
        raise StoreError("a store path must end in .sqlite, .sqlite3 or .db", file=target,
                         hint="e.g. crm.sqlite, or a SQLAlchemy URL such as postgresql://user@host/db")
    store = Store(target)
    if not store.exists():
        if not create:
            raise StoreError("no crmkit store here", file=target,
                             hint="tick 'create it' to start an empty store, or migrate files into it")
        if store.is_sqlite:
            store.path.parent.mkdir(parents=True, exist_ok=True)
            store.write()          # new file: schema + change counter, written atomically
        else:
            store.ensure_schema()
    return store


def hide_password(text: str, target: str) -> str:
    """``text`` with the password of the URL ``target`` (if any) replaced by ``***``.

    >>> hide_password("cannot open 'postgresql://crm:s3cret@db/crm'", "postgresql://crm:s3cret@db/crm")
    "cannot open 'postgresql://crm:***@db/crm'"
    """
    try:
        password = sa.engine.make_url(str(target)).password if is_url(str(target)) else None
    except Exception:  # not a URL SQLAlchemy can parse: nothing to hide
        password = None
    if not password:
        return str(text)
    from urllib.parse import quote

    out = str(text)
    for form in {str(password), quote(str(password), safe="")}:
        out = out.replace(form, "***")
    return out


def table_counts(store: Store, tables: Iterable[str] = ("contacts", "source_rows", "deals", "orders",
                                                        "issues")) -> dict[str, int]:
    """Row counts by SQL ``COUNT(*)`` (cheap with 100k rows); missing tables count 0."""
    out = {}
    present = set(store.tables())
    with store.engine.connect() as conn:
        for t in tables:
            if t not in TABLE_COLUMNS:
                continue
            out[t] = int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar() or 0) if t in present else 0
        if "review_queue" in present:
            out["review_open"] = int(conn.execute(sa.text(
                "SELECT COUNT(*) FROM review_queue WHERE status = 'open'")).scalar() or 0)
    return out


# --------------------------------------------------------------------------------------------- overview
def revenue_last_12_months(orders: pd.DataFrame) -> tuple[float, str | None, str | None]:
    """Revenue in the 12 months up to the latest order date in the store: (amount, start, end).

    Anchored on the data, not on today, so an archive of older orders still reads sensibly.
    """
    if orders is None or orders.empty:
        return 0.0, None, None
    d = pd.to_datetime(orders["order_date"], errors="coerce", format="ISO8601")
    if d.notna().sum() == 0:
        return 0.0, None, None
    end = d.max()
    start = end - pd.DateOffset(years=1)
    amount = pd.to_numeric(orders["amount"], errors="coerce")
    total = float(amount[(d > start) & (d <= end)].sum())
    return total, str(start.date()), str(end.date())


def overview_metrics(counts: dict[str, int], deals: pd.DataFrame | None,
                     orders: pd.DataFrame | None) -> dict[str, float]:
    """The headline numbers of a store from its row counts (:func:`table_counts` with contacts,
    contact_records, source_rows, issues) and its deals and orders."""
    from crmkit.analytics.pipeline import open_totals

    opn = open_totals(deals) if deals is not None and len(deals) else {"deals": 0, "amount": 0.0, "weighted": 0.0}
    rev, start, end = revenue_last_12_months(orders)
    return {
        "contacts": counts.get("contacts", 0),
        "source_rows": counts.get("source_rows", 0),
        "duplicates_merged": max(counts.get("contact_records", 0) - counts.get("contacts", 0), 0),
        "review_open": counts.get("review_open", 0),
        "issues": counts.get("issues", 0),
        "open_deals": opn["deals"],
        "open_pipeline": opn["amount"],
        "open_weighted": opn["weighted"],
        "revenue_12m": rev,
        "revenue_from": start,
        "revenue_to": end,
    }


# --------------------------------------------------------------------------------------------- review
def _fold(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    s = unicodedata.normalize("NFKD", str(v)).casefold()
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return re.sub(r"[\s\.,'\-_()+/]+", " ", s).strip()


def compare_values(left, right, *, similar_at: float = 80.0) -> str:
    """'equal', 'similar', 'different' or 'missing' (one side empty) for two field values.

    >>> compare_values("+49 151 1234", "+49 151 1234"), compare_values("ACME GmbH", "Acme"), compare_values("a", None)
    ('equal', 'similar', 'missing')
    """
    from rapidfuzz import fuzz

    a, b = _fold(left), _fold(right)
    if not a or not b:
        return "missing"
    if " ".join(str(left).casefold().split()) == " ".join(str(right).casefold().split()):
        return "equal"
    if a == b or fuzz.token_set_ratio(a, b) >= similar_at:
        return "similar"
    return "different"


def side_by_side(pair: pd.Series, fields: list[str]) -> pd.DataFrame:
    """One review pair as rows field | left | right | match (from a ``review_table`` row)."""
    rows = []
    for f in fields:
        lv, rv = pair.get(f"{f}_l"), pair.get(f"{f}_r")
        how = "source" if f.startswith("source_") else compare_values(lv, rv)
        rows.append({"field": f, "left": _text(lv), "right": _text(rv), "match": how})
    return pd.DataFrame(rows)


def _text(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v)


def current_thresholds(pairs: pd.DataFrame, settings_json: str | None = None) -> tuple[float, float]:
    """(review_at, merge_at) probabilities the last run used: from the stored match settings when they
    name them, else read off the stored pairs' decisions."""
    if settings_json:
        try:
            s = json.loads(settings_json)
        except (TypeError, ValueError):
            s = {}
        flat = {k: v for k, v in s.items() if isinstance(v, (int, float))} if isinstance(s, dict) else {}
        review = next((flat[k] for k in ("review_threshold", "review_at", "threshold_review") if k in flat), None)
        merge = next((flat[k] for k in ("merge_threshold", "merge_at", "threshold_merge", "threshold")
                      if k in flat), None)
        if review is not None and merge is not None and 0 <= review <= merge <= 1:
            return float(review), float(merge)
    p = pd.to_numeric(pairs.get("match_probability"), errors="coerce") if len(pairs) else pd.Series(dtype=float)
    dec = pairs["decision"] if len(pairs) else pd.Series(dtype=object)
    merge = float(p[dec == "merge"].min()) if (dec == "merge").any() else 0.95
    review = float(p[dec == "review"].min()) if (dec == "review").any() else min(0.5, merge)
    return round(review, 3), round(merge, 3)


def _band(p: pd.Series, review_at: float, merge_at: float) -> pd.Series:
    return pd.Series(np.select([p >= merge_at, p >= review_at], ["auto-merge", "review"], "no match"),
                     index=p.index)


def threshold_preview(pairs: pd.DataFrame, review_at: float, merge_at: float) -> pd.DataFrame:
    """How the stored pairs would fall into bands with other thresholds: rows = band now (the stored
    decision), columns = band with the new thresholds, values = pairs. Read-only."""
    bands = ["auto-merge", "review", "no match"]
    if pairs is None or pairs.empty:
        return pd.DataFrame(0, index=pd.Index(bands, name="now"), columns=pd.Index(bands, name="with new thresholds"))
    now = pairs["decision"].map({"merge": "auto-merge", "review": "review", "no": "no match"}).fillna("no match")
    p = pd.to_numeric(pairs["match_probability"], errors="coerce").fillna(0.0)
    new = _band(p, review_at, merge_at)
    table = pd.crosstab(pd.Series(now.to_numpy(), name="now"), pd.Series(new.to_numpy(), name="with new thresholds"))
    return table.reindex(index=bands, columns=bands, fill_value=0).astype(np.int64)


def explanation_chart(expl: pd.DataFrame):
    """Small horizontal bar chart of per-field match weights (green for a match, red against)."""
    import altair as alt

    data = pd.DataFrame({"evidence": expl["field"].astype(str).to_numpy(),
                         "weight": pd.to_numeric(expl["weight"], errors="coerce").to_numpy(float)})
    data["direction"] = np.where(data["weight"] >= 0, "for a match", "against")
    return (
        alt.Chart(data, title="Why this pair: evidence per field")
        .mark_bar()
        .encode(
            y=alt.Y("evidence:N", sort=list(data["evidence"]), title=None),
            x=alt.X("weight:Q", title="match weight"),
            color=alt.Color("direction:N", scale=alt.Scale(domain=["for a match", "against"],
                                                           range=["#2e9e5b", "#d0453a"]),
                            legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["evidence:N", alt.Tooltip("weight:Q", format="+.2f")],
        )
        .properties(height=alt.Step(28))
    )


# --------------------------------------------------------------------------------------------- contacts
SEARCH_COLUMNS = ["full_name", "email", "emails", "phone", "phones", "mobile", "company"]


def split_tags(tags: pd.Series) -> list[str]:
    """The distinct tags of a ``tags`` column ('; ' or ',' separated), sorted."""
    vals = tags.dropna().astype(str)
    if vals.empty:
        return []
    parts = vals.str.split(r"\s*[;,]\s*", regex=True).explode().str.strip()
    return sorted(set(parts[parts != ""]))


def _fold_series(s: pd.Series) -> pd.Series:
    """:func:`_fold` for a whole column, vectorised (100k values in well under a second)."""
    s = s.astype(object).where(s.notna(), "").astype(str)
    s = s.str.normalize("NFKD").str.replace(r"[\u0300-\u036f]", "", regex=True).str.casefold()
    return s.str.replace(r"[\s\.,'\-_()+/]+", " ", regex=True).str.strip()


def search_haystack(contacts: pd.DataFrame) -> pd.Series:
    """The folded text :func:`search_contacts` looks in, one string per contact (build once, reuse)."""
    cols = [c for c in SEARCH_COLUMNS if c in contacts.columns]
    if contacts.empty or not cols:
        return pd.Series("", index=contacts.index, dtype=object)
    hay = contacts[cols[0]].astype(object).where(contacts[cols[0]].notna(), "").astype(str)
    for c in cols[1:]:
        hay = hay + " " + contacts[c].astype(object).where(contacts[c].notna(), "").astype(str)
    return _fold_series(hay)


def search_contacts(contacts: pd.DataFrame, query: str = "", *, countries: Iterable[str] = (),
                    tags: Iterable[str] = (), source_files: Iterable[str] = (),
                    records: pd.DataFrame | None = None, haystack: pd.Series | None = None,
                    segments: Iterable[str] = ()) -> pd.DataFrame:
    """Golden records whose name, emails, phones or company contain every word of ``query``
    (case- and accent-insensitive; digits in the query also match formatted phone numbers), filtered by
    country, tag, the source file any of their records came from and, when ``contacts`` has a ``segment``
    column (:func:`contact_segments`), RFM segment.

    >>> df = pd.DataFrame({"contact_id": ["C1", "C2"], "full_name": ["Jörg Weiß", "Ann Lee"],
    ...                    "phone": ["+49 30 1234567", None], "country": ["DE", "US"], "tags": [None, "vip"]})
    >>> list(search_contacts(df, "jorg 301234")["contact_id"]), list(search_contacts(df, tags=["vip"])["contact_id"])
    (['C1'], ['C2'])
    """
    df = contacts
    mask = pd.Series(True, index=df.index)
    words = [w for w in _fold(query).split() if w]
    if words:
        hay = haystack if haystack is not None else search_haystack(df)
        digits = None
        for w in words:
            hit = hay.str.contains(w, regex=False)
            d = re.sub(r"\D", "", w)
            if len(d) >= 4:
                if digits is None:  # only when the query has a phone-like number
                    digits = hay.where(mask, "").str.replace(r"\D", "", regex=True)
                hit |= digits.str.contains(d, regex=False)
            mask &= hit
    countries = list(countries)
    if countries:
        mask &= df["country"].isin(countries)
    tags = list(tags)
    if tags:
        t = df["tags"].astype(object).fillna("").astype(str)
        tag_hit = pd.Series(False, index=df.index)
        for tag in tags:
            tag_hit |= t.str.contains(r"(?:^|[;,]\s*)" + re.escape(tag) + r"\s*(?:$|[;,])", regex=True)
        mask &= tag_hit
    source_files = list(source_files)
    if source_files and records is not None:
        ids = set(records.loc[records["source_file"].isin(source_files), "contact_id"])
        mask &= df["contact_id"].isin(ids)
    segments = list(segments)
    if segments and "segment" in df.columns:
        mask &= df["segment"].astype(object).isin(segments).to_numpy()
    return df[mask]


#: the segment of contacts that RFM did not score (no purchase before the "as of" day)
NO_ORDERS = "No orders"


def default_as_of(orders: pd.DataFrame | None) -> dt.date:
    """The day after the latest order date (today when no order has a date): the Segments page's default
    "as of" day, so that every dated order counts.

    >>> default_as_of(pd.DataFrame({"order_date": ["2024-01-05", "2023-12-31", None]}))
    datetime.date(2024, 1, 6)
    """
    if orders is None or orders.empty or "order_date" not in orders:
        return dt.date.today()
    dates = pd.to_datetime(orders["order_date"], errors="coerce", format="ISO8601").dropna()
    return (dates.max() + pd.Timedelta(days=1)).date() if len(dates) else dt.date.today()


def contact_segments(contacts: pd.DataFrame, scores: pd.DataFrame) -> pd.Series:
    """Each contact's RFM segment from :func:`crmkit.analytics.rfm` output (``contact_id``, ``segment``),
    :data:`NO_ORDERS` for contacts it did not score; a categorical aligned with ``contacts`` (segments in
    the scheme's order, then "No orders").

    >>> c = pd.DataFrame({"contact_id": ["C1", "C2"]})
    >>> contact_segments(c, pd.DataFrame({"contact_id": ["C1"], "segment": ["Champions"]})).tolist()
    ['Champions', 'No orders']
    """
    scored = scores.drop_duplicates("contact_id") if scores is not None and "segment" in scores else None
    seg = scored["segment"] if scored is not None else pd.Series(dtype="category")
    if not isinstance(seg.dtype, pd.CategoricalDtype):
        seg = seg.astype(str).astype("category")
    names = [str(x) for x in seg.cat.categories]
    cats = [n for n in names if n != NO_ORDERS] + [NO_ORDERS]
    codes = np.full(len(contacts), len(cats) - 1, dtype=np.int64)          # "No orders" unless scored
    if len(seg):
        # vectorised lookup: each contact's position among the scored customers (-1: not scored)
        where = pd.Index(scored["contact_id"].astype(str)).get_indexer(contacts["contact_id"].astype(str))
        remap = np.array([cats.index(n) for n in names] + [len(cats) - 1], dtype=np.int64)   # code -1: none
        seg_codes = remap[seg.cat.codes.to_numpy()]
        hit = where >= 0
        codes[hit] = seg_codes[where[hit]]
    return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=contacts.index, name="segment")


def record_files(store: Store) -> pd.DataFrame:
    """Distinct (contact_id, source_file) pairs: which files each contact came from (one SQL query)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT DISTINCT contact_id, source_file FROM contact_records")).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=["contact_id", "source_file"])


def contact_detail(store: Store, contact_id: str) -> dict[str, pd.DataFrame]:
    """Everything about one golden record: the record itself, its source records with their original row
    (``source_rows.raw``), field lineage, conflicts and all values (emails, phones)."""
    golden = store.read_table("contacts", where={"contact_id": contact_id})
    if golden.empty:
        raise CrmkitError(f"no contact {contact_id!r} in this store", file=store.target)
    records = store.read_table("contact_records", where={"contact_id": contact_id})
    src = store.read_table("source_rows", where={"record_id": contact_id})
    if len(records):
        more = _source_rows_for(store, list(records["record_id"]))
        src = pd.concat([src, more], ignore_index=True).drop_duplicates(
            ["source_file", "source_sheet", "source_row"])
    raw = src[["source_file", "source_sheet", "source_row", "entity", "raw"]].copy() if len(src) else \
        pd.DataFrame(columns=["source_file", "source_sheet", "source_row", "entity", "raw"])
    raw["original values"] = raw["raw"].map(_pretty_raw)
    return {
        "contact": golden,
        "records": records,
        "source_rows": raw.drop(columns=["raw"]).sort_values(["source_file", "source_sheet", "source_row"]),
        "lineage": store.read_table("lineage", where={"contact_id": contact_id}),
        "conflicts": store.read_table("conflicts", where={"contact_id": contact_id}),
        "values": store.read_table("contact_values", where={"contact_id": contact_id}),
        "deals": store.read_table("deals", where={"contact_id": contact_id}),
        "orders": store.read_table("orders", where={"contact_id": contact_id}),
    }


HISTORY_COLUMNS = ["at", "action", "actor", "details"]


def contact_history(store: Store, contact_id: str, record_ids: Iterable[str] = ()) -> pd.DataFrame:
    """What happened to one contact by hand or by an import, newest first: its edits (``decisions`` of
    kind 'edit' on the contact or on one of its ``record_ids``), merges and splits (``merge_history`` rows
    naming the contact or one of its records) and the ``audit_log`` rows about it. An audit row that
    repeats an edit, merge or split already listed is left out. Columns: at, action, actor, details.

    >>> # contact_history(store, "C3fa9c2d41b07", contact_detail(store, "C3fa9c2d41b07")["records"]["record_id"])
    """
    records = {str(r) for r in record_ids}
    present = set(store.tables())
    edits: list[dict] = []
    merges: list[dict] = []
    audits: list[dict] = []
    edit_keys: dict[tuple, list[dict]] = {}
    if "decisions" in present:
        dec = store.read_table("decisions", where={"kind": "edit"})
        dec = dec[(dec["contact_id"].astype(str) == contact_id) | dec["record_id_l"].astype(str).isin(records)]
        for e in dec.itertuples(index=False):
            value = None if e.value is None or pd.isna(e.value) else str(e.value)
            edits.append({"at": e.decided_at, "action": "edit", "actor": e.actor,
                         "details": f"{e.field}: set to “{value}”" if value else f"{e.field}: cleared"})
            key = ("edit", str(e.field), value, str(e.actor))
            edit_keys.setdefault(key, []).append(edits[-1])
    merge_keys: dict[tuple, dict] = {}
    if "merge_history" in present:
        t = sa.table("merge_history", *[sa.column(c) for c in TABLE_COLUMNS["merge_history"]])
        cond = [t.c.contact_id == contact_id, t.c.into_contact_id == contact_id]
        cond += [t.c.record_ids.like(f'%"{r}"%') for r in sorted(records)[:200]]
        with store.engine.connect() as conn:
            res = conn.execute(sa.select(t).where(sa.or_(*cond)))
            mh = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
        for h in mh.itertuples(index=False):
            ids = _json_list(h.record_ids)
            if not (h.contact_id == contact_id or h.into_contact_id == contact_id or records & set(ids)):
                continue   # LIKE matched a longer id
            shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
            if h.action == "unmerge":
                text = f"split contact {h.contact_id} into one contact per source record ({shown})"
            else:
                into = h.into_contact_id or h.contact_id
                text = f"merged source records {shown} into contact {into}"
                if h.batch_id and h.into_contact_id == h.contact_id:
                    text += f" (import batch {h.batch_id})"
            merges.append({"at": h.at, "action": h.action, "actor": h.actor, "details": text})
            merge_keys[(str(h.action), str(h.at))] = merges[-1]
    if "audit_log" in present:
        t = sa.table("audit_log", *[sa.column(c) for c in TABLE_COLUMNS["audit_log"]])
        q = sa.select(t).where(t.c.record_id == contact_id, sa.or_(t.c.entity == "contact", t.c.entity.is_(None)))
        with store.engine.connect() as conn:
            res = conn.execute(q)
            au = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
        # the audit log is read in the order it was written: its position orders events of the same second
        for seq, a in enumerate(au.itertuples(index=False)):
            detail = _json_dict(a.detail)
            if a.action == "edit":
                value = detail.get("value")
                key = ("edit", str(detail.get("field")), None if value in (None, "") else str(value), str(a.actor))
                if edit_keys.get(key):
                    edit_keys[key].pop(0)["_seq"] = seq
                    continue
            if (str(a.action), str(a.at)) in merge_keys:
                merge_keys[(str(a.action), str(a.at))]["_seq"] = seq
                continue
            text = " · ".join(f"{k}: {v}" for k, v in detail.items() if k != "contact_id" and v not in (None, ""))
            audits.append({"at": a.at, "action": a.action, "actor": a.actor, "details": text or str(a.detail or ""),
                           "_seq": seq})
    rows = [{**r, "_pos": i} for part in (edits, merges, audits) for i, r in enumerate(part)]  # i: written order
    if not rows:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    out = pd.DataFrame(rows, columns=HISTORY_COLUMNS + ["_seq", "_pos"])
    # newest first: by the second it happened, then by its place in the audit log (timestamps are stored
    # to the second by some writers and to the microsecond by others, so finer times are not comparable)
    when = pd.to_datetime(out["at"], errors="coerce", utc=True, format="ISO8601").dt.floor("s")
    return (out.assign(_when=when, _seq=out["_seq"].fillna(-1))
            .sort_values(["_when", "_seq", "_pos"], ascending=False, kind="stable", na_position="last")
            .drop(columns=["_when", "_seq", "_pos"]).reset_index(drop=True))


def _json_list(text) -> list[str]:
    try:
        v = json.loads(text) if text else []
    except (TypeError, ValueError):
        return []
    return [str(x) for x in v] if isinstance(v, list) else []


def _json_dict(text) -> dict:
    try:
        v = json.loads(text) if text else {}
    except (TypeError, ValueError):
        return {}
    return v if isinstance(v, dict) else {}


def _source_rows_for(store: Store, record_ids: list[str]) -> pd.DataFrame:
    t = sa.table("source_rows", *[sa.column(c) for c in TABLE_COLUMNS["source_rows"]])
    q = sa.select(t).where(t.c.source_record_id.in_(record_ids[:900]))
    with store.engine.connect() as conn:
        r = conn.execute(q)
        return pd.DataFrame(r.fetchall(), columns=list(r.keys()))


def _pretty_raw(raw) -> str:
    if not raw:
        return ""
    try:
        d = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    return " · ".join(f"{k}: {v}" for k, v in d.items() if v not in (None, ""))


# --------------------------------------------------------------------------------------------- pipeline
def close_months(deals: pd.DataFrame) -> list[str]:
    d = pd.to_datetime(deals.get("close_date"), errors="coerce", format="ISO8601")
    return sorted(d.dropna().dt.strftime("%Y-%m").unique()) if d is not None else []


def filter_deals(deals: pd.DataFrame, *, owners: Iterable[str] = (), months: Iterable[str] = ()) -> pd.DataFrame:
    """Deals of some owners ('(unassigned)' for none) and expected close months ('YYYY-MM'; '(no date)')."""
    df = deals
    owners, months = list(owners), list(months)
    if owners:
        o = df["owner"].astype(object).where(df["owner"].notna() & (df["owner"].astype(str).str.strip() != ""),
                                              "(unassigned)")
        df = df[o.isin(owners)]
    if months:
        m = pd.to_datetime(df["close_date"], errors="coerce", format="ISO8601").dt.strftime("%Y-%m")
        m = m.astype(object).where(m.notna(), "(no date)")
        df = df[m.isin(months)]
    return df


def stale_ids(stale: pd.DataFrame) -> dict[str, int]:
    """deal_id -> days over the stage's rotting limit, from ``stale_deals`` output."""
    if stale is None or stale.empty:
        return {}
    return dict(zip(stale["deal_id"].astype(str), stale["days_over"].astype(int)))


def board_columns(deals: pd.DataFrame, pipeline=None) -> list[tuple[str, pd.DataFrame]]:
    """(stage, its deals sorted by close date then amount) for every pipeline stage, plus one column
    of deals at stages the pipeline does not know."""
    from crmkit.analytics.pipeline import _pipe

    pipe = _pipe(pipeline)
    canon = deals["stage"].astype(object).map(pipe.canonical)
    out = []
    for name in pipe.names:
        sub = deals[canon == name]
        out.append((name, _sort_cards(sub)))
    other = deals[canon.isna()]
    if len(other):
        out.append(("(other stage)", _sort_cards(other)))
    return out


def _sort_cards(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    key = pd.to_datetime(df["close_date"], errors="coerce", format="ISO8601")
    amt = pd.to_numeric(df["amount"], errors="coerce")
    return df.assign(_k=key, _a=amt).sort_values(["_k", "_a"], ascending=[True, False],
                                                 na_position="last").drop(columns=["_k", "_a"])


# --------------------------------------------------------------------------------------------- import
def suggest_columns(headers: list[str], entity: str) -> dict[str, str | None]:
    """Best canonical field of ``entity`` for each header (what the mapper would pick for that entity)."""
    from crmkit.mapping import _score_entity

    _total, columns, _scores = _score_entity([str(h) for h in headers], entity)
    return columns


# --------------------------------------------------------------------------------------------- export
#: columns offered for masking on the Export page (each also masks the columns that repeat it)
MASK_CHOICES = ["email", "phone", "mobile", "first_name", "last_name", "full_name", "street", "postcode",
                "city", "company", "website", "owner"]


def segment_and_tag_options(contacts: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(RFM segments, other tags) present in the contacts' tags: ``rfm:Champions`` gives the segment
    ``Champions``; every other tag is offered as a tag.

    >>> segment_and_tag_options(pd.DataFrame({"tags": ["vip; rfm:Champions", "newsletter", None]}))
    (['Champions'], ['newsletter', 'vip'])
    """
    if contacts is None or contacts.empty or "tags" not in contacts:
        return [], []
    tags = split_tags(contacts["tags"])
    segments = sorted({t[4:] for t in tags if t.casefold().startswith("rfm:") and t[4:]})
    return segments, [t for t in tags if not t.casefold().startswith("rfm:")]


def export_archive(result) -> bytes:
    """Every file of an :class:`crmkit.export.ExportResult` in one zip (README.md included), in memory."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in result.files:
            p = Path(path)
            zf.write(p, arcname=p.relative_to(result.out_dir).as_posix()
                     if p.is_relative_to(result.out_dir) else p.name)
    return buf.getvalue()


def export_file_table(result) -> pd.DataFrame:
    """One row per written file: file, rows (data rows; for a workbook the sum over its sheets), size."""
    rows = []
    for path in result.files:
        p = Path(path)
        n = result.rows.get(p.name)
        if n is None:
            parts = [v for k, v in result.rows.items() if k.startswith(p.name + ":")]
            n = sum(parts) if parts else None
        rows.append({"file": p.name, "rows": n, "size_kb": round(p.stat().st_size / 1024, 1) if p.exists() else None})
    return pd.DataFrame(rows, columns=["file", "rows", "size_kb"]).astype({"rows": "Int64", "size_kb": float})


# --------------------------------------------------------------------------------------------- header rows
def reread_sheet(path: str | Path, sheet: str, header_row: int):
    """One sheet of a file read again with its header in row ``header_row`` (1-based, as a spreadsheet
    app shows it); raises :class:`crmkit.errors.ReadError` when that row is empty or outside the data."""
    from crmkit.read import read

    found = read(path, sheets=[sheet] if sheet else None, header_row=int(header_row))
    if not found:
        raise CrmkitError(f"no data below header row {header_row}", file=Path(path).name, sheet=sheet or None,
                          hint="pick the row that holds the column names")
    return found[0]


def migrate_files(inputs, out, *, header_rows: dict[tuple[str, str], int] | None = None, **kw):
    """:func:`crmkit.migrate` where the sheets in ``header_rows`` ({(file path, sheet name): row}) are read
    with that header row instead of the detected one (the Import page's override).

    The rows are written into the mapping's entries (``SheetMapping.header_row``), which ``migrate`` honours,
    so the batch's saved mapping replays the override on the command line too.
    """
    from crmkit.mapping import Mapping, infer_mapping
    from crmkit.migrate import migrate

    mapping = kw.pop("mapping", None)
    if header_rows:
        mapping = Mapping.from_json(mapping.to_json()) if isinstance(mapping, Mapping) else Mapping([])
        for (path, sheet), row in header_rows.items():
            name, sheet = Path(path).name, str(sheet or "")
            entry = next((s for s in mapping.sheets if s.file == name and s.sheet == sheet), None)
            if entry is None:  # no mapping given for it: guess one from the pinned header row
                mapping.sheets.append(infer_mapping(reread_sheet(path, sheet, int(row))))
            else:
                entry.header_row = int(row)
    return migrate(inputs, out, mapping=mapping, **kw)
