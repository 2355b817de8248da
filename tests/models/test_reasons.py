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


def _values_where_every_rule_applies() -> dict[str, float]:
    """A customer for whom (nearly) every rule has something true to say."""
    values = {rule.feature: 30.0 for rule in RULES}
    values |= {
        "days_since_last_order": 140.0,
        "usual_gap_days": 35.0,
        "orders_total": 1.0,
        "orders_365d": 1.0,
        "orders_90d": 0.0,
        "orders_180d": 2.0,
        "order_rate_trend_90d_vs_365d": 0.2,
        "orders_change_90d_vs_prior_90d": -2.0,
        "spend_90d": 10.0,
        "spend_365d": 400.0,
        "spend_trend_90d_vs_365d": 0.1,
        "last_rating": 1.0,
        "worst_rating_90d": 2.0,
        "mean_rating_365d": 2.5,
        "mean_text_sentiment_365d": -0.6,
        "min_text_sentiment_90d": -0.8,
        "last_text_sentiment": -0.7,
        "days_since_last_late_delivery": 12.0,
        "days_since_last_negative_feedback": 5.0,
        "share_late_deliveries_365d": 0.5,
        "share_cancelled_orders_365d": 0.5,
        "share_returned_orders_365d": 0.5,
        "share_negative_feedback_365d": 0.5,
    }
    return values


def test_no_reason_lacks_a_language():
    """Every rule says its reason in English and Japanese, from the same catalogue entry."""
    from models.reasons import LANGUAGES

    few, declining = _values_where_every_rule_applies(), _values_where_every_rule_applies()
    declining |= {"orders_365d": 6.0, "orders_total": 9.0}  # a regular who slowed down
    for rule in RULES:
        values = few if rule.applies(few) else declining
        assert rule.applies(values), rule.feature
        for language in LANGUAGES:
            say = rule.sentences.get(language)
            assert say is not None, f"{rule.feature} has no {language} sentence"
            assert say(values).strip(), f"{rule.feature}: empty {language} sentence"
        reason = reason_for(rule.feature, values, 0.5)
        assert set(reason.sentences) == set(LANGUAGES)
        assert any("\u3040" <= ch <= "\u30ff" for ch in reason.sentence_in("ja")), rule.feature
        assert reason.sentence_in("en") == reason.sentence


def test_a_japanese_reason_states_the_customers_own_numbers():
    late = reason_for("days_late_last_order", {"days_late_last_order": 4.0}, 0.3)
    assert late.sentence_in("ja") == "最新のご注文はお約束の日より4日遅れました"
    assert late.sentence_in("ja-JP") == late.sentence_in("ja")
    assert late.sentence_in("ko") == late.sentence  # no Korean: English
