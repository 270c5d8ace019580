"""crmkit: turn messy customer spreadsheets into one clean, deduplicated customer base.

The pipeline, one function per stage (DataFrames in, DataFrames out)::

    import crmkit
    sheets = crmkit.read("leads.xlsx")                    # read: RawSheet per sheet, with source rows
    mapping = crmkit.infer_mapping(sheets[0])             # map: headers -> canonical fields
    cleaned, issues = crmkit.clean(df, "contact")         # clean: every field, issues per cell
    pairs = crmkit.find_duplicates(cleaned_records)       # match: scored, explained pairs
    golden = crmkit.merge(cleaned_records, clusters)      # merge: golden records + lineage
    result = crmkit.migrate(["sample_data/"], "crm.sqlite")   # all of it, into a store
    tables = crmkit.read_store("crm.sqlite")

Names are imported lazily so ``import crmkit`` stays fast.
"""
from __future__ import annotations

from importlib import import_module

from crmkit.errors import CrmkitError, MappingError, ReadError, SettingsError, StoreError

__version__ = "0.1.0"

_LAZY = {
    # read / map / clean
    "read": "crmkit.read", "read_paths": "crmkit.read", "RawSheet": "crmkit.read",
    "infer_mapping": "crmkit.mapping", "map_sheets": "crmkit.mapping", "apply_mapping": "crmkit.mapping",
    "Mapping": "crmkit.mapping", "SheetMapping": "crmkit.mapping",
    "clean": "crmkit.clean",
    # match / merge / curate
    "find_duplicates": "crmkit.match", "MatchSettings": "crmkit.match", "cluster": "crmkit.match",
    "explain": "crmkit.match",
    "merge": "crmkit.merge", "SurvivorshipRules": "crmkit.merge", "MergeResult": "crmkit.merge",
    "unmerge": "crmkit.curate", "merge_contacts": "crmkit.curate", "decide": "crmkit.curate",
    "skip_pair": "crmkit.curate",
    "decide_many": "crmkit.curate", "edit_contact": "crmkit.curate", "revert_batch": "crmkit.curate",
    "apply_review_workbook": "crmkit.curate",
    "review_table": "crmkit.review",
    # store / workbook / migrate / export
    "migrate": "crmkit.migrate", "clean_file": "crmkit.migrate", "MigrationResult": "crmkit.migrate",
    "Store": "crmkit.store", "read_store": "crmkit.store", "open_store": "crmkit.store",
    "write_workbook": "crmkit.workbook", "read_workbook": "crmkit.workbook", "write_csv": "crmkit.workbook",
    "export": "crmkit.export",
    # analytics
    "rfm": "crmkit.analytics", "segment_summary": "crmkit.analytics", "Pipeline": "crmkit.analytics",
    "stage_summary": "crmkit.analytics", "forecast": "crmkit.analytics", "funnel": "crmkit.analytics",
    "stale_deals": "crmkit.analytics", "move_deal": "crmkit.analytics",
}

__all__ = ["CrmkitError", "MappingError", "ReadError", "SettingsError", "StoreError", *_LAZY]

# Functions that share their name with the module that defines them (crmkit.read.read, crmkit.clean.clean,
# crmkit.merge.merge, crmkit.export.export, crmkit.migrate.migrate) are bound eagerly, after their modules are imported, so
# ``crmkit.read`` is always the function whatever was imported before.
from crmkit.clean import clean  # noqa: E402
from crmkit.export import export  # noqa: E402
from crmkit.merge import merge  # noqa: E402
from crmkit.migrate import migrate  # noqa: E402
from crmkit.read import read  # noqa: E402


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'crmkit' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
