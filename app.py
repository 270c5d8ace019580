"""crmkit app: ``streamlit run app.py`` (opens the bundled sample data) or
``streamlit run app.py -- --store crm.sqlite`` (any path or SQLAlchemy URL, e.g. postgresql://user@host/db).

The environment variable CRMKIT_STORE does the same as --store (used by the tests).
This file only sets up the page, the open store and the navigation; the pages live in app_pages/.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

import streamlit as st

from app_pages import _shared as shared
from crmkit.errors import CrmkitError

st.set_page_config(page_title="crmkit", page_icon=":material/group:", layout="wide")


def _cli_store() -> str | None:
    parser = argparse.ArgumentParser(prog="streamlit run app.py --", add_help=False)
    parser.add_argument("--store")
    args, _unknown = parser.parse_known_args(sys.argv[1:])
    return args.store or os.environ.get("CRMKIT_STORE") or None


def _open(target: str, *, create: bool) -> bool:
    from crmkit.app_support import hide_password, open_or_create

    target = target.strip()
    try:
        store = open_or_create(target, create=create)
    except CrmkitError as exc:
        st.sidebar.error(hide_password(str(exc), target))
        return False
    except Exception as exc:  # a driver error from SQLAlchemy, e.g. server not reachable
        st.sidebar.error(hide_password(f"{target}: cannot open the store: {exc}", target))
        return False
    st.session_state[shared.STORE_KEY] = store.target
    for key in [k for k in st.session_state if k.startswith(("dup_", "contacts_", "pipe_", "seg_", "exp_"))]:
        del st.session_state[key]
    st.session_state.pop("imp_result", None)   # the last migration's summary belongs to the old store
    return True


def _open_sample() -> None:
    from crmkit.app_support import ensure_sample_store, sample_store_path

    path = sample_store_path()
    if not shared.get_store(str(path)).exists():
        with st.status("Building the sample store from sample_data/ (first start only)…", expanded=True) as status:
            bar = st.progress(0.0)
            try:
                ensure_sample_store(progress=lambda step, f: bar.progress(min(max(f, 0.0), 1.0), text=step))
            except CrmkitError as exc:
                status.update(label="The sample store could not be built", state="error")
                st.error(str(exc))
                return
            except Exception as exc:  # the library is incomplete or broken: say so instead of a traceback
                status.update(label="The sample store could not be built", state="error")
                st.error(f"Building the sample store failed: {type(exc).__name__}: {exc}. "
                         "Open another store in the sidebar.")
                return
            status.update(label="Sample store ready", state="complete", expanded=False)
    st.session_state[shared.STORE_KEY] = str(path)


# -- which store is open ------------------------------------------------------------------------
if shared.STORE_KEY not in st.session_state:
    given = _cli_store()
    if given:
        _open(given, create=True)
    else:
        _open_sample()


# -- sidebar: the open store, its counts, opening another -------------------------------------
def _sidebar() -> None:
    sb = st.sidebar
    store = shared.current_store()
    sb.markdown("**Store**")
    if store is None:
        sb.caption("none open")
    else:
        name = store.path.name if store.is_sqlite and store.path else store.url.split("@")[-1]
        sb.markdown(f":material/database: **{name}**", help=store.target if store.is_sqlite else
                    "a database server (credentials are not shown)")
        try:
            counts = shared.counts(store) if store.exists() else None
        except CrmkitError as exc:
            counts = None
            sb.error(str(exc))
        except Exception as exc:
            counts = None
            sb.error(f"cannot read the store: {exc}")
        if counts is not None:
            c1, c2 = sb.columns(2)
            c1.metric("Contacts", f"{counts.get('contacts', 0):,}")
            c2.metric("Source rows", f"{counts.get('source_rows', 0):,}")
            c1.metric("Deals", f"{counts.get('deals', 0):,}")
            c2.metric("Orders", f"{counts.get('orders', 0):,}")
            c1.metric("To review", f"{counts.get('review_open', 0):,}")
            c2.metric("Issues", f"{counts.get('issues', 0):,}")
    with sb.expander("Open another store", icon=":material/folder_open:"):
        target = st.text_input("Path or URL", key="app_open_target",
                               placeholder="crm.sqlite or postgresql://user@host/db",
                               help="A SQLite file (.sqlite/.db) or any SQLAlchemy URL. "
                                    "postgresql:// needs `pip install 'crmkit[postgres]'`.")
        create = st.checkbox("Create an empty store if there is none", key="app_open_create")
        if st.button("Open", key="app_open_btn", type="primary", disabled=not target):
            if _open(target, create=create):
                st.rerun()
        if st.button("Open the sample store", key="app_open_sample"):
            _open_sample()
            st.rerun()
    sb.text_input("Acting as", key="app_actor", placeholder="your name (recorded in the history)",
                  help="Decisions, edits and deal moves are recorded in the store with this name; "
                       "empty: your login name.")


pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/import_files.py", title="Import", icon=":material/upload_file:"),
    st.Page("app_pages/duplicates.py", title="Duplicates", icon=":material/join_inner:"),
    st.Page("app_pages/contacts.py", title="Contacts", icon=":material/contacts:"),
    st.Page("app_pages/pipeline.py", title="Pipeline", icon=":material/view_kanban:"),
    st.Page("app_pages/segments.py", title="Segments", icon=":material/donut_small:"),
    st.Page("app_pages/export.py", title="Export", icon=":material/output:"),
]
page = st.navigation(pages)
try:
    page.run()
except CrmkitError as exc:  # a page let a library error through: its message says what and how to fix
    st.error(str(exc), icon=":material/error:")
except Exception as exc:  # a bug: a plain sentence here, the traceback in the server log (never in the page)
    logging.getLogger("crmkit.app").exception("page %s failed", page.title)
    st.error(f"This page could not be shown ({type(exc).__name__}: {exc}). The store was not changed by "
             "the failure; the details are in the server log. Please report it.", icon=":material/error:")
finally:  # the sidebar after the page, so its counts include what the page just wrote (also after st.stop)
    _sidebar()
