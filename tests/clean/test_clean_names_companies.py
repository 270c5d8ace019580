"""clean_names and clean_companies."""
from __future__ import annotations

import pandas as pd
import pandas.testing as pdt
import pytest

from crmkit.clean import clean_companies, clean_names, company_key


def S(*values):
    return pd.Series(list(values), dtype=object)


@pytest.mark.parametrize("full, first, last, fullname, salutation", [
    ("DR. JOHN MCDONALD", "John", "McDonald", "John McDonald", "Dr."),
    ("müller, hans", "Hans", "Müller", "Hans Müller", None),
    ("Jan van der Berg", "Jan", "van der Berg", "Jan van der Berg", None),
    ("JAN VAN DER BERG", "Jan", "van der Berg", "Jan van der Berg", None),
    ("Herr Dr. med. Klaus MÜLLER-LÜDENSCHEIDT", "Klaus", "Müller-Lüdenscheidt", "Klaus Müller-Lüdenscheidt",
     "Herr Dr. med."),
    ("M. Jean Dupont", "Jean", "Dupont", "Jean Dupont", "M."),
    ("Mme Claire d'artagnan", "Claire", "d'Artagnan", "Claire d'Artagnan", "Mme"),
    ("Sra. María de la Cruz", "María", "de la Cruz", "María de la Cruz", "Sra."),
    ("patrick o’brien", "Patrick", "O'Brien", "Patrick O'Brien", None),
    ("DOUGLAS MACARTHUR", "Douglas", "MacArthur", "Douglas MacArthur", None),
    ("JOHN MACKEY", "John", "Mackey", "John Mackey", None),  # "Mac" only where safe
    ("DeShawn McKenzie", "DeShawn", "McKenzie", "DeShawn McKenzie", None),  # mixed case kept
    ("Ms. Anna von Trapp", "Anna", "von Trapp", "Anna von Trapp", "Ms"),
    ("Smith, Mr John", "John", "Smith", "John Smith", "Mr"),
    ("张伟", None, None, "张伟", None),
    ("张伟先生", None, None, "张伟", "先生"),
    ("王芳女士", None, None, "王芳", "女士"),
    ("Jürgen", "Jürgen", None, "Jürgen", None),       # a lone known given name is the first name
    ("JUERGEN", "Juergen", None, "Juergen", None),
    ("Bob", "Bob", None, "Bob", None),
    ("Schneider", None, "Schneider", "Schneider", None),  # anything else stays the last name
])
def test_split_full_names(full, first, last, fullname, salutation):
    result = clean_names(None, None, S(full))
    assert result.values.iloc[0].tolist() == [first, last, fullname, salutation]


def test_first_last_given():
    result = clean_names(S("伟", "ANNA", "hans", None), S("张", "SCHMIDT", None, "Meier"), S(None, None, None, None))
    assert result.values["full_name"].tolist() == ["张伟", "Anna Schmidt", "Hans", "Meier"]
    assert result.values["first_name"].tolist() == ["伟", "Anna", "Hans", None]


def test_salutation_column_kept_and_index():
    idx = pd.Index([3, 1])
    result = clean_names(pd.Series(["Anna", None], index=idx), pd.Series(["Lee", None], index=idx),
                         pd.Series([None, None], index=idx, dtype=object),
                         salutation=pd.Series(["Frau", None], index=idx))
    expected = pd.DataFrame({"first_name": ["Anna", None], "last_name": ["Lee", None],
                             "full_name": ["Anna Lee", None], "salutation": ["Frau", None]}, index=idx, dtype=object)
    pdt.assert_frame_equal(result.values, expected)


def test_name_problems():
    result = clean_names(None, None, S("john@x.com", "Anna Lee"))
    assert result.problems.tolist() == ["name looks like an email address", None]


@pytest.mark.parametrize("raw, display, key", [
    ("ACME CORP.", "Acme Corp.", "acme"),
    ("acme, inc.", "Acme, Inc.", "acme"),
    ("Acme Incorporated", "Acme Incorporated", "acme"),
    ("Müller GmbH & Co. KG", "Müller GmbH & Co. KG", "muller"),
    ("The Smith & Sons Ltd", "The Smith & Sons Ltd", "smith and sons"),
    ("Smith and Sons Limited", "Smith and Sons Limited", "smith and sons"),
    ("Foo L.L.C.", "Foo L.L.C.", "foo"),
    ("Bar Pty Ltd", "Bar Pty Ltd", "bar"),
    ("Baz UG (haftungsbeschränkt)", "Baz UG (haftungsbeschränkt)", "baz"),
    ("Qux e.K.", "Qux e.K.", "qux"),
    ("Société Générale S.A.", "Société Générale S.A.", "societe generale"),
    ("Inditex, S.L.", "Inditex, S.L.", "inditex"),
    ("Philips N.V.", "Philips N.V.", "philips"),
    ("big data llc", "Big Data LLC", "big data"),
    ("IBM", "IBM", "ibm"),
    ("阿里巴巴集团控股有限公司", "阿里巴巴集团控股有限公司", "阿里巴巴集团控股"),
    ("华为技术有限公司", "华为技术有限公司", "华为技术"),
    ("腾讯股份有限公司", "腾讯股份有限公司", "腾讯"),
    ("ＡＣＭＥ　ＧｍｂＨ", "ACME GmbH", "acme"),
])
def test_clean_companies(raw, display, key):
    result = clean_companies(S(raw))
    assert result.values.iloc[0].tolist() == [display, key]


def test_company_key_unifies_and():
    assert company_key("Procter & Gamble") == company_key("Procter and Gamble") == "procter and gamble"
    assert company_key("Group") == "group"  # a legal form alone is kept


def test_clean_companies_placeholder():
    assert clean_companies(S("n/a", None)).values.isna().all().all()


def test_plain_first_last_fast_path_matches_full_parse():
    """Rows with only plain capitalised first/last words skip parsing; they must come out as parsing gives."""
    import random

    from crmkit.clean.names import _HONORIFICS, _clean_one

    rng = random.Random(5)
    words = ["Sam", "Smith", "Jäger", "Müller", "Øster", "Émile", "Mcdonald", "Macdonald", "Van", "Der", "De",
             "Al", "El", "None", "Null", "Unknown", "Tbd", "Nan", "Inconnu", "Unbekannt", "Blank", "Mr", "Mrs",
             "Dr", "Herr", "Frau", "Mme", "Sra", "Don", "Sir", "Jr", "Iii", "Bob", "Liz", "Jürgen", "O'brien",
             "SMITH", "smith", "Sm1th", "Ann-Marie", "Ab", "Zz", "Ÿves", "Ñandu", "Ñ"] + \
        [w.title() for w in _HONORIFICS]
    rows = [(rng.choice(words + [None]), rng.choice(words + [None]), rng.choice(["FR", "DE", "US", None]))
            for _ in range(3000)]
    first, last, country = (pd.Series([r[i] for r in rows], dtype=object) for i in range(3))
    got = clean_names(first, last, None, country=country)
    for i, (f, la, c) in enumerate(rows):
        if f is None and la is None:
            continue
        want = _clean_one(f, la, None, None, c)
        assert tuple(got.values.iloc[i]) == want[:4], (f, la, c)
        assert got.problems.iloc[i] == want[4], (f, la, c)
