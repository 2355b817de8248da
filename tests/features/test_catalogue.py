"""The catalogue: every feature defined once, documented, and versioned by its definitions."""

from __future__ import annotations

import re

from common.names import INPUT_TABLES, ReasonCode
from features import catalogue
from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES, FEATURES


def test_every_feature_is_documented_and_named_in_the_shops_language():
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == len(FEATURES)
    for feature in FEATURES:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", feature.name), feature.name
        assert feature.description.endswith((".", ")")), feature.name
        assert feature.missing, feature.name
        assert set(feature.source.split("+")) <= set(INPUT_TABLES), feature.name
        assert feature.reason is None or feature.reason in ReasonCode.ALL


def test_derived_features_only_use_aggregated_features():
    aggregated = {f.name for f in FEATURES if f.stage != "derived"}
    for feature in FEATURES:
        if feature.stage == "derived":
            used = set(re.findall(r"[a-z][a-z0-9_]+", feature.sql)) & set(FEATURE_NAMES)
            assert used and used <= aggregated, feature.name


def test_the_version_changes_with_a_definition(monkeypatch):
    assert re.fullmatch(r"[0-9a-f]{12}", FEATURE_CATALOGUE_VERSION)
    assert catalogue._catalogue_version() == FEATURE_CATALOGUE_VERSION
    changed = (*FEATURES[:-1], FEATURES[-1].__class__(**{**vars(FEATURES[-1]), "sql": "1.0"}))
    monkeypatch.setattr(catalogue, "FEATURES", changed)
    assert catalogue._catalogue_version() != FEATURE_CATALOGUE_VERSION


def test_a_shop_with_orders_alone_gets_only_the_features_orders_can_give():
    from features.catalogue import features_from

    orders_only = features_from({"orders"})
    assert "days_since_last_order" in orders_only and "orders_total" in orders_only
    assert not any("deliver" in name or "rating" in name for name in orders_only)
    with_deliveries = features_from({"orders", "deliveries"})
    assert set(orders_only) < set(with_deliveries)
    assert "late_deliveries_90d" in with_deliveries and "last_rating" not in with_deliveries
    assert features_from(set(INPUT_TABLES)) == FEATURE_NAMES
