"""Seeded generator of messy contact lists with known duplicates (``true_id``), for matching benchmarks.

Output columns are those of the cleaned contacts frame (crmkit docs/internals.md) plus ``true_id``:
record_id, first_name, last_name, full_name, email, phone, mobile, company, company_key, street,
postcode, city, country, created_at, source_file, source_sheet, source_row, true_id.

People come from the US, UK, Germany, France and China (names drawn Zipf-like from per-country pools,
so John Smith, Thomas Müller and 张伟 are common). Each person has 1–5 records with noise: typos,
nicknames, swapped first/last names, case and whitespace noise, initials, one-digit phone typos,
phone/mobile swapped columns, invalid values, changed or work emails, missing fields, job changes and
moves. About ``hard_share`` of people are hard negatives: household members (same surname, address
and home phone), colleagues sharing a switchboard number, and namesakes (same name, often same city).

    python benchmarks/make_corpus.py 100000 --out corpus_100k.parquet
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------- pools
FIRST = {
    "US": "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan "
          "Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony Margaret "
          "Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Dorothy Kevin "
          "Carol Brian Amanda George Melissa Edward Deborah Ronald Stephanie Timothy Rebecca Jason Sharon Jeffrey "
          "Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela Jonathan Helen Stephen Anna "
          "Larry Brenda Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine Gregory "
          "Debra Alexander Rachel Frank Carolyn Patrick Janet Raymond Catherine Jack Maria Dennis Heather Jerry "
          "Diane Tyler Ruth Aaron Julie Jose Olivia Adam Joyce Nathan Virginia Henry Victoria Douglas Kelly "
          "Zachary Lauren Peter Christina Kyle Joan Ethan Evelyn Walter Judith Noah Megan Jeremy Andrea Christian "
          "Cheryl Keith Hannah Roger Jacqueline Terry Martha Gerald Gloria Harold Teresa Sean Ann Austin Sara "
          "Carl Madison Arthur Frances Lawrence Kathryn Dylan Janice Jesse Jean Jordan Abigail Bryan Alice",
    "GB": "Oliver Olivia George Amelia Harry Isla Jack Ava Jacob Emily Charlie Sophie Thomas Grace Oscar Mia "
          "William Poppy James Ella Henry Lily Leo Evie Alfie Isabella Joshua Charlotte Freddie Jessica Archie "
          "Daisy Ethan Sophia Isaac Alice Alexander Florence Joseph Ruby Edward Freya Samuel Chloe Max Matilda "
          "Daniel Phoebe Arthur Millie Lucas Evelyn Mohammed Rosie Logan Scarlett Theo Emma Harrison Elsie "
          "Benjamin Sienna Mason Maisie Sebastian Layla Finley Erin Adam Eliza Dylan Hannah Zachary Holly Riley "
          "Eleanor Teddy Sarah Theodore Katie David Lucy Elijah Abigail Jake Harriet Toby Martha Louis Zara "
          "Reuben Ivy Ryan Bella Gabriel Willow Luke Maya Michael Rebecca Nathan Megan Callum Amy Matthew Laura "
          "Andrew Rachel Peter Helen Stephen Claire Paul Nicola Mark Kate Richard Joanne Simon Gemma Robert Lauren",
    "DE": "Lukas Anna Leon Lea Finn Hannah Jonas Emma Paul Lena Luis Sophie Felix Marie Elias Mia Ben Lina "
          "Maximilian Laura Noah Johanna Julian Clara Moritz Leonie Niklas Sarah Tim Katharina Jan Julia Tom "
          "Lisa Philipp Sophia Alexander Charlotte David Amelie Jakob Emilia Simon Luisa Fabian Nele Florian "
          "Franziska Sebastian Ida Tobias Greta Daniel Ella Michael Stefanie Thomas Sabine Andreas Petra Stefan "
          "Claudia Markus Andrea Christian Nicole Martin Susanne Frank Birgit Jürgen Monika Klaus Ursula Wolfgang "
          "Renate Uwe Karin Dieter Helga Peter Gisela Hans Ingrid Matthias Heike Dirk Martina Jörg Anja Torsten "
          "Silke Bernd Katrin Ralf Tanja Holger Christina Sven Nadine Oliver Kerstin Manuel Melanie Dennis "
          "Jessica Kevin Jennifer Johannes Carina Friedrich Elisabeth Heinrich Gabriele Josef Bettina Ulrich "
          "Doris Günter Brigitte Norbert Angelika Volker Kathrin Rainer Miriam Lars Verena Kai Jana Nils Svenja",
    "FR": "Gabriel Emma Léo Jade Raphaël Louise Arthur Alice Louis Chloé Lucas Lina Adam Rose Jules Léa Hugo "
          "Anna Maël Mila Liam Inès Noah Ambre Paul Julia Ethan Mia Nathan Léna Sacha Manon Tom Juliette Mohamed "
          "Zoé Théo Camille Aaron Lou Martin Agathe Nolan Eva Timéo Romane Enzo Sarah Axel Charlotte Antoine Lucie "
          "Baptiste Clara Thomas Margaux Maxime Pauline Nicolas Marine Julien Mathilde Alexandre Laura Pierre "
          "Céline Jean Nathalie Philippe Isabelle Michel Sylvie Alain Catherine Patrick Valérie Christophe "
          "Sandrine Stéphane Véronique Laurent Sophie François Christine Frédéric Aurélie Olivier Émilie Sébastien "
          "Caroline David Élodie Guillaume Audrey Vincent Hélène Jérôme Virginie Benoît Delphine Thierry Claire "
          "Éric Stéphanie Didier Anne Pascal Marie Bernard Monique Dominique Françoise Yves Brigitte Daniel Martine",
}
LAST = {
    "US": "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
          "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
          "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
          "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz "
          "Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson "
          "Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
          "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins "
          "Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero "
          "Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant "
          "Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
          "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford "
          "Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
          "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels "
          "Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce "
          "Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley "
          "Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence",
    "GB": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker "
          "White Roberts Green Hall Thomas Clarke Jackson Wood Harris Edwards Turner Martin Cooper Hill Ward "
          "Hughes Moore Clark King Harrison Lewis Baker Lee Allen Morris Khan Scott Watson Davis Parker James "
          "Bennett Young Phillips Richardson Mitchell Bailey Carter Cook Singh Shaw Bell Collins Morgan Kelly Begum "
          "Miller Cox Marshall Simpson Anderson Price Adams Wilkinson Ali Foster Ellis Murphy Chapman Mason Gray "
          "Richards Webb Griffiths Hunt Palmer Campbell Holmes Mills Rogers Barnes Knight Matthews Barker Powell "
          "Stevens Kaur Fisher Butler Dixon Russell Harvey Pearson Graham Fletcher Howard Walsh Stewart Gibson "
          "Lloyd Saunders Reid Cole Ahmed Murray Rose Pearce Lawrence Dawson Holland Hussain Fox Spencer Gill "
          "Atkinson Ball Burton Porter Hudson Kennedy Payne Owen Reynolds Jenkins Armstrong Chambers Gardner "
          "Lowe Ryan Hart Dean Henderson Hamilton Barrett Hayes Watts Booth Burns Elliott Pritchard Riley Stone",
    "DE": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter "
          "Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner "
          "Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs "
          "Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler "
          "Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher "
          "Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich "
          "Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Hermann "
          "Ernst Lindner Marx Ebert Kunz Brandl Vogl Hein Böttcher Beyer Seifert Kramer Nowak Kirchner Reuter "
          "Wirth Eckert Mertens Wendt Hesse Kolb Dittrich Gebhardt Stolz Brückner Thiel Sander Barth Herzog",
    "FR": "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre Leroy "
          "Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller "
          "Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia "
          "Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont "
          "Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard "
          "Barbier Arnaud Martinez Gérard Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre "
          "Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland "
          "Leclercq Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin",
}
CN_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
CN_GIVEN = ("伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 华 建华 玉兰 萍 红 丹 玲 飞 鹏 "
            "斌 波 辉 宇 浩 鑫 琳 婷 雪 颖 倩 晶 慧 俊 峰 帅 凯 佳 欣 怡 子涵 梓涵 浩然 宇轩 一诺 欣怡 思远 博文 "
            "志强 建国 国庆 文 晨 旭 晓燕 海燕 春梅 金凤 立新 建军 永刚 小红 小明 丽娟 秀梅 志明 晓东 海涛 嘉怡 雨涵 "
            "梦琪 天佑 俊杰 文杰 子轩 佳琪 雅婷 诗涵 家豪 振华 德明 宏伟 玉珍 淑珍 桂兰 凤英 春生 永红 卫东").split()
CITIES = {  # city, postcode pattern (prefix, digits), landline prefix
    "US": [("New York", "100", 2, "+1212"), ("Los Angeles", "900", 2, "+1213"), ("Chicago", "606", 2, "+1312"),
           ("Houston", "770", 2, "+1713"), ("Phoenix", "850", 2, "+1602"), ("Austin", "787", 2, "+1512"),
           ("Seattle", "981", 2, "+1206"), ("Boston", "021", 2, "+1617"), ("Denver", "802", 2, "+1303"),
           ("Atlanta", "303", 2, "+1404"), ("Miami", "331", 2, "+1305"), ("Portland", "972", 2, "+1503")],
    "GB": [("London", "SW1", 0, "+4420"), ("Manchester", "M1", 0, "+44161"), ("Birmingham", "B1", 0, "+44121"),
           ("Leeds", "LS1", 0, "+44113"), ("Glasgow", "G1", 0, "+44141"), ("Bristol", "BS1", 0, "+44117"),
           ("Liverpool", "L1", 0, "+44151"), ("Edinburgh", "EH1", 0, "+44131")],
    "DE": [("Berlin", "10", 3, "+4930"), ("Hamburg", "20", 3, "+4940"), ("München", "80", 3, "+4989"),
           ("Köln", "50", 3, "+49221"), ("Frankfurt am Main", "60", 3, "+4969"), ("Stuttgart", "70", 3, "+49711"),
           ("Düsseldorf", "40", 3, "+49211"), ("Leipzig", "04", 3, "+49341"), ("Dresden", "01", 3, "+49351")],
    "FR": [("Paris", "750", 2, "+331"), ("Lyon", "690", 2, "+334"), ("Marseille", "130", 2, "+334"),
           ("Toulouse", "310", 2, "+335"), ("Nice", "060", 2, "+334"), ("Nantes", "440", 2, "+332"),
           ("Strasbourg", "670", 2, "+333"), ("Bordeaux", "330", 2, "+335"), ("Lille", "590", 2, "+333")],
    "CN": [("北京", "100", 3, "+8610"), ("上海", "200", 3, "+8621"), ("广州", "510", 3, "+8620"),
           ("深圳", "518", 3, "+86755"), ("杭州", "310", 3, "+86571"), ("成都", "610", 3, "+8628"),
           ("武汉", "430", 3, "+8627"), ("南京", "210", 3, "+8625")],
}
STREETS = {
    "US": "Main St|Oak Ave|Maple St|Cedar Rd|Elm St|Washington Ave|Lake Dr|Park Blvd|Pine St|Hill Rd|Sunset Blvd|Broadway",
    "GB": "High Street|Station Road|Church Lane|Victoria Road|Green Lane|Manor Road|Park Road|Queens Road|Mill Lane",
    "DE": "Hauptstraße|Schulstraße|Gartenstraße|Bahnhofstraße|Dorfstraße|Bergstraße|Lindenstraße|Kirchweg|Ringstraße",
    "FR": "rue de la Paix|avenue Victor Hugo|rue Pasteur|boulevard Voltaire|rue de la République|place du Marché",
    "CN": "人民路|中山路|解放路|建设路|长江路|和平路|新华路|南京路",
}
MOBILE = {"US": ("+1", 10), "GB": ("+447", 9), "DE": ("+4915", 9), "FR": ("+336", 8), "CN": ("+861", 10)}
FREEMAIL = {"US": ["gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"],
            "GB": ["gmail.com", "outlook.com", "btinternet.com", "yahoo.co.uk", "hotmail.co.uk"],
            "DE": ["gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de"],
            "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"],
            "CN": ["qq.com", "163.com", "126.com", "sina.com", "gmail.com"]}
CO_WORDS = ("Nordlicht Apex Blue River Summit Pioneer Vertex Harbor Granite Falcon Meridian Quantum Sterling "
            "Cobalt Evergreen Atlas Orion Lumen Silver Oak Horizon Keystone Beacon Crescent Redwood Alpine "
            "Polaris Aurora Titan Zenith Nova Cascade Phoenix Sequoia Vista Everest Juniper Coral Onyx").split()
CO_KINDS = ("Software Logistics Consulting Systems Foods Media Energy Health Partners Labs Analytics Design "
            "Robotics Capital Industries Networks Travel Textiles Pharma Solutions").split()
CO_SUFFIX = {"US": ["Inc", "LLC", "Corp"], "GB": ["Ltd", "PLC"], "DE": ["GmbH", "AG"], "FR": ["SAS", "SA"],
             "CN": ["有限公司", "科技有限公司"]}
COUNTRIES = ["US", "GB", "DE", "FR", "CN"]
COUNTRY_P = [0.30, 0.20, 0.20, 0.15, 0.15]
NICK_OF = {"Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will", "Billy"], "Elizabeth": ["Liz", "Beth", "Lizzie"],
           "James": ["Jim", "Jimmy", "Jamie"], "Michael": ["Mike"], "Katherine": ["Kate", "Kathy"],
           "Richard": ["Rick", "Dick"], "Thomas": ["Tom", "Tommy"], "Joseph": ["Joe"], "Charles": ["Charlie"],
           "Edward": ["Ed", "Eddie", "Ted"], "Margaret": ["Maggie", "Peggy"], "Jennifer": ["Jen", "Jenny"],
           "Christopher": ["Chris"], "Daniel": ["Dan", "Danny"], "Matthew": ["Matt"], "Anthony": ["Tony"],
           "Andrew": ["Andy"], "Benjamin": ["Ben"], "Alexander": ["Alex"], "Nicholas": ["Nick"],
           "Jonathan": ["Jon"], "Samuel": ["Sam"], "Patrick": ["Pat"], "Steven": ["Steve"], "Timothy": ["Tim"],
           "Gregory": ["Greg"], "Jeffrey": ["Jeff"], "David": ["Dave"], "Kenneth": ["Ken"], "Ronald": ["Ron"],
           "Donald": ["Don"], "Lawrence": ["Larry"], "Gerald": ["Gerry"], "Raymond": ["Ray"], "Peter": ["Pete"],
           "Rebecca": ["Becky"], "Patricia": ["Pat", "Trish"], "Jessica": ["Jess"], "Victoria": ["Vicky"],
           "Samantha": ["Sam"], "Abigail": ["Abby"], "Pamela": ["Pam"], "Stephanie": ["Steph"],
           "Jacqueline": ["Jackie"], "Johannes": ["Hans"], "Josef": ["Sepp"], "Friedrich": ["Fritz"],
           "Ulrich": ["Uli"], "Katharina": ["Kathi"], "Franziska": ["Franzi"], "Gabriele": ["Gabi"],
           "Maximilian": ["Max"], "Sebastian": ["Basti"], "Heinrich": ["Heinz"], "Isabelle": ["Isa"],
           "Nathalie": ["Nath"], "Valérie": ["Val"], "Philippe": ["Phil"], "Amanda": ["Mandy"],
           "Kimberly": ["Kim"], "Zachary": ["Zach"], "Harold": ["Harry"], "Eleanor": ["Ellie"]}
SOURCES = ["crm_export.xlsx", "newsletter.csv", "tradeshow_2023.csv", "webshop_orders.csv", "sales_pipeline.xlsx",
           "china_customers.csv"]


def _zipf(rng, n_items: int, size: int, s: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n_items + 1) ** s
    return rng.choice(n_items, size=size, p=w / w.sum())


def _digits(rng, size: int, k: int) -> np.ndarray:
    """Random digit strings of length k."""
    d = rng.integers(0, 10, size=(size, k)).astype(np.uint8) + ord("0")
    return d.view(f"S{k}").ravel().astype(str)


def _ascii(s: pd.Series) -> pd.Series:
    return (s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
            .str.replace(r"[^a-z]", "", regex=True))


def _typo(rng, words: list[str]) -> list[str]:
    """One edit per word: substitution, deletion, insertion or transposition (not at position 0)."""
    out = []
    ops = rng.integers(0, 4, len(words))
    letters = "abcdefghijklmnopqrstuvwxyz"
    pos_r = rng.random(len(words))
    let = rng.integers(0, 26, len(words))
    for w, op, pr, li in zip(words, ops, pos_r, let):
        if not isinstance(w, str) or len(w) < 3:
            out.append(w)
            continue
        i = 1 + int(pr * (len(w) - 2))
        c = letters[li]
        if op == 0:
            w = w[:i] + c + w[i + 1:]
        elif op == 1:
            w = w[:i] + w[i + 1:]
        elif op == 2:
            w = w[:i] + c + w[i:]
        else:
            w = w[:i - 1] + w[i] + w[i - 1] + w[i + 1:] if i < len(w) else w[:-1]
        out.append(w)
    return out


def _one_digit(rng, phones: pd.Series) -> pd.Series:
    vals = phones.tolist()
    pos = rng.random(len(vals))
    dig = rng.integers(0, 10, len(vals))
    out = []
    for v, p, d in zip(vals, pos, dig):
        i = len(v) - 1 - int(p * 6)
        nd = str((int(v[i]) + 1 + d % 9) % 10)
        out.append(v[:i] + nd + v[i + 1:])
    return pd.Series(out, index=phones.index, dtype=object)


# ----------------------------------------------------------------------------- people
def _same_country(rng, country: np.ndarray, co_country: np.ndarray) -> np.ndarray:
    """A random company index from the person's country."""
    out = np.zeros(len(country), np.int64)
    for c in COUNTRIES:
        m = country == c
        pool = np.flatnonzero(co_country == c)
        if len(pool) == 0:
            pool = np.arange(len(co_country))
        out[m] = pool[rng.integers(0, len(pool), int(m.sum()))]
    return out


