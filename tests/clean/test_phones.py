

def test_numbers_that_lost_their_plus_in_a_numeric_cell():
    import pandas as pd
    from crmkit.clean import clean_phones

    res = clean_phones(pd.Series(["4915133231781", "4155550123", "447911746241"]),
                       region=pd.Series(["DE", "US", "US"]))
    assert res.values["phone"].tolist() == ["+4915133231781", "+14155550123", "+447911746241"]


def test_row_region_from_the_email_domain():
    import pandas as pd
    from crmkit.clean import clean

    df = pd.DataFrame({"email": ["a@firma.de", "b@empresa.es", "c@gmail.com"],
                       "phone": ["030 2585713", "946 619 892", "(415) 555-0123"],
                       "source_file": "x.csv", "source_sheet": "", "source_row": [2, 3, 4]})
    out, issues = clean(df, "contact", region="US")
    assert out["phone"].tolist() == ["+49302585713", "+34946619892", "+14155550123"]
