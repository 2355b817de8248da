"""Request handling as plain functions, on the real registered model and snapshot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from serving.schemas import CustomerToScore
from serving.scoring import RequestProblem, redact, score_request


def _customers(*items):
    return [CustomerToScore(**item) for item in items]


def _snapshot_features(loaded, customer_id):
    row = loaded.matrix[loaded.snapshot.row_of[customer_id]]
    return {
        name: (None if math.isnan(v) else v)
        for name, v in zip(loaded.column_of, row.tolist(), strict=True)
    }


def test_results_come_back_in_request_order_with_unknown_customers_as_entries(
    loaded, serving_world
):
    a, b = serving_world.customer_ids[:2]
    response, outcomes = score_request(
        _customers({"customer_id": a}, {"customer_id": "NOT-A-CUSTOMER"}, {"customer_id": b}),
        loaded,
    )
    first, unknown, third = response.results
    assert (first.customer_id, unknown.customer_id, third.customer_id) == (a, "NOT-A-CUSTOMER", b)
    assert unknown.status == "error" and unknown.error == "unknown_customer"
    assert first.status == third.status == "scored"
    assert 0.0 <= first.churn_probability <= 1.0 and 0.0 <= first.percentile <= 100.0
    assert first.risk_band in ("low", "medium", "high")
    assert first.model_version == "1" and first.features_as_of == serving_world.as_of
    assert outcomes == {"scored": 2, "unknown_customer": 1}


def test_inline_features_score_exactly_as_the_snapshot_row(loaded, serving_world):
    customer_id = serving_world.customer_ids[3]
    features = _snapshot_features(loaded, customer_id)
    response, _ = score_request(
        _customers(
            {"customer_id": customer_id}, {"customer_id": customer_id, "features": features}
        ),
        loaded,
    )
    by_id, inline = response.results
    assert inline.features_source == "inline" and inline.features_as_of is None
    assert by_id.churn_probability == inline.churn_probability
    assert (by_id.risk_band, by_id.percentile) == (inline.risk_band, inline.percentile)
    assert [r.code for r in by_id.reasons] == [r.code for r in inline.reasons]


def test_scores_agree_with_the_model_called_directly(loaded, serving_world):
    ids = list(serving_world.customer_ids[:50])
    response, _ = score_request(_customers(*({"customer_id": i} for i in ids)), loaded)
    direct = loaded.scorer.predict_proba(loaded.matrix[[loaded.snapshot.row_of[i] for i in ids]])
    np.testing.assert_allclose([r.churn_probability for r in response.results], direct)


def test_reasons_only_when_asked(loaded, serving_world):
    ids = [{"customer_id": i} for i in serving_world.customer_ids[:30]]
    with_reasons, _ = score_request(_customers(*ids), loaded, with_reasons=True)
    without, _ = score_request(_customers(*ids), loaded, with_reasons=False)
    assert all(r.reasons is None for r in without.results)
    explained = [r for r in with_reasons.results if r.reasons]
    assert explained, "some of 30 customers must have a reason"
    for result in explained:
        assert 1 <= len(result.reasons) <= 3
        assert all(
            reason.code and reason.sentence and reason.contribution > 0 for reason in result.reasons
        )


def test_absent_inline_features_are_missing_not_zero(loaded):
    response, _ = score_request(
        _customers(
            {"customer_id": "new", "features": {"days_since_last_order": 200.0}},
            {
                "customer_id": "new",
                "features": {"days_since_last_order": 200.0, "orders_total": None},
            },
        ),
        loaded,
    )
    partial, with_null = response.results
    assert "orders_total" in partial.missing_features
    assert "days_since_last_order" not in partial.missing_features
    assert partial.churn_probability == with_null.churn_probability
    zeros = {name: 0.0 for name in loaded.column_of} | {"days_since_last_order": 200.0}
    zeroed, _ = score_request(_customers({"customer_id": "new", "features": zeros}), loaded)
    assert zeroed.results[0].churn_probability != partial.churn_probability


def test_unknown_feature_names_are_named_with_where(loaded):
    with pytest.raises(RequestProblem) as refused:
        score_request(
            _customers(
                {"customer_id": "a", "features": {"days_since_last_order": 3.0}},
                {"customer_id": "b", "features": {"shoe_size": 44.0, "days_since_last_order": 1.0}},
            ),
            loaded,
        )
    assert refused.value.status == 400
    assert "shoe_size" in refused.value.error
    assert refused.value.detail[0].loc == ["customers", 1, "features", "shoe_size"]


def test_catalogue_features_the_model_does_not_use_are_ignored(serving_world):
    """A model trained on orders alone still accepts a CRM's delivery features, and ignores them."""
    from features.catalogue import FEATURE_CATALOGUE_VERSION, features_from
    from serving.state import assemble
    from training.fit import FitConfig, fit_scorer

    frame = serving_world.training_frame
    cutoffs = sorted(frame["cutoff"].unique())
    fit, valid = frame[frame["cutoff"].isin(cutoffs[:-1])], frame[frame["cutoff"] == cutoffs[-1]]
    orders_only, _ = fit_scorer(
        fit, valid, valid, features_from({"orders"}), FEATURE_CATALOGUE_VERSION, 90,
        FitConfig(num_boost_round=20),
    )  # fmt: skip
    loaded = assemble(orders_only, "1", None, None)
    sent = {"days_since_last_order": 30.0, "late_deliveries_90d": 3.0}
    with_extra, _ = score_request(_customers({"customer_id": "a", "features": sent}), loaded)
    without, _ = score_request(
        _customers({"customer_id": "a", "features": {"days_since_last_order": 30.0}}), loaded
    )
    assert with_extra.results[0].churn_probability == without.results[0].churn_probability
    with pytest.raises(RequestProblem, match="shoe_size"):
        score_request(_customers({"customer_id": "a", "features": {"shoe_size": 1.0}}), loaded)


