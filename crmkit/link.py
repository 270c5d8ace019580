"""Build contacts from cleaned rows: derive customers of deals and orders, match, merge, link.

Deals and orders name their customer by email and/or name. Each distinct customer of a sheet becomes
a *derived* contact record; it is tied to a contact record with the same email (or the same unique
name, when it has no email) and otherwise goes through matching like any other record. Deals and
orders then point at the contact their derived record was merged into.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd

from crmkit.store import TABLE_COLUMNS

RECORD_COLUMNS = [c for c in TABLE_COLUMNS["contact_records"] if c not in ("contact_id", "batch_id")]
_VALID_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


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


def _hash_ids(prefix: str, frame: pd.DataFrame) -> pd.Series:
    h = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return pd.Series([f"{prefix}{v:016x}" for v in h.tolist()], index=frame.index)


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
    """Pairs (derived, contact record) tied by the same valid email, or by a unique exact name."""
    if derived.empty or records.empty:
        return pd.DataFrame(columns=["record_id_l", "record_id_r"])
    rec = records[["record_id", "email", "full_name"]].copy()
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


def _keepable_ids(prev: pd.Series, clusters: pd.Series) -> dict:
    """Stored contact ids to keep: a contact split across clusters keeps its id in its largest part only."""
    df = pd.DataFrame({"contact_id": prev.values, "cluster": clusters.reindex(prev.index).values,
                       "record_id": prev.index})
    df = df.dropna(subset=["cluster"])
    sizes = df.groupby(["contact_id", "cluster"]).agg(n=("record_id", "size"), first=("record_id", "min"))
    sizes = sizes.reset_index().sort_values(["contact_id", "n", "first"], ascending=[True, False, True])
    keep = sizes.drop_duplicates("contact_id")[["contact_id", "cluster"]]
    df = df.merge(keep, on=["contact_id", "cluster"])
    return dict(zip(df["record_id"], df["contact_id"]))


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


def _components(ids: pd.Index, pairs: pd.DataFrame) -> pd.Series:
    """Connected components over pairs (union-find on integer codes)."""
    parent = np.arange(len(ids))
    pos = pd.Series(np.arange(len(ids)), index=ids)
    if len(pairs):
        a = pos.reindex(pairs["record_id_l"]).to_numpy()
        b = pos.reindex(pairs["record_id_r"]).to_numpy()
        ok = ~(np.isnan(a.astype(float)) | np.isnan(b.astype(float)))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for x, y in zip(a[ok].astype(int), b[ok].astype(int)):
            rx, ry = find(x), find(y)
            if rx != ry:
                parent[max(rx, ry)] = min(rx, ry)
        for i in range(len(parent)):
            parent[i] = find(i)
    return pd.Series(ids[parent], index=ids)


def _apply_never(clusters: pd.Series, accepted: pd.DataFrame, never: pd.DataFrame, forced: pd.DataFrame) -> pd.Series:
    """Split components that contain a 'never merge' pair: drop non-forced edges touching those records."""
    for _ in range(5):
        bad = never[(never["record_id_l"].map(clusters) == never["record_id_r"].map(clusters))
                    & never["record_id_l"].map(clusters).notna()]
        if bad.empty:
            return clusters
        touched = set(bad["record_id_l"]) | set(bad["record_id_r"])
        keep = ~(accepted["record_id_l"].isin(touched) | accepted["record_id_r"].isin(touched))
        accepted = pd.concat([accepted[keep], forced], ignore_index=True)
        clusters = _components(clusters.index, accepted)
    # last resort: the right-hand records of remaining bad pairs stand alone
    bad = never[never["record_id_l"].map(clusters) == never["record_id_r"].map(clusters)]
    for r in bad["record_id_r"]:
        clusters[r] = r
    return clusters


def build_contacts(contacts_in: pd.DataFrame, deals_in: pd.DataFrame, orders_in: pd.DataFrame, *,
                   existing: dict[str, pd.DataFrame] | None, dedupe: bool, match_settings=None, rules=None,
                   batch_id: str, actor: str, progress: Callable[[str, float], None] | None = None,
                   pairs: pd.DataFrame | None = None) -> BuildResult:
    """Contact records → matched → merged contacts; deals and orders linked to them.

    ``pairs`` replays stored match pairs instead of matching again (used after a manual decision).
    """
    from crmkit.merge import merge

    say = progress or (lambda s, f: None)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    new_records = contacts_in.reindex(columns=RECORD_COLUMNS) if len(contacts_in) else \
        pd.DataFrame(columns=RECORD_COLUMNS)
    d_deals, deal_cust = derive_customer_records(deals_in, "deal")
    d_orders, order_cust = derive_customer_records(orders_in, "order")
    old_records = existing["contact_records"] if existing is not None else pd.DataFrame(columns=RECORD_COLUMNS + ["contact_id", "batch_id"])
    derived = pd.concat([d_deals, d_orders], ignore_index=True).drop_duplicates("record_id")
    derived = derived[~derived["record_id"].isin(old_records["record_id"])]
    new_all = pd.concat([new_records.assign(batch_id=batch_id), derived.assign(batch_id=batch_id)], ignore_index=True)
    records = pd.concat([old_records.drop(columns=["contact_id"], errors="ignore"), new_all], ignore_index=True)
    records = records.drop_duplicates("record_id").reset_index(drop=True)
    forced = _forced_links(derived, records[~records["record_id"].str.startswith("X")])
    if existing is not None and len(existing["match_pairs"]):
        old_links = existing["match_pairs"][existing["match_pairs"]["decision"] == "link"]
        forced = pd.concat([old_links[["record_id_l", "record_id_r"]], forced], ignore_index=True)
        forced = forced.drop_duplicates(["record_id_l", "record_id_r"]).reset_index(drop=True)

    decisions = existing["decisions"] if existing is not None else pd.DataFrame(columns=TABLE_COLUMNS["decisions"])
    must, never = _pair_decisions(decisions)
    settings_json: dict = {}
    replay = pairs is not None
    pairs = pairs[pairs["decision"] != "link"].copy() if replay else pd.DataFrame(
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
    say("clustering", 0.6)
    never_keys = set(zip(never["record_id_l"], never["record_id_r"])) | set(zip(never["record_id_r"], never["record_id_l"]))

    def not_never(df: pd.DataFrame) -> pd.Series:
        return pd.Series([(a, b) not in never_keys for a, b in zip(df["record_id_l"], df["record_id_r"])],
                         index=df.index, dtype=bool)

    auto = pairs[pairs["decision"] == "merge"] if len(pairs) else pairs
    auto = auto[not_never(auto)] if len(auto) else auto
    hard = pd.concat([forced, must], ignore_index=True)
    hard = hard[not_never(hard)] if len(hard) else hard
    accepted = pd.concat([auto[["record_id_l", "record_id_r"]], hard], ignore_index=True)
    ids = pd.Index(records["record_id"])
    if dedupe:
        try:
            from crmkit.match import cluster as match_cluster

            clusters = match_cluster(pd.concat([auto, hard.assign(match_probability=1.0, match_weight=99.0,
                                                                  decision="merge")], ignore_index=True), ids)
        except ImportError:
            clusters = _components(ids, accepted)
    else:
        clusters = _components(ids, hard)
    clusters = _apply_never(clusters, accepted, never, hard)

    say("merging", 0.75)
    prev = old_records.set_index("record_id")["contact_id"].dropna() if len(old_records) else pd.Series(dtype=object)
    result = merge(records, clusters, rules, existing=_keepable_ids(prev, clusters) if len(prev) else None)
    membership = result.membership
    if isinstance(membership, pd.DataFrame):
        membership = membership.set_index("record_id")["contact_id"]
    contact_records = records.assign(contact_id=records["record_id"].map(membership))

    # deals and orders
    deals = _link_entity(deals_in, deal_cust, membership, "deal", existing, batch_id)
    orders, order_dupes = _link_orders(orders_in, order_cust, membership, existing, batch_id)
    targets = pd.concat([
        membership,
        pd.Series(deals["deal_id"].values, index=deals["_source_record_id"].values) if len(deals) else pd.Series(dtype=object),
        order_dupes,
    ])
    deals = deals.drop(columns=["_source_record_id"], errors="ignore")
    if existing is not None and len(existing["deals"]):
        old = existing["deals"].copy()
        old["contact_id"] = _relink(old, membership, result)
        deals = pd.concat([old, deals], ignore_index=True)
    if existing is not None and len(existing["orders"]):
        old = existing["orders"].copy()
        old["contact_id"] = _relink(old, membership, result)
        orders = pd.concat([old, orders[~orders["order_id"].isin(old["order_id"])]], ignore_index=True)

    # pairs, review queue, history
    review = pd.DataFrame(columns=TABLE_COLUMNS["review_queue"])
    links = forced.assign(match_probability=1.0, decision="link", batch_id=batch_id,
                          contact_id_l=forced["record_id_l"].map(membership),
                          contact_id_r=forced["record_id_r"].map(membership))
    match_pairs = links.reindex(columns=TABLE_COLUMNS["match_pairs"])
    if len(pairs):
        mp = pairs.copy()
        mp["contact_id_l"] = mp["record_id_l"].map(membership)
        mp["contact_id_r"] = mp["record_id_r"].map(membership)
        if not ("explanation" in mp and not any(c.startswith("weight_") for c in mp.columns)):
            mp["explanation"] = _explanations(mp)
        mp["batch_id"] = batch_id
        match_pairs = pd.concat([mp.reindex(columns=TABLE_COLUMNS["match_pairs"]), match_pairs], ignore_index=True)
        decided = set(zip(decisions["record_id_l"], decisions["record_id_r"])) | \
            set(zip(decisions["record_id_r"], decisions["record_id_l"]))
        rq = mp[(mp["decision"] == "review") & (mp["contact_id_l"] != mp["contact_id_r"])]
        rq = rq[pd.Series([(a, b) not in decided for a, b in zip(rq["record_id_l"], rq["record_id_r"])],
                          index=rq.index, dtype=bool)]
        rq = rq.sort_values("match_probability", ascending=False).reset_index(drop=True)
        old_rq = existing["review_queue"] if existing is not None else None
        review = rq.reindex(columns=TABLE_COLUMNS["review_queue"]).assign(
            pair_id=np.arange(1, len(rq) + 1), status="open")
        if old_rq is not None and len(old_rq):
            # keep statuses a person already set (e.g. 'skipped')
            st = old_rq.set_index(["record_id_l", "record_id_r"])["status"]
            keyed = pd.MultiIndex.from_frame(review[["record_id_l", "record_id_r"]])
            review["status"] = pd.Series(st.reindex(keyed).values).fillna("open").values
    sizes = membership.value_counts()
    multi = sizes[sizes > 1]
    history = _merge_history(membership, multi, set(new_all["record_id"]), now, actor, batch_id)
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
        "clusters_merged": int(len(multi)),
    }
    contacts = _keep_store_tags(result.contacts.assign(updated_at=now), contact_records,
                                existing["contacts"] if existing is not None else None)
    return BuildResult(contact_records=contact_records, contacts=contacts, deals=deals, orders=orders,
                       record_targets=targets, lineage=result.lineage, contact_values=result.values,
                       conflicts=result.conflicts, match_pairs=match_pairs, review_queue=review,
                       merge_history=history, stats=stats, settings=settings_json)


def _split_tags(text) -> list[str]:
    if not isinstance(text, str):
        return []
    return [t.strip() for t in text.replace("|", ";").split(";") if t.strip()]


def _keep_store_tags(contacts: pd.DataFrame, records: pd.DataFrame, old: pd.DataFrame | None) -> pd.DataFrame:
    """Tags added in the store (e.g. RFM segments) survive a rebuild: re-attach those no record carries."""
    if old is None or old.empty or "tags" not in old or old["tags"].isna().all():
        return contacts
    rec_tags = records.dropna(subset=["tags"]).groupby("contact_id")["tags"].agg(
        lambda s: {t for v in s for t in _split_tags(v)})
    old_tags = old.dropna(subset=["tags"]).set_index("contact_id")["tags"]
    contacts = contacts.copy()
    pos = pd.Series(range(len(contacts)), index=contacts["contact_id"])
    col = contacts.columns.get_loc("tags")
    for cid, text in old_tags.items():
        if cid not in pos.index:
            continue
        extra = [t for t in _split_tags(text) if t not in rec_tags.get(cid, set())]
        if extra:
            current = _split_tags(contacts.iat[pos[cid], col])
            contacts.iat[pos[cid], col] = "; ".join(dict.fromkeys(current + extra))
    return contacts


def _merge_history(membership: pd.Series, multi: pd.Series, new_ids: set, now: str, actor: str,
                   batch_id: str) -> pd.DataFrame:
    """One 'merge' row per contact that this batch formed or grew from several records."""
    m = membership[membership.isin(multi.index)]
    if m.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS["merge_history"])
    touched = set(m[m.index.isin(new_ids)].values)
    m = m[m.isin(touched)]
    groups = pd.Series(m.index, index=m.values).groupby(level=0).agg(lambda x: json.dumps(sorted(x)))
    return pd.DataFrame({"at": now, "action": "merge", "contact_id": groups.index, "into_contact_id": groups.index,
                         "record_ids": groups.values, "actor": actor, "batch_id": batch_id})


def _relink(rows: pd.DataFrame, membership: pd.Series, result) -> pd.Series:
    """Stored deals/orders follow their customer record into whatever contact it now belongs to."""
    via_record = rows["customer_record_id"].map(membership) if "customer_record_id" in rows else None
    old = _remap_contacts(rows["contact_id"], result)
    return via_record.fillna(old) if via_record is not None else old


def _remap_contacts(ids: pd.Series, result) -> pd.Series:
    absorbed = getattr(result, "merged_ids", None)
    if absorbed is None or not len(absorbed):
        return ids
    into = pd.Series(absorbed.iloc[:, 1].values, index=absorbed.iloc[:, 0].values)
    return ids.map(into).fillna(ids)


def _explanations(pairs: pd.DataFrame) -> list[str]:
    wcols = [c for c in pairs.columns if c.startswith("weight_")]
    if not wcols:
        return [None] * len(pairs)
    sub = pairs[wcols].round(2)
    sub.columns = [c[len("weight_"):] for c in wcols]
    return [json.dumps({k: v for k, v in row.items() if v == v}) for row in sub.to_dict("records")]


def _link_entity(rows: pd.DataFrame, cust: pd.Series, membership: pd.Series, entity: str,
                 existing, batch_id: str) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS["deals"] + ["_source_record_id"])
    out = rows.copy()
    out["deal_id"] = rows["record_id"].values
    out["contact_id"] = cust.map(membership).values
    out["customer_record_id"] = cust.values
    out["batch_id"] = batch_id
    out["_source_record_id"] = rows["record_id"].values
    return out.reindex(columns=TABLE_COLUMNS["deals"] + ["_source_record_id"])


def _link_orders(rows: pd.DataFrame, cust: pd.Series, membership: pd.Series, existing,
                 batch_id: str) -> tuple[pd.DataFrame, pd.Series]:
    """Orders keyed by their own order number; the same order in two exports counts once."""
    if rows.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS["orders"]), pd.Series(dtype=object)
    out = rows.copy()
    out["contact_id"] = cust.map(membership).values
    out["customer_record_id"] = cust.values
    given = out["order_id"].astype("string").str.strip().replace("", pd.NA) if "order_id" in out else \
        pd.Series(pd.NA, index=out.index, dtype="string")
    key_cols = [c for c in ("order_id", "order_date", "amount", "customer_email") if c in out]
    content = out[key_cols].astype(str).fillna("").agg("|".join, axis=1)
    oid = given.copy()
    # same number, different content: keep both, number the later ones
    if given.notna().any():
        same_num = given.notna() & given.duplicated(keep=False)
        if same_num.any():
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
