"""Matching settings: one declarative dataclass that round-trips to JSON.

A :class:`MatchSettings` says how candidate pairs are found (blocking rules, block cap), how each
field is compared (ordered levels with their m/u probabilities), and where the decision thresholds
lie. ``find_duplicates`` returns the *trained* settings in ``pairs.attrs["settings"]``; saving them
(``to_json()``) and passing them back replays the run exactly: nothing is re-estimated when
``settings.trained`` is true.

>>> s = MatchSettings()
>>> MatchSettings.from_json(s.to_json()) == s
True
>>> [lv.label for lv in s.comparison("email").levels]
['null', 'exact', 'same_local_part', 'typo', 'private_and_work', 'else']
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

from crmkit.errors import SettingsError

SETTINGS_VERSION = 1


@dataclass
class ComparisonLevel:
    """One level of a comparison. Level 0 of every comparison is ``null`` (weight 0).

    ``m``: P(level | same person); ``u``: P(level | different people). ``fix_m`` keeps ``m`` out
    of the EM estimation (prior knowledge); ``tf_adjust`` replaces ``u`` by the frequency of the
    agreeing value (a common name or a switchboard phone counts for less).
    """

    label: str
    description: str = ""
    m: float | None = None
    u: float | None = None
    fix_m: bool = False
    tf_adjust: bool = False

    @property
    def is_null(self) -> bool:
        return self.label == "null"

    def weight(self) -> float:
        """log2 Bayes factor m/u; 0 for the null level or while untrained."""
        if self.is_null or not self.m or not self.u:
            return 0.0
        return math.log2(self.m / self.u)


@dataclass
class Comparison:
    """A field compared through ordered levels (first level that applies wins).

    The built-in fields (name, email, phone, company, address) have fixed ladders in
    :mod:`crmkit.match.compare`; any other column is compared by a ``kind`` of
    :mod:`crmkit.match.generic` ("exact", "id", "date", "string", "number"), whose levels and
    params default to the kind's. ``params`` holds the similarity thresholds.

    >>> Comparison(field="date_of_birth", kind="date").labels
    ['null', 'exact', 'day_month_swapped', 'one_digit', 'year_off_by_one', 'else']
    """

    field: str
    levels: list[ComparisonLevel] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    kind: str | None = None

    def __post_init__(self):
        from crmkit.match.generic import KINDS, default_levels, default_params

        if self.kind in KINDS:
            if not self.levels:
                self.levels = default_levels(self.kind)
            self.params = {**default_params(self.kind), **self.params}

    @property
    def labels(self) -> list[str]:
        return [lv.label for lv in self.levels]

    def level(self, label: str) -> ComparisonLevel:
        for lv in self.levels:
            if lv.label == label:
                return lv
        raise KeyError(label)


def _lv(label, description, m, u=None, fix_m=False, tf=False):
    return ComparisonLevel(label, description, m=m, u=u, fix_m=fix_m, tf_adjust=tf)


def default_comparisons() -> list[Comparison]:
    """The standard ladders with starting m values (EM refines them).

    Lists under ``min_train_records`` keep these m values, so they are what a small file is scored with.
    The 'else' levels of email, phone, company and address (the values differ) carry little of m: EM puts
    them lower still on the generated corpus (at 100k records company 0.07, address 0.01, two numbers of one
    kind 0.01, two addresses of one kind 0.13), and the bundled sample data agree; a larger m there made a
    name plus two different companies or cities look like a job change or a move rather than two people.
    """
    null = lambda what: _lv("null", f"{what} missing on either side: no evidence", None)  # noqa: E731
    return [
        Comparison("name", [
            null("name"),
            _lv("exact", "same first and last name (or the same CJK full name), e.g. Anna Schmidt = anna schmidt",
                0.70, 0.0001, tf=True),
            _lv("swapped", "first and last name swapped: Smith John = John Smith", 0.02, 1e-06, tf=True),
            _lv("nickname", "first names are nicknames of one another, same last name: Bob/Robert Miller", 0.05, 1e-05,
                tf=True),
            _lv("typo", "both name parts Jaro-Winkler >= jw_high: Jonh Smith / John Smith", 0.10, 0.0001),
            _lv("near", "both parts Jaro-Winkler >= jw_low, or token set >= token_set: Maria Garcia / Maria Garcia Lopez",
                0.04, 0.001),
            _lv("initials", "same last name, one first name is an initial or missing: J. Smith / John Smith", 0.02, 0.0001),
            _lv("first_only", "first names agree, last names differ (married name?): Anna Weber / Anna Schmidt",
                0.03, 0.005),
            _lv("first_edit", "same last name, first names within 2 edits or Jaro-Winkler >= jw_low (a typo at "
                "the start of a short name): Ahmed / Hamed Khan", 0.02, 0.0005),
            _lv("surname_only", "last names agree, first names clearly differ (household): Anna / Paul Schmidt",
                0.002, 0.002, fix_m=True),
            _lv("romanised", "a CJK name whose tone-less pinyin, family name first or last, is the other's Latin "
                "name: 周刚 / Gang Zhou (homophones share a pinyin, so weaker than exact)", 0.05, 1e-05),
            _lv("else", "names differ", 0.005, 0.99),
        ], {"jw_high": 0.92, "jw_low": 0.80, "token_set": 0.90}),
        Comparison("email", [
            null("valid email"),
            _lv("exact", "same address", 0.57, 1e-05),
            _lv("same_local_part", "same local part, other domain: j.doe@gmail.com / j.doe@acme.com", 0.05, 1e-05),
            _lv("typo", "Damerau-Levenshtein <= max_edits, same digits: j.doe@gmail.com / j.deo@gmail.com", 0.05, 1e-05),
            _lv("private_and_work", "different addresses, one at a free-mail provider and one elsewhere: a person's "
                "private and work address as often as two people's (anna.weber@gmail.com / anna.weber@acme.com: "
                "a local part made of the name adds nothing to the name)", 0.25, 0.2),
            _lv("else", "different addresses of one kind, two private or two work addresses: mostly two people "
                "(or one who changed jobs)", 0.08, 0.6),
        ], {"max_edits": 1, "min_local_len": 3}),
        Comparison("phone", [
            null("valid phone and mobile"),
            _lv("exact", "a phone or mobile of one equals a phone or mobile of the other", 0.74, 1e-05, tf=True),
            _lv("last_digits", "the last `last_digits` digits agree (prefix/country code differs)", 0.05, 1e-06),
            _lv("one_digit", "one digit differs (typo)", 0.05, 1e-05),
            _lv("other_kind", "different numbers and no column in common: one gives only a landline, the other "
                "only a mobile (a person has both)", 0.10, 0.2),
            _lv("else", "different numbers of the same kind", 0.06, 0.6),
        ], {"last_digits": 7}),
        Comparison("company", [
            null("company"),
            _lv("exact", "same company key", 0.80, 0.005, tf=True),
            _lv("fuzzy", "company keys similar >= min_similarity", 0.10, 0.002),
            _lv("else", "different companies (job change?)", 0.10, 0.993),
        ], {"min_similarity": 0.90}),
        Comparison("address", [
            null("address"),
            _lv("same_street", "same street and same postcode or city", 0.62, 0.0001),
            _lv("same_postcode", "same postcode (and country)", 0.15, 0.005),
            _lv("same_city", "same city", 0.15, 0.03),
            _lv("other_country", "different countries", 0.02, 0.5),
            _lv("else", "different places (moved?)", 0.06, 0.465),
        ], {"city_jw": 0.92}),
    ]


def _upgrade(comp: Comparison) -> Comparison:
    """Settings saved before a level was added (name 'romanised', 'first_edit', email 'private_and_work',
    phone 'other_kind') get that level with its default m/u, so stored runs still replay."""
    if comp.kind is not None:
        return comp
    default = next((c for c in default_comparisons() if c.field == comp.field), None)
    labels = comp.labels
    if default is None or labels == default.labels or not set(labels) < set(default.labels):
        return comp
    have = {lv.label: lv for lv in comp.levels}
    return Comparison(comp.field, [have.get(lv.label, lv) for lv in default.levels], comp.params)


DEFAULT_BLOCKING_RULES = [
    "email", "phone", "name_tokens", "name_prefixes", "phonetic_initial", "surname_company",
    "surname_postcode", "cjk_name", "cjk_pinyin", "email_local", "street_postcode",
]   # also available: "surname_city" (broad: Smith|London), "first_postcode", "name_sorted"
# street_postcode (house number + postcode) is cheap (small blocks) and finds the duplicates whose names
# are both mistyped or whose common name puts them in a capped block: at 1M rows it lifts blocking recall
# from .944 to .967 for 2% more candidate pairs


@dataclass
class MatchSettings:
    """Everything that decides a matching run; round-trips to JSON.

    >>> s = MatchSettings(merge_threshold=0.95)
    >>> MatchSettings.from_json(s.to_json()).merge_threshold
    0.95
    """

    blocking_rules: list[str] = field(default_factory=lambda: list(DEFAULT_BLOCKING_RULES))
    max_block_size: int = 30           # larger blocks are cut into sorted-neighbourhood windows
    window: int = 8                    # window size inside capped blocks
    comparisons: list[Comparison] = field(default_factory=default_comparisons)
    merge_threshold: float = 0.90      # match probability at or above which a pair merges
    review_threshold: float = 0.30     # ... at or above which it goes to a person
    prior: float | None = None         # lambda: P(two random records are the same person)
    trained: bool = False              # m/u/prior estimated: replay without re-estimating
    u_sample_size: int = 1_000_000     # random pairs for u
    min_train_records: int = 1000      # below this, keep the default m (too little data for EM of m)
    min_prior_records: int = 200       # below this, also keep the default u and prior (nothing to estimate)
    em_iterations: int = 30
    em_tolerance: float = 1e-5
    m_bounds: tuple[float, float] = (1e-4, 0.9999)
    u_min: float = 1e-7
    seed: int = 42
    # Hard-case rule: when names contradict (these name levels), evidence a household or an office
    # shares (these fields) adds at most `conflict_cap` bits in total.
    # (first_only included: two colleagues called Julia on one switchboard are not a married name change)
    conflict_levels: list[str] = field(default_factory=lambda: ["first_only", "surname_only", "else"])
    shared_fields: list[str] = field(default_factory=lambda: ["phone", "address", "company"])
    conflict_cap: float = 0.0
    # ... unless the comparisons declared on other columns (ids, birth dates) add at least this many bits
    # net: two records agreeing on an id and a birth date are not two members of a household
    conflict_release: float = 12.0
    # Clustering guard (see crmkit.match.cluster)
    cannot_link_weight: float = -8.0
    # ... a pair is such a cannot-link only when its fields disagree by more than this many bits (the sum of
    # its negative field weights): a weight that is low because of the prior alone is no evidence of two people
    cannot_link_disagreement: float = 1.0
    # ... and a pair not merged on its own whose fields other than the name contradict by at least this
    # many bits (different phone and company: namesakes, not one person reached through name-only records)
    cannot_link_contradiction: float = -3.5
    max_cluster_size: int = 25
    keep_rejected: bool = False        # also return pairs scored 'no'

    # ----------------------------------------------------------------- access / checks
    def comparison(self, name: str) -> Comparison:
        for c in self.comparisons:
            if c.field == name:
                return c
        raise KeyError(name)

    def extra_columns(self) -> dict[str, tuple[str, dict]]:
        """Columns beyond the built-in fields that this run reads: column -> (kind, params) of its
        normalisation (a column only blocked on, not compared, is normalised as kind 'exact')."""
        from crmkit.match.blocking import rule_columns

        out = {c.field: (c.kind, c.params) for c in self.comparisons if c.kind is not None}
        for rule in self.blocking_rules:
            for col in rule_columns(rule) or []:
                out.setdefault(col, ("exact", {}))
        return out

    def validate(self) -> None:
        """Collect every problem and raise one SettingsError naming them all."""
        from crmkit.match.blocking import BLOCKING_KEYS, rule_columns
        from crmkit.match.compare import LADDERS
        from crmkit.match.generic import KINDS

        problems = []
        for rule in self.blocking_rules:
            if rule not in BLOCKING_KEYS and rule_columns(rule) is None:
                problems.append(f"unknown blocking rule {rule!r} (known: {', '.join(BLOCKING_KEYS)}, "
                                "or 'col:<column>', 'cols:<column>+<column>')")
        if not self.blocking_rules:
            problems.append("no blocking rules")
        seen = [c.field for c in self.comparisons]
        for f in sorted({f for f in seen if seen.count(f) > 1}):
            problems.append(f"comparison {f!r} appears more than once")
        for c in self.comparisons:
            if c.kind is not None:
                if c.field in LADDERS:
                    problems.append(f"comparison {c.field!r} has a built-in ladder: leave its kind out")
                elif c.kind not in KINDS:
                    problems.append(f"comparison {c.field!r}: unknown kind {c.kind!r} (known: {', '.join(KINDS)})")
                elif c.labels != KINDS[c.kind]:
                    problems.append(f"comparison {c.field!r} of kind {c.kind!r} levels must be {KINDS[c.kind]}, "
                                    f"got {c.labels}")
            elif c.field not in LADDERS:
                problems.append(f"unknown comparison {c.field!r}: give it a kind ({', '.join(KINDS)}) or use one "
                                f"of {', '.join(LADDERS)}")
            elif c.labels != LADDERS[c.field]:
                problems.append(f"comparison {c.field!r} levels must be {LADDERS[c.field]}, got {c.labels}")
            for lv in c.levels:
                for p in ("m", "u"):
                    v = getattr(lv, p)
                    if v is not None and not (0 < v <= 1):
                        problems.append(f"{c.field}.{lv.label}.{p}={v} is not a probability in (0, 1]")
        if not (0 < self.review_threshold <= self.merge_threshold < 1):
            problems.append(f"need 0 < review_threshold ({self.review_threshold}) <= merge_threshold "
                            f"({self.merge_threshold}) < 1")
        if self.max_block_size < 2 or self.window < 1:
            problems.append("max_block_size must be >= 2 and window >= 1")
        if self.trained and (self.prior is None or any(
                lv.m is None or lv.u is None for c in self.comparisons for lv in c.levels if not lv.is_null)):
            problems.append("settings say trained=True but some m/u or the prior are missing")
        if problems:
            raise SettingsError("invalid match settings: " + "; ".join(problems),
                                hint="start from MatchSettings() and change only what you need")

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        d = asdict(self)
        d["m_bounds"] = list(self.m_bounds)
        d["version"] = SETTINGS_VERSION
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> "MatchSettings":
        data = dict(data)
        data.pop("version", None)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SettingsError(f"unknown match settings keys: {', '.join(unknown)}",
                                hint=f"known keys: {', '.join(sorted(known))}")
        if "comparisons" in data:
            data["comparisons"] = [_upgrade(
                Comparison(c["field"], [ComparisonLevel(**lv) for lv in c["levels"]], dict(c.get("params", {})),
                           c.get("kind")))
                for c in data["comparisons"]]
        if "m_bounds" in data:
            data["m_bounds"] = tuple(data["m_bounds"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "MatchSettings":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"match settings are not valid JSON: {exc}",
                                hint="pass the text saved by MatchSettings.to_json()") from exc
        return cls.from_dict(data)
