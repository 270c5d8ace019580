"""Manual curation: decide review pairs, merge, unmerge, edit, revert an import batch.

Every decision is stored in the ``decisions`` table and re-applied whenever the store is rebuilt or
new files are migrated into it, so curation is never lost. Each operation rebuilds the golden records
from the stored contact records and match pairs (no re-matching) and writes everything in one
transaction, with a row in ``audit_log``.

>>> # crmkit.unmerge("crm.sqlite", "C1a2b3c4d5e6")
>>> # crmkit.decide("crm.sqlite", "R0123…", "R4567…", accept=False)
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

import pandas as pd

from crmkit.errors import CrmkitError
from crmkit.schema import CONTACT
from crmkit.store import TABLE_COLUMNS, Store, open_store

EDITABLE_FIELDS = [f for f in CONTACT.field_names]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    from crmkit.migrate import _default_actor

    return _default_actor()


def _as_store(store: Store | str | Path) -> Store:
    return store if isinstance(store, Store) else open_store(store)


def _load(store: Store) -> dict[str, pd.DataFrame]:
    from crmkit.migrate import _load_existing

    return _load_existing(store)


def rebuild(store: Store | str | Path, *, new_decisions: pd.DataFrame | None = None, actor: str | None = None,
            action: str = "rebuild", detail: dict | None = None, drop_batch: str | None = None) -> dict:
    """Re-derive contacts from stored records, pairs and decisions (plus ``new_decisions``), in one transaction."""
    from crmkit.link import build_contacts

    store = _as_store(store)
    actor = _actor(actor)
    ex = _load(store)
    if drop_batch is not None:
        if drop_batch not in set(ex["batches"]["batch_id"]):
            raise CrmkitError(f"no import batch {drop_batch!r} in this store", file=store.target,
                              hint="list batches with `crmkit batches STORE`")
        for name in ("source_rows", "contact_records", "deals", "orders", "issues"):
            if "batch_id" in ex[name]:
                ex[name] = ex[name][ex[name]["batch_id"] != drop_batch]
        keep_src = set(ex["source_rows"]["source_record_id"])
        ex["extra_fields"] = ex["extra_fields"][ex["extra_fields"]["record_id"].isin(keep_src)]
        # pairs are re-stamped by every run: drop those that touch a record that is gone, not by batch
        rec = set(ex["contact_records"]["record_id"])
        ex["match_pairs"] = ex["match_pairs"][ex["match_pairs"]["record_id_l"].isin(rec)
                                              & ex["match_pairs"]["record_id_r"].isin(rec)]
    decisions = ex["decisions"]
    if new_decisions is not None and len(new_decisions):
        start = int(pd.to_numeric(decisions["decision_id"], errors="coerce").max() or 0) if len(decisions) else 0
        nd = new_decisions.reindex(columns=TABLE_COLUMNS["decisions"]).copy()
        nd["decision_id"] = range(start + 1, start + 1 + len(nd))
        nd["decided_at"] = nd["decided_at"].astype(object).where(nd["decided_at"].notna(), _now())
        nd["actor"] = nd["actor"].astype(object).where(nd["actor"].notna(), actor)
        decisions = pd.concat([decisions, nd], ignore_index=True)
    ex["decisions"] = decisions
    empty = pd.DataFrame(columns=["record_id"])
    pairs = ex["match_pairs"]
    dedupe = True
    if len(ex["batches"]):
        try:
            dedupe = bool(json.loads(ex["batches"]["summary"].iloc[-1]).get("dedupe", True))
        except (TypeError, ValueError):
            pass
    batch_id = ex["batches"]["batch_id"].iloc[-1] if len(ex["batches"]) else "B0"
    ex_for_build = dict(ex)
    result = build_contacts(empty, empty, empty, existing=ex_for_build, dedupe=dedupe, batch_id=batch_id,
                            actor=actor, pairs=pairs)
    contacts = _apply_edits(result.contacts, result.contact_records, decisions)
    targets = result.record_targets
    src = ex["source_rows"].copy()
    t = src["source_record_id"].map(targets)
    src["record_id"] = t.where(t.notna(), src["record_id"])
    match_pairs = result.match_pairs
    now = _now()
    audit = pd.DataFrame([{"at": now, "actor": actor, "action": action, "entity": "contact",
                           "record_id": (detail or {}).get("contact_id"),
                           "detail": json.dumps(detail or {}, ensure_ascii=False)}])
    replace = {**result.tables(), "contacts": contacts, "source_rows": src, "decisions": decisions,
               "match_pairs": match_pairs}
    if drop_batch is not None:
        replace.update(issues=ex["issues"], extra_fields=ex["extra_fields"],
                       batches=ex["batches"].assign(status=ex["batches"]["status"].where(
                           ex["batches"]["batch_id"] != drop_batch, "reverted")))
    history = result.merge_history.iloc[0:0]
    if action in ("unmerge", "merge"):
        history = pd.DataFrame([{"at": now, "action": action, "contact_id": (detail or {}).get("contact_id"),
                                 "into_contact_id": (detail or {}).get("into"), "actor": actor,
                                 "record_ids": json.dumps((detail or {}).get("record_ids", [])),
                                 "batch_id": batch_id}])
    store.write(replace=replace, append={"audit_log": audit, "merge_history": history})
    return {"contacts": len(contacts), "review_open": int((result.review_queue["status"] == "open").sum())
            if len(result.review_queue) else 0}


def _apply_edits(contacts: pd.DataFrame, records: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    edits = decisions[decisions["kind"] == "edit"]
    if edits.empty:
        return contacts
    contacts = contacts.copy()
    membership = records.set_index("record_id")["contact_id"]
    pos = pd.Series(range(len(contacts)), index=contacts["contact_id"])
    for e in edits.itertuples():
        cid = membership.get(e.record_id_l, e.contact_id)
        if cid in pos.index and e.field in contacts.columns:
            contacts.iloc[pos[cid], contacts.columns.get_loc(e.field)] = e.value
    return contacts


def _records_of(store: Store, contact_id: str) -> list[str]:
    recs = store.read_table("contact_records", where={"contact_id": contact_id})
    if recs.empty:
        raise CrmkitError(f"no contact {contact_id!r} in this store", file=store.target,
                          hint="find ids with `crmkit contacts STORE --search NAME`")
    return sorted(recs["record_id"])


def unmerge(store: Store | str | Path, contact_id: str, *, actor: str | None = None) -> list[str]:
    """Split a contact back into one contact per source record; the split is remembered.

    Returns the new contact ids.
    """
    store = _as_store(store)
    recs = _records_of(store, contact_id)
    if len(recs) < 2:
        raise CrmkitError(f"contact {contact_id!r} comes from a single source row; there is nothing to unmerge",
                          file=store.target)
    never = pd.DataFrame([{"kind": "never", "record_id_l": a, "record_id_r": b, "contact_id": contact_id,
                           "note": "split"} for a, b in combinations(recs, 2)])
    rebuild(store, new_decisions=never, actor=actor, action="unmerge",
            detail={"contact_id": contact_id, "record_ids": recs})
    after = store.read_table("contact_records")
    return sorted(after[after["record_id"].isin(recs)]["contact_id"].unique())


def merge_contacts(store: Store | str | Path, contact_ids: list[str], *, actor: str | None = None) -> str:
    """Merge several contacts into one (remembered on re-runs). Returns the surviving contact id."""
    store = _as_store(store)
    if len(set(contact_ids)) < 2:
        raise CrmkitError("give at least two different contact ids to merge")
    firsts = [_records_of(store, c)[0] for c in contact_ids]
    must = pd.DataFrame([{"kind": "merge", "record_id_l": firsts[0], "record_id_r": r, "contact_id": contact_ids[0]}
                         for r in firsts[1:]])
    # a merge overrides earlier 'never' decisions between these contacts
    rebuild(store, new_decisions=must, actor=actor, action="merge",
            detail={"contact_id": contact_ids[0], "merged": contact_ids, "record_ids": firsts})
    recs = store.read_table("contact_records")
    return recs.set_index("record_id")["contact_id"][firsts[0]]


def decide(store: Store | str | Path, record_id_l: str, record_id_r: str, *, accept: bool,
           actor: str | None = None, note: str | None = None) -> None:
    """Accept (merge) or reject (never merge) a pair of source records, e.g. from the review queue."""
    decide_many(store, pd.DataFrame([{"record_id_l": record_id_l, "record_id_r": record_id_r,
                                      "decision": "accept" if accept else "reject", "note": note}]), actor=actor)


def decide_many(store: Store | str | Path, decisions: pd.DataFrame, *, actor: str | None = None) -> dict:
    """Apply many review decisions at once: columns record_id_l, record_id_r, decision (accept/reject/skip)."""
    store = _as_store(store)
    d = decisions.copy()
    d["decision"] = d["decision"].astype("string").str.strip().str.lower()
    valid = {"accept": "merge", "merge": "merge", "yes": "merge", "y": "merge",
             "reject": "never", "never": "never", "no": "never", "n": "never"}
    unknown = d[d["decision"].notna() & ~d["decision"].isin([*valid, "skip", ""])]
    if len(unknown):
        raise CrmkitError(f"unknown decisions {sorted(set(unknown['decision']))}",
                          hint="use accept, reject or skip (or leave empty)")
    d = d[d["decision"].isin(list(valid))]
    if d.empty:
        return {"applied": 0}
    new = pd.DataFrame({"kind": d["decision"].map(valid).values, "record_id_l": d["record_id_l"].values,
                        "record_id_r": d["record_id_r"].values,
                        "note": d["note"].values if "note" in d else None})
    out = rebuild(store, new_decisions=new, actor=actor, action="review",
                  detail={"accepted": int((new["kind"] == "merge").sum()),
                          "rejected": int((new["kind"] == "never").sum())})
    return {"applied": len(new), **out}


def apply_review_workbook(workbook: str | Path, store: Store | str | Path, *, actor: str | None = None) -> dict:
    """Read the Review sheet of a crmkit workbook (its ``decision`` column) and apply it to a store."""
    from crmkit.workbook import read_workbook

    tables = read_workbook(workbook)
    review = tables.get("review_queue")
    if review is None or "decision" not in review:
        raise CrmkitError("the workbook has no Review sheet with a 'decision' column", file=str(workbook),
                          hint="write the workbook with `crmkit review export STORE --out review.xlsx`")
    return decide_many(store, review[["record_id_l", "record_id_r", "decision"]], actor=actor)


def edit_contact(store: Store | str | Path, contact_id: str, field: str, value: str | None, *,
                 actor: str | None = None) -> None:
    """Set a field of a golden record by hand (kept across re-runs, recorded in the audit log)."""
    store = _as_store(store)
    if field not in EDITABLE_FIELDS:
        raise CrmkitError(f"{field!r} is not an editable contact field",
                          hint=f"editable fields: {', '.join(EDITABLE_FIELDS)}")
    recs = _records_of(store, contact_id)
    edit = pd.DataFrame([{"kind": "edit", "record_id_l": recs[0], "contact_id": contact_id, "field": field,
                          "value": value}])
    rebuild(store, new_decisions=edit, actor=actor, action="edit",
            detail={"contact_id": contact_id, "field": field, "value": value})


def revert_batch(store: Store | str | Path, batch_id: str, *, actor: str | None = None) -> dict:
    """Undo an import batch: its rows, records, deals, orders and issues leave the store."""
    return rebuild(store, actor=actor, action="revert", detail={"batch_id": batch_id}, drop_batch=batch_id)


def skip_pair(store: Store | str | Path, record_id_l: str, record_id_r: str, *, actor: str | None = None) -> None:
    """Mark a review pair as skipped (it stays in the queue, after the open ones; no merge decision is made)."""
    import sqlalchemy as sa

    from crmkit.store import _t, touch

    store = _as_store(store)
    if record_id_l > record_id_r:  # pairs are stored one way round
        record_id_l, record_id_r = record_id_r, record_id_l
    rq, log = _t("review_queue"), _t("audit_log")
    now, who = _now(), _actor(actor)
    with store.begin() as conn:
        done = conn.execute(rq.update().where(rq.c.record_id_l == record_id_l)
                            .where(rq.c.record_id_r == record_id_r)
                            .values(status="skipped", decided_at=now, actor=who)).rowcount
        if not done:
            raise CrmkitError(f"no review pair {record_id_l} / {record_id_r} in the store",
                              hint="list the pairs with `crmkit review list STORE`")
        conn.execute(log.insert().values(at=now, actor=who, action="skip", entity="pair",
                                         record_id=f"{record_id_l}|{record_id_r}", detail=None))
        touch(conn)
