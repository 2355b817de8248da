"""The queue store on SQLite and PostgreSQL: migrations, daily builds, the state machine, claims."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy

from outreach.daily import build_daily_queues
from outreach.records import IllegalTransition, ItemState, OutreachError
from outreach.rules import OutreachConfig
from outreach.store import OutreachStore, make_engine, upgrade_database
from tests.outreach.conftest import make_scored

DAY = date(2025, 3, 3)
NO_CONTROL = OutreachConfig(control_fraction=0.0)


def test_upgrade_creates_the_tables_on_an_empty_database_and_reruns_as_a_no_op(
    store_url: str,
) -> None:
    upgrade_database(store_url)
    upgrade_database(store_url)
    engine = make_engine(store_url)
    try:
        inspector = sqlalchemy.inspect(engine)
        tables = set(inspector.get_table_names())
        with engine.connect() as connection:
            versions = connection.execute(
                sqlalchemy.text("SELECT version_num FROM outreach_alembic_version")
            ).all()
    finally:
        engine.dispose()
    assert {
        "outreach_queue_items",
        "outreach_control_members",
        "outreach_runs",
        "outreach_history",
    } <= tables
    assert versions == [("0005",)]


def test_rebuilding_a_day_writes_nothing_and_reports_already_built(store: OutreachStore) -> None:
    scored = make_scored(300)
    first = build_daily_queues(store, scored, None, DAY)
    items = store.items(DAY)
    control = store.control_group(DAY)
    assert not first.already_built
    assert len(items) == first.queued > 0 and len(control) == first.control_group > 0
    assert (
        first.queued + first.control_group + first.over_capacity + first.below_min_probability
        == 300
    )

    store.claim("marketing", 2, "ann", queue_date=DAY)
    again = build_daily_queues(store, make_scored(300, seed=1), None, DAY)
    assert again.already_built
    assert again.model_dump(exclude={"already_built"}) == first.model_dump(
        exclude={"already_built"}
    )
    after = store.items(DAY)
    assert len(after) == len(items)
    assert after.set_index("id")["customer_id"].equals(items.set_index("id")["customer_id"])
    assert (after["state"] == "claimed").sum() == 2
    assert len(store.control_group(DAY)) == len(control)


def test_items_keep_their_decision_and_lineage(store: OutreachStore) -> None:
    report = build_daily_queues(
        store, make_scored(40), None, DAY, NO_CONTROL, model_version="churnguard/7"
    )
    items = store.items(DAY, team="customer-care")
    assert (items["priority_rank"] == range(1, len(items) + 1)).all()
    assert items["value_at_risk"].is_monotonic_decreasing
    first = items.iloc[0]
    assert first["action"] == "apology and status update"
    assert (
        first["reason_code"] == "LATE_DELIVERY"
        and first["reason_sentence"] == "because late_delivery"
    )
    assert first["state"] == "queued" and first["model_version"] == "churnguard/7"
    assert first["playbook_version"] == report.playbook_version
    assert store.run_report(DAY).queued_by_team == report.queued_by_team


def test_state_machine_records_who_and_when_and_refuses_illegal_moves(store: OutreachStore) -> None:
    build_daily_queues(store, make_scored(20), None, DAY, NO_CONTROL)
    item_id = int(store.items(DAY, team="marketing").iloc[0]["id"])
    at = datetime(2025, 3, 3, 9, 30)

    with pytest.raises(IllegalTransition, match=r"item \d+ is queued; it cannot become contacted"):
        store.transition(item_id, "contacted", "ann")
    claimed = store.claim("marketing", 1, "ann", queue_date=DAY, now=at)[0]
    assert claimed.id == item_id and claimed.claimed_by == "ann" and claimed.claimed_at == at
    with pytest.raises(OutreachError, match="claimed by 'ann', not 'bob'"):
        store.transition(item_id, ItemState.CONTACTED, "bob")
    contacted = store.transition(
        item_id, "contacted", "ann", notes="left a voicemail", now=at + timedelta(hours=1)
    )
    assert contacted.contacted_by == "ann" and contacted.contacted_at == at + timedelta(hours=1)
    resolved = store.transition(
        item_id, "resolved", "ann", notes="sent a voucher", now=at + timedelta(days=1)
    )
    assert resolved.state is ItemState.RESOLVED and resolved.outcome_by == "ann"
    assert resolved.notes == "left a voicemail\nsent a voucher"
    with pytest.raises(IllegalTransition, match="it is final"):
        store.transition(item_id, "declined", "ann")
    with pytest.raises(OutreachError, match="unknown state 'lost'"):
        store.transition(item_id, "lost", "ann")
    with pytest.raises(OutreachError, match="no queue item with id 999999"):
        store.transition(999999, "claimed", "ann")
    history = store.outreach_history(resolved.customer_id)
    assert history[["item_id", "agent", "channel"]].values.tolist() == [[item_id, "ann", "email"]]


def test_a_claimed_item_can_be_handed_back(store: OutreachStore) -> None:
    build_daily_queues(store, make_scored(10), None, DAY, NO_CONTROL)
    item = store.claim("customer-care", 1, "ann")[0]
    back = store.transition(item.id, "queued", "ann")
    assert back.state is ItemState.QUEUED and back.claimed_by is None
    assert store.claim("customer-care", 1, "bob")[0].id == item.id


def test_cooldown_follows_contacts_control_and_open_items_and_old_items_expire(
    store: OutreachStore,
) -> None:
    scored = make_scored(60)
    config = OutreachConfig(control_fraction=0.2, cooldown_days=30, expire_after_days=7)
    build_daily_queues(store, scored, None, DAY, config)
    day_items = store.items(DAY)
    control = set(store.control_group(DAY)["customer_id"])
    contacted = store.claim("marketing", 3, "ann", queue_date=DAY)
    for item in contacted:
        store.transition(item.id, "contacted", "ann", now=datetime(2025, 3, 3, 12))
        store.transition(item.id, "declined", "ann")  # no_answer would schedule a retry
    contacted_ids = {item.customer_id for item in contacted}

    next_day = build_daily_queues(store, scored, None, DAY + timedelta(days=1), config)
    assert next_day.queued == 0 and next_day.cooldown == len(day_items) + len(control)

    # a week later the never-claimed items expire, and their customers are eligible again;
    # the contacted and the control customers are still cooling down
    week_later = DAY + timedelta(days=7)
    report = build_daily_queues(store, scored, None, week_later, config)
    assert report.expired == len(day_items) - 3
    assert (store.items(DAY)["state"] == "expired").sum() == len(day_items) - 3
    requeued = set(store.items(week_later)["customer_id"]) | set(
        store.control_group(week_later)["customer_id"]
    )
    assert requeued == set(day_items["customer_id"]) - contacted_ids
    assert report.cooldown == len(contacted_ids) + len(control)

    later = DAY + timedelta(days=30)
    assert contacted_ids <= set(scored["customer_id"]) - store.cooling_down(later, 30)


def claim_everything(url: str, team: str, agents: int, batch: int) -> list[list[int]]:
    """Agents on their own connections claiming `batch` at a time, all at once, until none are left."""
    barrier = threading.Barrier(agents)
    claimed: list[list[int]] = [[] for _ in range(agents)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        own = OutreachStore(make_engine(url))
        try:
            barrier.wait()
            while items := own.claim(team, batch, f"agent{index}", queue_date=DAY):
                claimed[index].extend(item.id for item in items)
        except BaseException as error:
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return claimed


def test_concurrent_claims_never_hand_out_an_item_twice(
    store: OutreachStore, store_url: str
) -> None:
    build_daily_queues(store, make_scored(800), None, DAY, NO_CONTROL)
    queued = store.items(DAY, team="marketing")
    assert len(queued) > 300
    claimed = claim_everything(store_url, "marketing", agents=8, batch=3)
    all_ids = [item_id for ids in claimed for item_id in ids]
    assert len(all_ids) == len(set(all_ids))
    assert set(all_ids) == set(queued["id"])
    if not store_url.startswith("sqlite"):
        # PostgreSQL's row locks let agents interleave; SQLite's busy handler backs waiting writers
        # off, so one agent may legitimately take every batch on a loaded machine.
        assert sum(1 for ids in claimed if ids) > 1  # the agents did race
    after = store.items(DAY, team="marketing")
    owner = {item_id: f"agent{i}" for i, ids in enumerate(claimed) for item_id in ids}
    assert (after["state"] == "claimed").all()
    assert after.set_index("id")["claimed_by"].to_dict() == owner


def test_claims_follow_priority_and_stop_when_the_queue_is_empty(store: OutreachStore) -> None:
    build_daily_queues(store, make_scored(40), None, DAY, NO_CONTROL)
    size = len(store.items(DAY, team="service-recovery"))
    first = store.claim("service-recovery", 3, "ann")
    assert [item.priority_rank for item in first] == [1, 2, 3]
    rest = store.claim("service-recovery", 100, "bob")
    assert [item.priority_rank for item in rest] == list(range(4, size + 1))
    assert store.claim("service-recovery", 5, "bob") == []
    with pytest.raises(OutreachError, match="n must be at least 1"):
        store.claim("service-recovery", 0, "bob")


def _upgrade_to(url: str, revision: str) -> None:
    """The queue database as an older churnguard left it (`alembic upgrade REVISION`)."""
    from alembic import command
    from alembic.config import Config

    from outreach.store import MIGRATIONS_DIR

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def test_items_queued_before_drafts_say_what_they_are_after_the_upgrade(store_url: str) -> None:
    """A row of the schema before drafts (0003) has an English reason and no language, channels or
    due time: after the upgrade it is English, due by its team's service level, and a no answer
    retries on the channel it was queued on; the agent is told it has no draft."""
    _upgrade_to(store_url, "0003")
    engine = make_engine(store_url)
    row = {
        "queue_date": DAY,
        "customer_id": "old-1",
        "team": "customer-care",
        "playbook": "apology_status_update",
        "action": "apologise and give the delivery status",
        "channel": "email",
        "reason_code": "LATE_DELIVERY",
        "reason_sentence": "latest order 4 days behind its promised delivery day",
        "churn_probability": 0.9,
        "expected_value": 100.0,
        "value_at_risk": 90.0,
        "priority_rank": 1,
        "state": "queued",
        "playbook_version": "1",
        "created_at": datetime(2025, 3, 3, 6),
    }
    try:
        with engine.begin() as connection:
            columns = ", ".join(row)
            values = ", ".join(f":{name}" for name in row)
            connection.execute(
                sqlalchemy.text(f"INSERT INTO outreach_queue_items ({columns}) VALUES ({values})"),
                [row, {**row, "customer_id": "old-2", "state": "resolved"}],
            )
    finally:
        engine.dispose()

    store = OutreachStore.open(store_url)
    try:
        old, done = (store.items(DAY).set_index("customer_id").loc[c] for c in ("old-1", "old-2"))
        assert old["language"] == done["language"] == "en"  # what its reason is written in
        work = store.work_list("customer-care", DAY, now=datetime(2025, 3, 5))
        assert [i.customer_id for i in work] == ["old-1", "old-2"]  # the open one overdue, first
        item = work[0]
        assert item.channels == ["email"] and work[1].due_at is None
        assert item.due_at == datetime(2025, 3, 4)  # customer-care: 24 hours
        assert item.is_overdue(datetime(2025, 3, 5)) and item.message_body is None
        store.claim("customer-care", 1, "ann", queue_date=DAY, now=datetime(2025, 3, 5, 9))
        store.transition(item.id, "contacted", "ann", now=datetime(2025, 3, 5, 10))
        store.transition(item.id, "no_answer", "ann", now=datetime(2025, 3, 5, 11))
        (retry,) = store.scheduled_by(item.id)
        assert (retry.step, retry.channel, retry.language) == ("retry", "email", "en")
        assert retry.message_body and "latest order 4 days behind" in retry.message_body
    finally:
        store.close()


def test_claiming_from_a_day_takes_the_earlier_days_items_still_queued_first(
    store: OutreachStore,
) -> None:
    build_daily_queues(store, make_scored(40), None, DAY, config=NO_CONTROL)
    next_day = DAY + timedelta(days=1)
    build_daily_queues(store, make_scored(40, prefix="d"), None, next_day, config=NO_CONTROL)
    earlier = store.items(DAY)
    team = earlier["team"].iloc[0]
    waiting = len(earlier[earlier["team"] == team])
    at = datetime.combine(next_day, datetime.min.time()) + timedelta(hours=9)
    claimed = store.claim(team, waiting + 1, "ann", queue_date=next_day, now=at)
    # the work list of next_day shows the earlier day's open items first; a claim takes them first
    assert [item.queue_date for item in claimed] == [DAY] * waiting + [next_day]
    listed = [item.id for item in store.work_list(team, next_day, now=at)][: waiting + 1]
    assert sorted(listed) == sorted(item.id for item in claimed)
