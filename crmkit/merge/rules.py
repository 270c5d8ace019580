"""Survivorship rules: which member's value survives into the golden contact, field by field."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from crmkit.errors import SettingsError
from crmkit.schema import CONTACT_COLUMNS

#: The golden fields, in store order.
FIELDS: list[str] = [c for c in CONTACT_COLUMNS if c not in ("contact_id", "emails", "phones")]

#: Rule name → what it prefers. Selecting rules pick one record's value; combining rules build one.
RULES: dict[str, str] = {
    "most_frequent": "the value most members share (case- and space-insensitive)",
    "most_recent": "the value of the newest record (created_at, else later in file order)",
    "earliest": "the value of the oldest record (created_at, else earlier in file order)",
    "most_complete": "the value of the record with the most filled fields",
    "longest": "the longest value",
    "well_formed": "properly cased values without initials ('R. Smith', 'BOB') first",
    "source_priority": "the value of the record whose source_file matches the earliest pattern",
    "first_non_empty": "the first filled value in source order",
    "concat_distinct": "all distinct values, in source order, one per line (notes)",
    "union": "all distinct items of ';' ',' '|' separated lists, '; '-joined (tags)",
}
_COMBINING = {"concat_distinct": "\n", "union": "; "}
_NAME_RULES = ["well_formed", "most_complete", "most_frequent", "longest"]


def _default_field_rules() -> dict[str, list[str]]:
    rules = {f: list(_NAME_RULES) for f in ("first_name", "last_name", "full_name", "salutation")}
    rules.update({f: ["most_frequent", "most_recent"] for f in ("email", "phone", "mobile")})
    rules.update({f: ["most_recent"] for f in ("company", "job_title", "street", "postcode", "city",
                                                 "region", "country")})
    rules.update(notes=["concat_distinct"], tags=["union"], created_at=["earliest"])
    return rules


def _default_linked() -> dict[str, str]:
    return {"first_name": "full_name", "last_name": "full_name", "salutation": "full_name",
            "company_key": "company", "phone_ext": "phone",
            "street": "city", "postcode": "city", "region": "city"}


@dataclass
class SurvivorshipRules:
    """Which member's value survives into the golden contact, field by field.

    ``fields`` maps a field to an ordered chain of :data:`RULES`; each later rule breaks ties of
    the earlier ones, then ``source_priority`` and finally source order break any remaining tie.
    Fields not listed use ``default``. For email, phone and mobile a valid value (``x@y.z``,
    ``+digits``) always beats an invalid one. ``linked`` keeps values that belong together
    coherent: a follower field takes the value of the record that won its leader field when that
    record has it (street/postcode/region follow city, first/last name follow full_name), else it
    falls back to its own chain. ``source_priority`` holds source_file glob patterns, best first
    (case-insensitive); unmatched files rank last.

    >>> rules = SurvivorshipRules(source_priority=["old_crm_export*", "*"])
    >>> rules.fields["city"] = ["source_priority", "most_recent"]
    >>> SurvivorshipRules.from_json(rules.to_json()) == rules
    True
    """

    fields: dict[str, list[str]] = field(default_factory=_default_field_rules)
    default: list[str] = field(default_factory=lambda: ["most_frequent", "most_recent"])
    source_priority: list[str] = field(default_factory=lambda: ["*"])
    linked: dict[str, str] = field(default_factory=_default_linked)

    def chain(self, name: str) -> list[str]:
        """The rule chain for one field."""
        return list(self.fields.get(name, self.default))

    def validate(self) -> None:
        """Raise one SettingsError listing every problem, or return None."""
        problems = []
        for name, chain in [*self.fields.items(), ("default", self.default)]:
            if name != "default" and name not in FIELDS:
                problems.append(f"unknown field {name!r}")
            if isinstance(chain, str) or not chain:
                problems.append(f"{name}: give a non-empty list of rules")
                continue
            problems += [f"{name}: unknown rule {r!r}" for r in chain if r not in RULES]
            if any(r in _COMBINING for r in chain) and len(chain) > 1:
                problems.append(f"{name}: {'/'.join(_COMBINING)} must be the only rule of its field")
            if name == "default" and any(r in _COMBINING for r in chain):
                problems.append("default: combining rules only make sense for one field")
        for follower, leader in self.linked.items():
            for f in (follower, leader):
                if f not in FIELDS:
                    problems.append(f"linked: unknown field {f!r}")
            seen, cur = {follower}, leader
            while cur in self.linked:
                if cur in seen:
                    problems.append(f"linked: cycle through {follower!r}")
                    break
                seen.add(cur)
                cur = self.linked[cur]
        if isinstance(self.source_priority, str) or not all(isinstance(p, str) for p in self.source_priority):
            problems.append("source_priority: give a list of glob patterns")
        if problems:
            raise SettingsError("invalid survivorship rules: " + "; ".join(problems),
                                hint=f"rules are {', '.join(RULES)}; fields are {', '.join(FIELDS)}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SurvivorshipRules:
        try:
            data = json.loads(text)
            rules = cls(**data)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"survivorship rules JSON could not be read: {exc}",
                                hint="start from SurvivorshipRules().to_json()") from exc
        rules.validate()
        return rules
