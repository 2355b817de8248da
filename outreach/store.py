"""The queue store: SQLAlchemy 2 on SQLite (default) or PostgreSQL, migrated by Alembic.

Concurrency: every write runs in one transaction. On SQLite a write transaction starts with
BEGIN IMMEDIATE, so writers queue on the database lock (30 s busy timeout) instead of failing when
a read upgrades to a write. On PostgreSQL a claim locks its rows with FOR UPDATE SKIP LOCKED, so
agents claiming at once each get different customers without waiting for one another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from outreach.playbooks import Playbooks
from outreach.records import (
    OPEN_STATES,
    UNFINISHED_STATES,
    ItemMove,
    ItemNotFound,
    ItemState,
    NoQueueBuilt,
    NotClaimant,
    OutreachError,
    QueueItem,
    QueueRunReport,
    check_transition,
)
from outreach.tables import control_members, history, item_moves, queue_items, runs

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SYSTEM_AGENT = "churnguard"
_WRITE = "outreach_write"


def utcnow() -> datetime:
    """Naive UTC, as every timestamp in churnguard's stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    """An engine for the queue store; on SQLite, with a busy timeout and explicit BEGINs."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; churnguard emits its own below.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def upgrade_database(url: str) -> None:
    """Bring the queue database at `url` to the latest migration (`alembic upgrade head`); idempotent."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            # readers no longer block the writer; the setting lives in the database file
            raw = engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA journal_mode=WAL")
            finally:
                raw.close()
        with engine.connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # two processes migrating one database wait for each other instead of colliding
                    connection.execute(text("SELECT pg_advisory_xact_lock(4242424242)"))
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS_DIR))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    finally:
        engine.dispose()


def open_store(url: str | None = None) -> OutreachStore:
    """The store at `url`, or at churnguard's configured queue database (migrated on open)."""
    if url is None:
        from common.settings import get_settings

        url = get_settings().queue_database_url
    return OutreachStore.open(url)