def _mobiles(rng, country: np.ndarray) -> np.ndarray:
    out = np.empty(len(country), dtype=object)
    for c in COUNTRIES:
        m = country == c
        pre, k = MOBILE[c]
        out[m] = pre + pd.Series(_digits(rng, int(m.sum()), k)).to_numpy()
    return out


def _people(n: int, rng) -> pd.DataFrame:
    country = np.array(COUNTRIES)[rng.choice(len(COUNTRIES), n, p=COUNTRY_P)]
    P = pd.DataFrame({"country": country})
    P["first"] = None
    P["last"] = None
    for c in COUNTRIES:
        m = (country == c)
        k = int(m.sum())
        if c == "CN":
            sur = np.array(list(CN_SURNAMES))[_zipf(rng, len(CN_SURNAMES), k, 1.0)]
            giv = np.array(CN_GIVEN)[_zipf(rng, len(CN_GIVEN), k, 0.8)]
            P.loc[m, "last"], P.loc[m, "first"] = sur, giv
        else:
            fp, lp = FIRST[c].split(), LAST[c].split()
            P.loc[m, "first"] = np.array(fp)[_zipf(rng, len(fp), k, 0.7)]
            P.loc[m, "last"] = np.array(lp)[_zipf(rng, len(lp), k, 0.7)]
    # address
    city_i = rng.integers(0, 100, n)
    P["city"] = None
    P["postcode"] = None
    P["landline_prefix"] = None
    P["street"] = None
    for c in COUNTRIES:
        m = country == c
        k = int(m.sum())
        cities = CITIES[c]
        ci = _zipf(rng, len(cities), k, 0.8)
        P.loc[m, "city"] = [cities[i][0] for i in ci]
        pc_prefix = np.array([cities[i][1] for i in ci], dtype=object)
        pc_digits = np.array([cities[i][2] for i in ci])
        pcs = pd.Series(pc_prefix, dtype=object)
        for nd in set(pc_digits.tolist()):
            mm = pc_digits == nd
            if nd:
                pcs[mm] = pcs[mm] + _digits(rng, int(mm.sum()), nd)
            else:
                pcs[mm] = pcs[mm] + " " + pd.Series(rng.integers(1, 10, int(mm.sum())).astype(str)) \
                    .to_numpy() + np.array(list("ABDEFGHJLNPQRSTUWXYZ"))[rng.integers(0, 20, int(mm.sum()))] + \
                    np.array(list("ABDEFGHJLNPQRSTUWXYZ"))[rng.integers(0, 20, int(mm.sum()))]
        P.loc[m, "postcode"] = pcs.to_numpy()
        P.loc[m, "landline_prefix"] = [cities[i][3] for i in ci]
        streets = np.array(STREETS[c].split("|"))[rng.integers(0, len(STREETS[c].split("|")), k)]
        num = rng.integers(1, 300, k).astype(str)
        P.loc[m, "street"] = (np.char.add(np.char.add(streets.astype(str), " "), num) if c in ("GB", "US", "DE", "CN")
                              else np.char.add(np.char.add(num, " "), streets.astype(str)))
    del city_i
    # phones
    P["mobile"] = None
    for c in COUNTRIES:
        m = country == c
        pre, k = MOBILE[c]
        P.loc[m, "mobile"] = pre + pd.Series(_digits(rng, int(m.sum()), k)).to_numpy()
    has_land = rng.random(n) < 0.5
    lp = P["landline_prefix"].astype(str)
    P["landline"] = (lp + pd.Series(_digits(rng, n, 7))).where(has_land, None)
    # company
    n_co = max(n // 15, 5)
    co_country = np.array(COUNTRIES)[rng.choice(len(COUNTRIES), n_co, p=COUNTRY_P)]
    w1 = np.array(CO_WORDS)[rng.integers(0, len(CO_WORDS), n_co)]
    w2 = np.array(CO_KINDS)[rng.integers(0, len(CO_KINDS), n_co)]
    suffix = np.array([CO_SUFFIX[c][i % len(CO_SUFFIX[c])] for i, c in enumerate(co_country)])
    base = pd.Series(w1).str.cat(pd.Series(w2), sep=" ") + " " + pd.Series(np.arange(n_co) // 700).map(
        lambda x: "" if x == 0 else f"{x} ").astype(str)
    base = base.str.strip()
    companies = pd.DataFrame({"company": base + " " + suffix, "company_key": base.str.lower(),
                              "country": co_country,
                              "switchboard": pd.Series([CITIES[c][0][3] for c in co_country]) +
                              pd.Series(_digits(rng, n_co, 7)),
                              "domain": _ascii(base) + "." + pd.Series(co_country).map(
                                  {"US": "com", "GB": "co.uk", "DE": "de", "FR": "fr", "CN": "cn"})})
    employed = rng.random(n) < 0.6
    P["company_i"] = np.where(employed, _same_country(rng, country, co_country), -1)
    P["old_company_i"] = np.where(employed & (rng.random(n) < 0.15), _same_country(rng, country, co_country), -1)
    P["created"] = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3500, n), unit="D")
    return P, companies


