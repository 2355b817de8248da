"""The agents' page in a real browser: load today's queue, claim, record an outcome with clicks."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is absent (Debian package `chromium`)"
    if os.environ.get("CHURNGUARD_REQUIRE_SERVICES") == "1":
        pytest.fail(message + "; CHURNGUARD_REQUIRE_SERVICES=1 makes it mandatory")
    pytest.skip(message)


@pytest.fixture()
def live_url(serving_home, asgi_app):
    """The service's ASGI app behind uvicorn on a free loopback port, in a thread."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.browser
@pytest.mark.slow
def test_agent_claims_and_records_an_outcome(live_url, queued_team, serving_home):
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from common.settings import get_settings
    from outreach.store import open_store
    from serving.keys import create_key

    key, _ = create_key(get_settings().api_keys_path, "agent-ann", "outreach")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{live_url}/agent?team={queued_team}")
            page.fill("#key", key)
            page.fill("#agent", "ann")
            page.click("#load")
            rows = page.locator("#rows tr[data-item]")
            expect(rows.first).to_be_visible()
            page.click("#claim")
            contacted = page.locator("button[data-state=contacted]").first
            expect(contacted).to_be_visible()
            item_id = int(contacted.get_attribute("data-item"))
            contacted.click()
            resolved = page.locator(f"button[data-item='{item_id}'][data-state=resolved]")
            expect(resolved).to_be_visible()
            resolved.click()
            expect(page.locator(f"tr[data-item='{item_id}'] .state")).to_have_text("resolved")
            assert page.locator("#message").inner_text() == ""
        finally:
            browser.close()
    store = open_store(get_settings().queue_database_url)
    try:
        item = store.item(item_id)
    finally:
        store.close()
    # the name typed on the page is recorded with the key it came with
    ann = "ann via agent-ann"
    assert (item.state.value, item.claimed_by, item.outcome_by) == ("resolved", ann, ann)


def test_the_page_opens_on_the_latest_queue_and_the_first_team_with_work(api, queued_team):
    from outreach.playbooks import load_playbooks

    page = api.client.get("/agent")
    assert page.status_code == 200
    listed = api.client.get(
        f"/queue/{queued_team}", headers={"Authorization": f"Bearer {api.outreach_key}"}
    ).json()
    assert f'value="{listed["queue_date"]}"' in page.text  # the built date, not today's
    teams = sorted(load_playbooks().teams)
    first_with_work = next(
        team
        for team in teams
        if api.client.get(
            f"/queue/{team}", headers={"Authorization": f"Bearer {api.outreach_key}"}
        ).json()["items"]
    )
    assert f'<option value="{first_with_work}" selected>' in page.text


