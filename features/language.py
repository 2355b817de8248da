"""Which language a feedback text is written in, decided offline at ingest.

The method, in order (documented in the README, "Languages"):
1. Script: any hiragana or katakana means Japanese (no other language writes kana); any hangul
   means Korean.
2. ASCII text with at least two distinct English function words ("the", "and", "my", ...) is
   English without asking the model (most texts of an English shop; langid costs ~100-300 µs).
3. Otherwise py3langid (langid.py's naive Bayes over byte n-grams, 97 languages, model inside the
   wheel) with normalised probabilities; its answer stands when it is at least
   `CONFIDENT_PROBABILITY` sure.
4. A text too short to tell ("ok", "Scam?") is taken to be in the shop's language when it is
   written in that language's script, and langid's best guess otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Final

CONFIDENT_PROBABILITY: Final = 0.5
UNDETERMINED: Final = "und"  # BCP 47 for "could not tell" (an empty or symbol-only text)

_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LETTER = re.compile(r"\w")
_WORD = re.compile(r"[a-z']+")
# Words common in English and rare as words elsewhere ("is", "was", "of" are Dutch too).
ENGLISH_FUNCTION_WORDS: Final = frozenset(
    [
        "the",
        "and",
        "my",
        "you",
        "your",
        "with",
        "this",
        "that",
        "very",
        "not",
        "would",
        "have",
        "but",
        "for",
        "it",
        "were",
        "are",
        "our",
        "they",
        "their",
        "been",
        "what",
        "where",
        "when",
        "why",
        "how",
        "please",
        "thanks",
        "thank",
    ]
)

# The script each shop language is written in, for deciding short texts (step 4).
SCRIPT_OF_LANGUAGE: Final = {"en": _LATIN, "ja": re.compile(f"{_KANA.pattern}|{_HAN.pattern}")}


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def primary_subtag(tag: str) -> str:
    """`ja-JP` -> `ja`: scorers, reasons and templates are chosen by the language alone."""
    return tag.strip().split("-")[0].split("_")[0].lower()


def detect_language(text: str, shop_language: str = "en") -> str:
    """The BCP 47 primary language of one text (see the module docstring for the method)."""
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if not _LETTER.search(text):
        return UNDETERMINED
    if (
        text.isascii()
        and len(ENGLISH_FUNCTION_WORDS.intersection(_WORD.findall(text.lower()))) >= 2
    ):
        return "en"
    language, probability = _identifier().classify(text)
    if probability >= CONFIDENT_PROBABILITY:
        return language
    shop_script = SCRIPT_OF_LANGUAGE.get(primary_subtag(shop_language))
    if shop_script is not None and shop_script.search(text):
        return primary_subtag(shop_language)
    return language


def detect_languages(texts: Sequence[str], shop_language: str = "en") -> list[str]:
    """One language per text, in order."""
    return [detect_language(text, shop_language) for text in texts]


def customer_language(
    stated: str | None, text_languages: Sequence[str], shop_language: str = "en"
) -> str:
    """The language to write to a customer in: the one the shop recorded for them, else the one
    most of their own texts are written in (latest first on a tie), else the shop's."""
    if stated and stated.strip():
        return primary_subtag(stated)
    counts: dict[str, int] = {}
    for language in text_languages:
        if language and language != UNDETERMINED:
            counts[language] = counts.get(language, 0) + 1
    if counts:
        return max(counts, key=lambda lang: counts[lang])  # dicts keep the latest-first order
    return primary_subtag(shop_language)


def customer_languages(con: Any, shop_language: str = "en") -> dict[str, str]:
    """`customer_language` of every customer the warehouse knows (customers and feedback rows)."""
    rows = con.execute(
        """
        WITH texts AS (
            SELECT customer_id, list(text_language ORDER BY created_at DESC) AS languages
            FROM feedback WHERE text_language IS NOT NULL GROUP BY customer_id
        )
        SELECT coalesce(c.customer_id, t.customer_id), c.language, t.languages
        FROM customers c FULL OUTER JOIN texts t USING (customer_id)
        """
    ).fetchall()
    return {
        customer: customer_language(stated, languages or (), shop_language)
        for customer, stated, languages in rows
    }
