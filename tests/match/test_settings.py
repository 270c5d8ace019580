from __future__ import annotations

import json

import pytest

from crmkit.errors import SettingsError
from crmkit.match import MatchSettings


def test_json_round_trip_default():
    s = MatchSettings()
    assert MatchSettings.from_json(s.to_json()) == s


def test_json_round_trip_trained(background):
    from crmkit.match import find_duplicates

    trained = find_duplicates(background).attrs["settings"]
    assert trained.trained and trained.prior
    again = MatchSettings.from_json(trained.to_json())
    assert again == trained
    assert json.loads(again.to_json()) == json.loads(trained.to_json())


def test_validate_collects_problems():
    s = MatchSettings(blocking_rules=["email", "nope"], merge_threshold=0.2, review_threshold=0.5)
    with pytest.raises(SettingsError) as err:
        s.validate()
    assert "nope" in str(err.value) and "review_threshold" in str(err.value)


def test_unknown_key_is_an_error():
    with pytest.raises(SettingsError, match="unknown match settings keys"):
        MatchSettings.from_dict({"merge_thresold": 0.9})
