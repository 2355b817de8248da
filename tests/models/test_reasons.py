"""Reason sentences are true of the customer, name the shop's words, and cover the catalogue."""

from __future__ import annotations

import math

from common.names import ReasonCode
from features.catalogue import FEATURES, FEATURES_BY_NAME
from models.reasons import RULES, RULES_BY_FEATURE, reason_for


def test_every_catalogue_feature_with_a_reason_code_has_a_sentence_with_that_code():
    for feature in FEATURES:
        if feature.reason is not None:
            assert feature.name in RULES_BY_FEATURE, f"{feature.name} has no reason rule"
            assert RULES_BY_FEATURE[feature.name].code == feature.reason, feature.name


def test_rules_speak_of_real_features_and_real_codes():
    for rule in RULES:
        assert rule.feature in FEATURES_BY_NAME
        assert rule.code in ReasonCode.ALL


def test_sentences_are_filled_from_the_customers_values():
    values = {"days_since_last_order": 140.0, "usual_gap_days": 35.0, "late_deliveries_90d": 2.0}
    assert (
        reason_for("late_deliveries_90d", values, 0.4).sentence
        == "2 late deliveries in the last 90 days"
    )
    assert (
        reason_for("days_since_last_order", values, 0.9).sentence
        == "no order for 140 days, usually every 35"
    )
    assert reason_for("last_rating", {"last_rating": 1.0}, 0.2).sentence == "last review 1 star"
    one = reason_for("late_deliveries_90d", {"late_deliveries_90d": 1.0}, 0.1)
    assert one.sentence == "1 late delivery in the last 90 days"
    assert one.code == ReasonCode.LATE_DELIVERY and one.contribution == 0.1


def test_no_reason_when_the_sentence_would_be_false():
    assert reason_for("late_deliveries_90d", {"late_deliveries_90d": 0.0}, 0.3) is None
    assert reason_for("last_rating", {"last_rating": 5.0}, 0.3) is None
    assert reason_for("last_rating", {"last_rating": math.nan}, 0.3) is None  # no review at all
    assert (
        reason_for("usual_gap_days", {"usual_gap_days": 3.0}, 0.3) is None
    )  # no rule: no sentence
