"""Text sentiment of customer feedback, scored once at ingest into `feedback.text_sentiment`.

The scorer is a small interface so a better model can replace VADER without touching ingest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
