#!/usr/bin/env python
"""Generate crmkit's messy sample customer files and their hidden ground truth.

A fictional company (ACME) has ~350 customers spread over seven files in
different languages, encodings and layouts, with realistic duplicates and
hard negatives. Everything comes from one ``random.Random(SEED)``, so a run
rewrites every file byte for byte.

    python sample_data/make_sample_data.py                 # sample_data/ + tests/data/sample_truth/
    python sample_data/make_sample_data.py --out /tmp/x    # /tmp/x/ + /tmp/x/sample_truth/

Only the standard library and openpyxl are needed.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20240607
N_PEOPLE = 350
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "sample_data"
DEFAULT_TRUTH = ROOT / "tests" / "data" / "sample_truth"
FIXED_TIME = dt.datetime(2024, 7, 1, 9, 0, 0)

F_CRM = "old_crm_export.xlsx"
F_SHOW = "tradeshow_leads_2023.csv"
F_NEWS = "newsletter_signups.csv"
F_CN = "china_customers.csv"
F_PIPE = "sales_pipeline.xlsx"
F_ORDERS = "orders_2022_2024.csv"
F_UNI = "contacts_unicode_export.txt"
ALL_FILES = [F_CRM, F_SHOW, F_NEWS, F_CN, F_PIPE, F_ORDERS, F_UNI]

TRUTH_COLUMNS = [
    "source_file", "source_sheet", "source_row", "entity", "person_id",
    "email_truth", "phone_truth", "mobile_truth", "country_truth",
    "first_name_truth", "last_name_truth", "full_name_truth", "company_truth", "city_truth",
    "created_truth", "deal_name", "stage_truth", "probability_truth", "close_date_truth",
    "order_id", "order_date_truth", "amount_truth", "currency_truth",
    "variations", "bad_values",
]
PEOPLE_COLUMNS = [
    "person_id", "country", "first_name", "last_name", "full_name", "nickname", "latin_name",
    "company", "old_company", "job_title", "city", "emails", "phone", "mobile",
    "files", "n_files", "n_orders", "order_segment", "hard_negative_group", "hard_negative_kind",
]

# --------------------------------------------------------------------------- reference lists
FIRST = {
    "US": (["James", "Robert", "John", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
            "Christopher", "Daniel", "Matthew", "Anthony", "Steven", "Andrew", "Kevin", "Brian", "Jason"],
           ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
            "Karen", "Nancy", "Lisa", "Margaret", "Ashley", "Emily", "Katherine", "Rebecca", "Laura"]),
    "GB": (["Oliver", "George", "Harry", "Jack", "Charlie", "Thomas", "William", "James", "Edward",
            "Henry", "Samuel", "Daniel", "Robert", "Alexander"],
           ["Olivia", "Amelia", "Emily", "Isla", "Sophie", "Charlotte", "Elizabeth", "Lucy", "Grace",
            "Hannah", "Chloe", "Eleanor", "Katherine", "Margaret"]),
    "DE": (["Thomas", "Michael", "Andreas", "Stefan", "Christian", "Markus", "Alexander", "Johannes",
            "Jürgen", "Wolfgang", "Klaus", "Lukas", "Felix", "Jan", "Sebastian", "Tobias", "Matthias"],
           ["Anna", "Katharina", "Julia", "Laura", "Sabine", "Petra", "Monika", "Claudia", "Susanne",
            "Stefanie", "Lena", "Sophie", "Jana", "Birgit", "Ursula"]),
    "FR": (["Jean", "Pierre", "Michel", "Philippe", "Nicolas", "Julien", "Antoine", "François",
            "Laurent", "Thomas", "Mathieu", "Olivier"],
           ["Marie", "Sophie", "Camille", "Isabelle", "Nathalie", "Céline", "Julie", "Claire", "Émilie",
            "Hélène", "Manon", "Chloé"]),
    "ES": (["José", "Antonio", "Manuel", "Francisco", "David", "Javier", "Carlos", "Miguel",
            "Alejandro", "Pablo", "Sergio", "Jorge"],
           ["María", "Carmen", "Ana", "Laura", "Lucía", "Marta", "Elena", "Cristina", "Isabel", "Paula",
            "Dolores", "Sara"]),
}
FIRST["AT"] = FIRST["DE"]
FIRST["CH"] = FIRST["DE"]
LAST = {
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
           "Taylor", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis",
           "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams",
           "Baker", "Nelson", "Carter", "Mitchell", "O'Brien", "McDonald", "Sullivan", "Murphy", "Reed"],
    "GB": ["Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker",
           "Wright", "Robinson", "Thompson", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
           "Clarke", "Patel", "Turner", "Ward", "Cooper", "Morris", "O'Connor", "MacLeod"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann", "Lange", "Weiß", "Köhler",
           "von der Heide"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
           "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
           "Fontaine", "Girard"],
    "ES": ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
           "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
           "Romero"],
}
LAST["AT"] = LAST["DE"]
LAST["CH"] = LAST["DE"]
CN_SURNAMES = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
               ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
               ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
               ("罗", "Luo"), ("高", "Gao"), ("欧阳", "Ouyang")]
CN_GIVEN = [("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("秀英", "Xiuying"), ("敏", "Min"), ("静", "Jing"),
            ("丽", "Li"), ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"),
            ("艳", "Yan"), ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"),
            ("秀兰", "Xiulan"), ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"), ("桂英", "Guiying"),
            ("浩", "Hao"), ("宇", "Yu"), ("婷", "Ting")]
NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will"], "Elizabeth": ["Liz", "Beth"],
    "Michael": ["Mike"], "James": ["Jim", "Jimmy"], "Katherine": ["Kate", "Kathy"], "Richard": ["Rick", "Dick"],
    "Thomas": ["Tom"], "Jennifer": ["Jen", "Jenny"], "Christopher": ["Chris"], "Margaret": ["Maggie", "Peggy"],
    "Daniel": ["Dan", "Danny"], "Joseph": ["Joe"], "Anthony": ["Tony"], "Alexander": ["Alex"],
    "Susan": ["Sue"], "Patricia": ["Pat", "Patty"], "Rebecca": ["Becky"], "Matthew": ["Matt"],
    "Steven": ["Steve"], "Andrew": ["Andy", "Drew"], "Samuel": ["Sam"], "Edward": ["Ed", "Ted"],
    "Johannes": ["Hannes"], "Katharina": ["Kathi"], "Stefanie": ["Steffi"], "Sebastian": ["Basti"],
    "Francisco": ["Paco"], "José": ["Pepe"], "Dolores": ["Lola"], "Charlotte": ["Lottie"],
}
# country: [(city, landline area code, subscriber length)]
CITIES = {
    "US": [("San Francisco", "415", 7), ("New York", "212", 7), ("Chicago", "312", 7), ("Boston", "617", 7),
           ("Seattle", "206", 7), ("Austin", "512", 7), ("Denver", "303", 7)],
    "GB": [("London", "20", 8), ("Manchester", "161", 7), ("Birmingham", "121", 7), ("Edinburgh", "131", 7),
           ("Bristol", "117", 7), ("Leeds", "113", 7)],
    "DE": [("Berlin", "30", 7), ("München", "89", 7), ("Hamburg", "40", 7), ("Köln", "221", 6),
           ("Frankfurt am Main", "69", 7), ("Stuttgart", "711", 6)],
    "AT": [("Graz", "316", 6)],
    "CH": [("Zürich", "44", 7), ("Basel", "61", 7), ("Bern", "31", 7)],
    "FR": [("Paris", "1", 8), ("Lyon", "4", 8), ("Marseille", "4", 8), ("Toulouse", "5", 8),
           ("Bordeaux", "5", 8), ("Lille", "3", 8)],
    "ES": [("Madrid", "91", 7), ("Barcelona", "93", 7), ("Valencia", "96", 7), ("Sevilla", "95", 7),
           ("Bilbao", "94", 7)],
    "CN": [("北京", "10", 8), ("上海", "21", 8), ("深圳", "755", 8), ("广州", "20", 8), ("杭州", "571", 8),
           ("成都", "28", 8)],
}
CN_CITY_LATIN = {"北京": "Beijing", "上海": "Shanghai", "深圳": "Shenzhen", "广州": "Guangzhou",
                 "杭州": "Hangzhou", "成都": "Chengdu"}
MOBILE_PREFIX = {"US": None, "GB": [("7412", 6), ("7825", 6), ("7911", 6)],
                 "DE": [("171", 7), ("170", 7), ("151", 8), ("176", 8), ("160", 7)],
                 "AT": [("664", 7), ("650", 7)], "CH": [("79", 7), ("78", 7), ("76", 7)],
                 "FR": [("6", 8), ("7", 8)], "ES": [("6", 8)],
                 "CN": [("138", 8), ("139", 8), ("135", 8), ("186", 8), ("150", 8), ("177", 8)]}
# first subscriber digits that make a number valid for (country, area code / mobile prefix)
FIRST_DIGITS = {("GB", "20"): "378", ("GB", "121"): "234567", ("GB", "131"): "2345", ("GB", "117"): "234",
                ("GB", "113"): "2345", ("GB", "7911"): "127", ("FR", "4"): "123456789",
                ("FR", "6"): "0124578", ("FR", "7"): "3456789", ("ES", "94"): "123456789"}
CC = {"US": "1", "GB": "44", "DE": "49", "AT": "43", "CH": "41", "FR": "33", "ES": "34", "CN": "86"}
TLD = {"US": "com", "GB": "co.uk", "DE": "de", "AT": "at", "CH": "ch", "FR": "fr", "ES": "es", "CN": "cn"}
FREEMAIL = {"US": ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"],
            "GB": ["gmail.com", "hotmail.co.uk", "btinternet.com", "outlook.com"],
            "DE": ["gmx.de", "web.de", "t-online.de", "gmail.com"], "AT": ["gmx.at", "gmail.com"],
            "CH": ["bluewin.ch", "gmail.com"], "FR": ["orange.fr", "free.fr", "gmail.com", "laposte.net"],
            "ES": ["gmail.com", "hotmail.es", "telefonica.net"], "CN": ["qq.com", "163.com", "126.com", "sina.com"]}
COMPANIES = {
    "US": ["Brightline Software LLC", "Harbor & Pine Consulting", "Summit Outdoor Supply Co.",
           "Redwood Analytics Inc.", "Lakeside Dental Group", "Northwind Traders Inc.", "Bluebird Media LLC",
           "Granite State Logistics", "Copperleaf Foods Inc."],
    "GB": ["Thames Valley Engineering Ltd", "Kensington Interiors Ltd", "Northern Lights Digital Ltd",
           "Oakridge Accountants LLP", "Brighton Bakery Co.", "Pennine Outdoor Ltd"],
    "DE": ["Müller Maschinenbau GmbH", "Schneider & Partner Steuerberatung", "Nordlicht Software GmbH",
           "Bayerische Feinwerk AG", "Rheinland Logistik GmbH & Co. KG", "Spreewald Naturkost GmbH"],
    "AT": ["Alpenblick Hotels GmbH"], "CH": ["Zürcher Präzision AG", "Helvetia Druck AG"],
    "FR": ["Atelier Lumière SARL", "Groupe Rivage SA", "Vignobles Durand", "Boulangerie Moreau & Fils"],
    "ES": ["Soluciones Ibéricas S.L.", "Construcciones Levante S.A.", "Café Sol S.L."],
    "CN": [("北京星辰科技有限公司", "xingchentech"), ("上海华信贸易有限公司", "huaxintrade"),
           ("深圳创新电子有限公司", "cxdianzi"), ("杭州云图网络科技有限公司", "yuntu"),
           ("成都天府软件有限公司", "tianfusoft"), ("广州南方物流有限公司", "nanfangwl")],
}
JOBS_EN = ["CEO", "Head of Purchasing", "Sales Manager", "Office Manager", "Marketing Director", "CFO",
           "Operations Manager", "IT Manager", "Buyer", "Project Manager", "Owner", "Account Executive"]
JOBS_DE = ["Geschäftsführer", "Einkaufsleiter", "Vertriebsleiterin", "Projektleiter", "Inhaber",
           "Leiterin Marketing", "Einkauf", "IT-Leiter"]
JOBS_CN = ["总经理", "采购经理", "销售总监", "技术总监", "财务经理", "项目经理"]
OWNERS = ["Sarah Connor", "Mike Ross", "Dana Scully", "Kim Wexler", "Tom Haverford"]
PIPE_OWNERS = ["K. Neumann", "Claire Dubois", "Jonas Weber", "Lucía Romero"]

COUNTRY_WORDS = {
    F_CRM: {"US": ["USA", "United States", "US", "U.S.A."], "GB": ["UK", "United Kingdom", "England"],
            "DE": ["Germany", "Germany", "DE"], "AT": ["Austria"], "CH": ["Switzerland"], "FR": ["France"],
            "ES": ["Spain"], "CN": ["China", "P.R. China", "PRC"]},
    F_SHOW: {"DE": ["Deutschland", "Deutschland", "Deutschland", "DE", "Germany", "BRD"], "AT": ["Österreich", "AT"],
             "CH": ["Schweiz", "CH", "Schweiz"], "FR": ["Frankreich"], "GB": ["Großbritannien", "UK"],
             "US": ["USA", "Vereinigte Staaten"], "ES": ["Spanien"], "CN": ["China"]},
    F_CN: {"CN": ["中国", "中国", "中国", "中华人民共和国", "China", "CN"]},
    F_UNI: {"GB": ["United Kingdom", "United Kingdom", "UK", "England"], "FR": ["France", "France", "FR"],
            "ES": ["Spain", "España", "ES"], "US": ["United States"], "DE": ["Germany"], "AT": ["Austria"],
            "CH": ["Switzerland"], "CN": ["China"]},
}


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Phone:
    country: str
    ndc: str  # area code / mobile prefix, without trunk prefix
    sub: str  # subscriber number
    mobile: bool = False

    @property
    def e164(self) -> str:
        return f"+{CC[self.country]}{self.ndc}{self.sub}"

    @property
    def nsn(self) -> str:
        return self.ndc + self.sub


@dataclass(frozen=True)
class Company:
    name: str
    country: str
    domain: str
    city: str
    switchboard: Phone


@dataclass
class Person:
    pid: str
    country: str
    gender: str
    first: str
    last: str
    city: str
    company: Company | None
    job: str
    phone: Phone | None
    mobile: Phone | None
    emails: list[str]  # [0] main (work or personal), then others
    personal_email: str
    work_email: str | None
    old_company: Company | None = None
    old_email: str | None = None
    nick: str = ""
    latin_first: str = ""
    latin_last: str = ""
    second_last: str = ""  # Spanish second surname
    hn_group: str = ""
    hn_kind: str = ""
    files: list[str] = field(default_factory=list)
    n_orders: int = 0
    segment: str = ""

    @property
    def full(self) -> str:
        return self.last + self.first if self.country == "CN" else f"{self.first} {self.last}"

    @property
    def latin_full(self) -> str:
        return f"{self.latin_first} {self.latin_last}"


def ascii_fold(s: str) -> str:
    s = s.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    s = s.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if c.isascii())


def slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(s).lower())


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def excel_serial(d: dt.date) -> int:
    return (d - dt.date(1899, 12, 30)).days


def rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


# --------------------------------------------------------------------------- phones
def rand_sub(rng: random.Random, n: int, first: str = "23456789") -> str:
    return rng.choice(first) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def make_landline(rng: random.Random, country: str, city: str) -> Phone:
    for c, ndc, n in CITIES[country]:
        if c == city:
            sub = rand_sub(rng, n, FIRST_DIGITS.get((country, ndc), "23456789"))
            if country == "US":
                while sub[1:3] == "11" or sub.startswith("555"):
                    sub = rand_sub(rng, n)
            return Phone(country, ndc, sub)
    raise KeyError(city)


def make_mobile(rng: random.Random, country: str, city: str) -> Phone:
    if country == "US":
        ph = make_landline(rng, country, city)
        return Phone(country, ph.ndc, ph.sub, True)
    ndc, n = rng.choice(MOBILE_PREFIX[country])
    sub = rand_sub(rng, n, FIRST_DIGITS.get((country, ndc), "0123456789"))
    return Phone(country, ndc, sub, True)


def _groups(s: str, sizes: list[int], sep: str = " ") -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(p for p in out if p)


def national(ph: Phone, style: int = 0) -> str:
    """The number as people in its country write it (style picks a local variant)."""
    c, ndc, sub = ph.country, ph.ndc, ph.sub
    if c == "US":
        return [f"({ndc}) {sub[:3]}-{sub[3:]}", f"{ndc}-{sub[:3]}-{sub[3:]}", f"{ndc}.{sub[:3]}.{sub[3:]}"][style % 3]
    if c == "GB":
        if ph.mobile:
            return f"0{ndc} {sub}"
        return f"0{ndc} {sub[:4]} {sub[4:]}" if len(ndc) == 2 else f"0{ndc} {sub[:3]} {sub[3:]}"
    if c in ("DE", "AT"):
        return [f"0{ndc} {sub}", f"0{ndc}/{sub}", f"0{ndc}-{sub}", f"(0{ndc}) {sub}"][style % 4]
    if c == "CH":
        return f"0{ndc} {sub[:3]} {sub[3:5]} {sub[5:]}"
    if c == "FR":
        d = "0" + ph.nsn
        sep = [" ", ".", " "][style % 3]
        return sep.join(d[i:i + 2] for i in range(0, 10, 2))
    if c == "ES":
        return _groups(ph.nsn, [3, 3, 3])
    if c == "CN":
        if ph.mobile:
            return [_groups(ph.nsn, [3, 4, 4]), ph.nsn, _groups(ph.nsn, [3, 4, 4], "-")][style % 3]
        return f"0{ndc}-{sub[:4]} {sub[4:]}"
    raise KeyError(c)


def international(ph: Phone, style: int = 0) -> str:
    c, ndc, sub, cc = ph.country, ph.ndc, ph.sub, CC[ph.country]
    if style % 3 == 1 and c in ("DE", "AT", "CH", "GB"):
        return f"+{cc} (0){ndc} {sub}"
    if style % 3 == 2:
        return f"00{cc} {ndc} {sub}"
    if c == "US":
        return f"+1 {ndc} {sub[:3]} {sub[3:]}"
    if c == "FR":
        return f"+33 {ndc} " + " ".join(sub[i:i + 2] for i in range(0, 8, 2))
    if c == "CN" and ph.mobile:
        return "+86 " + _groups(ph.nsn, [3, 4, 4], "-")
    if c == "ES":
        return "+34 " + _groups(ph.nsn, [3, 3, 3])
    return f"+{cc} {ndc} {sub}"


# --------------------------------------------------------------------------- people
class World:
    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.people: list[Person] = []
        self.used_emails: set[str] = set()
        self.companies: dict[str, list[Company]] = {}
        self.rows: list[dict] = []

    # ---- construction
    def _company(self, country: str) -> Company:
        return self.rng.choice(self.companies[country])

    def _build_companies(self) -> None:
        rng = self.rng
        for country, names in COMPANIES.items():
            lst = []
            for entry in names:
                if country == "CN":
                    name, dom = entry
                    city = name[:2]
                    domain = f"{dom}.com.cn"
                else:
                    name = entry
                    words = [w for w in re.split(r"[\s&]+", name) if w and w.lower().strip(".") not in
                             ("llc", "inc", "ltd", "llp", "co", "gmbh", "ag", "sa", "sarl", "s.l", "s.a", "kg",
                              "plc", "group", "fils", "partner")]
                    domain = slug("".join(words[:2])) + "." + TLD[country]
                    city = rng.choice(CITIES[country])[0]
                lst.append(Company(name, country, domain, city, make_landline(rng, country, city)))
            self.companies[country] = lst

    def _email(self, first: str, last: str, domain: str, personal: bool) -> str:
        rng = self.rng
        f, l = slug(first), slug(last)
        if personal:
            pats = [f"{f}.{l}", f"{f}{l}", f"{f[0]}{l}", f"{f}.{l}{rng.randint(1, 99)}", f"{f}_{l}",
                    f"{l}.{f}", f"{f}{rng.randint(70, 99)}"]
        else:
            pats = [f"{f}.{l}", f"{f[0]}.{l}", f"{f}", f"{f[0]}{l}"]
        for p in pats + [f"{f}.{l}{i}" for i in range(2, 50)]:
            addr = f"{p}@{domain}"
            if addr not in self.used_emails:
                self.used_emails.add(addr)
                return addr
        raise RuntimeError("no free email")

    def _new_person(self, country: str, *, first: str | None = None, last: str | None = None,
                    gender: str | None = None, city: str | None = None, company: Company | None | str = "auto",
                    phone: Phone | None | str = "auto") -> Person:
        rng = self.rng
        pid = f"P{len(self.people) + 1:04d}"
        gender = gender or rng.choice("MF")
        if country == "CN":
            sn = rng.choice(CN_SURNAMES) if last is None else next(s for s in CN_SURNAMES if s[0] == last)
            gv = rng.choice(CN_GIVEN) if first is None else next(g for g in CN_GIVEN if g[0] == first)
            first, last, lf, ll = gv[0], sn[0], gv[1], sn[1]
        else:
            first = first or rng.choice(FIRST[country][0 if gender == "M" else 1])
            last = last or rng.choice(LAST[country])
            lf, ll = first, last
        if company == "auto":
            company = self._company(country) if rng.random() < 0.62 else None
        city = city or (company.city if company and rng.random() < 0.8 else rng.choice(CITIES[country])[0])
        if phone == "auto":
            phone = make_landline(rng, country, city) if rng.random() < 0.75 else None
        mobile = make_mobile(rng, country, city) if (country == "CN" or rng.random() < 0.6) else None
        if country == "CN" and phone is not None and rng.random() < 0.7:
            phone = None
        personal = self._email(lf, ll, rng.choice(FREEMAIL[country]), True)
        work = self._email(lf, ll, company.domain, False) if company else None
        if country == "CN" and rng.random() < 0.4:  # QQ numbers as mailbox names
            self.used_emails.discard(personal)
            personal = f"{rng.randint(10000000, 999999999)}@qq.com"
        emails = [work, personal] if work and rng.random() < 0.75 else [personal] + ([work] if work else [])
        job = (rng.choice(JOBS_CN) if country == "CN" else rng.choice(JOBS_DE) if country in ("DE", "AT", "CH")
               else rng.choice(JOBS_EN)) if company else ""
        p = Person(pid, country, gender, first, last, city, company, job, phone, mobile, emails, personal, work,
                   latin_first=lf, latin_last=ll)
        if first in NICKNAMES and rng.random() < 0.6:
            p.nick = rng.choice(NICKNAMES[first])
        if country == "ES" and rng.random() < 0.5:
            p.second_last = rng.choice(LAST["ES"])
        if company and rng.random() < 0.12:  # changed employer: old email at old company, same phone
            others = [c for c in self.companies[country] if c is not company]
            if others:
                p.old_company = rng.choice(others)
                p.old_email = self._email(lf, ll, p.old_company.domain, False)
                p.emails.append(p.old_email)
        self.people.append(p)
        return p

    def build_people(self) -> None:
        rng = self.rng
        self._build_companies()
        # hard negatives first
        for i, (country, last) in enumerate([("US", "Miller"), ("GB", "Hughes"), ("DE", "Becker"), ("US", "Reed"),
                                             ("FR", "Moreau")]):
            city = rng.choice(CITIES[country])[0]
            home = make_landline(rng, country, city)
            a = self._new_person(country, last=last, gender="M", city=city, company="auto", phone=home)
            b = self._new_person(country, last=last, gender="F", city=city, company=None, phone=home)
            for p in (a, b):
                p.hn_group, p.hn_kind = f"HN-HOUSEHOLD-{i + 1}", "household (same surname, city and home phone)"
        for i, country in enumerate(["US", "DE", "GB", "US"]):
            comp = self.companies[country][i]
            for _ in range(3 if i % 2 == 0 else 2):
                p = self._new_person(country, company=comp, city=comp.city, phone=comp.switchboard)
                if p.work_email and p.emails[0] != p.work_email:
                    p.emails.remove(p.work_email)
                    p.emails.insert(0, p.work_email)
                p.hn_group, p.hn_kind = f"HN-COLLEAGUES-{i + 1}", "colleagues sharing the switchboard phone"
        for gid, country, first, last in [("HN-SAMENAME-1", "US", "John", "Smith"),
                                          ("HN-SAMENAME-2", "CN", "伟", "张"),
                                          ("HN-SAMENAME-3", "DE", "Thomas", "Müller"),
                                          ("HN-SAMENAME-4", "ES", "María", "García")]:
            cities = rng.sample([c[0] for c in CITIES[country]], 2)
            for k in range(2):
                p = self._new_person(country, first=first, last=last, gender="F" if first == "María" else "M",
                                     city=cities[k], company="auto" if k == 0 else None)
                if country == "CN" and p.mobile is None:
                    p.mobile = make_mobile(rng, country, p.city)
                p.nick = ""
                p.hn_group, p.hn_kind = gid, "different people with the same name"
        weights = [("US", 27), ("GB", 14), ("DE", 18), ("AT", 2), ("CH", 3), ("FR", 10), ("ES", 8), ("CN", 15)]
        countries = [c for c, w in weights for _ in range(w)]
        while len(self.people) < N_PEOPLE:
            self._new_person(rng.choice(countries))

    # ---- which files hold whom
    def assign_files(self) -> None:
        rng = self.rng
        for p in self.people:
            files: list[str] = []
            c = p.country
            if p.hn_kind.startswith("colleagues"):
                files = [F_CRM]
            elif c == "CN":
                files = [F_CN] if rng.random() < 0.9 else [F_CRM]
                if rng.random() < 0.12:
                    files.append(F_CRM)
            elif c in ("DE", "AT", "CH"):
                files = [F_SHOW] if rng.random() < 0.7 else [F_CRM]
                if rng.random() < 0.2:
                    files.append(F_CRM if files[0] == F_SHOW else F_SHOW)
            elif c == "US":
                files = [F_CRM] if rng.random() < 0.65 else [F_NEWS]
            else:
                files = [F_UNI] if rng.random() < 0.72 else [F_CRM]
                if rng.random() < 0.15:
                    files.append(F_CRM if files[0] == F_UNI else F_UNI)
            if rng.random() < 0.12 and F_NEWS not in files:
                files.append(F_NEWS)
            if c in ("DE", "AT", "CH", "FR", "ES") and p.company and rng.random() < 0.3:
                files.append(F_PIPE)
            p.files = list(dict.fromkeys(files))
        # households and same-name pairs should both be in reach of one file
        for p in self.people:
            if p.hn_kind.startswith("household") or p.hn_kind.startswith("different"):
                home = {"CN": F_CN, "DE": F_SHOW, "FR": F_UNI, "ES": F_UNI}.get(p.country, F_CRM)
                if home not in p.files:
                    p.files.insert(0, home)
        # order customers: ~250, with a realistic RFM spread
        cands = [p for p in self.people if not p.hn_kind.startswith("colleagues")]
        rng.shuffle(cands)
        buyers = cands[:225]
        segs = (["heavy"] * 12 + ["regular"] * 42 + ["occasional"] * 45 + ["lapsed"] * 30 + ["new"] * 26)
        segs += ["one-off"] * (len(buyers) - len(segs))
        rng.shuffle(segs)
        for p, s in zip(buyers, segs):
            p.segment = s
            # most buyers are web-shop customers who never made it into a contact list
            if rng.random() < 0.55 and not p.hn_group:
                p.files = [f for f in p.files if f == F_PIPE]
            p.files.append(F_ORDERS)
        # people with deals in the legacy CRM: some CRM contacts
        for p in self.people:
            if F_CRM in p.files and p.company and rng.random() < 0.5:
                p.files.append("deals")
            if not [f for f in p.files if f != "deals"]:
                p.files = [F_CRM]

    # ---- name variants for one appearance
    def name_variant(self, p: Person, *, allow_swap: bool = True, latin: bool = False) -> tuple[str, str, list[str]]:
        rng = self.rng
        first, last = (p.latin_first, p.latin_last) if latin else (p.first, p.last)
        var = []
        if latin and p.country == "CN":
            var.append("pinyin")
        if p.nick and rng.random() < 0.35:
            first = p.nick
            var.append("nickname")
        if p.second_last and rng.random() < 0.5:
            last = f"{last} {p.second_last}"
            var.append("second_surname")
        r = rng.random()
        if r < 0.07 and p.country != "CN" or (latin and r < 0.07):
            first, last = self.typo(first, last)
            var.append("typo")
        elif r < 0.12 and p.country in ("DE", "AT", "CH") and any(ch in last for ch in "äöüß"):
            last = ascii_fold(last)
            var.append("umlaut_folded")
        return first, last, var

    def typo(self, first: str, last: str) -> tuple[str, str]:
        rng = self.rng
        which = rng.random() < 0.5
        s = last if which else first
        if len(s) > 3:
            i = rng.randrange(1, len(s) - 1)
            k = rng.random()
            if k < 0.4:
                s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
            elif k < 0.7:
                s = s[:i] + s[i + 1:]
            else:
                s = s[:i] + s[i] + s[i:]
        return (first, s) if which else (s, last)

    def pick_email(self, p: Person, file: str) -> tuple[str, list[str]]:
        rng = self.rng
        var = []
        if file in (F_NEWS, F_ORDERS):
            e = p.personal_email if rng.random() < 0.7 else p.emails[0]
        else:
            e = p.emails[0]
        if p.old_email and rng.random() < 0.5 and file in (F_CRM, F_NEWS, "deals"):
            e = p.old_email
            var.append("old_employer_email")
        return e, var

    def noisy_email(self, e: str, file: str, var: list[str]) -> str:
        r = self.rng.random()
        if r < 0.06:
            var.append("email_upper")
            return e.upper() if self.rng.random() < 0.5 else e[0].upper() + e[1:]
        if r < 0.11:
            var.append("email_whitespace")
            return f" {e} " if self.rng.random() < 0.5 else e + " "
        return e

    def add_row(self, **kw) -> None:
        row = {c: "" for c in TRUTH_COLUMNS}
        for k, v in kw.items():
            if k not in row:
                raise KeyError(k)
            row[k] = v if isinstance(v, str) else ("" if v is None else str(v))
        self.rows.append(row)


def amount_text(x: float) -> str:
    return f"{x:.2f}"


# --------------------------------------------------------------------------- writers
def _sci(m: re.Match) -> bytes:
    d = m.group(2).decode()
    mant = (d[0] + "." + d[1:].rstrip("0")).rstrip(".")
    return m.group(1) + f"<v>{mant}E+{len(d) - 1}</v>".encode()


def fixed_zip(data: bytes, sci_phones: bool = False) -> bytes:
    """Rewrite an xlsx zip with fixed timestamps so the bytes do not depend on the clock.

    With *sci_phones*, big whole numbers in the Phone/Mobile columns of the first sheet are
    stored in scientific notation ("1.3800138E+10") as some exporters do; they read back as floats.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>", body)
            if sci_phones and info.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb'(<c r="[DE]\d+"[^>]*>)<v>(\d{11,})</v>', _sci, body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 7, 1, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def save_workbook(wb, path: Path, sci_phones: bool = False) -> None:
    wb.properties.creator = "ACME Legacy CRM"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(fixed_zip(buf.getvalue(), sci_phones))


