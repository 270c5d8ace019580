"""Inputs for the app tests: small messy CSV files and a hand-built store (imported by conftest and tests)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

# Small messy inputs: two near-duplicate pairs for the review queue, deals at several stages, orders.
CONTACTS_CSV = """First Name,Last Name,Email,Phone,Company,City,Country,Tags
Anna,Müller,anna.mueller@example.de,+49 30 1234567,Müller GmbH,Berlin,Germany,vip
Anna,Mueller,anna.m@example.com,+49 30 1234567,Mueller GmbH,Berlin,DE,
Jonathan,Smith,jon.smith@acme.com,+1 415 555 0101,Acme Inc,San Francisco,USA,newsletter
Jon,Smith,jsmith@acme-corp.com,+1 415 555 0101,ACME,San Francisco,US,
Li,Wei,li.wei@example.cn,+86 138 0013 8000,Yuntu Tech,Shanghai,China,
Maria,Garcia,maria.garcia@example.es,+34 612 345 678,Garcia SL,Madrid,Spain,
"""
DEALS_CSV = """Deal Name,Company,Contact Email,Stage,Amount,Currency,Close Date,Owner,Created
Berlin rollout,Müller GmbH,anna.mueller@example.de,Proposal,12000,EUR,2024-03-31,Ana,2023-01-10
Acme renewal,Acme Inc,jon.smith@acme.com,Qualified,8000,EUR,2024-04-30,Ben,2023-02-01
Yuntu pilot,Yuntu Tech,li.wei@example.cn,Lead,3000,EUR,2024-05-15,Ana,2023-03-01
Garcia expansion,Garcia SL,maria.garcia@example.es,Negotiation,20000,EUR,2024-02-28,Ben,2023-01-20
Old deal,Acme Inc,jon.smith@acme.com,Won,5000,EUR,2023-12-01,Ben,2023-01-05
"""
ORDERS_CSV = """Order No,Order Date,Customer Email,Customer Name,Total,Currency,Status
SO-1,2023-01-05,anna.mueller@example.de,Anna Müller,120.00,EUR,Completed
SO-2,2023-06-05,anna.mueller@example.de,Anna Müller,80.00,EUR,Completed
SO-3,2023-11-20,jon.smith@acme.com,Jonathan Smith,300.00,EUR,Completed
SO-4,2022-02-01,li.wei@example.cn,Li Wei,45.50,EUR,Completed
SO-5,2023-12-24,maria.garcia@example.es,Maria Garcia,999.00,EUR,Completed
SO-6,2023-12-27,maria.garcia@example.es,Maria Garcia,15.00,EUR,Completed
"""


def write_small_inputs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contacts.csv").write_text(CONTACTS_CSV, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    (folder / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    return folder



def build_demo_store(path: Path) -> None:
    from crmkit.store import Store

    people = [
        ("R1", "C1", "Anna", "Müller", "anna.mueller@example.de", "+49301234567", "Müller GmbH", "Berlin", "DE",
         "vip"),
        ("R2", "C2", "Anna", "Mueller", "anna.m@example.com", "+49301234567", "Mueller GmbH", "Berlin", "DE", None),
        ("R3", "C3", "Jonathan", "Smith", "jon.smith@acme.com", "+14155550101", "Acme Inc", "San Francisco", "US",
         "newsletter"),
        ("R4", "C4", "Jon", "Smith", "jsmith@acme-corp.com", "+14155550101", "ACME", "San Francisco", "US", None),
        ("R5", "C5", "Li", "Wei", "li.wei@example.cn", "+8613800138000", "Yuntu Tech", "Shanghai", "CN", None),
        ("R6", "C6", "Maria", "Garcia", "maria.garcia@example.es", "+34612345678", "Garcia SL", "Madrid", "ES", None),
    ]
    recs = pd.DataFrame([{
        "record_id": r, "contact_id": c, "batch_id": "B1", "first_name": f, "last_name": l, "full_name": f"{f} {l}",
        "email": e, "phone": p, "company": co, "company_key": co.lower(), "city": ci, "country": cc, "tags": tg,
        "source_file": "contacts.csv", "source_sheet": "", "source_row": i + 2,
    } for i, (r, c, f, l, e, p, co, ci, cc, tg) in enumerate(people)])
    contacts = recs.drop(columns=["record_id", "batch_id", "source_file", "source_sheet", "source_row"]).assign(
        emails=recs["email"], phones=recs["phone"], n_sources=1, updated_at="2024-01-01T00:00:00+00:00")
    source_rows = recs[["source_file", "source_sheet", "source_row"]].assign(
        entity="contact", record_id=recs["contact_id"], source_record_id=recs["record_id"],
        raw=[json.dumps({"First Name": f, "Last Name": l, "Email": e}) for _r, _c, f, l, e, *_ in people],
        source_path="contacts.csv", batch_id="B1")
    expl = json.dumps({"full_name": 2.1, "phone": 4.5, "email": -1.2, "company": 1.0})
    pairs = pd.DataFrame([
        {"record_id_l": "R1", "record_id_r": "R2", "contact_id_l": "C1", "contact_id_r": "C2", "match_weight": 6.4,
         "match_probability": 0.88, "decision": "review", "explanation": expl, "batch_id": "B1"},
        {"record_id_l": "R3", "record_id_r": "R4", "contact_id_l": "C3", "contact_id_r": "C4", "match_weight": 5.1,
         "match_probability": 0.74, "decision": "review", "explanation": expl, "batch_id": "B1"},
        {"record_id_l": "R5", "record_id_r": "R6", "contact_id_l": "C5", "contact_id_r": "C6", "match_weight": -8,
         "match_probability": 0.02, "decision": "no", "explanation": None, "batch_id": "B1"},
    ])
    review = pairs[pairs["decision"] == "review"][["record_id_l", "record_id_r", "contact_id_l", "contact_id_r",
                                                   "match_probability"]].assign(pair_id=[1, 2], status="open")
    deals = pd.DataFrame([
        {"deal_id": "D1", "name": "Berlin rollout", "company": "Müller GmbH", "contact_id": "C1", "stage": "proposal",
         "amount": 12000.0, "currency": "EUR", "close_date": "2024-03-31", "owner": "Ana", "created_at": "2023-01-10"},
        {"deal_id": "D2", "name": "Acme renewal", "company": "Acme Inc", "contact_id": "C3", "stage": "qualified",
         "amount": 8000.0, "currency": "EUR", "close_date": "2024-04-30", "owner": "Ben", "created_at": "2023-02-01"},
        {"deal_id": "D3", "name": "Yuntu pilot", "company": "Yuntu Tech", "contact_id": "C5", "stage": "lead",
         "amount": 3000.0, "currency": "EUR", "close_date": "2024-05-15", "owner": "Ana", "created_at": "2023-03-01"},
        {"deal_id": "D4", "name": "Garcia expansion", "company": "Garcia SL", "contact_id": "C6",
         "stage": "negotiation", "amount": 20000.0, "currency": "EUR", "close_date": "2024-02-28", "owner": "Ben",
         "created_at": "2023-01-20"},
        {"deal_id": "D5", "name": "Old deal", "company": "Acme Inc", "contact_id": "C3", "stage": "won",
         "amount": 5000.0, "currency": "EUR", "close_date": "2023-12-01", "owner": "Ben", "created_at": "2023-01-05"},
    ])
    orders = pd.DataFrame([
        {"order_id": o, "contact_id": c, "order_date": d, "amount": a, "currency": "EUR", "status": "completed"}
        for o, c, d, a in [("SO-1", "C1", "2023-01-05", 120.0), ("SO-2", "C1", "2023-06-05", 80.0),
                           ("SO-3", "C3", "2023-11-20", 300.0), ("SO-4", "C5", "2022-02-01", 45.5),
                           ("SO-5", "C6", "2023-12-24", 999.0), ("SO-6", "C6", "2023-12-27", 15.0)]])
    lineage = recs[["contact_id", "source_file", "source_sheet", "source_row"]].assign(
        field="email", value=recs["email"], rule="most_complete")
    values = recs[["contact_id", "source_file", "source_sheet", "source_row"]].assign(
        field="email", value=recs["email"], is_primary=1)
    batches = pd.DataFrame([{"batch_id": "B1", "started_at": "2024-01-01T00:00:00+00:00",
                             "finished_at": "2024-01-01T00:00:01+00:00", "actor": "test", "inputs": "[]",
                             "mapping": "{}", "settings": "{}", "summary": json.dumps({"dedupe": True}),
                             "status": "done"}])
    Store(path).write(replace={"contacts": contacts, "contact_records": recs, "source_rows": source_rows,
                               "match_pairs": pairs, "review_queue": review, "deals": deals, "orders": orders,
                               "lineage": lineage, "contact_values": values, "batches": batches})


def build_large_store(path: Path, n_contacts: int = 100_000, n_deals: int = 2_000, n_orders: int = 150_000,
                      seed: int = 7) -> None:
    """A store the size the app must stay usable with: ``n_contacts`` golden records (each with one or two
    source records), ``n_deals`` deals over every stage, ``n_orders`` orders and a review queue.

    Built with Store.write from generated columns (no matching), in a few seconds.
    """
    import numpy as np

    from crmkit.store import Store

    rng = np.random.default_rng(seed)
    firsts = np.array(["Anna", "Ben", "Chen", "Dana", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jon", "Kemal",
                       "Lena", "Mia", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara"])
    lasts = np.array(["Müller", "Smith", "Wang", "Garcia", "Kowalski", "Rossi", "Dubois", "Tanaka", "Novak",
                      "Jensen", "Silva", "Öztürk", "Brown", "Schmidt", "Li", "Martin", "Lee", "Weber"])
    companies = np.array([f"Company {i} GmbH" for i in range(4_000)])
    countries = np.array(["DE", "US", "GB", "FR", "CN", "ES", "IT", "NL"])
    tags = np.array(["", "", "", "vip", "newsletter", "rfm:Champions", "rfm:At Risk", "tradeshow"])
    ids = np.char.add("C", np.arange(n_contacts).astype(str))
    f = firsts[rng.integers(0, len(firsts), n_contacts)]
    last = lasts[rng.integers(0, len(lasts), n_contacts)]
    email = np.char.add(np.char.add(np.char.lower(f.astype(str)), "."), np.arange(n_contacts).astype(str))
    email = np.char.add(email, "@example.com")
    phone = np.char.add("+4930", rng.integers(1_000_000, 9_999_999, n_contacts).astype(str))
    contacts = pd.DataFrame({
        "contact_id": ids, "first_name": f, "last_name": last, "full_name": np.char.add(np.char.add(f, " "), last),
        "email": email, "emails": email, "phone": phone, "phones": phone,
        "company": companies[rng.integers(0, len(companies), n_contacts)],
        "city": "Berlin", "country": countries[rng.integers(0, len(countries), n_contacts)],
        "tags": tags[rng.integers(0, len(tags), n_contacts)], "n_records": 1, "n_sources": 1,
        "updated_at": "2024-01-01T00:00:00+00:00"})
    contacts["tags"] = contacts["tags"].replace("", None)
    contacts["company_key"] = contacts["company"].str.lower()
    files = np.array(["old_crm_export.xlsx", "tradeshow_leads.csv", "newsletter.csv"])
    recs = contacts.drop(columns=["emails", "phones", "n_records", "n_sources", "updated_at"]).assign(
        record_id=np.char.add("R", np.arange(n_contacts).astype(str)), batch_id="B1",
        source_file=files[rng.integers(0, 3, n_contacts)], source_sheet="", source_row=np.arange(n_contacts) + 2)
    source_rows = recs[["source_file", "source_sheet", "source_row"]].assign(
        entity="contact", record_id=recs["contact_id"], source_record_id=recs["record_id"],
        raw='{"Name": "x"}', source_path="in.csv", batch_id="B1")
    stages = np.array(["lead", "qualified", "proposal", "negotiation", "won", "lost"])
    owners = np.array(["Ana", "Ben", "Carla", "Dev", None], dtype=object)
    close = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 540, n_deals), unit="D")
    deals = pd.DataFrame({
        "deal_id": np.char.add("D", np.arange(n_deals).astype(str)),
        "name": np.char.add("Deal ", np.arange(n_deals).astype(str)),
        "contact_id": ids[rng.integers(0, n_contacts, n_deals)],
        "company": companies[rng.integers(0, len(companies), n_deals)],
        "stage": stages[rng.integers(0, len(stages), n_deals)],
        "amount": rng.integers(1, 200, n_deals) * 500.0, "currency": "EUR",
        "close_date": close.strftime("%Y-%m-%d"), "owner": owners[rng.integers(0, len(owners), n_deals)],
        "created_at": "2023-06-01"})
    odate = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1_200, n_orders), unit="D")
    orders = pd.DataFrame({
        "order_id": np.char.add("SO-", np.arange(n_orders).astype(str)),
        "contact_id": ids[rng.integers(0, n_contacts, n_orders)], "order_date": odate.strftime("%Y-%m-%d"),
        "amount": rng.gamma(2.0, 60.0, n_orders).round(2), "currency": "EUR", "status": "completed"})
    n_pairs = 5_000
    left, right = rng.integers(0, n_contacts, n_pairs), rng.integers(0, n_contacts, n_pairs)
    prob = rng.random(n_pairs)
    pairs = pd.DataFrame({
        "record_id_l": recs["record_id"].to_numpy()[left], "record_id_r": recs["record_id"].to_numpy()[right],
        "contact_id_l": ids[left], "contact_id_r": ids[right], "match_weight": (prob - 0.5) * 20,
        "match_probability": prob,
        "decision": np.select([prob >= 0.95, prob >= 0.5], ["merge", "review"], "no"),
        "explanation": json.dumps({"full_name": 2.1, "phone": 4.5, "email": -1.2}), "batch_id": "B1"})
    review = pairs[pairs["decision"] == "review"][["record_id_l", "record_id_r", "contact_id_l", "contact_id_r",
                                                   "match_probability"]].assign(status="open")
    review.insert(0, "pair_id", np.arange(1, len(review) + 1))
    lineage = recs[["contact_id", "source_file", "source_sheet", "source_row"]].assign(
        field="email", value=recs["email"], rule="most_complete")
    batches = pd.DataFrame([{"batch_id": "B1", "started_at": "2024-01-01T00:00:00+00:00",
                             "finished_at": "2024-01-01T00:01:00+00:00", "actor": "test", "inputs": "[]",
                             "mapping": "{}", "settings": "{}", "summary": "{}", "status": "done"}])
    Store(path).write(replace={"contacts": contacts, "contact_records": recs, "source_rows": source_rows,
                               "match_pairs": pairs, "review_queue": review, "deals": deals, "orders": orders,
                               "lineage": lineage, "batches": batches})
