"""Follow-ups through the `churnguard queue` command on a real store in CHURNGUARD_HOME: `outcome`
schedules the next step and says so, `work` lists it on its day only (overdue items first), and
`draft` prints the step's own draft in the customer's language."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnguard.cli import app
from outreach.daily import build_daily_queues
from outreach.playbooks import Playbooks
from outreach.rules import OutreachConfig
from outreach.store import open_store, utcnow
from tests.serving.test_queue_drafts import TEAM, TOMORROW, build_bilingual_queue, late_scored

runner = CliRunner()
SCHEDULED = re.compile(r"scheduled (\w+) (\d+): (\w+) on (\d{4}-\d\d-\d\d), due ")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _rows(work: str) -> list[str]:
    """The work list's rows as printed, each reduced to its first line (ids do not wrap)."""
    return [line for line in work.splitlines() if re.match(r"^│ \d+ ", line)]


def _row_of(work: str, customer_id: str) -> str:
    (row,) = [line for line in _rows(work) if f" {customer_id} " in line]
    return row


def _daily(day: date) -> None:
    """What that day's daily job does to the store: build the day's queue (another customer)."""
    store = open_store()
    try:
        build_daily_queues(
            store, late_scored(["later-en"]), None, day, OutreachConfig(control_fraction=0.0)
        )
    finally:
        store.close()


@pytest.fixture()
def claimed(churnguard_home: Path) -> dict[str, int]:
    """Yesterday's queue (overdue by now) and tomorrow's, each with a Japanese and an English
    customer consenting to email and SMS; all claimed by ann through the CLI."""
    build_bilingual_queue()
    out = _ok("queue", "claim", "--team", TEAM, "--n", "4", "--agent", "ann")
    items = pd.read_csv(io.StringIO(out))
    # the latest built date, with yesterday's items still queued (overdue) first
    assert list(items["customer_id"])[:2] == ["old-ja", "old-en"]
    assert set(items["customer_id"]) == {"old-ja", "old-en", "new-ja", "new-en"}
    return dict(zip(items["customer_id"], items["id"].astype(int), strict=True))


def test_queue_work_lists_overdue_items_first(claimed: dict[str, int]) -> None:
    work = _ok("queue", "work", "--team", TEAM, "--date", TOMORROW.isoformat())
    customers = [re.search(r"(old|new)-(ja|en)", row).group(0) for row in _rows(work)]
    assert customers == ["old-ja", "old-en", "new-ja", "new-en"]
    assert "OVERDUE" in _row_of(work, "old-ja") and "OVERDUE" in _row_of(work, "old-en")
    assert "OVERDUE" not in _row_of(work, "new-ja")
    assert "4 items, 2 overdue" in work
    assert "最新のご注文はお約束の日より4日遅れました" in work  # each in their own language
    assert "latest order 4 days behind its promised delivery day" in work


def test_no_answer_moves_to_the_next_consented_channel_after_its_delay(
    claimed: dict[str, int], playbooks: Playbooks
) -> None:
    item = str(claimed["new-ja"])
    _ok("queue", "outcome", item, "--state", "contacted", "--agent", "ann")
    said = _ok("queue", "outcome", item, "--state", "no_answer", "--agent", "ann")
    assert f"item {item} (new-ja) is now no_answer" in said
    (step,) = SCHEDULED.findall(said)
    retry_day = utcnow().date() + timedelta(days=playbooks.follow_up.no_answer_retry_after_days)
    assert step[0] == "retry" and step[2] == "sms" and step[3] == retry_day.isoformat()
    retry_id = step[1]

    before = _ok("queue", "work", "--team", TEAM, "--date", (retry_day - timedelta(1)).isoformat())
    assert retry_id not in [row.split()[1] for row in _rows(before)]
    on_the_day = _ok("queue", "work", "--team", TEAM, "--date", retry_day.isoformat())
    row = next(row for row in _rows(on_the_day) if row.split()[1] == retry_id)
    assert "retry #2" in row and " sms " in row and " ja " in row and " new-ja " in row

    draft = _ok("queue", "draft", retry_id)
    assert draft.startswith("language: ja\n")
    body = draft.split("\n\n", 1)[1].strip()
    assert "4日遅れ" in body and len(body) <= 70  # a Japanese SMS: one UCS-2 segment


def test_resolved_gets_its_follow_up_with_its_own_draft(
    claimed: dict[str, int], playbooks: Playbooks
) -> None:
    item = str(claimed["new-en"])
    _ok("queue", "outcome", item, "--state", "contacted", "--agent", "ann")
    said = _ok("queue", "outcome", item, "--state", "resolved", "--agent", "ann")
    (step,) = SCHEDULED.findall(said)
    today = utcnow().date()
    check_day = today + timedelta(days=playbooks.follow_up.resolved_check_after_days)
    assert step[0] == "follow_up" and step[2] == "email" and step[3] == check_day.isoformat()

    work = _ok("queue", "work", "--team", TEAM, "--date", check_day.isoformat())
    row = next(row for row in _rows(work) if row.split()[1] == step[1])
    assert "follow_up" in row and " new-en " in row and " en " in row
    draft = _ok("queue", "draft", step[1])
    assert draft.startswith("language: en\nsubject: Did everything arrive?\n")
    assert f"On {today.day} {today:%B} we told you we would put this right" in draft

    # that day's daily builds its queue; the check comes first in it and its answer is its
    # outcome, which schedules nothing more
    _daily(check_day)
    out = _ok(
        "queue", "claim", "--team", TEAM, "--n", "1", "--agent", "ann", "--date", str(check_day)
    )
    assert pd.read_csv(io.StringIO(out))["id"].tolist() == [int(step[1])]
    _ok("queue", "outcome", step[1], "--state", "contacted", "--agent", "ann")
    done = _ok("queue", "outcome", step[1], "--state", "resolved", "--agent", "ann")
    assert "is now resolved" in done and not SCHEDULED.findall(done)


def test_draft_of_an_unknown_item_exits_2(churnguard_home: Path) -> None:
    build_bilingual_queue()
    result = runner.invoke(app, ["queue", "draft", "999999"])
    assert result.exit_code == 2 and "no queue item with id 999999" in result.output


def test_queue_work_refuses_a_bad_date(churnguard_home: Path) -> None:
    result = runner.invoke(app, ["queue", "work", "--team", TEAM, "--date", "tomorrow"])
    assert result.exit_code == 2 and "expected YYYY-MM-DD" in result.output
    unknown = runner.invoke(app, ["queue", "work", "--team", "sales"])
    assert unknown.exit_code == 2 and "unknown team 'sales'; the teams are: " in unknown.output


def test_an_item_queued_before_drafts_says_it_has_none(claimed: dict[str, int]) -> None:
    from sqlalchemy import update

    from outreach.tables import queue_items

    store = open_store()
    try:
        with store.engine.begin() as connection:  # as the upgrade leaves a row of before drafts
            connection.execute(
                update(queue_items)
                .where(queue_items.c.id == claimed["new-en"])
                .values(message_subject=None, message_body=None)
            )
    finally:
        store.close()
    said = _ok("queue", "draft", str(claimed["new-en"]))
    assert said.startswith("language: en\n\nno draft: item ")
    assert "queued before drafts existed" in said and "4 days behind" in said