class CsvOut:
    """Writes CSV records one by one, tracking the physical line each record starts on."""

    def __init__(self, delimiter: str, lineterminator: str, quoting: int = csv.QUOTE_MINIMAL):
        self.buf = io.StringIO()
        self.w = csv.writer(self.buf, delimiter=delimiter, lineterminator=lineterminator, quoting=quoting)
        self.line = 1

    def write(self, values: list) -> int:
        start = self.buf.tell()
        self.w.writerow(["" if v is None else v for v in values])
        text = self.buf.getvalue()[start:]
        this = self.line
        self.line += text.count("\n")
        return this

    def text(self) -> str:
        return self.buf.getvalue()


# --------------------------------------------------------------------------- file builders
def crm_phone_value(rng: random.Random, ph: Phone, var: list[str]):
    """A phone as the legacy CRM stored it: often a number (leading zeros lost), sometimes text."""
    r = rng.random()
    if ph.country == "US":
        if r < 0.45:
            return float(ph.nsn)
        if r < 0.6:
            return float("1" + ph.nsn)
        return national(ph, rng.randrange(3)) if r < 0.9 else international(ph)
    if ph.country == "CN" and ph.mobile:
        if r < 0.6:
            return float(ph.nsn)
        return float(CC["CN"] + ph.nsn) if r < 0.8 else international(ph)
    if r < 0.3:
        var.append("phone_number_lost_leading_zero")
        return float(ph.nsn)
    if r < 0.55:
        return float(CC[ph.country] + ph.nsn)
    return national(ph, rng.randrange(3)) if r < 0.8 else international(ph, rng.randrange(3))