def test_redacted_ids_are_stable_and_not_the_id():
    assert redact("C0000042") == redact("C0000042") != redact("C0000043")
    assert "C0000042" not in redact("C0000042")
    assert redact("C0000042", salt="s") != redact("C0000042")


def test_score_carries_the_days_expected_saving_next_to_the_probability(
    serving_world, champion, tmp_path
):
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
    from features.publish import latest_pointer, load_published_snapshot, publish_snapshot
    from serving.state import assemble, pointer_stamp

    frame = serving_world.snapshot_frame
    saving = np.arange(len(frame), dtype="float64") * 1.5
    publish_snapshot(
        frame, tmp_path, serving_world.as_of, FEATURE_NAMES, FEATURE_CATALOGUE_VERSION, saving
    )
    with_saving = assemble(
        champion, "1", load_published_snapshot(tmp_path), pointer_stamp(latest_pointer(tmp_path))
    )
    customer_id = str(frame["customer_id"].iloc[4])
    features = _snapshot_features(with_saving, customer_id)
    response, _ = score_request(
        _customers(
            {"customer_id": customer_id}, {"customer_id": customer_id, "features": features}
        ),
        with_saving,
    )
    by_id, inline = response.results
    assert by_id.expected_saving == 6.0
    assert inline.expected_saving is None  # the day's decision is known only for the snapshot


@pytest.fixture(scope="module")
def bilingual(serving_world, champion, tmp_path_factory):
    """The snapshot published as the daily job does, with each customer's language: every other
    customer Japanese."""
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
    from features.publish import latest_pointer, load_published_snapshot, publish_snapshot
    from serving.state import assemble, pointer_stamp

    folder = tmp_path_factory.mktemp("published-languages")
    frame = serving_world.snapshot_frame
    languages = ["ja" if i % 2 else "en" for i in range(len(frame))]
    publish_snapshot(
        frame,
        folder,
        serving_world.as_of,
        FEATURE_NAMES,
        FEATURE_CATALOGUE_VERSION,
        languages=languages,
    )
    loaded = assemble(
        champion, "1", load_published_snapshot(folder), pointer_stamp(latest_pointer(folder))
    )
    return loaded, dict(zip(frame["customer_id"].astype(str), languages, strict=True))