class OutreachStore:
    """Queue items, control members, runs and outreach history in one SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> OutreachStore:
        """Open the store at `url`, first migrating it to the latest schema unless told not to."""
        if migrate:
            upgrade_database(url)
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                yield connection

    # --- daily build -----------------------------------------------------------------------------

    def run_report(self, queue_date: date) -> QueueRunReport | None:
        """The stored report of the build for `queue_date`, or None if that date was never built."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(runs).where(runs.c.queue_date == queue_date))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return QueueRunReport.model_validate({k: v for k, v in row.items() if k != "id"})

    def latest_queue_date(self) -> date | None:
        """The newest date whose queues were built, or None before the first build."""
        with self.engine.connect() as connection:
            return connection.execute(select(func.max(runs.c.queue_date))).scalar_one()

    def queue_date_or_latest(self, queue_date: date | None) -> date:
        """The date asked for if its queues were built, else the latest built date; one rule for
        the CLI, the API and the agents' page. Raises NoQueueBuilt saying the latest date."""
        latest = self.latest_queue_date()
        if latest is None or (queue_date is not None and self.run_report(queue_date) is None):
            raise NoQueueBuilt(queue_date, latest)
        return queue_date or latest

    def cooling_down(self, as_of: date, cooldown_days: int) -> set[str]:
        """Customers not to queue on `as_of`: contacted or held out as control within the last
        `cooldown_days` days, or holding an open (queued/claimed) item of any other day (a scheduled
        retry or follow-up included: a follow-up is never doubled by a new contact)."""
        since = as_of - timedelta(days=cooldown_days - 1)
        since_at = datetime.combine(since, datetime.min.time())
        queries = [
            select(queue_items.c.customer_id).where(
                queue_items.c.state.in_([s.value for s in OPEN_STATES]),
                queue_items.c.queue_date != as_of,
            )
        ]
        if cooldown_days > 0:
            queries += [
                select(history.c.customer_id).where(history.c.contacted_at >= since_at),
                select(control_members.c.customer_id).where(
                    control_members.c.queue_date >= since, control_members.c.queue_date < as_of
                ),
            ]
        with self.engine.connect() as connection:
            return {row[0] for query in queries for row in connection.execute(query)}

    def expire_unclaimed(self, before: date, now: datetime | None = None) -> int:
        """Expire every item still queued from a date before `before`; returns how many."""
        now = now or utcnow()
        with self._write() as connection:
            result = connection.execute(
                update(queue_items)
                .where(
                    queue_items.c.state == ItemState.QUEUED.value, queue_items.c.queue_date < before
                )
                .values(state=ItemState.EXPIRED.value, outcome_by=SYSTEM_AGENT, outcome_at=now)
            )
            return result.rowcount

    def save_day(self, report: QueueRunReport, items: pd.DataFrame, control: pd.DataFrame) -> bool:
        """Write one day's items, control members and run report in one transaction.

        Returns False, writing nothing, if the date was already built (also when another process
        builds it at the same moment: the run's unique date decides)."""
        now = utcnow()
        common = {
            "queue_date": report.queue_date,
            "playbook_version": report.playbook_version,
            "model_version": report.model_version,
        }
        item_rows = [
            {**row, **common, "state": ItemState.QUEUED.value, "created_at": now}
            for row in _records(items)
        ]
        control_rows = [{**row, **common, "period": report.period} for row in _records(control)]
        run_row = report.model_dump(exclude={"already_built"})
        try:
            with self._write() as connection:
                connection.execute(insert(runs), [run_row])
                for start in range(0, len(item_rows), 10_000):
                    connection.execute(insert(queue_items), item_rows[start : start + 10_000])
                for start in range(0, len(control_rows), 10_000):
                    connection.execute(
                        insert(control_members), control_rows[start : start + 10_000]
                    )
        except IntegrityError:
            if self.run_report(report.queue_date) is not None:
                return False
            raise
        return True

    # --- agents ----------------------------------------------------------------------------------

    def claim(
        self,
        team: str,
        n: int,
        agent: str,
        queue_date: date | None = None,
        now: datetime | None = None,
    ) -> list[QueueItem]:
        """Atomically claim the next `n` queued items of `team` (of `queue_date` and the days before
        it still queued, as its work list shows them; or of every open date), oldest date first,
        then in priority order. Concurrent claimers never get the same item."""
        if n < 1:
            raise OutreachError(f"claim: n must be at least 1, got {n}")
        if not agent:
            raise OutreachError("claim: an agent name is required")
        now = now or utcnow()
        candidates = select(queue_items.c.id).where(
            queue_items.c.team == team,
            queue_items.c.state == ItemState.QUEUED.value,
            queue_items.c.queue_date <= max(now.date(), queue_date or now.date()),
        )
        if queue_date is not None:  # earlier days' items are overdue: they come first
            candidates = candidates.where(queue_items.c.queue_date <= queue_date)
        candidates = (
            candidates.order_by(
                queue_items.c.queue_date, queue_items.c.priority_rank, queue_items.c.id
            )
            .limit(n)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serializes with BEGIN IMMEDIATE
        )
        # A CTE, evaluated once: as a plain IN (subquery) PostgreSQL may re-run the locking LIMIT
        # subquery and update more than n rows.
        picked = candidates.cte("picked")
        statement = (
            update(queue_items)
            .where(
                queue_items.c.id.in_(select(picked.c.id)),
                queue_items.c.state == ItemState.QUEUED.value,
            )
            .values(state=ItemState.CLAIMED.value, claimed_by=agent, claimed_at=now)
            .returning(*queue_items.c)
        )
        with self._write() as connection:
            rows = connection.execute(statement).mappings().all()
        claimed = [QueueItem.model_validate(dict(row)) for row in rows]
        return sorted(claimed, key=lambda item: (item.queue_date, item.priority_rank, item.id))

    def item(self, item_id: int) -> QueueItem:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(queue_items).where(queue_items.c.id == item_id))
                .mappings()
                .first()
            )
        if row is None:
            raise ItemNotFound(f"no queue item with id {item_id}")
        return QueueItem.model_validate(dict(row))

    def transition(
        self,
        item_id: int,
        state: ItemState | str,
        agent: str,
        notes: str | None = None,
        now: datetime | None = None,
        message_subject: str | None = None,
        message_body: str | None = None,
        playbooks: Playbooks | None = None,
        supervisor: bool = False,
    ) -> QueueItem:
        """Move an item to `state`, recording who and when; illegal moves raise IllegalTransition.

        Only the agent who claimed an item may move it on from `claimed`, or a `supervisor`; every
        move is recorded (`moves`) with the acting agent and the claimant, so a supervisor's move
        of someone else's claim keeps both names. Moving to `contacted`
        also records the outreach in the history that cooldown reads, and keeps the draft as the
        agent edited it (`message_subject`, `message_body`: what was sent). `no_answer` and
        `resolved` schedule the next step (`outreach.followups.next_step`, policy from `playbooks`,
        default the shipped file) in the same transaction."""
        if (message_subject is not None or message_body is not None) and ItemState(
            state
        ) is not ItemState.CONTACTED:
            raise OutreachError(
                f"item {item_id}: a draft can be edited only when recording contacted"
            )
        target = _known_state(state)
        if not agent:
            raise OutreachError(f"item {item_id}: an agent name is required")
        now = now or utcnow()
        with self._write() as connection:
            row = (
                connection.execute(
                    select(queue_items).where(queue_items.c.id == item_id).with_for_update()
                )
                .mappings()
                .first()
            )
            if row is None:
                raise ItemNotFound(f"no queue item with id {item_id}")
            current = ItemState(row["state"])
            check_transition(item_id, current, target)
            if current is ItemState.CLAIMED and row["claimed_by"] != agent and not supervisor:
                raise NotClaimant(
                    f"item {item_id} is claimed by {row['claimed_by']!r}, not {agent!r}; only they can move it on"
                )
            values: dict[str, Any] = {"state": target.value}
            if target is ItemState.CLAIMED:
                values |= {"claimed_by": agent, "claimed_at": now}
            elif target is ItemState.QUEUED:
                values |= {"claimed_by": None, "claimed_at": None}
            elif target is ItemState.CONTACTED:
                values |= {"contacted_by": agent, "contacted_at": now}
                if message_subject is not None:
                    values["message_subject"] = message_subject
                if message_body is not None:
                    values["message_body"] = message_body
            else:
                values |= {"outcome_by": agent, "outcome_at": now}
            if notes:
                values["notes"] = f"{row['notes']}\n{notes}" if row["notes"] else notes
            connection.execute(
                update(queue_items)
                .where(queue_items.c.id == item_id, queue_items.c.state == current.value)
                .values(**values)
            )
            connection.execute(
                insert(item_moves).values(
                    item_id=item_id,
                    moved_at=now,
                    from_state=current.value,
                    to_state=target.value,
                    agent=agent,
                    claimant=row["claimed_by"],
                    supervised=bool(row["claimed_by"]) and row["claimed_by"] != agent,
                )
            )
            if target is ItemState.CONTACTED:
                connection.execute(
                    insert(history).values(
                        customer_id=row["customer_id"],
                        contacted_at=now,
                        item_id=item_id,
                        queue_date=row["queue_date"],
                        team=row["team"],
                        channel=row["channel"],
                        action=row["action"],
                        agent=agent,
                    )
                )
            if target in (ItemState.NO_ANSWER, ItemState.RESOLVED):
                self._schedule_next(connection, dict(row), target, now, playbooks)
        return self.item(item_id)

    def _schedule_next(
        self,
        connection: Connection,
        row: dict[str, Any],
        outcome: ItemState,
        now: datetime,
        playbooks: Playbooks | None,
    ) -> None:
        """Insert the step an outcome schedules, unless the customer already holds another open
        item or an item on that day (a new contact or another step: one conversation at a time)."""
        from outreach.followups import next_step
        from outreach.playbooks import load_playbooks

        step = next_step(row, outcome, now, playbooks or load_playbooks())
        if step is None:
            return
        busy = connection.execute(
            select(queue_items.c.id).where(
                queue_items.c.customer_id == row["customer_id"],
                queue_items.c.id != row["id"],
                (queue_items.c.queue_date == step["queue_date"])
                | queue_items.c.state.in_([s.value for s in OPEN_STATES]),
            )
        ).first()
        if busy is None:
            connection.execute(insert(queue_items).values(**step, created_at=now))

    # --- reading ---------------------------------------------------------------------------------

    def items(
        self, queue_date: date, team: str | None = None, state: ItemState | str | None = None
    ) -> pd.DataFrame:
        """Every item of a date (optionally one team's, one state's), by team and priority."""
        query = select(queue_items).where(queue_items.c.queue_date == queue_date)
        if team is not None:
            query = query.where(queue_items.c.team == team)
        if state is not None:
            query = query.where(queue_items.c.state == _known_state(state).value)
        query = query.order_by(queue_items.c.team, queue_items.c.priority_rank)
        return self._frame(query, [c.name for c in queue_items.c])

    def work_list(
        self, team: str, queue_date: date, now: datetime | None = None
    ) -> list[QueueItem]:
        """What a team has to do on a date: its items of that day plus items of earlier days still
        open; overdue first (earliest due first), then by day and priority."""
        now = now or utcnow()
        query = select(queue_items).where(
            queue_items.c.team == team,
            (queue_items.c.queue_date == queue_date)
            | (
                (queue_items.c.queue_date < queue_date)
                & queue_items.c.state.in_([s.value for s in OPEN_STATES])
            ),
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        items = [QueueItem.model_validate(dict(row)) for row in rows]
        far = datetime.max

        def order(item: QueueItem) -> tuple:
            # Past due first, earliest due first; a row keeps its place when its outcome is
            # recorded (finished items of earlier days are not in the list at all).
            past_due = item.due_at is not None and item.due_at < now
            return (
                not past_due,
                item.due_at if past_due else far,
                item.queue_date,
                item.priority_rank,
                item.id,
            )

        return sorted(items, key=order)

    def moves(self, item_id: int) -> list[ItemMove]:
        """Every recorded move of an item, oldest first: who acted and whose claim it was."""
        query = select(item_moves).where(item_moves.c.item_id == item_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(item_moves.c.id)).mappings().all()
        return [ItemMove.model_validate(dict(row)) for row in rows]

    def scheduled_by(self, item_id: int) -> list[QueueItem]:
        """The steps an item's outcome scheduled (a retry or a follow-up check)."""
        query = select(queue_items).where(queue_items.c.follows_item_id == item_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(queue_items.c.id)).mappings().all()
        return [QueueItem.model_validate(dict(row)) for row in rows]

    def overdue_counts(self, now: datetime | None = None) -> dict[str, int]:
        """Open items past their due time, per team (for /metrics)."""
        now = now or utcnow()
        query = (
            select(queue_items.c.team, func.count())
            .where(
                queue_items.c.state.in_([s.value for s in UNFINISHED_STATES]),
                queue_items.c.due_at < now,
            )
            .group_by(queue_items.c.team)
        )
        with self.engine.connect() as connection:
            return {team: int(n) for team, n in connection.execute(query).all()}

    def control_group(self, queue_date: date) -> pd.DataFrame:
        """The customers held out as control on a date."""
        query = (
            select(control_members)
            .where(control_members.c.queue_date == queue_date)
            .order_by(control_members.c.customer_id)
        )
        return self._frame(query, [c.name for c in control_members.c])

    def outreach_history(self, customer_id: str | None = None) -> pd.DataFrame:
        query = select(history).order_by(history.c.contacted_at)
        if customer_id is not None:
            query = query.where(history.c.customer_id == customer_id)
        return self._frame(query, [c.name for c in history.c])

    def contact_history(self) -> pd.DataFrame:
        """The shop's own outreach in the contract's contacts columns: every contact an agent
        recorded (treated) and every control member (control, on its queue date), so the uplift
        model and the cooldown read worked queues like imported campaigns."""
        treated = self._frame(
            select(
                history.c.id,
                history.c.customer_id,
                history.c.contacted_at,
                queue_items.c.playbook,
                history.c.channel,
                queue_items.c.state,
            )
            .select_from(history.outerjoin(queue_items, history.c.item_id == queue_items.c.id))
            .order_by(history.c.id),
            ["id", "customer_id", "contacted_at", "playbook", "channel", "outcome"],
        )
        treated["contact_id"] = "queue-contact-" + treated["id"].astype(str)
        treated["group"] = "treated"
        control = self._frame(
            select(
                control_members.c.id,
                control_members.c.customer_id,
                control_members.c.queue_date,
                control_members.c.playbook,
            ).order_by(control_members.c.id),
            ["id", "customer_id", "contacted_at", "playbook"],
        )
        control["contact_id"] = "queue-control-" + control["id"].astype(str)
        control["group"] = "control"
        control["contacted_at"] = pd.to_datetime(control["contacted_at"])
        control["channel"] = None
        control["outcome"] = None
        columns = [
            "contact_id",
            "customer_id",
            "contacted_at",
            "group",
            "playbook",
            "channel",
            "outcome",
        ]
        frames = [f[columns] for f in (treated, control) if not f.empty]
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        merged = pd.concat(frames, ignore_index=True)
        merged["contacted_at"] = pd.to_datetime(merged["contacted_at"])
        return merged

    def assignments(self, start: date, end: date) -> pd.DataFrame:
        """Every first-contact item and control member dated in [start, end]: customer_id,
        queue_date, group ('queued' or 'control'), team, playbook, state (None for control).
        Retries and follow-up checks are not assignments: they would blur the comparison with a
        control group that gets none (`follow_up_counts` reports them apart)."""
        queued = select(
            queue_items.c.customer_id,
            queue_items.c.queue_date,
            literal_column("'queued'").label("group"),
            queue_items.c.team,
            queue_items.c.playbook,
            queue_items.c.state,
        ).where(queue_items.c.queue_date.between(start, end), queue_items.c.step == "contact")
        control = select(
            control_members.c.customer_id,
            control_members.c.queue_date,
            literal_column("'control'").label("group"),
            control_members.c.team,
            control_members.c.playbook,
            cast(null(), queue_items.c.state.type).label("state"),
        ).where(control_members.c.queue_date.between(start, end))
        columns = ["customer_id", "queue_date", "group", "team", "playbook", "state"]
        frame = self._frame(queued.union_all(control), columns)
        frame["queue_date"] = pd.to_datetime(frame["queue_date"]).dt.date
        return frame

    def follow_up_counts(self, start: date, end: date) -> dict[str, dict[str, int]]:
        """Retries and follow-up checks dated in [start, end], per step, by state."""
        query = (
            select(queue_items.c.step, queue_items.c.state, func.count())
            .where(queue_items.c.queue_date.between(start, end), queue_items.c.step != "contact")
            .group_by(queue_items.c.step, queue_items.c.state)
        )
        counts: dict[str, dict[str, int]] = {}
        with self.engine.connect() as connection:
            for step, state, n in connection.execute(query).all():
                counts.setdefault(step, {})[state] = int(n)
        return counts

    def _frame(self, query: Any, columns: list[str]) -> pd.DataFrame:
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _known_state(state: ItemState | str) -> ItemState:
    try:
        return ItemState(state)
    except ValueError:
        raise OutreachError(
            f"unknown state {state!r}; expected one of {', '.join(s.value for s in ItemState)}"
        ) from None


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain Python values (numpy scalars and NaN do not reach the driver)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")