def country_word(rng: random.Random, file: str, country: str) -> str:
    table = COUNTRY_WORDS[file]
    return rng.choice(table.get(country) or COUNTRY_WORDS[F_CRM][country])


def build_old_crm(w: World, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    rng = w.rng
    members = [p for p in w.people if F_CRM in p.files]
    units: list[list[Person]] = []
    groups: dict[str, list[Person]] = {}
    for p in members:
        if p.hn_kind.startswith("colleagues"):
            groups.setdefault(p.hn_group, []).append(p)
        else:
            units.append([p])
            if rng.random() < 0.05:
                units.append([p])  # entered twice over the years
    units.extend(groups.values())
    # a few more colleague blocks: people at the same company listed together
    rng.shuffle(units)
    n_rows = sum(len(u) for u in units)
    bad = {k: set(rng.sample(range(n_rows), n)) for k, n in
           [("email", 3), ("phone", 2), ("country", 1), ("date", 1), ("email_missing", 5)]}

    wb = Workbook()
    ws = wb.active
    ws.title = "Contacts"
    header = ["First Name", "Last Name", "E-mail Address", "Phone", "Mobile #", "Company", "Job Title", "City",
              "Country", "Created", "Notes", "Lead Source", "Customer Since (Year)"]
    ws["A1"] = "ACME Legacy CRM – Contact export"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = "Exported 2021-03-04"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(header))
    for j, h in enumerate(header, 1):
        ws.cell(row=4, column=j, value=h).font = Font(bold=True)
    r = 5
    i = 0
    notes = ["", "", "", "Met at conference", "Prefers email", "Call back in Q3", "VIP", "Do not call",
             "Sent brochure", "Interested in annual plan", "Former customer"]
    sources = ["Website", "Referral", "Trade Show", "Cold Call", "Partner", "", "Webinar"]
    for unit in units:
        start = r
        for k, p in enumerate(unit):
            var: list[str] = []
            cn = p.country == "CN"
            first, last, v = w.name_variant(p, latin=cn)
            var += v
            f_cell, l_cell = first, last
            if rng.random() < 0.04:
                f_cell, l_cell = last, first
                var.append("swapped_first_last")
            if rng.random() < 0.05:
                f_cell, l_cell = f_cell.upper(), l_cell.upper()
                var.append("name_upper")
            elif rng.random() < 0.03:
                f_cell, l_cell = f_cell.lower() + " ", " " + l_cell.lower()
                var.append("name_lower_whitespace")
            email, v = w.pick_email(p, "deals")
            var += v
            company = p.old_company if "old_employer_email" in var else p.company
            email_cell = w.noisy_email(email, F_CRM, var)
            email_truth = email
            bad_vals = []
            if i in bad["email"]:
                email_cell = rng.choice([email.split("@")[0] + "@", email.replace("@", " at "),
                                         email.rsplit(".", 1)[0]])
                email_truth = ""
                bad_vals.append("email")
            elif i in bad["email_missing"]:
                email_cell, email_truth = None, ""
                var.append("email_missing")
            ph = p.phone or (company.switchboard if company and rng.random() < 0.5 else None)
            phone_cell = crm_phone_value(rng, ph, var) if ph else None
            phone_truth = ph.e164 if ph else ""
            if i in bad["phone"]:
                phone_cell, phone_truth = rng.choice([12345, "555-1234x", "0000"]), ""
                bad_vals.append("phone")
            mob = p.mobile if (p.mobile and rng.random() < 0.7) else None
            mobile_cell = crm_phone_value(rng, mob, var) if mob else None
            city = p.city
            if rng.random() < 0.08:
                city = rng.choice([c[0] for c in CITIES[p.country] if c[0] != p.city] or [p.city])
                if city != p.city:
                    var.append("moved_city")
            city_cell = CN_CITY_LATIN.get(city, city)
            cword = country_word(rng, F_CRM, p.country)
            country_truth = p.country
            if i in bad["country"]:
                cword, country_truth = "Atlantis", ""
                bad_vals.append("country")
            elif rng.random() < 0.05:
                cword, country_truth = None, ""
                var.append("country_missing")
            created = rand_date(rng, dt.date(2014, 6, 1), dt.date(2021, 3, 3))
            created_truth = created.isoformat()
            rr = rng.random()
            if i in bad["date"]:
                created_cell, created_truth = "31.02.2020", ""
                bad_vals.append("date")
            elif rr < 0.45:
                created_cell = dt.datetime(created.year, created.month, created.day)
            elif rr < 0.55:
                created_cell = dt.datetime(created.year, created.month, created.day, rng.randint(8, 18),
                                           rng.randint(0, 59))
            else:
                created_cell = excel_serial(created)
                var.append("date_excel_serial")
            row = [f_cell, l_cell, email_cell, phone_cell, mobile_cell,
                   (company.name if company else None) if k == 0 else None,
                   p.job or None, city_cell, cword, created_cell, rng.choice(notes) or None,
                   rng.choice(sources) or None, created.year + rng.choice([0, 0, 1]) if rng.random() < 0.6 else None]
            for j, val in enumerate(row, 1):
                c = ws.cell(row=r, column=j, value=val)
                if j == 10 and isinstance(val, dt.datetime):
                    c.number_format = "yyyy-mm-dd h:mm" if val.hour else rng.choice(["dd.mm.yyyy", "m/d/yyyy",
                                                                                     "yyyy-mm-dd"])
            if len(unit) > 1:
                var.append("company_merged_cell")
            w.add_row(source_file=F_CRM, source_sheet="Contacts", source_row=r, entity="contact",
                      person_id=p.pid, email_truth=email_truth.lower(), phone_truth=phone_truth,
                      mobile_truth=mob.e164 if mob else "", country_truth=country_truth,
                      first_name_truth=first if "swapped_first_last" not in var else last,
                      last_name_truth=last if "swapped_first_last" not in var else first,
                      full_name_truth=f"{first} {last}" if "swapped_first_last" not in var else f"{last} {first}",
                      company_truth=company.name if company else "", city_truth=city_cell,
                      created_truth=created_truth, variations=";".join(var), bad_values=";".join(bad_vals))
            r += 1
            i += 1
        if len(unit) > 1:
            ws.merge_cells(start_row=start, start_column=6, end_row=r - 1, end_column=6)
            ws.cell(row=start, column=6).alignment = Alignment(vertical="center")
    ws.cell(row=r, column=1, value=f"Total: {r - 5} contacts").font = Font(italic=True)

    # ---- Deals sheet
    ds = wb.create_sheet("Deals")
    dh = ["Deal Name", "Account Name", "Contact Email", "Stage", "Amount", "Probability (%)", "Close Date",
          "Deal Owner"]
    for j, h in enumerate(dh, 1):
        ds.cell(row=1, column=j, value=h).font = Font(bold=True)
    stages = [("Closed Won", "won", 100), ("closed-won", "won", 100), ("PROPOSAL", "proposal", 60),
              ("Negotiation/Review", "negotiation", 80), ("Qualified", "qualified", 30), ("Lead", "lead", 10),
              ("Closed Lost", "lost", 0), ("Closed Won", "won", 100), ("Proposal", "proposal", 50),
              ("qualified", "qualified", 25)]
    products = ["Annual license", "Support renewal", "Onboarding package", "Hardware refresh", "Pilot project",
                "Consulting days", "Upgrade to Pro", "Multi-site rollout"]
    deal_people = [p for p in w.people if "deals" in p.files]
    deals = []
    for p in deal_people:
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
            deals.append(p)
    rng.shuffle(deals)
    bad_amount = set(rng.sample(range(len(deals)), 2))
    r = 2
    for i, p in enumerate(deals):
        var = []
        comp = p.company
        product = rng.choice(products)
        label, stage, prob = rng.choice(stages)
        email, v = w.pick_email(p, "deals")
        var += v
        if "old_employer_email" in var:
            comp = p.old_company
        email_truth = email
        email_cell = w.noisy_email(email, "deals", var)
        name = f"{comp.name.split()[0]} – {product}"
        if rng.random() < 0.1:
            first, last, _ = w.name_variant(p, latin=True)
            name = f"{product} for {first} {last}"
            email_cell, email_truth = None, ""
            var.append("linked_by_name_only")
        acct = comp.name
        if rng.random() < 0.15:
            acct = acct.upper()
            var.append("company_upper")
        elif rng.random() < 0.15:
            acct = re.sub(r",?\s+(Inc\.|LLC|Ltd|GmbH|AG|LLP|Co\.|S\.L\.|S\.A\.|SA|SARL)$", "", acct)
            var.append("company_suffix_dropped")
        amount = round(rng.lognormvariate(9.2, 0.9), -2)
        rr = rng.random()
        if i in bad_amount:
            amount_cell, amount_t = rng.choice(["TBD", "n/a?"]), ""
            bad = "amount"
        else:
            bad = ""
            amount_t = amount_text(amount)
            if rr < 0.55:
                amount_cell = amount
            elif rr < 0.8:
                amount_cell = f"${amount:,.0f}"
            elif rr < 0.9 and amount % 1000 == 0:
                amount_cell = f"{int(amount // 1000)}k"
            else:
                amount_cell = f"{amount:,.2f}"
        close = rand_date(rng, dt.date(2019, 1, 1), dt.date(2021, 6, 30))
        close_cell = dt.datetime(close.year, close.month, close.day) if rng.random() < 0.8 else close.strftime(
            "%m/%d/%Y")
        row = [name, acct, email_cell, label, amount_cell, prob if rng.random() < 0.9 else f"{prob}%",
               close_cell, rng.choice(OWNERS)]
        for j, val in enumerate(row, 1):
            c = ds.cell(row=r, column=j, value=val)
            if j == 7 and isinstance(val, dt.datetime):
                c.number_format = "m/d/yyyy"
        w.add_row(source_file=F_CRM, source_sheet="Deals", source_row=r, entity="deal", person_id=p.pid,
                  email_truth=email_truth.lower(), company_truth=comp.name, deal_name=name, stage_truth=stage,
                  probability_truth=f"{prob / 100:.2f}", close_date_truth=close.isoformat(),
                  amount_truth=amount_t, currency_truth="USD", variations=";".join(var), bad_values=bad)
        r += 1
    save_workbook(wb, out / F_CRM, sci_phones=True)


