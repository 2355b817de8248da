"""Languages at ingest: each text's language is detected offline and scored by its own scorer only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from common.settings import get_settings
from features import warehouse
from features.ingest import ingest
from features.language import detect_language
from features.sentiment import JapaneseLexiconScorer, VaderScorer
from shopsim.texts import TextBucket, texts_in
from tests.features.ja_reviews import HELD_OUT


def test_language_is_told_by_script_and_by_langid() -> None:
    assert detect_language("配送が遅れて、箱も潰れていました。") == "ja"
    assert detect_language("배송이 너무 늦었어요. 최악입니다.") == "ko"
    assert detect_language("The parcel arrived a week late and the box was crushed.") == "en"
    assert detect_language("Sehr schlecht verpackt, nie wieder bestelle ich hier.") == "de"


def test_a_text_too_short_to_tell_is_in_the_shop_language_when_its_script_fits() -> None:
    assert detect_language("ok", shop_language="en") == "en"
    assert detect_language("最悪", shop_language="ja") == "ja"  # kanji alone: Japanese in a ja shop
    assert detect_language("!!!", shop_language="en") == "und"


def _sign_agreement(scores: np.ndarray, stars: np.ndarray) -> float:
    clear = stars != 3
    return float(np.mean(np.sign(scores[clear]) == np.where(stars[clear] > 3, 1, -1)))


def test_japanese_sentiment_agrees_in_sign_with_held_out_reviews_and_tracks_stars() -> None:
    texts, stars = zip(*HELD_OUT, strict=True)
    scores = JapaneseLexiconScorer().score(texts)
    stars_array = np.array(stars)
    assert _sign_agreement(scores, stars_array) >= 0.8
    assert np.corrcoef(scores, stars_array)[0, 1] >= 0.6
    assert np.all((scores >= -1) & (scores <= 1))


def test_vader_scores_a_furious_japanese_review_zero_and_the_japanese_scorer_does_not() -> None:
    furious = "注文した商品が届かず、問い合わせも無視されています。最悪です。二度と買いません。"
    assert VaderScorer().score([furious])[0] == 0.0
    assert JapaneseLexiconScorer().score([furious])[0] <= -0.5


def test_japanese_shop_texts_follow_the_experience() -> None:
    scorer = JapaneseLexiconScorer()
    angry = scorer.score(texts_in(TextBucket.TICKET_FAILED, "ja"))
    happy = scorer.score(texts_in(TextBucket.REVIEW_5, "ja"))
    assert np.mean(angry <= -0.3) >= 0.9 and np.all(happy > 0)


def test_ingest_stores_each_texts_language_and_leaves_unsupported_ones_unscored(
    churnguard_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c2", "c3"],
            "ordered_at": ["2024-01-01"] * 3,
            "amount": [10.0, 20.0, 30.0],
        }
    ).to_csv(data / "orders.csv", index=False)
    texts = {
        "f1": "Awful service, the parcel never arrived and nobody answers.",
        "f2": "荷物が届かず、問い合わせても返事がありません。最悪です。",
        "f3": "배송이 너무 늦었어요. 최악입니다.",
        "f4": "배송이 너무 늦었어요. 최악입니다.",
    }
    pd.DataFrame(
        {
            "feedback_id": list(texts),
            "customer_id": ["c1", "c2", "c3", "c3"],
            "created_at": ["2024-01-05"] * 4,
            "text": list(texts.values()),
        }
    ).to_csv(data / "feedback.csv", index=False)
    result = ingest(data, data_docs=False)

    con = warehouse.connect(get_settings().warehouse_path, read_only=True)
    stored = {
        row[0]: row[1:]
        for row in con.execute(
            "SELECT feedback_id, text_language, text_sentiment FROM feedback"
        ).fetchall()
    }
    con.close()
    assert stored["f1"][0] == "en" and stored["f1"][1] < -0.3
    assert stored["f2"][0] == "ja" and stored["f2"][1] < -0.3
    assert stored["f3"] == ("ko", None) and stored["f4"] == ("ko", None)
    assert result.sentiment["rows_unsupported_language"] == {"ko": 2}
    assert result.sentiment["by_language"]["ja"]["scorer"] == "ja-lexicon"
    assert result.table("feedback").loaded == 4  # an unscored text is still loaded, never lost

    # ... and gives no reason: the furious Korean review is not read as unhappy (nor as happy)
    from datetime import date

    from features.catalogue import FEATURES_BY_NAME
    from features.snapshot import build_snapshot
    from models.reasons import RULES_BY_FEATURE, reason_for

    con = warehouse.connect(get_settings().warehouse_path, read_only=True)
    snapshot = build_snapshot(con, date(2024, 2, 1)).set_index("customer_id")
    con.close()
    feedback_features = [
        name for name in RULES_BY_FEATURE if "feedback" in FEATURES_BY_NAME[name].source
    ]

    def feedback_reasons(customer: str) -> list[str]:
        values = snapshot.loc[customer].to_dict()
        found = (reason_for(name, values, 1.0) for name in feedback_features)
        return [reason.code for reason in found if reason is not None]

    assert feedback_reasons("c2")  # the Japanese one, scored, explains the risk
    assert feedback_reasons("c3") == []
    assert np.isnan(snapshot.loc["c3", "mean_text_sentiment_365d"])  # no score, not 0


def test_the_customers_language_is_stated_else_their_texts_else_the_shops() -> None:
    from features.language import customer_language

    assert customer_language("ja-JP", ["en", "en"], "en") == "ja"
    assert customer_language(None, ["ja", "en", "ja"], "en") == "ja"
    assert customer_language("", ["und"], "ja") == "ja"
    assert customer_language(None, ["en", "ja"], "ja") == "en"  # a tie: the latest text's


def test_english_function_words_decide_quickly_but_not_for_dutch() -> None:
    assert detect_language("Het pakket was te laat en de doos is kapot") == "nl"
    assert detect_language("my parcel is late and the box was crushed") == "en"
