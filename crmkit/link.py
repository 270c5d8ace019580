"""Build contacts from cleaned rows: derive customers of deals and orders, match, merge, link.

Deals and orders name their customer by email and/or name. Each distinct customer of a sheet becomes
a *derived* contact record; it is tied to a contact record with the same email (or the same unique
name, when it has no email) and otherwise goes through matching like any other record. Deals and
orders then point at the contact their derived record was merged into.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd

from crmkit._link_tables import (_columns, _explanations, _has_duplicates, _hash_ids, _isin,
                                 _keep_store_tags, _merge_history, _not_in_pairs, _Positions)
from crmkit.store import TABLE_COLUMNS

RECORD_COLUMNS = [c for c in TABLE_COLUMNS["contact_records"] if c not in ("contact_id", "batch_id")]
_VALID_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# the merge's fields read in the clustering process (some address ones, a tenth of the reading: clustering
# takes about as long as the rest), the others here meanwhile
_READ_BESIDE = ("job_title", "city", "region", "country", "website")


@dataclass
class BuildResult:
    contact_records: pd.DataFrame
    contacts: pd.DataFrame
    deals: pd.DataFrame
    orders: pd.DataFrame
    record_targets: pd.Series          # source record id -> contact_id / deal_id / order_id
    lineage: pd.DataFrame
    contact_values: pd.DataFrame
    conflicts: pd.DataFrame
    match_pairs: pd.DataFrame
    review_queue: pd.DataFrame
    merge_history: pd.DataFrame
    stats: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"contacts": self.contacts, "contact_records": self.contact_records, "deals": self.deals,
                "orders": self.orders, "lineage": self.lineage, "contact_values": self.contact_values,
                "conflicts": self.conflicts, "match_pairs": self.match_pairs, "review_queue": self.review_queue}


def _norm_name(s: pd.Series) -> pd.Series:
    return (s.astype("string").str.casefold().str.replace(r"[\s\.,'\-]+", " ", regex=True).str.strip()
            .replace("", pd.NA))


def _valid_email(s: pd.Series) -> pd.Series:
    s = s.astype("string")
    return s.where(s.str.match(_VALID_EMAIL, na=False))


def derive_customer_records(rows: pd.DataFrame, entity: str) -> tuple[pd.DataFrame, pd.Series]:
    """One contact record per distinct customer (email, else name) of each sheet of deals/orders.

    Returns the derived records and, for every input row, the record id of its customer (None when the
    row names no customer).
    """
    email_col, name_col = ("contact_email", "contact_name") if entity == "deal" else ("customer_email", "customer_name")
    if rows.empty:
        return pd.DataFrame(columns=RECORD_COLUMNS), pd.Series([], dtype=object)
    email = _valid_email(rows.get(email_col, pd.Series(None, index=rows.index)))
    raw_email = rows.get(email_col, pd.Series(None, index=rows.index)).astype("string")
    name = rows.get(name_col, pd.Series(None, index=rows.index)).astype("string")
    key = ("e:" + email).fillna("n:" + _norm_name(name)).fillna("r:" + raw_email.str.casefold())
    key_frame = pd.DataFrame({"f": rows["source_file"].astype(str), "s": rows["source_sheet"].astype(str), "k": key})
    rec_ids = _hash_ids("X", key_frame).where(key.notna())
    first = ~rec_ids.duplicated() & rec_ids.notna()
    src = rows[first]

    def most_common(values: pd.Series) -> np.ndarray:
        """Per customer, the value its rows give most often (ties: the first row's): a customer whose
        first order lacks the name still gets the name the other orders carry."""
        v = values.astype("string").str.strip().replace("", pd.NA)
        df = pd.DataFrame({"id": rec_ids, "v": v, "n": np.arange(len(v))}).dropna()
        if df.empty:
            return np.full(int(first.sum()), None, dtype=object)
        stats = df.groupby(["id", "v"], sort=False).agg(k=("n", "size"), at=("n", "min")).reset_index()
        best = stats.sort_values(["id", "k", "at"], ascending=[True, False, True]).drop_duplicates("id")
        return rec_ids[first].map(best.set_index("id")["v"]).astype(object).where(lambda x: x.notna(), None).values

    derived = pd.DataFrame({
        "record_id": rec_ids[first].values,
        "email": raw_email[first].values,
        "full_name": most_common(name),
        "company": most_common(rows["company"]) if "company" in rows else None,
        "company_key": most_common(rows["company_key"]) if "company_key" in rows else None,
        "source_file": src["source_file"].values,
        "source_sheet": src["source_sheet"].values,
        "source_row": src["source_row"].values,
    })
    if len(derived):
        from crmkit.clean.names import clean_names

        none = pd.Series([None] * len(derived), index=derived.index, dtype=object)
        names = clean_names(none, none, derived["full_name"]).values
        for c in ("first_name", "last_name", "full_name", "salutation"):
            if c in names:
                derived[c] = names[c].values
    return derived.reindex(columns=RECORD_COLUMNS), rec_ids


def _forced_links(derived: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Pairs (derived, contact record) tied by the same valid email, or by a unique exact name.

    ``records`` are all records; derived ones (ids starting with "X") are left out here."""
    if derived.empty or records.empty:
        return pd.DataFrame(columns=["record_id_l", "record_id_r"])
    rec = records.loc[~records["record_id"].str.startswith("X"), ["record_id", "email", "full_name"]].copy()
    rec["email_v"] = _valid_email(rec["email"])
    d = derived[["record_id", "email", "full_name"]].copy()
    d["email_v"] = _valid_email(d["email"])
    by_email = d.dropna(subset=["email_v"]).merge(
        rec.dropna(subset=["email_v"]).drop_duplicates("email_v")[["email_v", "record_id"]],
        on="email_v", suffixes=("_l", "_r"))
    no_email = d[d["email_v"].isna()].assign(n=lambda x: _norm_name(x["full_name"])).dropna(subset=["n"])
    rec["n"] = _norm_name(rec["full_name"])
    unique_names = rec.dropna(subset=["n"]).groupby("n")["record_id"].agg(["first", "size"])
    unique_names = unique_names[unique_names["size"] == 1]["first"]
    by_name = no_email.assign(record_id_r=no_email["n"].map(unique_names)).dropna(subset=["record_id_r"])
    by_name = by_name.rename(columns={"record_id": "record_id_l"})
    return pd.concat([by_email[["record_id_l", "record_id_r"]], by_name[["record_id_l", "record_id_r"]]],
                     ignore_index=True)


def _kept_parts(prev: pd.Series, cluster: np.ndarray) -> np.ndarray:
    """Mask of the records of ``prev`` whose stored contact id is kept (see :func:`_keepable_ids`):
    in the cluster holding most of that contact's records; on a tie, the one holding the smallest
    record id. Only contacts split across clusters are compared record by record."""
    keep = np.zeros(len(prev), bool)
    ok = np.flatnonzero(~np.isnan(cluster))
    if not len(ok):
        return keep
    contact = pd.factorize(prev.values[ok])[0].astype(np.int64)
    part = pd.factorize(contact * (int(np.nanmax(cluster[ok])) + 1) + cluster[ok].astype(np.int64))[0]
    part_contact = np.zeros(int(part.max()) + 1, np.int64)
    part_contact[part] = contact
    parts_per_contact = np.bincount(part_contact)
    whole = parts_per_contact[contact] == 1
    keep[ok[whole]] = True
    split = ok[~whole]
    if len(split):  # the contacts in several clusters: as before, by size, then smallest record id
        df = pd.DataFrame({"contact_id": prev.values[split], "cluster": cluster[split], "record_id": prev.index[split],
                           "at": split})
        sizes = df.groupby(["contact_id", "cluster"]).agg(n=("record_id", "size"), first=("record_id", "min"))
        sizes = sizes.reset_index().sort_values(["contact_id", "n", "first"], ascending=[True, False, True])
        best = sizes.drop_duplicates("contact_id")[["contact_id", "cluster"]]
        keep[df.merge(best, on=["contact_id", "cluster"])["at"].to_numpy()] = True
    return keep


def _pair_decisions(decisions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest merge/never decision per unordered record pair wins."""
    d = decisions[decisions["kind"].isin(["merge", "never"])].copy()
    if d.empty:
        empty = pd.DataFrame(columns=["record_id_l", "record_id_r"])
        return empty, empty
    d["_order"] = pd.to_numeric(d["decision_id"], errors="coerce").fillna(0)
    lo = d[["record_id_l", "record_id_r"]].min(axis=1)
    hi = d[["record_id_l", "record_id_r"]].max(axis=1)
    d = d.assign(_a=lo, _b=hi).sort_values("_order").drop_duplicates(["_a", "_b"], keep="last")
    return (d[d["kind"] == "merge"][["record_id_l", "record_id_r"]],
            d[d["kind"] == "never"][["record_id_l", "record_id_r"]])


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components over pairs of positions (-1: not a record): each record's smallest member."""
    from crmkit.match.cluster import components

    ok = (left >= 0) & (right >= 0)
    return components(n, left[ok], right[ok])


def _same_cluster(label: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    ok = (left >= 0) & (right >= 0)
    same = np.zeros(len(left), bool)
    same[ok] = label[left[ok]] == label[right[ok]]
    return same


def _apply_never(label: np.ndarray, accepted: tuple, never: tuple, forced: tuple) -> np.ndarray:
    """Split components that contain a 'never merge' pair: drop non-forced edges touching those records.

    Every argument is positional: ``label`` per record, and (left, right) position arrays of the accepted
    edges, the never pairs and the forced edges."""
    acc_l, acc_r = accepted
    never_l, never_r = never
    n = len(label)
    for _ in range(5):
        bad = _same_cluster(label, never_l, never_r)
        if not bad.any():
            return label
        touched = np.zeros(n + 1, bool)  # the extra slot: position -1, never touched
        touched[never_l[bad]] = touched[never_r[bad]] = True
        touched[-1] = False
        keep = ~(touched[acc_l] | touched[acc_r])
        acc_l, acc_r = np.concatenate([acc_l[keep], forced[0]]), np.concatenate([acc_r[keep], forced[1]])
        label = _components(n, acc_l, acc_r)
    # last resort: the right-hand records of remaining bad pairs stand alone
    bad = _same_cluster(label, never_l, never_r)
    label = label.copy()
    label[never_r[bad]] = never_r[bad]
    return label


def build_contacts(contacts_in: pd.DataFrame, deals_in: pd.DataFrame, orders_in: pd.DataFrame, *,
                   existing: dict[str, pd.DataFrame] | None, dedupe: bool, match_settings=None, rules=None,
                   batch_id: str, actor: str, progress: Callable[[str, float], None] | None = None,
                   pairs: pd.DataFrame | None = None) -> BuildResult:
    """Contact records → matched → merged contacts; deals and orders linked to them.

    ``pairs`` replays stored match pairs instead of matching again (used after a manual decision).
    Past matching, everything works on record positions (one hash lookup of the pair ids), not on
    record id texts. Large runs share the work with a forked second process (:mod:`crmkit._fork`):
    clustering, explanations and a few fields of the records while the others are read here, the contact ids and
    the winners of some fields while the others are chosen here, conflicts, merge history and the email rows of the
    values while the phone rows, lineage, deals, orders and pairs are made here; ``CRMKIT_WORKERS=0`` does it all
    here, with the same results.
    """
    from crmkit._fork import Beside
    from crmkit.merge._records import _read_fields
    from crmkit.merge._values import _narrow, _take_text
    from crmkit.merge.golden import _merge_coded, _read_records
    from crmkit.merge.rules import FIELDS

    say = progress or (lambda s, f: None)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    new_records = _columns(contacts_in, RECORD_COLUMNS) if len(contacts_in) else pd.DataFrame(columns=RECORD_COLUMNS)
    d_deals, deal_cust = derive_customer_records(deals_in, "deal")
    d_orders, order_cust = derive_customer_records(orders_in, "order")
    old_records = existing["contact_records"] if existing is not None else pd.DataFrame(columns=RECORD_COLUMNS + ["contact_id", "batch_id"])
    derived = pd.concat([d_deals, d_orders], ignore_index=True).drop_duplicates("record_id")
    if len(derived) and len(old_records):
        derived = derived[~_isin(derived["record_id"], old_records["record_id"])]
    records, is_new = _all_records(old_records, new_records, derived, batch_id)
    del new_records
    forced = _forced_links(derived, records)
    if existing is not None and len(existing["match_pairs"]):
        old_links = existing["match_pairs"][existing["match_pairs"]["decision"] == "link"]
        forced = pd.concat([old_links[["record_id_l", "record_id_r"]], forced], ignore_index=True)
        forced = forced.drop_duplicates(["record_id_l", "record_id_r"]).reset_index(drop=True)

    decisions = existing["decisions"] if existing is not None else pd.DataFrame(columns=TABLE_COLUMNS["decisions"])
    must, never = _pair_decisions(decisions)
    settings_json: dict = {}
    replay = pairs is not None
    pairs = pairs[pairs["decision"] != "link"] if replay else pd.DataFrame(
        columns=["record_id_l", "record_id_r", "match_weight", "match_probability", "decision"])
    if not replay and dedupe and len(records) > 1:
        from crmkit.match import MatchSettings, find_duplicates

        say("finding duplicates", 0.1)
        settings = match_settings if match_settings is not None else MatchSettings()
        if isinstance(settings, str):
            settings = MatchSettings.from_json(settings)
        pairs = find_duplicates(records, settings)
        trained = getattr(pairs, "attrs", {}).get("settings")
        settings_json = json.loads(trained.to_json()) if trained is not None else json.loads(settings.to_json())
    # pandas deep-copies a frame's attrs (the matcher's trained settings) into every frame derived from it:
    # work on the pairs without them; the tables made from the pairs get them back at the end
    pairs_attrs = pairs.attrs
    if pairs_attrs:
        pairs = pairs.copy(deep=False)
        pairs.attrs = {}
    say("clustering", 0.6)
    never_keys = set(zip(never["record_id_l"], never["record_id_r"])) | set(zip(never["record_id_r"], never["record_id_l"]))
    hard = pd.concat([forced, must], ignore_index=True)
    hard = hard[_not_in_pairs(hard["record_id_l"], hard["record_id_r"], never_keys)] if len(hard) else hard
    n = len(records)
    positions = _Positions(records["record_id"])
    explain = len(pairs) and not ("explanation" in pairs and not any(c.startswith("weight_") for c in pairs.columns))

    def clustered() -> tuple:
        """Positions of the pairs' records, the cluster of each record (never-pairs applied), the stored contact
        id each record keeps, and the pairs' explanations: in a second process when the run is large, while
        this one reads the records' values for the merge."""
        pair_l, pair_r, hard_l, hard_r, never_l, never_r, forced_l, forced_r = positions.of(
            pairs["record_id_l"], pairs["record_id_r"], hard["record_id_l"], hard["record_id_r"],
            never["record_id_l"], never["record_id_r"], forced["record_id_l"], forced["record_id_r"])
        auto = np.flatnonzero((pairs["decision"] == "merge").to_numpy(dtype=bool)) if len(pairs) else \
            np.zeros(0, np.int64)
        auto = auto[_not_in_pairs(pairs["record_id_l"].take(auto), pairs["record_id_r"].take(auto), never_keys)]
        if dedupe:
            label = _cluster_labels(pairs, auto, pair_l, pair_r, hard_l, hard_r, n)
        else:
            label = _components(n, hard_l, hard_r)
        label = _apply_never(label, (np.concatenate([pair_l[auto], hard_l]), np.concatenate([pair_r[auto], hard_r])),
                             (never_l, never_r), (hard_l, hard_r))
        keep_ids = None  # per record, the stored contact id it keeps (aligned with records)
        if len(old_records):
            prev = old_records.set_index("record_id")["contact_id"].dropna()
            if len(prev):
                (at,) = positions.of(pd.Series(prev.index, dtype=object))
                kept = _kept_parts(prev, np.where(at >= 0, label[np.maximum(at, 0)], np.nan))
                kept &= at >= 0
                # a record listed twice keeps the id of its last row (as a dict built from the rows would)
                last = ~pd.Series(at).duplicated(keep="last").to_numpy()
                ids = np.full(n, None, dtype=object)
                ids[at[kept & last]] = prev.values[kept & last]
                keep_ids = pd.Series(ids, dtype="str")
        # (positions as narrow integers: when this runs in a child, its result pickles smaller)
        return (_narrow(pd.factorize(label)[0], n), keep_ids, _narrow(pair_l, n), _narrow(pair_r, n), forced_l,
                forced_r, _explanations(pairs) if explain else None, _read_fields(records, _READ_BESIDE))

    with Beside(clustered, n) as cluster_job:
        fields = _read_fields(records, [f for f in FIELDS if f not in _READ_BESIDE])
        codes, keep_ids, pair_l, pair_r, forced_l, forced_r, explanations, read_beside = cluster_job.result()
    rules, frame = _read_records(records, rules, {**fields, **read_beside})
    del fields, read_beside

    say("merging", 0.75)

    def with_ids(contact_rows: np.ndarray, contact_ids: pd.Series) -> pd.DataFrame:
        """The merge history, made with the contact ids (in the merge's second process when the run is large)."""
        return _merge_history(contact_rows, contact_ids, records["record_id"], is_new, now, actor, batch_id)

    def link_rest(formed) -> tuple:
        """Deals, orders, record targets, match pairs and review queue, from the formed contacts (``formed``:
        contact_rows, contact_ids, membership, merged_ids); run by the merge while it assembles the rest."""
        membership = formed.membership.set_index("record_id")["contact_id"]
        contact_ids = formed.contact_ids
        contact_rows = formed.contact_rows

        def contact_of(at: np.ndarray, index=None) -> pd.Series:
            """The contact id of the records at positions ``at`` (-1: none)."""
            if len(at) and (at >= 0).all():
                out = _take_text(contact_ids.astype("str"), contact_rows[at])
                return out.set_axis(index) if index is not None else out
            rows = np.full(len(at), -1, np.int64)
            rows[at >= 0] = contact_rows[at[at >= 0]]
            return pd.Series(contact_ids.array.take(rows, allow_fill=True), dtype="str", index=index)

        def contact_of_ids(ids: pd.Series) -> pd.Series:
            return contact_of(positions.of(ids)[0], ids.index)

        contact_records = records.assign(contact_id=formed.membership["contact_id"].array)

        # deals and orders
        deals = _link_entity(deals_in, deal_cust, contact_of_ids, "deal", existing, batch_id)
        orders, order_dupes = _link_orders(orders_in, order_cust, contact_of_ids, existing, batch_id)
        targets = [membership] + [t for t in (
            pd.Series(deals["deal_id"].values, index=deals["_source_record_id"].values) if len(deals) else None,
            order_dupes) if t is not None and len(t)]
        targets = pd.concat(targets) if len(targets) > 1 else membership  # (an empty part would make it object)
        deals = deals.drop(columns=["_source_record_id"], errors="ignore")
        if existing is not None and len(existing["deals"]):
            old = existing["deals"].copy()
            old["contact_id"] = _relink(old, contact_of_ids, formed)
            deals = pd.concat([old, deals], ignore_index=True)
        if existing is not None and len(existing["orders"]):
            old = existing["orders"].copy()
            old["contact_id"] = _relink(old, contact_of_ids, formed)
            orders = pd.concat([old, orders[~orders["order_id"].isin(old["order_id"])]], ignore_index=True)

        # pairs, review queue
        review = pd.DataFrame(columns=TABLE_COLUMNS["review_queue"])
        links = forced.assign(match_probability=1.0, decision="link", batch_id=batch_id,
                              contact_id_l=contact_of(forced_l, forced.index),
                              contact_id_r=contact_of(forced_r, forced.index))
        match_pairs = links.reindex(columns=TABLE_COLUMNS["match_pairs"])
        if len(pairs):
            mp = pairs[[c for c in pairs.columns if c in TABLE_COLUMNS["match_pairs"]]].reset_index(drop=True)
            mp["contact_id_l"] = contact_of(pair_l).array
            mp["contact_id_r"] = contact_of(pair_r).array
            if explain:
                mp["explanation"] = explanations
            mp["batch_id"] = batch_id
            scored = mp.reindex(columns=TABLE_COLUMNS["match_pairs"])
            scored.attrs = copy.deepcopy(pairs_attrs)
            # (an empty frame in the concatenation would turn the text columns into objects)
            match_pairs = pd.concat([scored, match_pairs], ignore_index=True) if len(match_pairs) else scored
            decided = set(zip(decisions["record_id_l"], decisions["record_id_r"])) | \
                set(zip(decisions["record_id_r"], decisions["record_id_l"]))
            open_pair = (mp["decision"] == "review") & (mp["contact_id_l"] != mp["contact_id_r"])
            rq = mp[[c for c in mp.columns if c in TABLE_COLUMNS["review_queue"]]][open_pair]  # (no explanations)
            rq = rq[_not_in_pairs(rq["record_id_l"], rq["record_id_r"], decided)]
            rq = rq.sort_values("match_probability", ascending=False).reset_index(drop=True)
            del mp
            old_rq = existing["review_queue"] if existing is not None else None
            review = rq.reindex(columns=TABLE_COLUMNS["review_queue"]).assign(
                pair_id=np.arange(1, len(rq) + 1), status="open")
            review.attrs = copy.deepcopy(pairs_attrs)
            if old_rq is not None and len(old_rq):
                # keep statuses a person already set (e.g. 'skipped')
                st = old_rq.set_index(["record_id_l", "record_id_r"])["status"]
                keyed = pd.MultiIndex.from_frame(review[["record_id_l", "record_id_r"]])
                review["status"] = pd.Series(st.reindex(keyed).values).fillna("open").values
        return contact_records, deals, orders, targets, match_pairs, review

    result = _merge_coded(records, codes, rules, existing=keep_ids, existing_aligned=True, with_ids=with_ids,
                          meanwhile=link_rest, frame=frame)
    del frame
    history = result.with_ids
    contact_records, deals, orders, targets, match_pairs, review = result.meanwhile
    absorbed = getattr(result, "merged_ids", None)
    if absorbed is not None and len(absorbed):
        history = pd.concat([history, pd.DataFrame({
            "at": now, "action": "absorb", "contact_id": absorbed.iloc[:, 0].values,
            "into_contact_id": absorbed.iloc[:, 1].values, "record_ids": None, "actor": actor,
            "batch_id": batch_id})], ignore_index=True)
    stats = {
        "pairs_scored": int(len(pairs)),
        "pairs_merged": int((pairs["decision"] == "merge").sum()) if len(pairs) else 0,
        "pairs_review": int(len(review[review["status"] == "open"])) if len(review) else 0,
        "linked_by_email_or_name": int(len(forced)),
        "clusters_merged": int((result.contacts["n_records"] > 1).sum()),
    }
    contacts = _keep_store_tags(result.contacts.assign(updated_at=now), contact_records,
                                existing["contacts"] if existing is not None else None)
    return BuildResult(contact_records=contact_records, contacts=contacts, deals=deals, orders=orders,
                       record_targets=targets, lineage=result.lineage, contact_values=result.values,
                       conflicts=result.conflicts, match_pairs=match_pairs, review_queue=review,
                       merge_history=history, stats=stats, settings=settings_json)


def _all_records(old: pd.DataFrame, new: pd.DataFrame, derived: pd.DataFrame, batch_id: str
                 ) -> tuple[pd.DataFrame, np.ndarray]:
    """Stored records, then this batch's contact and derived records (one row per record id, the first
    kept), and which of them are in this batch (their id is among the batch's records).

    Only the parts that hold rows are concatenated (an empty part would turn every column into
    object dtype, copying each value); the columns are in the order the concatenation of all gives.
    """
    old = old.drop(columns=["contact_id"], errors="ignore")
    batch = [p.assign(batch_id=batch_id) for p in (new, derived)]
    columns = list(old.columns) + [c for c in dict.fromkeys([*batch[0].columns, *batch[1].columns])
                                   if c not in old.columns]
    parts = [p for p in (old, *batch) if len(p)]
    if not parts or any(set(p.columns) != set(columns) for p in parts):
        records = pd.concat([old, pd.concat(batch, ignore_index=True)], ignore_index=True)
    else:
        records = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if list(records.columns) != columns:
            records = records[columns]
    is_new = np.r_[np.zeros(len(old), bool), np.ones(len(records) - len(old), bool)]
    if len(old) and len(records) > len(old):
        is_new[:len(old)] = _isin(old["record_id"], pd.concat([p["record_id"] for p in batch if len(p)]))
    if _has_duplicates(records["record_id"]):
        dup = records["record_id"].duplicated().to_numpy()
        records, is_new = records[~dup], is_new[~dup]
    return records.reset_index(drop=True), is_new


def _cluster_labels(pairs: pd.DataFrame, auto: np.ndarray, pair_l: np.ndarray, pair_r: np.ndarray,
                    hard_l: np.ndarray, hard_r: np.ndarray, n: int) -> np.ndarray:
    """crmkit.match.cluster over the auto-merge pairs (rows ``auto``) and the forced/must edges, on positions."""
    from crmkit.match.cluster import cluster_labels, other_evidence

    def number(col: str) -> np.ndarray:
        if col not in pairs:
            return np.zeros(len(auto))
        return pd.to_numeric(pairs[col].take(auto), errors="coerce").fillna(0).to_numpy(float)

    weights = {c[len("weight_"):]: pairs[c].take(auto).to_numpy() for c in pairs.columns if str(c).startswith("weight_")}
    support, against = other_evidence(weights) if weights else (np.zeros(len(auto)), np.zeros(len(auto)))
    k = len(hard_l)
    return cluster_labels(n, np.concatenate([pair_l[auto], hard_l]), np.concatenate([pair_r[auto], hard_r]),
                          np.concatenate([number("match_weight"), np.full(k, 99.0)]), np.ones(len(auto) + k, bool),
                          np.concatenate([support, np.zeros(k)]), np.concatenate([against, np.zeros(k)]),
                          np.concatenate([number("weight_conflict"), np.zeros(k)]))


def _relink(rows: pd.DataFrame, contact_of_ids, result) -> pd.Series:
    """Stored deals/orders follow their customer record into whatever contact it now belongs to."""
    via_record = contact_of_ids(rows["customer_record_id"]) if "customer_record_id" in rows else None
    old = _remap_contacts(rows["contact_id"], result)
    return via_record.fillna(old) if via_record is not None else old


def _remap_contacts(ids: pd.Series, result) -> pd.Series:
    absorbed = getattr(result, "merged_ids", None)
    if absorbed is None or not len(absorbed):
        return ids
    into = pd.Series(absorbed.iloc[:, 1].values, index=absorbed.iloc[:, 0].values)
    return ids.map(into).fillna(ids)


def _link_entity(rows: pd.DataFrame, cust: pd.Series, contact_of_ids, entity: str,
                 existing, batch_id: str) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS["deals"] + ["_source_record_id"])
    out = rows.copy()
    out["deal_id"] = rows["record_id"].values
    out["contact_id"] = contact_of_ids(cust).values
    out["customer_record_id"] = cust.values
    out["batch_id"] = batch_id
    out["_source_record_id"] = rows["record_id"].values
    return out.reindex(columns=TABLE_COLUMNS["deals"] + ["_source_record_id"])


def _link_orders(rows: pd.DataFrame, cust: pd.Series, contact_of_ids, existing,
                 batch_id: str) -> tuple[pd.DataFrame, pd.Series]:
    """Orders keyed by their own order number; the same order in two exports counts once."""
    if rows.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS["orders"]), pd.Series(dtype=object)
    out = rows.copy()
    out["contact_id"] = contact_of_ids(cust).values
    out["customer_record_id"] = cust.values
    given = out["order_id"].astype("string").str.strip().replace("", pd.NA) if "order_id" in out else \
        pd.Series(pd.NA, index=out.index, dtype="string")
    oid = given.copy()
    # same number, different content: keep both, number the later ones
    if given.notna().any():
        same_num = given.notna() & given.duplicated(keep=False)
        if same_num.any():
            key_cols = [c for c in ("order_id", "order_date", "amount", "customer_email") if c in out]
            texts = out[key_cols].astype(str).fillna("")
            content = texts[key_cols[0]]
            for c in key_cols[1:]:
                content = content + "|" + texts[c]
            first_content = content.groupby(given).transform("first")
            differs = same_num & (content != first_content)
            k = differs.groupby(given).cumsum()
            oid = oid.where(~differs, given + "-" + (k + 1).astype(str))
    oid = oid.fillna(pd.Series(rows["record_id"].values, index=out.index))
    out["order_id"] = oid.values
    targets = pd.Series(oid.values, index=rows["record_id"].values)
    out = out.drop_duplicates("order_id")
    out["batch_id"] = batch_id
    return out.reindex(columns=TABLE_COLUMNS["orders"]), targets
