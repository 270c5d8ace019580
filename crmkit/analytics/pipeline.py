"""Sales-pipeline metrics: stage totals, weighted forecast, win rate, funnel, stale deals, moving deals.

>>> import pandas as pd
>>> from crmkit.analytics.pipeline import Pipeline, stage_summary
>>> deals = pd.DataFrame({"deal_id": ["d1", "d2"], "stage": ["proposal", "won"], "amount": [1000.0, 500.0],
...                       "probability": [None, None]})
>>> stage_summary(deals).set_index("stage").loc["proposal", "weighted"]
np.float64(500.0)

Conventions:

* Stage names in the data are matched case-insensitively and trimmed ("Proposal " is ``proposal``).
  Deals at a stage the pipeline does not know are listed after the pipeline's stages and are not open.
* ``weighted = amount x probability``; the deal's own probability (0..1) wins, the stage default fills
  in when it is missing or outside 0..1. Won and lost deals always weigh 1 and 0.
* ``deals`` / ``history`` are DataFrames, or an Engine / Store whose ``deals`` / ``deal_stage_history``
  table is read.
* Amounts are summed as they are: convert currencies first (``.attrs["currencies"]`` lists them).
"""
from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from crmkit.errors import CrmkitError, SettingsError

if TYPE_CHECKING:
    import sqlalchemy as sa

    #: a deals / history frame, or an Engine or Store whose table is read
    FrameLike = pd.DataFrame | sa.Engine | Any

__all__ = [
    "Stage",
    "Pipeline",
    "DEFAULT_PIPELINE",
    "stage_summary",
    "open_totals",
    "forecast",
    "win_rate",
    "average_deal_size",
    "by_owner",
    "funnel",
    "stale_deals",
    "move_deal",
]


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Stage:
    """One pipeline stage: its name, default win probability (0..1) and rotting days (None: never rots)."""

    name: str
    probability: float
    rotting_days: int | None = None