def _with_reasons(loaded, language: str, n: int = 2) -> list[str]:
    """Customers of `language` in the snapshot whose score has reasons."""
    snapshot, found = loaded[0], []
    for customer_id, lang in loaded[1].items():
        if lang != language:
            continue
        response, _ = score_request(_customers({"customer_id": customer_id}), snapshot)
        if response.results[0].reasons:
            found.append(customer_id)
        if len(found) == n:
            return found
    pytest.fail(f"no {language} customer with reasons in the snapshot")


def test_reasons_are_said_in_the_customers_language_as_the_daily_job_resolved_it(bilingual):
    loaded, _ = bilingual
    (ja,), (en,) = _with_reasons(bilingual, "ja", 1), _with_reasons(bilingual, "en", 1)
    response, _ = score_request(_customers({"customer_id": ja}, {"customer_id": en}), loaded)
    japanese, english = response.results
    assert (japanese.language, english.language) == ("ja", "en")
    explained = loaded.scorer.explain(loaded.matrix[[loaded.snapshot.row_of[ja]]])[0]
    assert [r.sentence for r in japanese.reasons] == [r.sentences["ja"] for r in explained]
    assert not any(r.sentence.isascii() for r in japanese.reasons)
    assert all(r.sentence.isascii() for r in english.reasons)


def test_a_language_asked_for_wins_over_the_customers(bilingual):
    loaded, _ = bilingual
    (ja,), (en,) = _with_reasons(bilingual, "ja", 1), _with_reasons(bilingual, "en", 1)
    response, _ = score_request(
        _customers({"customer_id": ja}, {"customer_id": en, "language": "ja-JP"}),
        loaded,
        language="en-GB",
    )
    asked_en, asked_ja = response.results
    assert (asked_en.language, asked_ja.language) == ("en", "ja")
    assert all(r.sentence.isascii() for r in asked_en.reasons)
    assert not any(r.sentence.isascii() for r in asked_ja.reasons)


def test_inline_features_and_an_old_snapshot_use_the_shops_language(bilingual, loaded):
    snapshot_loaded, _ = bilingual
    (ja,) = _with_reasons(bilingual, "ja", 1)
    features = _snapshot_features(snapshot_loaded, ja)
    response, _ = score_request(
        _customers({"customer_id": ja, "features": features}), snapshot_loaded
    )
    assert response.results[0].language == "en"  # inline: nothing resolved, the shop's default
    response, _ = score_request(
        _customers({"customer_id": ja, "features": features}),
        snapshot_loaded,
        default_language="ja",
    )
    assert response.results[0].language == "ja"
    assert not any(r.sentence.isascii() for r in response.results[0].reasons)
    # a snapshot published before languages were: the shop's language for everyone
    response, _ = score_request(_customers({"customer_id": ja}), loaded, default_language="ja")
    assert response.results[0].language == "ja"


def test_an_unsupported_language_is_refused_saying_where_and_which_exist(bilingual):
    loaded, _ = bilingual
    (ja,) = _with_reasons(bilingual, "ja", 1)
    with pytest.raises(RequestProblem) as refused:
        score_request(
            _customers({"customer_id": ja}, {"customer_id": ja, "language": "ko"}),
            loaded,
            language="fr-CA",
        )
    problem = refused.value
    assert problem.status == 400
    assert [d.loc for d in problem.detail] == [["language"], ["customers", 1, "language"]]
    assert problem.error.startswith(
        "language: unsupported language 'fr-CA'; expected one of en, ja"
    )