def _emails(P: pd.DataFrame, rng, variant: int) -> pd.Series:
    n = len(P)
    fa, la = _ascii(P["first"].astype(str)), _ascii(P["last"].astype(str))
    cn = (P["country"] == "CN").to_numpy()
    pattern = rng.integers(0, 5, n)
    local = np.select([pattern == 0, pattern == 1, pattern == 2, pattern == 3],
                      [fa + "." + la, fa.str[:1] + la, fa + la, la + "." + fa], fa + "_" + la)
    local = pd.Series(local, index=P.index)
    digits = pd.Series(rng.integers(1, 9999, n).astype(str), index=P.index)
    local = local.where(rng.random(n) < 0.5, local + digits)
    local = local.where(~cn, pd.Series(rng.integers(10_000_000, 999_999_999, n).astype(str), index=P.index))
    dom = pd.Series([FREEMAIL[c][i] for c, i in zip(P["country"], rng.integers(0, 5, n))], index=P.index)
    email = local + "@" + dom
    dup = email.duplicated(keep="first")
    email[dup] = local[dup] + "." + P.index[dup].astype(str) + f"v{variant}" + "@" + dom[dup]
    return email


def make_corpus(n_rows: int, seed: int = 7, hard_share: float = 0.05) -> pd.DataFrame:
    """A messy contact list of about ``n_rows`` rows with the true person in ``true_id``."""
    rng = np.random.default_rng(seed)
    per = np.array([1, 2, 3, 4, 5])
    per_p = np.array([0.50, 0.25, 0.13, 0.08, 0.04])
    n_people = int(n_rows / (per * per_p).sum())
    n_hard = int(n_people * hard_share)
    P, companies = _people(n_people - n_hard, rng)
    # hard negatives: copies of existing people changed into different people
    src = rng.choice(len(P), n_hard, replace=False)
    H = P.iloc[src].reset_index(drop=True).copy()
    kind = rng.choice(3, n_hard, p=[0.45, 0.25, 0.30])      # household, colleague, namesake
    fresh, _ = _people(n_hard, rng)
    fresh["country"] = H["country"].to_numpy()
    for c in COUNTRIES:                                       # fresh names from the same country
        m = (H["country"] == c).to_numpy()
        alt, _ = _people(int(m.sum()) * 12 + 50, rng)
        alt = alt[alt["country"] == c].head(int(m.sum()))
        fresh.loc[m, ["first", "last", "city", "postcode", "street", "landline_prefix"]] = \
            alt[["first", "last", "city", "postcode", "street", "landline_prefix"]].to_numpy()[: int(m.sum())]
    house, coll, same = kind == 0, kind == 1, kind == 2
    # household: same last name, address and home phone; own first name, email and mobile
    H.loc[house, "first"] = fresh.loc[house, "first"].to_numpy()
    clash = house & (H["first"].to_numpy() == P.iloc[src]["first"].to_numpy())
    H.loc[clash, "first"] = H.loc[clash, "first"] + "a"
    H.loc[house & H["landline"].isna().to_numpy(), "landline"] = P.iloc[src]["mobile"].to_numpy()[
        house & H["landline"].isna().to_numpy()]  # they share what the family gives as home number
    P.loc[P.index[src[house]], "landline"] = H.loc[house, "landline"].to_numpy()
    # colleague: same company and switchboard, different name and home
    for col in ("first", "last", "city", "postcode", "street", "landline"):
        H.loc[coll, col] = fresh.loc[coll, col].to_numpy()
    no_co = coll & (H["company_i"].to_numpy() < 0)
    H.loc[no_co, "company_i"] = _same_country(rng, H.loc[no_co, "country"].to_numpy(), companies["country"].to_numpy())
    P.loc[P.index[src[no_co]], "company_i"] = H.loc[no_co, "company_i"].to_numpy()
    # namesake: same name; other everything (half of them in the same city)
    other = same & (rng.random(n_hard) < 0.5)
    for col in ("city", "postcode", "street", "landline"):
        H.loc[other, col] = fresh.loc[other, col].to_numpy()
    for col in ("street", "postcode", "landline"):
        H.loc[same & ~other, col] = fresh.loc[same & ~other, col].to_numpy()
    H.loc[same, "company_i"] = np.where(rng.random(int(same.sum())) < 0.5, -1, _same_country(
        rng, H.loc[same, "country"].to_numpy(), companies["country"].to_numpy()))
    H["mobile"] = _mobiles(rng, H["country"].to_numpy())
    H["old_company_i"] = -1
    P = pd.concat([P, H], ignore_index=True)
    P["switchboard_person"] = np.r_[np.zeros(len(P) - n_hard, bool), coll]
    P.loc[P.index[src[coll]], "switchboard_person"] = True
    P["email1"] = _emails(P, rng, 1)
    P["email2"] = _emails(P, rng, 2)                                     # a second private address
    co_ok = P["company_i"].to_numpy() >= 0
    ci = np.maximum(P["company_i"].to_numpy(), 0)
    P["work_email"] = (_ascii(P["first"].astype(str)) + "." + _ascii(P["last"].astype(str)) + "@" +
                       companies["domain"].to_numpy()[ci]).where(co_ok & (P["country"] != "CN").to_numpy(), None)
    # moved people: a second address
    moved = rng.random(len(P)) < 0.10
    mv, _ = _people(len(P), rng)
    P["moved"] = moved
    for col in ("city", "postcode", "street"):
        P[f"new_{col}"] = np.where(moved & (mv["country"].to_numpy() == P["country"].to_numpy()), mv[col], P[col])
    P["true_id"] = "P" + pd.Series(np.arange(len(P))).astype(str).str.zfill(7)

    # ------------------------------------------------------------------ records
    k = per[rng.choice(len(per), len(P), p=per_p)]
    R = P.loc[np.repeat(P.index.to_numpy(), k)].reset_index(drop=True)
    n = len(R)
    nth = R.groupby("true_id").cumcount().to_numpy()
    u = lambda: rng.random(n)  # noqa: E731
    cn = (R["country"] == "CN").to_numpy()
    first = R["first"].astype(object).copy()
    last = R["last"].astype(object).copy()
    # nicknames
    nick = pd.Series(first.map(NICK_OF), dtype=object)
    use = nick.notna().to_numpy() & (u() < 0.30)
    pick = rng.integers(0, 3, n)
    first[use] = [v[i % len(v)] for v, i in zip(nick[use], pick[use])]
    # typos (first or last), not for Chinese names
    t = (u() < 0.07) & ~cn
    tf_ = t & (u() < 0.5)
    first[tf_] = _typo(rng, first[tf_].tolist())
    last[t & ~tf_] = _typo(rng, last[t & ~tf_].tolist())
    # initials
    ini = (u() < 0.02) & ~cn
    first[ini] = first[ini].str[:1] + "."
    # swapped first/last
    sw = (u() < 0.03) & ~cn
    first[sw], last[sw] = last[sw].to_numpy(), first[sw].to_numpy()
    # case noise
    up = (u() < 0.04) & ~cn
    first[up], last[up] = first[up].str.upper(), last[up].str.upper()
    lo = (u() < 0.03) & ~cn
    first[lo], last[lo] = first[lo].str.lower(), last[lo].str.lower()
    full = (first + " " + last).where(~cn, last + first)
    sp = (u() < 0.03) & cn
    full[sp] = last[sp] + " " + first[sp]
    nofirst = (u() < 0.05) & ~cn                     # only a full name column in that file
    out = pd.DataFrame({
        "first_name": first.where(~cn & ~nofirst, None), "last_name": last.where(~cn & ~nofirst, None),
        "full_name": full})
    ws = u() < 0.04
    out.loc[ws, "full_name"] = "  " + out.loc[ws, "full_name"].str.replace(" ", "  ") + " "
    # email: personal (first or second), work, changed, missing, typo, invalid
    e_r = u()
    email = np.where(e_r < 0.70, R["email1"], np.where(e_r < 0.80, R["email2"], R["work_email"]))
    email = pd.Series(email, dtype=object)
    email[(e_r >= 0.80) & R["work_email"].isna().to_numpy()] = R["email1"][(e_r >= 0.80) & R["work_email"].isna().to_numpy()]
    email[(nth == 0) & (e_r >= 0.5)] = R["email1"][(nth == 0) & (e_r >= 0.5)]   # first record: main email
    email[u() < 0.18] = None
    ty = email.notna().to_numpy() & (u() < 0.02)
    email[ty] = _typo(rng, email[ty].tolist())
    up = email.notna().to_numpy() & (u() < 0.05)
    email[up] = email[up].str.upper()
    bad = email.notna().to_numpy() & (u() < 0.01)
    email[bad] = email[bad].str.replace("@", " at ", regex=False)
    out["email"] = email.str.strip().str.lower().where(~up, email)       # cleaner lower-cases valid ones
    out["email"] = out["email"].where(~up, out["email"].str.lower())
    # phones
    home = R["landline"].astype(object)
    sb = R["switchboard_person"].to_numpy() & (R["company_i"].to_numpy() >= 0)
    office = pd.Series(companies["switchboard"].to_numpy()[np.maximum(R["company_i"].to_numpy(), 0)], dtype=object)
    phone = home.where(u() < 0.7, None)
    phone = phone.where(~(sb & (u() < 0.8)), office)
    mobile = R["mobile"].astype(object).where(u() < 0.6, None)
    swp = u() < 0.08
    phone[swp], mobile[swp] = mobile[swp].to_numpy(), phone[swp].to_numpy()
    for s in (phone, mobile):
        t = s.notna().to_numpy() & (u() < 0.02)
        s[t] = _one_digit(rng, s[t])
        j = s.notna().to_numpy() & (u() < 0.01)
        s[j] = s[j].str[3:].str.replace(r"(\d{3})", r"\1 ", regex=True) + "x"      # raw junk
    out["phone"], out["mobile"] = phone, mobile
    # company: current, old, or missing
    ci = np.where((R["old_company_i"].to_numpy() >= 0) & (u() < 0.4), R["old_company_i"], R["company_i"])
    has_co = (ci >= 0) & (u() < 0.75)
    out["company"] = pd.Series(companies["company"].to_numpy()[np.maximum(ci, 0)], dtype=object).where(has_co, None)
    out["company_key"] = pd.Series(companies["company_key"].to_numpy()[np.maximum(ci, 0)], dtype=object).where(has_co, None)
    # address: moved people use the new one in later records
    later = R["moved"].to_numpy() & (nth > 0) & (u() < 0.7)
    for col in ("street", "postcode", "city"):
        out[col] = np.where(later, R[f"new_{col}"], R[col])
    no_addr = u() < 0.20
    out.loc[no_addr, ["street", "postcode"]] = None
    out.loc[no_addr & (u() < 0.5), "city"] = None
    out["country"] = R["country"].where(u() < 0.9, None)
    out["created_at"] = (R["created"] + pd.to_timedelta(rng.integers(0, 900, n), unit="D")).dt.strftime("%Y-%m-%d")
    src_i = np.where(cn & (u() < 0.6), len(SOURCES) - 1, rng.integers(0, len(SOURCES) - 1, n))
    out["source_file"] = np.array(SOURCES)[src_i]
    out["source_sheet"] = np.where(pd.Series(out["source_file"]).str.endswith(".xlsx"), "Sheet1", "")
    out["true_id"] = R["true_id"].to_numpy()
    out = out.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out["source_row"] = out.groupby("source_file").cumcount().to_numpy() + 2
    out.insert(0, "record_id", "R" + pd.Series(np.arange(len(out))).astype(str).str.zfill(7))
    cols = ["record_id", "first_name", "last_name", "full_name", "email", "phone", "mobile", "company", "company_key",
            "street", "postcode", "city", "country", "created_at", "source_file", "source_sheet", "source_row",
            "true_id"]
    out = out[cols]
    for c in cols:
        if c != "source_row":
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", help="write .parquet or .csv")
    a = ap.parse_args()
    t = time.perf_counter()
    df = make_corpus(a.rows, seed=a.seed)
    print(f"{len(df):,} rows, {df['true_id'].nunique():,} people in {time.perf_counter() - t:.1f}s")
    if a.out:
        (df.to_parquet if a.out.endswith(".parquet") else df.to_csv)(a.out, index=False)
    else:
        print(df.head(20).to_string())


if __name__ == "__main__":
    main()
