"""DARKREACH_SENSOR_SECONDS caps every sensor's interval (the daemon tests set it); unset, the intervals stand."""

import pytest

from assets.sensor_interval import sensor_interval


def test_unset_leaves_the_interval_and_a_cap_only_lowers_it(monkeypatch):
    monkeypatch.delenv("DARKREACH_SENSOR_SECONDS", raising=False)
    assert sensor_interval(30) == 30
    monkeypatch.setenv("DARKREACH_SENSOR_SECONDS", "3")
    assert sensor_interval(30) == 3 and sensor_interval(2) == 2


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "soon"])
def test_a_bad_cap_names_the_variable_and_the_fix(monkeypatch, value):
    monkeypatch.setenv("DARKREACH_SENSOR_SECONDS", value)
    with pytest.raises(ValueError, match="DARKREACH_SENSOR_SECONDS.*whole number of seconds"):
        sensor_interval(30)
