"""Deal stages -> one canonical pipeline (default: crmkit.schema.DEFAULT_STAGES).

A synonym table in several languages, then rapidfuzz for near misses
("Negociation", "Proposl"). Pass ``stages`` to use your own pipeline: a list of
stage names, or a dict ``{canonical_stage: [synonyms]}``.

>>> import pandas as pd
>>> clean_stages(pd.Series(["Closed Won", "Angebot", "线索", "3 - Negotiation", "Proposl"])).values.tolist()
['won', 'proposal', 'lead', 'negotiation', 'proposal']
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from crmkit.clean._base import CleanResult, fold_accents, is_placeholder, map_unique, normalize_text, problems_series
from crmkit.schema import DEFAULT_STAGES

STAGE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "lead": ("lead", "new", "new lead", "prospect", "prospecting", "prospection", "open", "contacted",
             "cold", "inbound", "mql", "interessent", "neu", "kontaktiert", "nouveau", "piste", "nuevo",
             "prospecto", "线索", "潜在客户", "新建", "初步接触"),
    "qualified": ("qualified", "qualification", "qualifying", "discovery", "needs analysis", "sql",
                  "sales qualified", "demo", "meeting", "qualifiziert", "bedarfsanalyse", "qualifie",
                  "calificado", "cualificado", "需求确认", "已验证", "意向"),
    "proposal": ("proposal", "proposal sent", "quote", "quoted", "quotation", "offer", "value proposition",
                 "angebot", "angebot gesendet", "angebot versendet", "proposition", "devis", "offre",
                 "propuesta", "cotizacion", "presupuesto", "报价", "方案", "提案"),
    "negotiation": ("negotiation", "negotiating", "negotiation review", "contract sent", "contract",
                    "commit", "verhandlung", "vertragsverhandlung", "vertrag", "negociation", "negociacion",
                    "contrat", "contrato", "谈判", "商务谈判", "合同"),
    "won": ("won", "closed won", "closed-won", "win", "deal won", "signed", "gewonnen", "auftrag",
            "abgeschlossen gewonnen", "gagne", "gagnee", "signe", "ganado", "ganada", "cerrado ganado",
            "赢单", "成交", "已成交", "签约", "赢得"),
    "lost": ("lost", "closed lost", "closed-lost", "lose", "deal lost", "dead", "disqualified", "verloren",
             "abgesagt", "abgeschlossen verloren", "perdu", "perdue", "perdido", "perdida", "cerrado perdido",
             "丢单", "输单", "失败", "流失"),
}
_PREFIX_RE = re.compile(r"^(?:stage|phase|stufe|etape|etapa)?\s*\d+\s*[-.:)]*\s*")
_PAREN_RE = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*")


def _key(text: str) -> str:
    text = fold_accents(text).lower()
    text = _PAREN_RE.sub(" ", text)  # "Closed Won (100%)"
    text = _PREFIX_RE.sub("", text.strip())  # "3 - Negotiation", "Stage 2: Qualified"
    return " ".join(re.sub(r"[^\w]+", " ", text).replace("_", " ").split())


def _synonym_table(stages: Mapping[str, Iterable[str]] | Iterable[str] | None) -> dict[str, str]:
    if stages is None:
        stages = DEFAULT_STAGES
    if not isinstance(stages, Mapping):
        stages = {s: STAGE_SYNONYMS.get(s, ()) for s in stages}
    table: dict[str, str] = {}
    for canonical, synonyms in stages.items():
        for name in (canonical, *synonyms):
            table.setdefault(_key(name), canonical)
    return table


def clean_stages(values: pd.Series, stages: Mapping[str, Iterable[str]] | Iterable[str] | None = None,
                 *, score_cutoff: float = 85) -> CleanResult:
    """Map stage names to the canonical pipeline; unknown -> None + problem.

    ``stages``: None for ``DEFAULT_STAGES`` with the built-in synonyms, a list
    of canonical names (built-in synonyms are used for those it shares with
    the default pipeline), or ``{canonical: [synonyms]}``.
    """
    from rapidfuzz import fuzz, process

    table = _synonym_table(stages)
    choices = [k for k in table if len(k) >= 4]

    def one(raw: object) -> tuple[str | None, str | None]:
        text = normalize_text(raw)
        if is_placeholder(text):
            return None, None
        key = _key(text)
        if key in table:
            return table[key], None
        if len(key) >= 4:
            hit = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=score_cutoff)
            if hit:
                return table[hit[0]], None
        return None, f"unknown stage: {text!r}"

    out, problems = map_unique(values, one, 2)
    return CleanResult(pd.Series(out, index=values.index, dtype=object), problems_series(problems, values.index))
