"""A small hand-made store: DE/US/CN contacts, CJK names, one company shared by three contacts,
a deal without a contact, tags and RFM segments, formula-looking text, E.164 phones."""
from __future__ import annotations

import pandas as pd
import pytest

from crmkit.store import TABLE_COLUMNS


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS[table])


CONTACTS = [
    dict(contact_id="C0001", first_name="Anna", last_name="Schmidt", full_name="Anna Schmidt", salutation="Frau",
         email="anna.schmidt@mueller-maschinenbau.de", phone="+493012345678", phone_ext="12",
         mobile="+4915112345678", company="Müller Maschinenbau GmbH", company_key="muller maschinenbau",
         job_title="Einkaufsleiterin", street="Hauptstraße 5", postcode="10115", city="Berlin", country="DE",
         website="https://www.mueller-maschinenbau.de", owner="Jonas Weber", tags="vip; rfm:Champions",
         notes="=HYPERLINK(\"http://evil.example\",\"click\")", created_at="2023-01-15",
         emails="anna.schmidt@mueller-maschinenbau.de; anna@gmail.com",
         phones="+493012345678; +4915112345678", n_sources=2, updated_at="2024-05-01"),
    dict(contact_id="C0002", first_name="Lukas", last_name="Becker", full_name="Lukas Becker",
         email="l.becker@mueller-maschinenbau.de", phone="+493012345600", company="Müller Maschinenbau",
         company_key="muller maschinenbau", job_title="+Geschäftsführer", street="Hauptstraße 5",
         postcode="10115", city="Berlin", country="DE", owner="Jonas Weber", tags="rfm:At Risk",
         created_at="2022-11-02", emails="l.becker@mueller-maschinenbau.de", phones="+493012345600", n_sources=1),
    dict(contact_id="C0003", first_name="Petra", last_name="Klein", full_name="Petra Klein",
         email="petra.klein@gmx.de", phone="+493012345600", company="Müller Maschinenbau GmbH",
         company_key="muller maschinenbau", job_title="@Technik", city="Potsdam", country="DE",
         tags="newsletter", created_at="2023-06-30", emails="petra.klein@gmx.de", n_sources=1),
    dict(contact_id="C0004", first_name="伟", last_name="王", full_name="王伟", email="wang.wei@huaxin-tech.cn",
         phone="+8613800138000", company="华信科技有限公司", company_key="华信科技", job_title="采购经理",
         city="上海", country="CN", owner="李娜", tags="rfm:Champions; 重要客户", created_at="2023-03-08",
         emails="wang.wei@huaxin-tech.cn; 12345678@qq.com", phones="+8613800138000", n_sources=1),
    dict(contact_id="C0005", first_name="John", last_name="Miller", full_name="John Miller",
         email="john.miller@acme.com", phone="+14155550123", mobile="+14155550199", company="Acme Inc.",
         company_key="acme", job_title="VP Sales", street="1 Market St", postcode="94105", city="San Francisco",
         region="CA", country="US", owner="Sarah Lee", tags="rfm:Loyal", created_at="2021-07-19",
         emails="john.miller@acme.com", phones="+14155550123; +14155550199", n_sources=3),
    dict(contact_id="C0006", first_name="Maria", full_name="Maria", email="maria@yahoo.com",
         phone="+12125550147", country="US", tags="-5 vip", created_at="2024-02-01",
         emails="maria@yahoo.com", n_sources=1),
]
DEALS = [
    dict(deal_id="D001", name="Fräsmaschinen 2024", contact_id="C0001", company="Müller Maschinenbau GmbH",
         company_key="muller maschinenbau", contact_email="anna.schmidt@mueller-maschinenbau.de",
         contact_name="Anna Schmidt", stage="negotiation", amount=125000.0, currency="EUR", probability=0.7,
         close_date="2024-09-30", owner="Jonas Weber", created_at="2024-03-01", notes="=1+1"),
    dict(deal_id="D002", name="上海工厂自动化", contact_id="C0004", company="华信科技有限公司", company_key="华信科技",
         contact_email="wang.wei@huaxin-tech.cn", contact_name="王伟", stage="won", amount=880000.0,
         currency="CNY", probability=1.0, close_date="2024-04-15", owner="李娜", created_at="2024-01-10"),
    dict(deal_id="D003", name="Acme renewal", contact_id="C0005", company="Acme Inc.", company_key="acme",
         contact_email="john.miller@acme.com", stage="lost", amount=40000.0, currency="USD",
         probability=0.0, owner="Sarah Lee", created_at="2024-02-01"),
    dict(deal_id="D004", name=None, contact_id=None, company="Globex Corporation", company_key="globex",
         stage="lead", amount=15000.0, currency="USD", probability=0.1, created_at="2024-05-20"),
    dict(deal_id="D005", name="Spare parts", contact_id="C0002", company="Müller Maschinenbau",
         company_key="muller maschinenbau", stage="proposal", amount=9000.5, currency="EUR",
         probability=None, close_date=None, created_at=None),
    dict(deal_id="D006", name="Wartungsvertrag", contact_id=None, company=None, company_key=None,
         contact_email="petra.klein@gmx.de", stage="qualified", amount=None, currency="EUR",
         created_at="2024-06-01"),
]
ORDERS = [
    dict(order_id="O1", contact_id="C0001", order_date="2024-01-05", amount=1200.0, currency="EUR",
         status="paid", product="Fräser", quantity=3.0),
    dict(order_id="O2", contact_id="C0004", order_date="2024-02-11", amount=56000.0, currency="CNY",
         status="paid", product="传感器", quantity=10.0),
]


@pytest.fixture()
def tables() -> dict[str, pd.DataFrame]:
    return {"contacts": _frame(CONTACTS, "contacts"), "deals": _frame(DEALS, "deals"),
            "orders": _frame(ORDERS, "orders")}