@dataclass(frozen=True)
class Pipeline:
    """An ordered list of stages with the names of the won and lost stages.

    >>> p = Pipeline.from_json(DEFAULT_PIPELINE.to_json())
    >>> p == DEFAULT_PIPELINE, p.open_stages
    (True, ['lead', 'qualified', 'proposal', 'negotiation'])
    """

    stages: tuple[Stage, ...]
    won: str = "won"
    lost: str = "lost"
    name: str = "default"

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        problems = []
        names = [s.name for s in self.stages]
        if len({n.strip().lower() for n in names}) != len(names):
            problems.append(f"stage names must be unique (case-insensitive), got {names}")
        for s in self.stages:
            if not isinstance(s.name, str) or not s.name.strip():
                problems.append("a stage has no name")
            p = s.probability
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
                problems.append(f"stage {s.name!r}: probability must be between 0 and 1, got {p!r}")
            if s.rotting_days is not None and (not isinstance(s.rotting_days, int) or s.rotting_days < 0):
                problems.append(f"stage {s.name!r}: rotting_days must be a whole number >= 0 or null")
        for role in ("won", "lost"):
            if getattr(self, role) not in names:
                problems.append(f"the {role} stage {getattr(self, role)!r} is not one of the stages")
        if self.won == self.lost:
            problems.append("won and lost must be different stages")
        if problems:
            raise SettingsError("invalid pipeline: " + "; ".join(problems),
                                hint="each stage needs a unique name and a probability in 0..1; "
                                     "won/lost must name two of the stages")

    # -- lookups
    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def open_stages(self) -> list[str]:
        return [s.name for s in self.stages if s.name not in (self.won, self.lost)]

    @property
    def funnel_stages(self) -> list[str]:
        """Open stages in order, then won: the path a deal walks."""
        return self.open_stages + [self.won]

    def stage(self, name: str) -> Stage:
        canonical = self.canonical(name)
        if canonical is None:
            raise SettingsError(f"unknown stage {name!r} in pipeline {self.name!r}",
                                hint=f"valid stages: {', '.join(self.names)}")
        return next(s for s in self.stages if s.name == canonical)

    def canonical(self, name: Any) -> str | None:
        """The pipeline's spelling of a stage name (case-insensitive), or None."""
        if not isinstance(name, str):
            return None
        return {n.strip().lower(): n for n in self.names}.get(name.strip().lower())

    # -- round trips
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "won": self.won, "lost": self.lost,
                "stages": [asdict(s) for s in self.stages]}

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Pipeline":
        try:
            stages = tuple(Stage(**s) for s in data["stages"])
        except (KeyError, TypeError) as exc:
            raise SettingsError(f"invalid pipeline: {exc}",
                                hint='stages look like {"name": "lead", "probability": 0.1, "rotting_days": 14}'
                                ) from exc
        return cls(stages, won=data.get("won", "won"), lost=data.get("lost", "lost"),
                   name=data.get("name", "custom"))

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Pipeline":
        """Load from JSON text or a path to a ``.json`` file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))


DEFAULT_PIPELINE = Pipeline(
    (
        Stage("lead", 0.10, 14),
        Stage("qualified", 0.25, 21),
        Stage("proposal", 0.50, 21),
        Stage("negotiation", 0.75, 30),
        Stage("won", 1.0, None),
        Stage("lost", 0.0, None),
    ),
    won="won",
    lost="lost",
    name="default",
)


def _pipe(pipeline: Pipeline | Mapping[str, Any] | str | Path | None) -> Pipeline:
    if pipeline is None:
        return DEFAULT_PIPELINE
    if isinstance(pipeline, Pipeline):
        return pipeline
    if isinstance(pipeline, Mapping):
        return Pipeline.from_dict(pipeline)
    return Pipeline.from_json(pipeline)


# --------------------------------------------------------------------------------------------- frames
def _frame(x: Any, table: str) -> pd.DataFrame | None:
    """A DataFrame as is; an Engine / Store: the whole ``table`` (None if it does not exist)."""
    if x is None or isinstance(x, pd.DataFrame):
        return x
    import sqlalchemy as sa

    eng = getattr(x, "engine", x)
    if not isinstance(eng, sa.Engine):
        raise CrmkitError(f"cannot read {table} from {type(x).__name__}",
                          hint="pass a DataFrame, a SQLAlchemy Engine or a crmkit Store")
    if not sa.inspect(eng).has_table(table):
        return None
    with eng.connect() as conn:
        return pd.read_sql_query(sa.select(sa.text("*")).select_from(sa.table(table)), conn)


def _prepare(deals: pd.DataFrame, pipe: Pipeline) -> pd.DataFrame:
    """Canonical stage, numeric amount, effective probability and weighted amount, one row per deal."""
    deals = _frame(deals, "deals")
    if deals is None:
        raise CrmkitError("the store has no deals table", hint="import a deals sheet first")
    missing = [c for c in ("stage", "amount") if c not in deals.columns]
    if missing:
        raise CrmkitError(f"deals have no column(s) {missing}", hint=f"columns are {list(deals.columns)}")
    df = deals.copy()
    raw = df["stage"].astype(object)
    lookup = {n.strip().lower(): n for n in pipe.names}
    stage = raw.map(lambda v: lookup.get(v.strip().lower()) if isinstance(v, str) else None)
    df["stage_raw"] = raw
    df["stage"] = stage.astype(object)
    df["amount"] = pd.to_numeric(df["amount"], errors="coerce").astype(float)
    prob = pd.to_numeric(df["probability"], errors="coerce").astype(float) if "probability" in df.columns \
        else pd.Series(np.nan, index=df.index)
    default = df["stage"].map({s.name: s.probability for s in pipe.stages}).astype(float)
    prob = prob.where(prob.between(0, 1), default)
    closed = df["stage"].isin([pipe.won, pipe.lost])
    prob = prob.where(~closed, default)
    df["effective_probability"] = prob
    df["weighted"] = df["amount"] * prob
    df["is_open"] = df["stage"].isin(pipe.open_stages)
    return df


def _currencies(deals: pd.DataFrame) -> list[str]:
    if "currency" not in deals.columns:
        return []
    return sorted(str(c) for c in deals["currency"].dropna().unique())


def stage_summary(deals: FrameLike, pipeline: Pipeline | None = None) -> pd.DataFrame:
    """Per stage in pipeline order (empty stages included): deals, amount, weighted, probability, is_open.

    Deals at stages the pipeline does not know follow as extra rows (``is_open`` False).
    ``.attrs["open_totals"]`` holds :func:`open_totals`.
    """
    pipe = _pipe(pipeline)
    df = _prepare(deals, pipe)
    label = df["stage"].where(df["stage"].notna(), df["stage_raw"].astype(object).fillna("(no stage)"))
    g = df.groupby(label.astype(str), sort=False)
    agg = pd.DataFrame({"deals": g.size(), "amount": g["amount"].sum(), "weighted": g["weighted"].sum()})
    extra = [s for s in agg.index if s not in pipe.names]
    out = agg.reindex(pipe.names + sorted(extra)).fillna({"deals": 0, "amount": 0.0, "weighted": 0.0})
    out["deals"] = out["deals"].astype(np.int64)
    out["probability"] = [pipe.stage(s).probability if s in pipe.names else np.nan for s in out.index]
    out["is_open"] = [s in pipe.open_stages for s in out.index]
    out.index.name = "stage"
    out = out.reset_index()
    o = df[df["is_open"]]
    out.attrs = {"open_totals": {"deals": int(len(o)), "amount": float(o["amount"].sum()),
                                 "weighted": float(o["weighted"].sum())},
                 "currencies": _currencies(df)}
    return out


def open_totals(deals: FrameLike, pipeline: Pipeline | None = None) -> dict[str, float]:
    """Count, amount and weighted amount of open deals (won, lost and unknown stages excluded)."""
    df = _prepare(deals, _pipe(pipeline))
    o = df[df["is_open"]]
    return {"deals": int(len(o)), "amount": float(o["amount"].sum()), "weighted": float(o["weighted"].sum())}


_PERIODS = {"month": "M", "quarter": "Q", "week": "W", "year": "Y"}


def forecast(deals: FrameLike, pipeline: Pipeline | None = None, by: str = "month") -> pd.DataFrame:
    """Open deals by expected close period: ``period, deals, amount, weighted`` (every period between the
    first and last close date, zero rows included). Open deals without a close date end in a last row
    ``period="(no close date)"``. Overdue deals stay in their (past) period.
    """
    if by not in _PERIODS:
        raise SettingsError(f"unknown forecast period {by!r}", hint=f"use one of {', '.join(_PERIODS)}")
    pipe = _pipe(pipeline)
    df = _prepare(deals, pipe)
    df = df[df["is_open"]]
    close = pd.to_datetime(df["close_date"], errors="coerce", format="ISO8601") if "close_date" in df.columns \
        else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if isinstance(close.dtype, pd.DatetimeTZDtype):
        close = close.dt.tz_localize(None)
    dated = close.notna()
    cols = ["period", "deals", "amount", "weighted"]
    if dated.any():
        period = close[dated].dt.to_period(_PERIODS[by])
        g = df[dated].groupby(period)
        agg = pd.DataFrame({"deals": g.size(), "amount": g["amount"].sum(), "weighted": g["weighted"].sum()})
        full = pd.period_range(period.min(), period.max(), freq=_PERIODS[by])
        agg = agg.reindex(full, fill_value=0)
        agg["deals"] = agg["deals"].astype(np.int64)
        agg.index = agg.index.astype(str)
        out = agg.rename_axis("period").reset_index()
    else:
        out = pd.DataFrame(columns=cols).astype({"deals": np.int64, "amount": float, "weighted": float})
    if (~dated).any():
        nd = df[~dated]
        row = pd.DataFrame([{"period": "(no close date)", "deals": len(nd), "amount": nd["amount"].sum(),
                             "weighted": nd["weighted"].sum()}])
        out = pd.concat([out, row], ignore_index=True) if len(out) else row
    out["period"] = out["period"].astype(str)
    out = out[cols].reset_index(drop=True)
    out.attrs = {"by": by, "currencies": _currencies(df)}
    return out


def win_rate(deals: FrameLike, pipeline: Pipeline | None = None, *, by_amount: bool = False) -> float:
    """Won / (won + lost), by count (default) or by amount; NaN when nothing is closed."""
    pipe = _pipe(pipeline)
    df = _prepare(deals, pipe)
    won, lost = df["stage"] == pipe.won, df["stage"] == pipe.lost
    if by_amount:
        w, l_ = df.loc[won, "amount"].sum(), df.loc[lost, "amount"].sum()
    else:
        w, l_ = won.sum(), lost.sum()
    return float(w / (w + l_)) if (w + l_) else float("nan")


def average_deal_size(deals: FrameLike, pipeline: Pipeline | None = None, *, stage: str = "won") -> float:
    """Mean amount of deals at ``stage`` (default the won stage; ``"open"`` for open deals, ``"all"``)."""
    pipe = _pipe(pipeline)
    df = _prepare(deals, pipe)
    if stage == "all":
        sel = df
    elif stage == "open":
        sel = df[df["is_open"]]
    else:
        name = pipe.won if stage == "won" else pipe.stage(stage).name
        sel = df[df["stage"] == name]
    return float(sel["amount"].mean()) if sel["amount"].notna().any() else float("nan")


def by_owner(deals: FrameLike, pipeline: Pipeline | None = None) -> pd.DataFrame:
    """Per owner: open deals / amount / weighted, won deals / amount, lost deals, win_rate (by count).

    Deals without an owner are under ``"(unassigned)"``. Sorted by weighted open amount, largest first.
    """
    pipe = _pipe(pipeline)
    df = _prepare(deals, pipe)
    owner = (df["owner"] if "owner" in df.columns else pd.Series(None, index=df.index, dtype=object)).astype(object)
    owner = owner.where(owner.notna() & (owner.astype(str).str.strip() != ""), "(unassigned)").astype(str)
    won, lost, op = df["stage"] == pipe.won, df["stage"] == pipe.lost, df["is_open"]
    tmp = pd.DataFrame({
        "owner": owner,
        "open_deals": op.astype(np.int64),
        "open_amount": df["amount"].where(op, 0.0),
        "weighted": df["weighted"].where(op, 0.0),
        "won_deals": won.astype(np.int64),
        "won_amount": df["amount"].where(won, 0.0),
        "lost_deals": lost.astype(np.int64),
    })
    out = tmp.groupby("owner").sum(min_count=0)
    closed = out["won_deals"] + out["lost_deals"]
    out["win_rate"] = (out["won_deals"] / closed.where(closed > 0)).astype(float)
    return out.sort_values(["weighted", "open_amount"], ascending=False, kind="stable").reset_index()


# --------------------------------------------------------------------------------------------- funnel
def _stage_index(values: pd.Series, pipe: Pipeline) -> pd.Series:
    """Position on the funnel path (open stages, then won); lost/unknown -> NaN."""
    pos = {n.strip().lower(): i for i, n in enumerate(pipe.funnel_stages)}
    return values.map(lambda v: pos.get(v.strip().lower()) if isinstance(v, str) else None).astype(float)


def funnel(history: FrameLike | None, deals: FrameLike, pipeline: Pipeline | None = None) -> pd.DataFrame:
    """Stage-to-stage conversion along the pipeline (open stages, then won).

    A deal *reached* a stage when the history shows it there (``from_stage`` or ``to_stage``), it sits
    there now, or it reached a later stage (a deal at ``proposal`` passed lead and qualified; a won deal
    passed every stage). A deal lost without history reached only the first stage.
    Columns: ``stage, reached, moved_on, dropped, conversion`` (moved_on / reached) and ``from_top``
    (reached / reached at the first stage); ``lost_here`` counts lost deals whose furthest stage this is.
    """
    pipe = _pipe(pipeline)
    history, deals = _frame(history, "deal_stage_history"), _frame(deals, "deals")
    ids = deals["deal_id"].astype(str)
    current = _stage_index(deals["stage"].astype(object), pipe)
    furthest = pd.Series(current.to_numpy(), index=ids.to_numpy()).groupby(level=0).max()
    if history is not None and len(history):
        h = history[history["deal_id"].astype(str).isin(set(ids))]
        both = pd.concat([
            pd.DataFrame({"deal_id": h["deal_id"].astype(str), "idx": _stage_index(h["from_stage"].astype(object), pipe)}),
            pd.DataFrame({"deal_id": h["deal_id"].astype(str), "idx": _stage_index(h["to_stage"].astype(object), pipe)}),
        ])
        hist_max = both.groupby("deal_id")["idx"].max()
        furthest = pd.concat([furthest, hist_max], axis=1).max(axis=1)
    # deals with no known position (lost without history, unknown stage): they entered at the top
    furthest = furthest.fillna(0).astype(np.int64)
    is_lost = pd.Series((deals["stage"].astype(object).map(pipe.canonical) == pipe.lost).to_numpy(),
                        index=ids.to_numpy()).groupby(level=0).max()
    n = len(pipe.funnel_stages)
    reached = np.array([(furthest >= i).sum() for i in range(n)], dtype=np.int64)
    moved_on = np.append(reached[1:], 0)
    lost_here = np.bincount(furthest[is_lost.reindex(furthest.index, fill_value=False)].to_numpy(), minlength=n)[:n]
    out = pd.DataFrame({
        "stage": pipe.funnel_stages,
        "reached": reached,
        "moved_on": moved_on,
        "dropped": reached - moved_on,
        "lost_here": lost_here.astype(np.int64),
    })
    out.loc[n - 1, ["moved_on", "dropped"]] = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["conversion"] = np.where(reached > 0, moved_on / np.maximum(reached, 1), np.nan)
        out["from_top"] = reached / reached[0] if reached[0] else np.nan
    out.loc[n - 1, "conversion"] = np.nan
    return out


# --------------------------------------------------------------------------------------------- stale deals
def stale_deals(deals: FrameLike, history: FrameLike | None = None, pipeline: Pipeline | None = None,
                today: Any = None) -> pd.DataFrame:
    """Open deals that have sat in their stage longer than the stage's rotting days.

    Time in stage runs from the deal's latest history entry, else from ``created_at``; deals with
    neither are skipped (counted in ``.attrs["undated"]``). Adds ``in_stage_since``, ``days_in_stage``,
    ``rotting_days`` and ``days_over``; most overdue first.
    """
    pipe = _pipe(pipeline)
    history = _frame(history, "deal_stage_history")
    df = _prepare(deals, pipe)
    df = df[df["is_open"]].copy()
    today_ts = pd.Timestamp(today if today is not None else datetime.now().date()).normalize()
    if today_ts.tzinfo is not None:
        today_ts = today_ts.tz_localize(None)

    def _ts(s: pd.Series) -> pd.Series:
        t = pd.to_datetime(s, errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)
        return t

    since = _ts(df["created_at"]) if "created_at" in df.columns else pd.Series(pd.NaT, index=df.index)
    if history is not None and len(history):
        last = _ts(history["changed_at"]).groupby(history["deal_id"].astype(str).to_numpy()).max()
        from_hist = df["deal_id"].astype(str).map(last)
        since = pd.to_datetime(from_hist).where(from_hist.notna(), since)
    df["in_stage_since"] = since
    df["days_in_stage"] = (today_ts - since.dt.normalize()).dt.days
    df["rotting_days"] = df["stage"].map({s.name: s.rotting_days for s in pipe.stages})
    undated = int(since.isna().sum())
    df = df[since.notna() & df["rotting_days"].notna()]
    df["rotting_days"] = df["rotting_days"].astype(np.int64)
    df["days_in_stage"] = df["days_in_stage"].astype(np.int64)
    df["days_over"] = df["days_in_stage"] - df["rotting_days"]
    out = df[df["days_over"] > 0].sort_values("days_over", ascending=False, kind="stable")
    out = out.drop(columns=["stage_raw", "is_open"]).reset_index(drop=True)
    out.attrs = {"undated": undated, "today": str(today_ts.date())}
    return out


# --------------------------------------------------------------------------------------------- writes
def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _ensure_tables(conn) -> None:
    import sqlalchemy as sa

    md = sa.MetaData()
    sa.Table("deal_stage_history", md,
             sa.Column("history_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("deal_id", sa.Text), sa.Column("from_stage", sa.Text), sa.Column("to_stage", sa.Text),
             sa.Column("changed_at", sa.Text), sa.Column("actor", sa.Text))
    sa.Table("audit_log", md, *(sa.Column(c, sa.Text) for c in ("at", "actor", "action", "entity",
                                                                 "record_id", "detail")))
    md.create_all(conn, checkfirst=True)  # CREATE TABLE IF NOT EXISTS, in any SQL dialect


def move_deal(engine_or_store: Any, deal_id: str, to_stage: str, *, actor: str | None = None,
              when: Any = None, pipeline: Pipeline | None = None) -> dict[str, Any]:
    """Move a deal to another stage in one transaction: update ``deals.stage`` (and probability), append a
    ``deal_stage_history`` row and an ``audit_log`` row. Returns what happened.

    Probability follows the stage unless it was set by hand: it becomes the new stage's default when it
    was empty or equal to the old stage's default; won/lost always set 1/0. Moving a deal to the stage
    it is at changes nothing (``changed`` False, no rows written).

    Raises :class:`~crmkit.errors.SettingsError` for a stage the pipeline lacks (hint lists the valid
    ones) and :class:`~crmkit.errors.CrmkitError` for an unknown deal.

    >>> move_deal(store, "D-17", "proposal", actor="ana")  # doctest: +SKIP
    {'deal_id': 'D-17', 'from_stage': 'qualified', 'to_stage': 'proposal', 'probability': 0.5, ...}
    """
    import sqlalchemy as sa

    pipe = _pipe(pipeline)
    target = pipe.stage(to_stage)  # SettingsError with the valid stages as hint
    actor = actor if actor is not None else _os_user()
    at = _now()
    changed_at = at if when is None else _iso(when)
    eng = getattr(engine_or_store, "engine", engine_or_store)
    with eng.begin() as conn:
        row = conn.execute(sa.text("SELECT stage, probability FROM deals WHERE deal_id = :id"),
                           {"id": deal_id}).first()
        if row is None:
            raise CrmkitError(f"no deal with deal_id {deal_id!r}",
                              hint="check the id in the deals table (ids are text, e.g. '17' not 17)")
        old_stage, old_prob = row[0], row[1]
        old = pipe.canonical(old_stage)
        result = {"deal_id": deal_id, "from_stage": old_stage, "to_stage": target.name,
                  "probability": old_prob, "changed_at": changed_at, "actor": actor, "changed": False}
        if old == target.name:
            return result
        old_default = pipe.stage(old).probability if old is not None else None
        follows = old_prob is None or (isinstance(old_prob, float) and np.isnan(old_prob)) or (
            old_default is not None and abs(float(old_prob) - old_default) < 1e-9)
        new_prob = target.probability if follows or target.name in (pipe.won, pipe.lost) else float(old_prob)
        _ensure_tables(conn)
        conn.execute(sa.text("UPDATE deals SET stage = :stage, probability = :p WHERE deal_id = :id"),
                     {"stage": target.name, "p": new_prob, "id": deal_id})
        conn.execute(sa.text("INSERT INTO deal_stage_history (deal_id, from_stage, to_stage, changed_at, actor) "
                             "VALUES (:id, :f, :t, :at, :actor)"),
                     {"id": deal_id, "f": old_stage, "t": target.name, "at": changed_at, "actor": actor})
        detail = json.dumps({"from_stage": old_stage, "to_stage": target.name, "probability_before": old_prob,
                             "probability": new_prob, "changed_at": changed_at}, ensure_ascii=False)
        conn.execute(sa.text("INSERT INTO audit_log (at, actor, action, entity, record_id, detail) "
                             "VALUES (:at, :actor, 'move_stage', 'deal', :id, :detail)"),
                     {"at": at, "actor": actor, "id": deal_id, "detail": detail})
        from crmkit.store import touch

        touch(conn)
    result.update(probability=new_prob, changed=True)
    return result


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something
        return "unknown"


def _iso(when: Any) -> str:
    ts = pd.Timestamp(when)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.isoformat(timespec="seconds")
