"""Shared plumbing for the CRM exports: load the store, filter, derive companies, mask, write, split.

Every target module receives one :class:`Prepared` bundle of canonical frames (contacts, companies,
deals, orders), all already filtered, linked (``company_id`` on contacts and deals) and masked, and
turns it into the target's files. Nothing here knows about a particular CRM.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from crmkit.clean._free_mail import is_free_mail
from crmkit.errors import CrmkitError, SettingsError
from crmkit.schema import DEAL_COLUMNS, ORDER_COLUMNS
from crmkit.store import TABLE_COLUMNS, Store, read_store
from crmkit.workbook import write_csv

CONTACT_COLUMNS = TABLE_COLUMNS["contacts"]
COMPANY_COLUMNS = ["company_id", "company_key", "name", "domain", "website", "phone", "street", "postcode",
                   "city", "region", "country", "owner", "n_contacts"]
MASK_MODES = ("hash", "redact")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# ------------------------------------------------------------------------------------------- loading
def load_tables(store_or_tables: object) -> dict[str, pd.DataFrame]:
    """Contacts, deals and orders from a dict of frames, a :class:`~crmkit.store.Store`, or a path/URL."""
    if isinstance(store_or_tables, Mapping):
        tables = dict(store_or_tables)
    elif isinstance(store_or_tables, Store):
        names = set(store_or_tables.tables())
        tables = {n: store_or_tables.read_table(n) for n in ("contacts", "deals", "orders") if n in names}
    elif isinstance(store_or_tables, (str, Path)):
        tables = read_store(store_or_tables)
    else:
        raise CrmkitError(f"cannot export from a {type(store_or_tables).__name__}",
                          hint="pass a store path or URL, a crmkit.Store, or a dict of DataFrames "
                               "such as crmkit.read_store('crm.sqlite')")
    contacts = tables.get("contacts")
    if contacts is None or len(contacts) == 0:
        raise CrmkitError("the store has no contacts to export",
                          hint="migrate some customer files first: `crmkit migrate FILES --out crm.sqlite`")
    out = {"contacts": _canonical(contacts, CONTACT_COLUMNS),
           "deals": _canonical(tables.get("deals"), DEAL_COLUMNS),
           "orders": _canonical(tables.get("orders"), ORDER_COLUMNS)}
    return out


def _canonical(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """A copy with exactly ``columns`` (missing ones empty); text as object dtype with None for empty."""
    if df is None:
        df = pd.DataFrame(columns=columns)
    df = df.reindex(columns=columns).reset_index(drop=True)
    out = {}
    for c in columns:
        s = df[c]
        if c in {"amount", "probability", "quantity"}:
            out[c] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif c in {"n_sources", "n_records"}:
            out[c] = pd.to_numeric(s, errors="coerce").astype("Int64")
        else:
            out[c] = text(s)
    return pd.DataFrame(out, index=df.index)


def text(s: pd.Series) -> pd.Series:
    """Object Series of stripped strings, None where missing or blank (works for any input dtype)."""
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):  # fast path: text only
        st = s.astype("string").str.strip()
        out = st.astype(object)
        out[(st.isna() | (st == "")).to_numpy(dtype=bool)] = None
        return out

    def one(v: object) -> str | None:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip() or None

    return umap(s, one)


def umap(s: pd.Series, func) -> pd.Series:
    """``func`` applied once per distinct non-missing value, broadcast back; None where missing."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[:-1] = [func(v) for v in uniques]
    results[-1] = None
    return pd.Series(results[codes], index=s.index, dtype=object)


# ------------------------------------------------------------------------------------------- filtering
def wanted_tags(segments: Iterable[str] | str | None, tags: Iterable[str] | str | None) -> set[str] | None:
    """The tag set a contact must hit (case-insensitive); RFM segments become ``rfm:<segment>``."""
    if segments is None and tags is None:
        return None
    want: set[str] = set()
    for seg in _as_list(segments):
        seg = seg.strip()
        want.add(seg.casefold() if seg.casefold().startswith("rfm:") else f"rfm:{seg}".casefold())
    want |= {t.strip().casefold() for t in _as_list(tags) if t.strip()}
    if not want:
        raise SettingsError("no tags or segments given to filter on",
                            hint="pass e.g. segments=['Champions'] or tags=['vip'], or leave both out")
    return want


