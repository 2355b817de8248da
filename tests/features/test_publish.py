from datetime import date

import numpy as np
import pandas as pd

from features.publish import latest_pointer, load_published_snapshot, publish_snapshot


def test_published_snapshot_round_trips_and_pointer_moves(tmp_path):
    names = ("days_since_last_order", "late_deliveries_90d")
    first = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "days_since_last_order": [3.0, 40.0],
            "late_deliveries_90d": [0.0, np.nan],
        }
    )
    publish_snapshot(first, tmp_path, date(2025, 1, 1), names, "v1")
    loaded = load_published_snapshot(tmp_path)
    assert loaded.as_of == date(2025, 1, 1)
    assert loaded.lookup("b")[0] == 40.0
    assert np.isnan(loaded.lookup("b")[1])
    assert loaded.lookup("zzz") is None

    second = first.assign(days_since_last_order=[4.0, 41.0])
    publish_snapshot(second, tmp_path, date(2025, 1, 2), names, "v1")
    assert latest_pointer(tmp_path)["as_of"] == "2025-01-02"
    assert load_published_snapshot(tmp_path).lookup("a")[0] == 4.0


def test_nothing_published_yet_is_none(tmp_path):
    assert load_published_snapshot(tmp_path) is None


def test_an_older_day_never_moves_the_pointer_back(tmp_path):
    names = ("days_since_last_order",)
    frame = pd.DataFrame({"customer_id": ["a"], "days_since_last_order": [3.0]})
    publish_snapshot(frame, tmp_path, date(2026, 1, 1), names, "v1")
    older = publish_snapshot(frame, tmp_path, date(2025, 12, 15), names, "v1")
    assert older.exists() and older.name == "features_2025-12-15.parquet"
    assert latest_pointer(tmp_path)["as_of"] == "2026-01-01"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
