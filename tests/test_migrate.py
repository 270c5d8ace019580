"""crmkit.migrate's summary: what the matcher could not learn is said there, not printed as a Python warning."""
from __future__ import annotations

import warnings

import crmkit


def test_matcher_notes_go_into_the_summary(tmp_path):
    first = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas", "Karin", "Lukas"]
    last = ["Schmidt", "Meyer", "Weber", "Wagner", "Becker", "Hoffmann", "Koch", "Richter", "Klein", "Wolf",
            "Neumann", "Braun", "Zimmermann", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann"]
    rows = ["Vorname;Nachname;E-Mail"]
    for i in range(260):  # enough records for the matcher to train, but not one phone number
        f, l = first[i % len(first)], last[(i * 7) % len(last)]
        rows.append(f"{f};{l};{f.lower()}.{l.lower()}{i}@example.de")
    rows += ["Anna;Schmidt;anna.schmidt0@example.de", "ANNA;SCHMIDT;Anna.Schmidt0@Example.de"]
    path = tmp_path / "newsletter.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # none may escape to the caller
        result = crmkit.migrate([path], tmp_path / "crm.sqlite")
    notes = result.summary["notes"]
    assert any("phone" in n for n in notes), notes
    assert "Note: " in result.summary_text()
    assert result.summary["contacts"] < 262  # the exact duplicates still merged