def _no_cell_cut_off(page) -> list[str]:
    """Cells whose box reaches past the viewport, and whether the page scrolls sideways."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const cut = [...document.querySelectorAll('#rows td, thead th, header *')]
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .map(el => (el.dataset.label || el.tagName) + ':' + el.getBoundingClientRect().right);
          if (document.documentElement.scrollWidth > width) cut.push('page scrolls sideways');
          return cut;
        }"""
    )


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 390])
def test_the_columns_fit_and_messages_stay(live_url, queued_team, serving_home, tmp_path, width):
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from common.settings import get_settings
    from serving.keys import create_key

    key, _ = create_key(get_settings().api_keys_path, "agent-ann", "outreach")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(f"{live_url}/agent?team={queued_team}")
            page.fill("#key", "not-a-key")
            page.click("#load")
            expect(page.locator("#message")).to_have_text(
                "Could not load the queue: unknown or revoked API key"
            )
            page.fill("#key", key)
            page.fill("#agent", "ann")
            page.click("#load")
            rows = page.locator("#rows tr[data-item]")
            expect(rows.first).to_be_visible()
            assert rows.count() <= 50, "one page at a time"
            risk = rows.first.locator("td[data-label=Risk]").inner_text()
            assert risk.endswith("%") and "." in risk
            expect(rows.first.locator("td[data-label='Value at risk']")).to_be_visible()
            page.click("#claim")
            expect(page.locator("#message")).to_have_text("Claimed 5.")
            expect(page.locator("input.notes").first).to_be_visible()
            page.screenshot(path=str(tmp_path / f"agent-{width}.png"), full_page=True)
            assert _no_cell_cut_off(page) == []
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_agent_sees_overdue_first_and_each_customers_draft_in_their_language(
    live_url, serving_home
):
    """In chromium: yesterday's overdue items come first; a Japanese customer's reason and draft are
    Japanese, an English customer's English; the agent edits the draft, records contacted (the
    edit is what is kept), then no answer, and the retry is scheduled on the next channel."""
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from common.settings import get_settings
    from outreach.store import open_store
    from serving.keys import create_key
    from tests.serving.test_queue_drafts import TEAM, TOMORROW, build_bilingual_queue

    build_bilingual_queue()
    key, _ = create_key(get_settings().api_keys_path, "agent-ann", "outreach")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"{live_url}/agent?team={TEAM}&date={TOMORROW.isoformat()}")
            page.fill("#key", key)
            page.fill("#agent", "ann")
            page.click("#load")
            rows = page.locator("#rows tr[data-item]")
            expect(rows).to_have_count(4)
            expect(rows.nth(0)).to_have_class("overdue")
            expect(rows.nth(0).locator(".due.overdue")).to_have_text("overdue")
            expect(rows.nth(2)).not_to_have_class("overdue")
            japanese = page.locator("#rows tr", has_text="new-ja")
            english = page.locator("#rows tr", has_text="new-en")
            expect(japanese).to_contain_text("最新のご注文はお約束の日より4日遅れました")
            expect(english).to_contain_text("latest order 4 days behind its promised delivery day")
            japanese.locator("summary").click()
            expect(japanese.locator("textarea.body")).to_have_value(re.compile("4日遅れて"))
            page.click("#claim")
            contacted = japanese.locator("button[data-state=contacted]")
            expect(contacted).to_be_visible()
            item_id = int(contacted.get_attribute("data-item"))
            japanese.locator("summary").click()
            japanese.locator("textarea.body").fill("ご不便をおかけしました。<script>x</script>")
            contacted.click()
            no_answer = page.locator(f"button[data-item='{item_id}'][data-state=no_answer]")
            expect(no_answer).to_be_visible()
            no_answer.click()
            expect(page.locator(f"tr[data-item='{item_id}'] .state")).to_have_text("no answer")
            assert page.locator("#message").inner_text() == ""
            english.locator("button[data-state=contacted]").click()
            english.locator("button[data-state=resolved]").click()
            expect(english.locator(".state")).to_have_text("resolved")
            page.screenshot(path=str(serving_home / "agent-page.png"), full_page=True)

            # Each step shows on its own day (once that day's daily built its queue), after the
            # overdue items, with its own draft in the customer's language.
            retry_day, check_day = _build_days_after(playbooks_policy())
            page.fill("#date", retry_day.isoformat())
            page.click("#load")
            retry_row = page.locator("#rows tr", has=page.locator(".step", has_text="retry #2"))
            expect(retry_row).to_contain_text("new-ja")
            expect(retry_row.locator("td[data-label=Channel]")).to_contain_text("sms")
            expect(retry_row.locator("td[data-label='Why at risk']")).to_have_text(
                "最新のご注文はお約束の日より4日遅れました"
            )
            day_before = check_day - timedelta(days=1)
            page.fill("#date", day_before.isoformat())
            page.click("#load")
            expect(page.locator("#rows tr", has_text=f"later-{day_before}")).to_be_visible()
            expect(page.locator("#rows .step", has_text="follow-up")).to_have_count(0)
            page.fill("#date", check_day.isoformat())
            page.click("#load")
            check_row = page.locator("#rows tr", has=page.locator(".step", has_text="follow-up"))
            expect(check_row).to_contain_text("new-en")
            expect(check_row.locator("summary")).to_have_text("Did everything arrive?")
            check_row.locator("summary").click()
            expect(check_row.locator("textarea.body")).to_have_value(
                re.compile("we told you we would put this right")
            )
        finally:
            browser.close()
    store = open_store(get_settings().queue_database_url)
    try:
        item = store.item(item_id)
        (retry,) = store.scheduled_by(item_id)
    finally:
        store.close()
    assert item.message_body == "ご不便をおかけしました。<script>x</script>"
    assert (retry.step, retry.channel, retry.language) == ("retry", "sms", "ja")
    assert retry.queue_date == retry_day


def playbooks_policy():
    from outreach.playbooks import load_playbooks

    return load_playbooks().follow_up


def _build_days_after(policy) -> tuple[date, date]:
    """The retry's and the follow-up check's days, each with its queue built as that day's daily
    would (another customer), so the page can open them."""
    from common.settings import get_settings
    from outreach.daily import build_daily_queues
    from outreach.rules import OutreachConfig
    from outreach.store import open_store, utcnow
    from tests.serving.test_queue_drafts import late_scored

    today = utcnow().date()
    days = (
        today + timedelta(days=policy.no_answer_retry_after_days),
        today + timedelta(days=policy.resolved_check_after_days),
    )
    store = open_store(get_settings().queue_database_url)
    try:
        for day in sorted({*days, days[1] - timedelta(days=1)}):
            build_daily_queues(
                store,
                late_scored([f"later-{day}"]),
                None,
                day,
                OutreachConfig(control_fraction=0.0),
            )
    finally:
        store.close()
    return days