def _as_list(value: Iterable[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def split_tags(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    return [t.strip() for t in value.split(";") if t.strip()]


def filter_contacts(contacts: pd.DataFrame, want: set[str] | None) -> pd.DataFrame:
    if want is None:
        return contacts
    hit = umap(contacts["tags"], lambda v: any(t.casefold() in want for t in split_tags(v)))
    kept = contacts[hit.fillna(False).astype(bool).to_numpy()]
    if kept.empty:
        known = sorted({t for v in contacts["tags"] for t in split_tags(v)}, key=str.casefold)
        raise SettingsError(f"no contact has any of the tags {sorted(want)}",
                            hint=f"tags in this store: {', '.join(known[:30]) or 'none'}"
                                 + (" …" if len(known) > 30 else ""))
    return kept.reset_index(drop=True)


# ------------------------------------------------------------------------------------------- companies
def company_id(key: str) -> str:
    """Stable id of a company: ``CO-`` + 12 hex of SHA-256 over its company_key."""
    return "CO-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _keys(company: pd.Series, key: pd.Series) -> pd.Series:
    """company_key, computed from the company name where the store has none."""
    from crmkit.clean.companies import company_key

    key = key.copy()
    need = key.isna() & company.notna()
    if need.any():
        key[need] = company[need].map(company_key)
    return key


def _group_mode(df: pd.DataFrame, by: str, col: str) -> pd.Series:
    """Most frequent non-empty ``col`` per ``by`` group (ties: the smallest value), indexed by ``by``."""
    sub = df[[by, col]].dropna()
    if sub.empty:
        return pd.Series(dtype=object)
    # integer codes instead of a groupby over object columns: one np.unique over (group, value) pairs
    kc, keys = pd.factorize(sub[by].astype(object))
    vc, vals = pd.factorize(sub[col].astype(object), sort=True)
    width = np.int64(len(vals))
    pairs, counts = np.unique(kc.astype(np.int64) * width + vc, return_counts=True)
    k, v = pairs // width, pairs % width
    order = np.lexsort((v, -counts, k))  # per group: most frequent first, then the smallest value
    k, v = k[order], v[order]
    first = np.r_[True, k[1:] != k[:-1]]
    index = pd.Index(np.asarray(keys, dtype=object)[k[first]], name=by)
    return pd.Series(np.asarray(vals, dtype=object)[v[first]], index=index, dtype=object, name=col)


def email_domain(email: object) -> str | None:
    if not isinstance(email, str) or "@" not in email:
        return None
    dom = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    return dom or None


def website_domain(url: object) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return None
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    host = host.removeprefix("www.")
    return host if "." in host else None


def derive_companies(contacts: pd.DataFrame, deals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One company per company_key; returns (companies, contacts + company_id, deals + company_id).

    Name, city, country and owner are the most frequent values among the company's contacts; the
    domain is the most frequent email domain that is not a free-mail provider (else the website's);
    the phone is one shared by at least two of its contacts (a switchboard, not a direct line);
    street/postcode/region come from the most frequent address in the chosen city. Companies named
    only on deals (no contact) are added with their name alone.
    """
    c = contacts.copy()
    c["_key"] = _keys(c["company"], c["company_key"])
    d = deals.copy()
    d["_key"] = _keys(d["company"], d["company_key"])
    # a deal without a company inherits its contact's company
    by_contact = dict(zip(c["contact_id"], c["_key"]))
    need = d["_key"].isna() & d["contact_id"].notna()
    if need.any():
        d.loc[need, "_key"] = d.loc[need, "contact_id"].map(by_contact)
    rows = c[c["_key"].notna()]

    comp = pd.DataFrame({"name": _group_mode(rows, "_key", "company")})
    comp["n_contacts"] = rows.groupby("_key").size()
    # domain: all emails of each contact (the "; "-joined list plus the primary)
    em = rows[["_key", "email", "emails"]]
    listed = em[["_key"]].assign(e=umap(em["emails"], split_tags)).explode("e")
    all_emails = pd.concat([em[["_key", "email"]].rename(columns={"email": "e"}), listed])
    all_emails["domain"] = umap(all_emails["e"], email_domain).to_numpy()
    all_emails = all_emails.dropna(subset=["domain"])
    all_emails = all_emails[~umap(all_emails["domain"], is_free_mail).astype(bool).to_numpy()]
    # one vote per contact and domain (a contact listing the same address twice counts once)
    comp["domain"] = _group_mode(all_emails.drop_duplicates(), "_key", "domain")
    web = rows.assign(wd=umap(rows["website"], website_domain))
    comp["website"] = _group_mode(rows, "_key", "website")
    comp["domain"] = comp["domain"].fillna(_group_mode(web, "_key", "wd"))
    comp["owner"] = _group_mode(rows, "_key", "owner")
    # phone shared by >= 2 contacts
    ph = rows[["_key", "contact_id", "phone"]].dropna().drop_duplicates()
    shared = ph.groupby(["_key", "phone"]).size()
    shared = shared[shared >= 2].reset_index(name="_n")
    comp["phone"] = _group_mode(ph.merge(shared[["_key", "phone"]]), "_key", "phone") if len(shared) else None
    # address: country, then city within it, then street/postcode/region within that city
    comp["country"] = _group_mode(rows, "_key", "country")
    r2 = rows.merge(comp["country"].rename("_c"), left_on="_key", right_index=True, how="left")
    r2 = r2[r2["country"].isna() | (r2["country"] == r2["_c"])]
    comp["city"] = _group_mode(r2, "_key", "city")
    r3 = r2.merge(comp["city"].rename("_ci"), left_on="_key", right_index=True, how="left")
    r3 = r3[r3["city"].eq(r3["_ci"]).fillna(False).astype(bool) | r3["_ci"].isna()]
    addr = r3.assign(_addr=[None if s is None else (s, p, g) for s, p, g in
                            zip(r3["street"], r3["postcode"], r3["region"])])
    best = _group_mode(addr.assign(_addr=addr["_addr"].map(lambda t: None if t is None else "\x1f".join(
        "" if v is None else v for v in t))), "_key", "_addr")
    parts = best.map(lambda v: v.split("\x1f"))
    for i, col in enumerate(("street", "postcode", "region")):
        comp[col] = parts.map(lambda p, i=i: p[i] or None)
    if comp.empty:  # no contact names a company: keep the columns
        for col in ("street", "postcode", "region"):
            comp[col] = pd.Series(dtype=object)
    comp["region"] = comp["region"].fillna(_group_mode(r2, "_key", "region"))
    # companies named only on deals
    extra = d[d["_key"].notna() & ~d["_key"].isin(comp.index)]
    if len(extra):
        names = _group_mode(extra, "_key", "company")
        add = pd.DataFrame({"name": names.reindex(extra["_key"].unique())})
        add["name"] = add["name"].fillna(pd.Series(add.index, index=add.index))
        add["n_contacts"] = 0
        comp = pd.concat([comp, add])
    comp.index.name = "company_key"
    comp = comp.reset_index()
    comp["name"] = comp["name"].fillna(comp["company_key"])
    comp["company_id"] = comp["company_key"].map(company_id)
    comp["n_contacts"] = comp["n_contacts"].fillna(0).astype("int64")
    comp = comp.reindex(columns=COMPANY_COLUMNS).astype({c: object for c in COMPANY_COLUMNS if c != "n_contacts"})
    comp = comp.where(comp.notna(), None)
    comp["n_contacts"] = comp["n_contacts"].astype("int64")
    comp = comp.sort_values(["name", "company_id"], key=lambda s: s.map(
        lambda v: v.casefold() if isinstance(v, str) else ""), kind="mergesort").reset_index(drop=True)

    ids = dict(zip(comp["company_key"], comp["company_id"]))
    c["company_id"] = c["_key"].map(ids).astype(object)
    d["company_id"] = d["_key"].map(ids).astype(object)
    c = c.drop(columns="_key")
    d = d.drop(columns="_key")
    return comp, _nones(c), _nones(d)


def _nones(df: pd.DataFrame) -> pd.DataFrame:
    obj = [c for c in df.columns if df[c].dtype == object]
    if obj:
        df[obj] = df[obj].where(df[obj].notna(), None)
    return df


def link_deals(deals: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Deals whose contact_id is unknown get it from a contact with the same email; dangling ids are cleared."""
    d = deals.copy()
    known = set(contacts["contact_id"].dropna())
    d.loc[~d["contact_id"].isin(known), "contact_id"] = None
    by_email: dict[str, str] = {}
    for cid, email, emails in zip(contacts["contact_id"], contacts["email"], contacts["emails"]):
        for e in [email, *split_tags(emails)]:
            if isinstance(e, str):
                by_email.setdefault(e.lower(), cid)
    need = d["contact_id"].isna() & d["contact_email"].notna()
    if need.any():
        d.loc[need, "contact_id"] = d.loc[need, "contact_email"].map(lambda e: by_email.get(e.lower()))
    return _nones(d)


# ------------------------------------------------------------------------------------------- masking
# Kind of pseudonym per column, so one value masks the same way wherever it appears.
_EMAIL_COLS = {"email", "emails", "contact_email", "customer_email"}
_PHONE_COLS = {"phone", "mobile", "phones"}
_MULTI_COLS = {"emails", "phones", "tags"}
_NON_TEXT = {"amount", "probability", "quantity", "n_sources", "n_records", "n_contacts", "created_at",
             "updated_at", "close_date", "order_date"}
_ID_COLS = {"contact_id", "deal_id", "order_id", "company_id"}

# a requested column -> every (table, column) that holds the same information
_MASK_LINKS: dict[str, list[tuple[str, str]]] = {
    "email": [("contacts", "email"), ("contacts", "emails"), ("deals", "contact_email"),
              ("orders", "customer_email"), ("companies", "domain")],
    "phone": [("contacts", "phone"), ("contacts", "phones"), ("companies", "phone")],
    "mobile": [("contacts", "mobile"), ("contacts", "phones")],
    "first_name": [("contacts", "first_name"), ("contacts", "full_name"), ("deals", "contact_name"),
                   ("orders", "customer_name")],
    "last_name": [("contacts", "last_name"), ("contacts", "full_name"), ("deals", "contact_name"),
                  ("orders", "customer_name")],
    "full_name": [("contacts", "full_name"), ("deals", "contact_name"), ("orders", "customer_name")],
    "company": [("contacts", "company"), ("contacts", "company_key"), ("deals", "company"),
                ("deals", "company_key"), ("companies", "name"), ("companies", "company_key"),
                ("companies", "domain"), ("contacts", "website"), ("companies", "website")],
    "website": [("contacts", "website"), ("companies", "website"), ("companies", "domain")],
    "owner": [("contacts", "owner"), ("deals", "owner"), ("companies", "owner")],
}
for _col in ("street", "postcode", "city", "region", "country"):
    _MASK_LINKS[_col] = [("contacts", _col), ("companies", _col)]
_MASK_LINKS["emails"] = _MASK_LINKS["email"]
_MASK_LINKS["contact_email"] = _MASK_LINKS["email"]
_MASK_LINKS["customer_email"] = _MASK_LINKS["email"]
_MASK_LINKS["phones"] = _MASK_LINKS["phone"] + _MASK_LINKS["mobile"]
_MASK_LINKS["contact_name"] = _MASK_LINKS["full_name"]
_MASK_LINKS["customer_name"] = _MASK_LINKS["full_name"]


def pseudonym(value: str, column: str) -> str:
    """A stable stand-in for ``value`` that keeps the shape the column needs.

    >>> pseudonym("Anna@Example.com", "email")
    'h_f7d54c22dd@example.invalid'
    """
    if column in _EMAIL_COLS:
        return f"h_{_digest(value.lower())}@example.invalid"
    if column in _PHONE_COLS:  # +999 is an unassigned country calling code: it never rings anyone
        return "+999" + f"{int(_digest(value), 16) % 10**9:09d}"
    if column == "domain":
        return f"h{_digest(value.lower())}.example.invalid"
    if column == "website":
        return f"https://h{_digest(value.lower())}.example.invalid"
    return f"h_{_digest(value)}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def maskable_columns(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    cols = set(_MASK_LINKS)
    for df in frames.values():
        cols |= set(df.columns)
    return sorted(cols - _ID_COLS - {"company_key"} | {"company"})


def mask_frames(frames: dict[str, pd.DataFrame], mask: Iterable[str] | str | None,
                mode: str = "hash") -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Replace the values of the ``mask`` columns (and the columns that repeat them) in every table.

    ``hash``: a stable pseudonym (same input, same output, so links between files still hold);
    ``redact``: an empty cell. Numbers and dates are always emptied. Ids are never masked.
    """
    if mask is None:
        return frames, []
    if mode not in MASK_MODES:
        raise SettingsError(f"unknown mask_mode {mode!r}", hint=f"use one of {', '.join(MASK_MODES)}")
    wanted = _as_list(mask)
    bad_ids = [c for c in wanted if c in _ID_COLS]
    if bad_ids:
        raise SettingsError(f"id columns cannot be masked: {bad_ids}",
                            hint="ids carry no personal data and keep re-imports from duplicating records")
    known = maskable_columns(frames)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise SettingsError(f"cannot mask unknown column(s) {unknown}", hint=f"columns are: {', '.join(known)}")
    targets: set[tuple[str, str]] = set()
    for col in wanted:
        targets |= set(_MASK_LINKS.get(col, []))
        targets |= {(t, col) for t, df in frames.items() if col in df.columns}
    out = dict(frames)
    for table, col in sorted(targets):
        df = out.get(table)
        if df is None or col not in df.columns:
            continue
        df = df.copy()
        df[col] = _mask_series(df[col], col, mode)
        out[table] = df
    return out, sorted({c for _, c in targets})


def _mask_series(s: pd.Series, col: str, mode: str) -> pd.Series:
    if col in _NON_TEXT:
        return pd.Series(np.nan if s.dtype.kind == "f" else None, index=s.index,
                         dtype="float64" if s.dtype.kind == "f" else object)
    if mode == "redact":
        return pd.Series(None, index=s.index, dtype=object)
    one = (lambda v: pseudonym(v, col)) if col not in _MULTI_COLS else \
        (lambda v: "; ".join(pseudonym(p, "email" if col == "emails" else col) for p in split_tags(v)) or None)
    return umap(s, one)


# ------------------------------------------------------------------------------------------- values
def iso_date(s: pd.Series) -> pd.Series:
    """YYYY-MM-DD text (the date part of ISO datetimes), None for anything else."""
    return umap(text(s), lambda v: v[:10] if _ISO_DATE.match(v) else None)


def number(s: pd.Series, *, scale: float = 1.0, decimals: int = 2) -> pd.Series:
    """Numbers as plain text without thousands separators or trailing zeros ('1500', '1499.5')."""
    vals = pd.to_numeric(s, errors="coerce").astype("float64") * scale
    def fmt(v: float) -> str:
        out = f"{round(v, decimals):.{decimals}f}"
        out = out.rstrip("0").rstrip(".") if "." in out else out
        return "0" if out == "-0" else out

    return pd.Series([None if v != v else fmt(v) for v in vals.tolist()], index=s.index, dtype=object)


def first_filled(*series: pd.Series) -> pd.Series:
    out = series[0].copy()
    for s in series[1:]:
        out = out.where(out.notna(), s)
    return out.where(out.notna(), None).astype(object)


def country_name(code: object, *, official: bool = False) -> str | None:
    """English country name for an ISO alpha-2 code ('DE' -> 'Germany'); unknown codes pass through."""
    if not isinstance(code, str):
        return None
    import pycountry

    hit = pycountry.countries.get(alpha_2=code.upper())
    if hit is None:
        return code
    return hit.name if official else getattr(hit, "common_name", None) or hit.name


def deal_titles(deals: pd.DataFrame) -> pd.Series:
    """Deal name, else '<company or contact> deal', else 'Deal <id>' (every CRM requires one)."""
    who = first_filled(deals["company"], deals["contact_name"], deals["contact_email"])
    fallback = pd.Series([f"{w} deal" if w else f"Deal {i}" for w, i in zip(who, deals["deal_id"])],
                         index=deals.index, dtype=object)
    return first_filled(deals["name"], fallback)


def map_stages(stage: pd.Series, mapping: Mapping[str, str], default: str,
               warnings: list[str], target: str) -> pd.Series:
    """crmkit stage -> target stage; empty -> ``default``; unknown stages pass through with a warning."""
    out = umap(stage, lambda v: mapping.get(v.strip().lower())).where(stage.notna(), default)
    unknown = sorted(set(stage[out.isna()].dropna()))
    if unknown:
        warnings.append(f"{target}: stage(s) {unknown} have no default mapping and are exported as is; "
                        "create matching stages in the CRM or edit the column")
    return out.where(out.notna(), stage).astype(object)


# ------------------------------------------------------------------------------------------- bundle
@dataclass
class Prepared:
    """Canonical frames ready for a target: filtered, linked to companies, masked."""

    contacts: pd.DataFrame
    companies: pd.DataFrame
    deals: pd.DataFrame
    orders: pd.DataFrame
    masked: list[str] = field(default_factory=list)
    mask_mode: str = "hash"
    filter_tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    today: dt.date = field(default_factory=dt.date.today)


def prepare(store_or_tables: object, *, segments=None, tags=None, mask=None, mask_mode: str = "hash") -> Prepared:
    tables = load_tables(store_or_tables)
    if mask_mode not in MASK_MODES:
        raise SettingsError(f"unknown mask_mode {mask_mode!r}", hint=f"use one of {', '.join(MASK_MODES)}")
    want = wanted_tags(segments, tags)
    contacts = filter_contacts(tables["contacts"], want)
    deals = link_deals(tables["deals"], tables["contacts"])
    orders = tables["orders"]
    if want is not None:
        kept = set(contacts["contact_id"])
        orders = orders[orders["contact_id"].isin(kept)].reset_index(drop=True)
    companies, contacts, deals = derive_companies(contacts, deals)
    if want is not None:
        keys = set(contacts["company_key"].dropna()) | set(companies.loc[companies["n_contacts"] > 0, "company_key"])
        keep = deals["contact_id"].isin(set(contacts["contact_id"])) | (
            deals["contact_id"].isna() & deals["company_id"].isin(
                set(companies.loc[companies["company_key"].isin(keys), "company_id"])))
        deals = deals[keep.to_numpy()].reset_index(drop=True)
        used = set(contacts["company_id"].dropna()) | set(deals["company_id"].dropna())
        companies = companies[companies["company_id"].isin(used)].reset_index(drop=True)
    frames, masked = mask_frames({"contacts": contacts, "companies": companies, "deals": deals,
                                  "orders": orders}, mask, mask_mode)
    return Prepared(frames["contacts"], frames["companies"], frames["deals"], frames["orders"],
                    masked=masked, mask_mode=mask_mode, filter_tags=sorted(want or []))


# ------------------------------------------------------------------------------------------- writing
def check_max_rows(max_rows: int | None) -> None:
    if max_rows is not None and (not isinstance(max_rows, (int, np.integer)) or max_rows < 1):
        raise SettingsError(f"max_rows must be a whole number of at least 1, not {max_rows!r}",
                            hint="leave it out to use the target's documented limit")


def chunks(df: pd.DataFrame, max_rows: int | None) -> list[pd.DataFrame]:
    if max_rows is None or len(df) <= max_rows:
        return [df]
    return [df.iloc[i:i + max_rows] for i in range(0, len(df), max_rows)]


def part_names(stem: str, suffix: str, n: int) -> list[str]:
    return [f"{stem}{suffix}"] if n == 1 else [f"{stem}_part{i}{suffix}" for i in range(1, n + 1)]


def write_csv_parts(frames: Mapping[str, pd.DataFrame], out_dir: Path, max_rows: int | None,
                    written: list[Path], rows: dict[str, int]) -> dict[str, list[str]]:
    """Write each frame (stem -> frame) as UTF-8-BOM, formula-safe CSV, split at ``max_rows``.

    Empty frames are not written (a CRM import rejects a file without rows). Returns stem -> file names.
    """
    names: dict[str, list[str]] = {}
    for stem, df in frames.items():
        if df.empty:
            names[stem] = []
            continue
        parts = chunks(df, max_rows)
        names[stem] = part_names(stem, ".csv", len(parts))
        for name, part in zip(names[stem], parts):
            written.append(write_csv(part, out_dir / name))
            rows[name] = len(part)
    return names


def files_list(names: Mapping[str, list[str]]) -> str:
    return ", ".join(f"`{n}`" for ns in names.values() for n in ns) or "(none)"


def readme_common(prep: Prepared, max_rows: int | None) -> str:
    """The options section shared by every README."""
    lines = ["## How this export was made", ""]
    lines.append(f"- Written by crmkit on {prep.today.isoformat()}: {len(prep.contacts)} contacts, "
                 f"{len(prep.companies)} companies, {len(prep.deals)} deals.")
    if prep.filter_tags:
        lines.append(f"- Only contacts tagged with any of: {', '.join(prep.filter_tags)} "
                     "(and their companies and deals).")
    if prep.masked:
        how = ("replaced by stable pseudonyms (SHA-256 prefix; emails look like `h_…@example.invalid`, "
               "phones `+999…`; a pseudonym, not anonymisation)" if prep.mask_mode == "hash"
               else "emptied")
        lines.append(f"- **Test import: masked columns** {', '.join(prep.masked)} were {how}. "
                     "Do not use these files for the real migration.")
    if max_rows:
        lines.append(f"- Files are split into parts of at most {max_rows:,} rows (`_part1`, `_part2`, …); "
                     "import the parts of one file in order, before the next file.")
    lines.append("- CSV files are UTF-8 with a byte-order mark, comma-separated. Text that a spreadsheet "
                 "would run as a formula (starting with = + - @) is prefixed with an apostrophe `'`; the CRM "
                 "imports the apostrophe too, so remove it there where the value is genuine.")
    lines.append("- Phone numbers are E.164 (`+4930123456`, accepted as is), extensions are in a column of "
                 "their own; dates are ISO `YYYY-MM-DD`; empty values are empty cells.")
    if prep.warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in prep.warnings]
    return "\n".join(lines) + "\n"


def stage_table(mapping: Mapping[str, str], header: str, extra: Mapping[str, str] | None = None) -> str:
    lines = [f"| crmkit stage | {header} |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in mapping.items()]
    for k, v in (extra or {}).items():
        lines.append(f"| {k} | {v} |")
    return "\n".join(lines) + "\n"


def write_readme(out_dir: Path, body: str, written: list[Path]) -> Path:
    path = out_dir / "README.md"
    path.write_text(body, encoding="utf-8")
    written.append(path)
    return path
