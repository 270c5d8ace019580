"""What every page shares: the open store, cached loaders keyed on the store's change counter, and
small display helpers. No crmkit logic lives here."""
from __future__ import annotations

import getpass
from contextlib import contextmanager
from typing import Iterator

import pandas as pd
import streamlit as st

from crmkit.errors import CrmkitError
from crmkit.store import Store

STORE_KEY = "store_path"


# --------------------------------------------------------------------------------------------- store
@st.cache_resource(show_spinner=False)
def get_store(target: str) -> Store:
    """One Store (and SQLAlchemy engine / pool) per path or URL, shared by all sessions."""
    return Store(target)


def current_target() -> str | None:
    return st.session_state.get(STORE_KEY)


def current_store() -> Store | None:
    target = current_target()
    return get_store(target) if target else None


def require_store() -> Store:
    """The open store, or a friendly message and stop."""
    store = current_store()
    if store is None:
        st.info("No store is open. Open one in the sidebar, or import files on the Import page.")
        st.stop()
    try:
        ok = store.exists()
    except CrmkitError as exc:
        st.error(str(exc))
        st.stop()
    if not ok:
        st.error(f"{store.target}: no crmkit store here. Open another store in the sidebar "
                 "or import files into a new one.")
        st.stop()
    return store


def counter(store: Store) -> int:
    return store.change_counter()


@st.cache_data(show_spinner=False, max_entries=64)
def _load_table(url: str, change_counter: int, name: str) -> pd.DataFrame:
    return get_store(url).read_table(name)


def table(store: Store, name: str) -> pd.DataFrame:
    """A store table, cached until the store changes (key: url and change counter)."""
    return _load_table(store.target, counter(store), name)


@st.cache_data(show_spinner=False, max_entries=16)
def _counts(url: str, change_counter: int) -> dict[str, int]:
    from crmkit.app_support import table_counts

    return table_counts(get_store(url), ("contacts", "contact_records", "source_rows", "deals", "orders", "issues"))


def counts(store: Store) -> dict[str, int]:
    """Row counts of the main tables (and open review pairs), cached until the store changes."""
    return _counts(store.target, counter(store))


def tables(store: Store, *names: str) -> dict[str, pd.DataFrame]:
    c = counter(store)
    return {n: _load_table(store.target, c, n) for n in names}


@st.cache_data(show_spinner="Scoring customers…", max_entries=4)
def _rfm_default(url: str, change_counter: int) -> pd.DataFrame:
    from crmkit.analytics import rfm
    from crmkit.app_support import default_as_of

    orders = _load_table(url, change_counter, "orders")
    return rfm(orders, as_of=default_as_of(orders))


def rfm_scores(store: Store) -> pd.DataFrame:
    """RFM scores of the store's orders as of the Segments page's default day (the day after the latest
    order), cached until the store changes. Raises what ``crmkit.analytics.rfm`` raises."""
    return _rfm_default(store.target, counter(store))


def after_write(store: Store) -> None:
    """Call after a library call wrote to the store: drop pooled SQLite connections so every reader
    sees the new file content, and let cached loaders re-read (the change counter moved)."""
    if store.is_sqlite:
        store.close()


# --------------------------------------------------------------------------------------------- misc
def actor() -> str:
    name = (st.session_state.get("app_actor") or "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "app"


@contextmanager
def errors_shown() -> Iterator[None]:
    """Show a CrmkitError as a red box with its message (what, where, how to fix), never a traceback."""
    try:
        yield
    except (CrmkitError, ImportError) as exc:
        st.error(error_text(exc), icon=":material/error:")


def error_text(exc: Exception) -> str:
    """The message to show for an error a page caught: a CrmkitError's own sentence (what, where, fix)."""
    if isinstance(exc, ImportError):
        return f"This needs a part of crmkit that is not available in this installation ({exc})."
    return str(exc)


def money(x: float | int | None, currencies: list[str] | None = None) -> str:
    if x is None or pd.isna(x):
        return "–"
    cur = currencies[0] + " " if currencies and len(currencies) == 1 else ""
    x = float(x)
    if abs(x) >= 1_000_000:
        return f"{cur}{x / 1_000_000:,.2f} M"
    if abs(x) >= 10_000:
        return f"{cur}{x / 1_000:,.1f} k"
    return f"{cur}{x:,.0f}"


def currency_note(frame: pd.DataFrame) -> None:
    if "currency" in frame.columns:
        cur = sorted(str(c) for c in frame["currency"].dropna().unique())
        if len(cur) > 1:
            st.caption(f"Amounts are summed as stored, in mixed currencies ({', '.join(cur)}); "
                       "convert them before comparing totals.")


def page_header(title: str, caption: str | None = None) -> None:
    st.title(title)
    if caption:
        st.caption(caption)


def empty_state(message: str, link_to_import: bool = True) -> None:
    st.info(message, icon=":material/inbox:")
    if link_to_import:
        st.page_link("app_pages/import_files.py", label="Import files", icon=":material/upload_file:")
