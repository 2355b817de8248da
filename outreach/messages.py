"""Message drafts: the words an agent can send, per playbook x channel x language, from Jinja2 files.

Templates live in `outreach/messages/<version>/<playbook>/<channel>.<language>.j2` (the version is
`messages:` in playbooks.yaml). Each has a `body` block and, for email, a `subject` block. They are
rendered in Jinja2's sandbox with undefined names as errors; shop data only ever arrives as values
(never as template source), so "{{ 7*7 }}" in a reason renders as those characters. Templates whose
name ends in `.html.j2` are autoescaped; the text ones are escaped where they are shown (the agents'
page). A draft is made from one customer's own row: nothing of another customer can reach it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from features.contract import CONTACT_CHANNELS

MESSAGES_DIR: Final = Path(__file__).with_name("messages")
LANGUAGES: Final = ("en", "ja")
FOLLOW_UP: Final = "follow_up"  # the template of the check after a resolution
# One SMS segment: 160 GSM-7 characters; 70 in UCS-2, which any Japanese character forces.
SMS_LIMITS: Final = {"en": 160, "ja": 70}
MORE_REASONS: Final = 1  # reasons stated after the strongest one
# Facts a template may test with `{% if facts.x %}`; absent ones are None, not an error.
FACT_KEYS: Final = ("order_date", "days_late", "resolved_date")


class MessageError(ValueError):
    """A template that is missing or cannot render: says which file and what was wrong."""


@dataclass(frozen=True)
class Draft:
    """What the agent can send: subject (email only), body, and the language they are in."""

    subject: str | None
    body: str
    language: str


def template_language(language: str | None) -> str:
    """The template language for a customer's language: its primary subtag if we have templates
    in it, else English."""
    primary = (language or "en").split("-")[0].lower()
    return primary if primary in LANGUAGES else "en"


@lru_cache(maxsize=8)
def _environment(version: str) -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    folder = MESSAGES_DIR / version
    if not folder.is_dir():
        raise MessageError(
            f"no message templates folder {folder} (playbooks.yaml messages: {version})"
        )
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(folder)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=False,
    )


def template_name(playbook: str, channel: str, language: str) -> str:
    return f"{playbook}/{channel}.{language}.j2"


def format_day(day: date, language: str) -> str:
    """A date as the customer reads it: "12 May" / "5月12日"."""
    if language == "ja":
        return f"{day.month}月{day.day}日"
    return f"{day.day} {day:%B}"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def draft_facts(
    reasons: Sequence[Mapping[str, Any]],
    as_of: date,
    language: str,
    days_since_last_order: Any = None,
    days_late_last_order: Any = None,
) -> dict[str, Any]:
    """The plain facts a template may state: the latest order's date, how many days late it was."""
    values = {r.get("feature"): r.get("value") for r in reasons if r.get("feature")}
    facts: dict[str, Any] = {}
    since = _finite(values.get("days_since_last_order", days_since_last_order))
    if since is not None:
        facts["order_date"] = format_day(as_of - timedelta(days=int(since)), language)
    late = _finite(values.get("days_late_last_order", days_late_last_order))
    if late is not None and late >= 1 and "order_date" in facts:
        facts["days_late"] = round(late)
    return facts


def _sentence(reason: Mapping[str, Any], language: str) -> str:
    sentences = reason.get("sentences") or {}
    return str(sentences.get(language) or reason.get("sentence") or "")


def render_draft(
    playbook: str,
    channel: str,
    language: str | None,
    reasons: Sequence[Mapping[str, Any]],
    facts: Mapping[str, Any],
    version: str = "v1",
    reason_sentence: str | None = None,
) -> Draft:
    """The draft of one item, from its customer's strongest reasons (strongest first).

    `reason_sentence` (already in the customer's language) leads when given: the reason that chose
    the playbook. An SMS longer than its segment is rendered in its short form, then cut.
    """
    if channel not in CONTACT_CHANNELS:
        raise MessageError(f"unknown channel {channel!r}; expected one of {list(CONTACT_CHANNELS)}")
    language = template_language(language)
    sentences = [s for s in (_sentence(r, language) for r in reasons) if s]
    lead = reason_sentence or (sentences[0] if sentences else "")
    more = [s for s in sentences if s != lead][:MORE_REASONS]
    context = {
        "reason": lead,
        "more_reasons": more,
        "facts": {key: None for key in FACT_KEYS} | dict(facts),
        "channel": channel,
        "language": language,
        "short": False,
    }
    name = template_name(playbook, channel, language)
    try:
        template = _environment(version).get_template(name)
    except MessageError:
        raise
    except Exception as error:  # TemplateNotFound, TemplateSyntaxError
        raise MessageError(f"message template {version}/{name}: {error}") from None

    def block(block_name: str, values: dict[str, Any]) -> str | None:
        render = template.blocks.get(block_name)
        if render is None:
            return None
        try:
            return "".join(render(template.new_context(values))).strip()
        except Exception as error:  # UndefinedError, SecurityError
            raise MessageError(f"message template {version}/{name}: {error}") from None

    body = block("body", context)
    if body is None:
        raise MessageError(f"message template {version}/{name}: no body block")
    subject = block("subject", context) if channel == "email" else None
    if channel == "sms":
        limit = SMS_LIMITS[language]
        if len(body) > limit:
            body = block("body", {**context, "short": True}) or body
        if len(body) > limit:
            body = body[: limit - 1] + "…"
    return Draft(subject=subject, body=body, language=language)


def missing_templates(playbook_names: Sequence[str], version: str = "v1") -> list[str]:
    """Templates a playbooks file needs and the folder lacks (every channel and language)."""
    folder = MESSAGES_DIR / version
    return [
        template_name(name, channel, language)
        for name in (*playbook_names, FOLLOW_UP)
        for channel in CONTACT_CHANNELS
        for language in LANGUAGES
        if not (folder / template_name(name, channel, language)).is_file()
    ]
