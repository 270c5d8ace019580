"""apply_mapping keeps the read frame's columns as they are (copy-on-write: shared, not copied) and never changes
the read frame, whatever is done to the mapped one."""
from __future__ import annotations

import numpy as np
import pandas as pd

from crmkit.clean._base import COPY_ON_WRITE
from crmkit.mapping import apply_mapping, map_sheets
from crmkit.read import read


def test_the_mapped_frame_shares_the_read_columns_and_leaves_them_alone(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("Name,Email,Shoe size\nAnn,ann@x.com,38\nBob,bob@y.org,44\n", encoding="utf-8")
    raw = read(path)[0]
    before = raw.frame.copy()
    mapped = apply_mapping(raw, map_sheets([raw], None).sheets[0])
    assert mapped.frame["email"].tolist() == ["ann@x.com", "bob@y.org"]
    assert mapped.frame["source_row"].tolist() == [2, 3] and mapped.frame["source_file"].tolist() == ["c.csv"] * 2
    if COPY_ON_WRITE:
        assert np.shares_memory(mapped.frame["email"].to_numpy(), raw.frame["Email"].to_numpy())
    mapped.frame.loc[0, "email"] = "changed"
    mapped.frame["email"] = None
    mapped.extras.loc[0, "Shoe size"] = "0"
    pd.testing.assert_frame_equal(raw.frame, before)