def build_pipeline(w: World, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rng = w.rng
    wb = Workbook()
    ws = wb.active
    ws.title = "Pipeline 2024"
    header = ["Opportunity", "Company", "Contact", "Contact E-mail", "Phase", "Value (€)", "Probability",
              "Expected close", "Owner"]
    for j, h in enumerate(header, 1):
        ws.cell(row=1, column=j, value=h).font = Font(bold=True)
    phases = [("Lead", "lead", 0.1), ("Qualifiziert", "qualified", 0.25), ("Qualified", "qualified", 0.3),
              ("Angebot", "proposal", 0.5), ("Proposal sent", "proposal", 0.5), ("Verhandlung", "negotiation", 0.75),
              ("Negotiation", "negotiation", 0.7), ("Gewonnen", "won", 1.0), ("Won", "won", 1.0),
              ("Verloren", "lost", 0.0), ("Lost", "lost", 0.0)]
    topics = ["Rahmenvertrag 2024", "Wartungsvertrag", "Lizenz-Erweiterung", "Pilotprojekt", "Rollout Phase 2",
              "Renouvellement", "Ampliación de licencias", "Schulungspaket"]
    deals = []
    for p in w.people:
        if F_PIPE in p.files:
            deals += [p] * rng.choice([1, 1, 2, 2, 3])
    rng.shuffle(deals)
    bad_date = rng.randrange(len(deals))
    r = 2
    for i, p in enumerate(deals):
        var = []
        label, stage, prob = rng.choice(phases)
        value = round(rng.lognormvariate(9.5, 0.8), rng.choice([-2, -2, 2]))
        rr = rng.random()
        if rr < 0.35:
            vcell = value
        elif rr < 0.7:
            vcell = f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
            var.append("eu_number_text")
        elif rr < 0.85:
            vcell = f"{value:,.0f}".replace(",", ".") if value == int(value) else f"{value:.2f}".replace(".", ",")
            var.append("eu_number_text")
        else:
            vcell = f"{value:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")
            var.append("eu_number_text")
        pr = rng.random()
        pcell = f"{round(prob * 100)}%" if pr < 0.6 else (f"{round(prob * 100)} %" if pr < 0.75 else prob)
        close = rand_date(rng, dt.date(2024, 1, 15), dt.date(2024, 12, 20))
        close_t = close.isoformat()
        bad = ""
        if i == bad_date:
            ccell, close_t, bad = "31.02.2024", "", "date"
        elif rng.random() < 0.7:
            ccell = dt.datetime(close.year, close.month, close.day)
        else:
            ccell = close.strftime("%d.%m.%Y")
        first, last, v = w.name_variant(p)
        var += v
        contact = f"{first} {last}" if rng.random() < 0.8 else f"{last}, {first}"
        email = p.emails[0]
        ecell = w.noisy_email(email, F_PIPE, var)
        email_t = email
        if rng.random() < 0.1:
            ecell, email_t = None, ""
            var.append("linked_by_name_only")
        row = [f"{p.company.name.split()[0]} – {rng.choice(topics)}", p.company.name, contact, ecell, label,
               vcell, pcell, ccell, rng.choice(PIPE_OWNERS)]
        for j, val in enumerate(row, 1):
            c = ws.cell(row=r, column=j, value=val)
            if j == 8 and isinstance(val, dt.datetime):
                c.number_format = "dd.mm.yyyy"
            if j == 6 and isinstance(val, float):
                c.number_format = "#,##0.00 [$€-407]"
        w.add_row(source_file=F_PIPE, source_sheet="Pipeline 2024", source_row=r, entity="deal", person_id=p.pid,
                  email_truth=email_t.lower(), first_name_truth=first, last_name_truth=last,
                  full_name_truth=f"{first} {last}", company_truth=p.company.name, deal_name=row[0],
                  stage_truth=stage, probability_truth=f"{prob:.2f}", close_date_truth=close_t,
                  amount_truth=amount_text(value), currency_truth="EUR", variations=";".join(var), bad_values=bad)
        r += 1
    save_workbook(wb, out / F_PIPE)


def _members(w: World, file: str, dup_rate: float) -> list[Person]:
    ppl = []
    for p in w.people:
        if file in p.files:
            ppl.append(p)
            if w.rng.random() < dup_rate:
                ppl.append(p)
    w.rng.shuffle(ppl)
    return ppl


def build_tradeshow(w: World, out: Path) -> None:
    rng = w.rng
    ppl = _members(w, F_SHOW, 0.05)
    bad = {k: set(rng.sample(range(len(ppl)), n)) for k, n in
           [("email", 2), ("phone", 2), ("country", 1), ("date", 1)]}
    days = ([dt.date(2023, 4, d) for d in range(17, 22)] + [dt.date(2023, 11, d) for d in range(7, 10)]
            + [dt.date(2023, 12, 31)])
    notes = ["", "", "", "Interesse an Wartungsvertrag", "Bitte Angebot schicken; Rückruf KW 18",
             "Katalog mitgegeben", "Kontakt über Messestand", "Sehr interessiert, \"heißer\" Lead",
             "Termin vereinbart", "Preisliste per Mail"]
    csvw = CsvOut(";", "\r\n")
    csvw.write(["Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "Position", "Ort", "Land", "Datum", "Notiz"])
    for i, p in enumerate(ppl):
        var = []
        first, last, v = w.name_variant(p, latin=p.country == "CN")
        var += v
        f_cell, l_cell = first, last
        if rng.random() < 0.03:
            f_cell, l_cell = first.upper(), last.upper()
            var.append("name_upper")
        email = p.emails[0]
        ecell = w.noisy_email(email, F_SHOW, var)
        email_t = email
        if rng.random() < 0.06:
            ecell = f"{first} {last} <{email}>"
            var.append("email_display_name")
        bad_vals = []
        if i in bad["email"]:
            ecell, email_t = rng.choice([email.split("@")[0] + "@", "info@"]), ""
            bad_vals.append("email")
        ph = p.mobile if (p.mobile and (p.phone is None or rng.random() < 0.5)) else p.phone
        if ph is None and p.company:
            ph = p.company.switchboard
        if ph is None:
            pcell, ph_t = "", ""
        else:
            ph_t = ph.e164
            domestic = ph.country == "DE"
            pcell = national(ph, rng.randrange(4)) if domestic and rng.random() < 0.65 else international(
                ph, rng.randrange(3))
        if i in bad["phone"]:
            pcell, ph_t = "12345", ""
            bad_vals.append("phone")
        land = country_word(rng, F_SHOW, p.country)
        c_t = p.country
        if i in bad["country"]:
            land, c_t = "Atlantis", ""
            bad_vals.append("country")
        elif rng.random() < 0.04:
            land, c_t = "", ""
            var.append("country_missing")
        day = rng.choice(days)
        dcell, d_t = day.strftime("%d.%m.%Y"), day.isoformat()
        if i in bad["date"]:
            dcell, d_t = "31.02.2023", ""
            bad_vals.append("date")
        city = CN_CITY_LATIN.get(p.city, p.city)
        line = csvw.write([f_cell, l_cell, ecell, pcell, p.company.name if p.company else "", p.job, city, land,
                           dcell, rng.choice(notes)])
        w.add_row(source_file=F_SHOW, source_sheet="", source_row=line, entity="contact", person_id=p.pid,
                  email_truth=email_t.lower(), phone_truth=ph_t, country_truth=c_t,
                  first_name_truth=first, last_name_truth=last, full_name_truth=f"{first} {last}",
                  company_truth=p.company.name if p.company else "", city_truth=city, created_truth=d_t,
                  variations=";".join(var), bad_values=";".join(bad_vals))
    (out / F_SHOW).write_bytes(b"\xef\xbb\xbf" + csvw.text().encode("utf-8"))


def build_newsletter(w: World, out: Path) -> None:
    rng = w.rng
    ppl = _members(w, F_NEWS, 0.0)
    extra = [p for p in ppl if len(p.emails) > 1 and rng.random() < 0.15]
    ppl += extra  # signed up twice, with the other address
    rng.shuffle(ppl)
    seen: set[str] = set()
    bad = {k: set(rng.sample(range(len(ppl)), n)) for k, n in [("email", 3), ("placeholder", 2), ("fullwidth", 3),
                                                               ("mailto", 4)]}
    tags = ["newsletter", "newsletter,product-news", "webinar", "customer", "customer,vip", "product-news",
            "event-2023", "newsletter\nwebinar", "product-news\nevent-2023", "", ""]
    csvw = CsvOut(",", "\n", csv.QUOTE_ALL)
    csvw.write(["Email", "Name", "Signed up", "Tags"])
    for i, p in enumerate(ppl):
        var: list[str] = []
        email = p.personal_email if p.pid not in seen else next(e for e in p.emails if e != p.personal_email)
        if p.pid in seen:
            var.append("second_signup_other_email")
        elif rng.random() < 0.3:
            email = p.emails[0]
        seen.add(p.pid)
        email_t = email
        ecell = w.noisy_email(email, F_NEWS, var)
        bad_vals = []
        if i in bad["email"]:
            ecell, email_t = rng.choice([email.split("@")[0] + "@", email.replace("@", ""),
                                         email.split("@")[0] + "@gmail"]), ""
            bad_vals.append("email")
        elif i in bad["placeholder"]:
            ecell, email_t = "n/a", ""
            var.append("email_placeholder")
        elif i in bad["fullwidth"]:
            ecell = fullwidth(email)
            var.append("email_fullwidth")
        elif i in bad["mailto"]:
            ecell = "mailto:" + email
            var.append("email_mailto")
        cn = p.country == "CN"
        first, last, v = w.name_variant(p, latin=cn and rng.random() < 0.5)
        var += v
        fn_t, ln_t = first, last
        latin = not cn or "pinyin" in var
        full_t = f"{first} {last}" if latin else f"{last}{first}"
        rr = rng.random()
        if rr < 0.12:
            ncell, fn_t, ln_t, full_t = "", "", "", ""
            var.append("name_missing")
        elif not latin:
            ncell = full_t
        elif rr < 0.27:
            ncell = f"{last}, {first}"
            var.append("name_last_comma_first")
        elif rr < 0.33:
            ncell = f"{'DR.' if rng.random() < 0.5 else 'MR.' if p.gender == 'M' else 'MS.'} {first} {last}".upper()
            var.append("name_upper_with_title")
        elif rr < 0.40:
            ncell = f"{first} {last}".lower()
            var.append("name_lower")
        elif rr < 0.50:
            ncell, ln_t, full_t = first, "", first
            var.append("first_name_only")
        else:
            ncell = f"{first} {last}"
        signed = dt.datetime(2019, 1, 1) + dt.timedelta(seconds=rng.randrange(int(5.4 * 365 * 86400)))
        line = csvw.write([ecell, ncell, signed.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(tags)])
        w.add_row(source_file=F_NEWS, source_sheet="", source_row=line, entity="contact", person_id=p.pid,
                  email_truth=email_t.lower(), first_name_truth=fn_t, last_name_truth=ln_t, full_name_truth=full_t,
                  created_truth=signed.date().isoformat(), variations=";".join(var), bad_values=";".join(bad_vals))
    (out / F_NEWS).write_bytes(csvw.text().encode("utf-8"))


def build_china(w: World, out: Path) -> None:
    rng = w.rng
    ppl = _members(w, F_CN, 0.04)
    bad = {k: set(rng.sample(range(len(ppl)), n)) for k, n in [("phone", 2), ("email", 1)]}
    notes = ["", "", "老客户", "展会认识", "需要报价", "VIP客户", "已离职？", "微信联系", "年底回访", "代理商介绍"]
    csvw = CsvOut(",", "\r\n")
    csvw.write(["姓名", "手机", "邮箱", "公司", "城市", "国家", "备注"])
    for i, p in enumerate(ppl):
        var: list[str] = []
        name = p.full
        if rng.random() < 0.1:
            name = f"{p.last} {p.first}"
            var.append("name_space")
        mob = p.mobile
        st = rng.randrange(7)
        mcell = [national(mob, 0), international(mob), fullwidth(mob.nsn), mob.nsn, "+86" + mob.nsn,
                 "0086 " + mob.nsn, national(mob, 2)][st]
        if st == 2:
            var.append("phone_fullwidth")
        m_t = mob.e164
        bad_vals = []
        if i in bad["phone"]:
            mcell, m_t = rng.choice(["12345", mob.nsn[:-1]]), ""
            bad_vals.append("phone")
        email = p.emails[0]
        ecell, e_t = email, email
        if i in bad["email"]:
            ecell, e_t = email.replace("@", "@@"), ""
            bad_vals.append("email")
        elif rng.random() < 0.08:
            ecell, e_t = "", ""
            var.append("email_missing")
        elif rng.random() < 0.05:
            ecell = fullwidth(email)
            var.append("email_fullwidth")
        cword = country_word(rng, F_CN, "CN")
        c_t = "CN"
        if rng.random() < 0.08:
            cword, c_t = "", ""
            var.append("country_missing")
        line = csvw.write([name, mcell, ecell, p.company.name if p.company else "", p.city, cword,
                           rng.choice(notes)])
        w.add_row(source_file=F_CN, source_sheet="", source_row=line, entity="contact", person_id=p.pid,
                  email_truth=e_t.lower(), mobile_truth=m_t, country_truth=c_t, first_name_truth=p.first,
                  last_name_truth=p.last, full_name_truth=p.full, company_truth=p.company.name if p.company else "",
                  city_truth=p.city, variations=";".join(var), bad_values=";".join(bad_vals))
    (out / F_CN).write_bytes(csvw.text().encode("gbk"))


def build_unicode(w: World, out: Path) -> None:
    rng = w.rng
    ppl = _members(w, F_UNI, 0.03)
    bad = {k: set(rng.sample(range(len(ppl)), n)) for k, n in [("phone", 2), ("email", 2), ("country", 1)]}
    csvw = CsvOut("\t", "\r\n")
    csvw.write(["Full Name", "Email", "Telephone", "Organization", "Town", "Country/Region"])
    for i, p in enumerate(ppl):
        var: list[str] = []
        first, last, v = w.name_variant(p, latin=p.country == "CN")
        var += v
        if p.country == "FR" and rng.random() < 0.3:
            ncell = f"{last.upper()} {first}"
            var.append("surname_first_upper")
        else:
            ncell = f"{first} {last}"
        email = p.emails[0]
        ecell, e_t = w.noisy_email(email, F_UNI, var), email
        bad_vals = []
        if i in bad["email"]:
            ecell, e_t = email.rsplit(".", 1)[0], ""
            bad_vals.append("email")
        ph = p.phone or p.mobile or (p.company.switchboard if p.company else None)
        if ph is not None and p.mobile and rng.random() < 0.4:
            ph = p.mobile
        pcell, p_t = "", ""
        if ph is not None:
            pcell = national(ph, rng.randrange(3)) if rng.random() < 0.6 else international(ph, rng.randrange(3))
            p_t = ph.e164
        if i in bad["phone"]:
            pcell, p_t = rng.choice(["12345", "+44 20 7946"]), ""
            bad_vals.append("phone")
        cword, c_t = country_word(rng, F_UNI, p.country), p.country
        if i in bad["country"]:
            cword, c_t = "Atlantis", ""
            bad_vals.append("country")
        elif rng.random() < 0.05:
            cword, c_t = "", ""
            var.append("country_missing")
        city = CN_CITY_LATIN.get(p.city, p.city)
        org = p.company.name if p.company else ""
        line = csvw.write([ncell, ecell, pcell, org, city, cword])
        w.add_row(source_file=F_UNI, source_sheet="", source_row=line, entity="contact", person_id=p.pid,
                  email_truth=e_t.lower(), phone_truth=p_t, country_truth=c_t, first_name_truth=first,
                  last_name_truth=last, full_name_truth=f"{first} {last}", company_truth=org, city_truth=city,
                  variations=";".join(var), bad_values=";".join(bad_vals))
    (out / F_UNI).write_bytes(b"\xff\xfe" + csvw.text().encode("utf-16-le"))


CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "AT": "EUR", "FR": "EUR", "ES": "EUR", "CH": "CHF", "CN": "CNY"}
SYMBOL = {"USD": "$", "GBP": "£", "EUR": "€", "CHF": "CHF ", "CNY": "¥"}


def build_orders(w: World, out: Path) -> None:
    rng = w.rng
    start, end = dt.date(2022, 1, 1), dt.date(2024, 6, 30)
    span = {"heavy": (start, end, (14, 30)), "regular": (start, end, (3, 8)), "occasional": (start, end, (2, 2)),
            "lapsed": (start, dt.date(2023, 3, 31), (1, 4)), "new": (dt.date(2024, 1, 1), end, (1, 3)),
            "one-off": (start, end, (1, 1))}
    orders = []
    for p in w.people:
        if not p.segment:
            continue
        s, e, (lo, hi) = span[p.segment]
        n = rng.randint(lo, hi)
        first = rand_date(rng, s, e)
        if p.segment in ("heavy", "regular"):
            first = rand_date(rng, s, dt.date(2022, 9, 30))
        dates = sorted([first] + [rand_date(rng, first, e) for _ in range(n - 1)])
        p.n_orders = n
        scale = {"heavy": 5.3, "regular": 4.9}.get(p.segment, 4.5)
        for d in dates:
            orders.append((d, p, round(rng.lognormvariate(scale, 0.7), 2), "normal"))
    # refunds: a few orders partly or fully refunded a little later
    for d, p, amt, _ in rng.sample(orders, 12):
        orders.append((min(d + dt.timedelta(days=rng.randint(3, 30)), end), p,
                       -amt if rng.random() < 0.6 else -round(amt * 0.3, 2), "refund"))
    orders.sort(key=lambda o: (o[0], o[1].pid, o[2]))
    csvw = CsvOut(",", "\r\n")
    csvw.write(["Order No", "Order Date", "Customer Email", "Customer Name", "Total", "Currency", "Status"])
    statuses = ["Completed"] * 8 + ["Shipped", "Processing"]
    for k, (d, p, amt, kind) in enumerate(orders):
        var: list[str] = []
        oid = f"SO-{100200 + k * 3 + rng.randint(0, 2)}"
        email = p.personal_email if rng.random() < 0.75 else p.emails[0]
        ecell, e_t = w.noisy_email(email, F_ORDERS, var), email
        first, last, v = w.name_variant(p, latin=True)
        var += v
        ncell = f"{first} {last}"
        fn_t, ln_t = first, last
        rr = rng.random()
        if rr < 0.05:
            ecell, e_t = "", ""
            var.append("linked_by_name_only")
        elif rr < 0.12:
            ncell, fn_t, ln_t = "", "", ""
            var.append("name_missing")
        elif rr < 0.18:
            ncell = ncell.upper()
            var.append("name_upper")
        cur = CURRENCY[p.country]
        sym = SYMBOL[cur]
        total = f"{'-' if amt < 0 else ''}{sym}{abs(amt):,.2f}"
        status = "Refunded" if kind == "refund" else rng.choice(statuses)
        if status == "Processing" and d < dt.date(2024, 6, 1):
            status = "Completed"
        line = csvw.write([oid, d.strftime("%m/%d/%Y"), ecell, ncell, total, cur, status])
        w.add_row(source_file=F_ORDERS, source_sheet="", source_row=line, entity="order", person_id=p.pid,
                  email_truth=e_t.lower(), first_name_truth=fn_t, last_name_truth=ln_t,
                  full_name_truth=f"{fn_t} {ln_t}".strip(), order_id=oid, order_date_truth=d.isoformat(),
                  amount_truth=amount_text(amt), currency_truth=cur, variations=";".join(var))
    (out / F_ORDERS).write_bytes(csvw.text().encode("cp1252"))


# --------------------------------------------------------------------------- truth
TRUTH_README = """\
# Hidden ground truth for `sample_data/`

Written by `python sample_data/make_sample_data.py` (seed {seed}); do not edit by hand.
The files in `sample_data/` are what a user would have; these tables say what they *mean*.

## rows.csv: one line per data row of every sample file
| column | meaning |
|---|---|
| source_file, source_sheet, source_row | provenance exactly as `crmkit.read` must report it: base name; sheet name ('' for CSV/TXT); the 1-based row a spreadsheet app shows (xlsx), or the physical line on which the CSV/TXT record starts (header line = 1; quoted newlines in `newsletter_signups.csv` push later records down) |
| entity | contact, deal or order |
| person_id | the true person (people.csv); for deals and orders the person they belong to, even when the row only carries a name |
| email_truth | the row's email, normalised (trimmed, lower-case, `mailto:` / display name removed, full-width folded); empty if the row has none, a placeholder ("n/a") or an invalid one |
| phone_truth | E.164 of the column that maps to `phone` (Phone, Telefon, Telephone); empty if none or impossible |
| mobile_truth | E.164 of the column that maps to `mobile` (Mobile # in the CRM, 手机 in china_customers.csv) |
| country_truth | ISO alpha-2 of the country the row states; empty if the cell is empty or unknown ("Atlantis") |
| first_name_truth, last_name_truth, full_name_truth | the name the row itself carries, correctly split and cased (what a perfect cleaner outputs): nicknames, typos, dropped second surnames and pinyin spellings are kept, titles ("DR.") removed, "Last, First" and "MARTIN Sophie" put in order. Swapped First/Last columns are **not** un-swapped (variation `swapped_first_last`). Chinese names: last = surname (张, 欧阳), full = surname+given without space. Empty when the row has no name |
| company_truth, city_truth | company the row refers to (merged CRM cells filled down), city as written (canonical spelling) |
| created_truth | ISO date of Created / Datum / Signed up; empty if invalid ("31.02.2023") |
| deal_name, stage_truth, probability_truth, close_date_truth | deals: stage in lead/qualified/proposal/negotiation/won/lost; probability 0..1; ISO close date |
| order_id, order_date_truth | orders |
| amount_truth, currency_truth | deals and orders: plain decimal (refunds negative); ISO 4217 |
| variations | `;`-separated noise applied to this row (nickname, typo, old_employer_email, email_upper, date_excel_serial, phone_number_lost_leading_zero, ...) |
| bad_values | `;`-separated fields holding a value the cleaners must report as a problem (email, phone, country, date, amount) |

## people.csv: one line per true person
person_id, country (alpha-2), canonical first/last/full name, nickname (if they go by one), latin_name (pinyin for
Chinese people), company, old_company (previous employer, whose email still appears), job_title, city, emails
(`;`-separated, all addresses they use), phone / mobile (E.164), files (sample files they appear in), n_files,
n_orders, order_segment (heavy, regular, occasional, lapsed, new, one-off; empty if never ordered),
hard_negative_group / hard_negative_kind: people in the same group look alike but are **different** people
(households sharing surname, city and home phone; colleagues sharing a switchboard number; same-name pairs).
"""


def write_truth(w: World, truth: Path) -> None:
    truth.mkdir(parents=True, exist_ok=True)
    order = {f: i for i, f in enumerate(ALL_FILES)}
    rows = sorted(w.rows, key=lambda r: (order[r["source_file"]], r["source_sheet"], int(r["source_row"])))
    buf = io.StringIO()
    cw = csv.DictWriter(buf, TRUTH_COLUMNS, lineterminator="\n")
    cw.writeheader()
    cw.writerows(rows)
    (truth / "rows.csv").write_bytes(buf.getvalue().encode("utf-8"))

    files: dict[str, list[str]] = {}
    for r in rows:
        lst = files.setdefault(r["person_id"], [])
        if r["source_file"] not in lst:
            lst.append(r["source_file"])
    buf = io.StringIO()
    cw = csv.DictWriter(buf, PEOPLE_COLUMNS, lineterminator="\n")
    cw.writeheader()
    for p in w.people:
        fl = sorted(files.get(p.pid, []), key=order.get)
        cw.writerow({
            "person_id": p.pid, "country": p.country, "first_name": p.first, "last_name": p.last,
            "full_name": p.full, "nickname": p.nick, "latin_name": p.latin_full if p.country == "CN" else "",
            "company": p.company.name if p.company else "", "old_company": p.old_company.name if p.old_company else "",
            "job_title": p.job, "city": p.city, "emails": ";".join(p.emails),
            "phone": p.phone.e164 if p.phone else "", "mobile": p.mobile.e164 if p.mobile else "",
            "files": ";".join(fl), "n_files": len(fl), "n_orders": p.n_orders, "order_segment": p.segment,
            "hard_negative_group": p.hn_group, "hard_negative_kind": p.hn_kind,
        })
    (truth / "people.csv").write_bytes(buf.getvalue().encode("utf-8"))
    (truth / "README.md").write_bytes(TRUTH_README.format(seed=SEED).encode("utf-8"))


def generate(out: Path, truth: Path, seed: int = SEED) -> World:
    """Write the seven sample files into *out* and the truth tables into *truth*."""
    out.mkdir(parents=True, exist_ok=True)
    w = World(seed)
    w.build_people()
    w.assign_files()
    build_old_crm(w, out)
    build_tradeshow(w, out)
    build_newsletter(w, out)
    build_china(w, out)
    build_pipeline(w, out)
    build_orders(w, out)
    build_unicode(w, out)
    # people who ended up in no file at all (e.g. a pipeline-only person without deals) are dropped
    present = {r["person_id"] for r in w.rows}
    w.people = [p for p in w.people if p.pid in present]
    write_truth(w, truth)
    return w


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="folder for the sample files (default: sample_data/)")
    ap.add_argument("--truth-out", type=Path,
                    help="folder for the truth (default: tests/data/sample_truth/, or OUT/sample_truth with --out)")
    args = ap.parse_args(argv)
    out = args.out or DEFAULT_OUT
    truth = args.truth_out or (args.out / "sample_truth" if args.out else DEFAULT_TRUTH)
    w = generate(out, truth)
    print(f"wrote {len(w.rows)} rows for {len(w.people)} people to {out} (truth: {truth})")


if __name__ == "__main__":
    main()
