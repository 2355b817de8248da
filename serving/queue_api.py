"""Outreach queues over HTTP (role `outreach`) and the agents' page, mounted on the scoring service.

The store does the work (`outreach.store.OutreachStore`: atomic claims, the item state machine);
this module maps HTTP to it. Who acts is bound to the API key: a key acts as itself, or as a name
typed on the page recorded with the key ("ann via agents-team-a"), so no key can pass for another
key's agents or move their claims. A key with role `supervisor` is bound the same way and may move
anyone's claim: the store records both who acted and whose claim it was. A key limited to teams
works only their queues.
"""

from __future__ import annotations

import logging
import pathlib
import re
import threading
from collections.abc import Callable
from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from outreach.records import (
    IllegalTransition,
    ItemNotFound,
    ItemState,
    NoQueueBuilt,
    NotClaimant,
    OutreachError,
    QueueItem,
    UnknownTeam,
    require_team,
    risk_percent,
)
from outreach.store import OutreachStore, open_store
from serving.guard import KEY_SCOPE
from serving.problems import single, validation_problem

logger = logging.getLogger("churnguard.serving")

TEMPLATES = pathlib.Path(__file__).parent / "templates"
MAX_CLAIM = 50
PAGE_SIZE = 50  # rows the agents' page shows at once
MAX_ITEM_ID = 2**63 - 1  # the largest id a BIGINT primary key holds
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: object) -> object:
    """Dates are ISO strings; pydantic alone would read a number ("0", 0.0) as seconds since 1970."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD, e.g. 2025-06-30")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
# FastAPI skips the type's validators when Query() is the default, so Query goes in Annotated too.
DayQuery = Annotated[
    date | None,
    BeforeValidator(_iso_date_only),
    Query(
        alias="date",
        description="Day of the queue, YYYY-MM-DD; default the latest date whose queues were built.",
    ),
]


class QueueAccess:
    """Opens the queue database on first use (migrating it), not at service start."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: OutreachStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> OutreachStore:
        with self._lock:
            if self._store is None:
                self._store = open_store(self.url)
            return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: StrictInt = Field(
        1, ge=1, le=MAX_CLAIM, description=f"How many items to claim (1-{MAX_CLAIM})."
    )
    agent: str | None = Field(
        None, min_length=1, max_length=80, description="Who claims; default the API key's name."
    )
    queue_date: IsoDate | None = Field(
        None, description="Day of the queue; default the latest date whose queues were built."
    )


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["contacted", "resolved", "no_answer", "declined", "queued"] = Field(
        description="The item's next state: contacted, then resolved | no_answer | declined; "
        "queued hands a claimed item back."
    )
    agent: str | None = Field(None, min_length=1, max_length=80)
    notes: str | None = Field(None, max_length=2000)
    message_subject: str | None = Field(
        None,
        max_length=300,
        description="With contacted: the email subject as sent (edited draft).",
    )
    message_body: str | None = Field(
        None, max_length=10_000, description="With contacted: the message as sent (edited draft)."
    )


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


class QueueItems(BaseModel):
    queue_date: date = Field(description="The queue's date (the latest built one unless asked).")
    items: list[QueueItem]


class WorkItem(QueueItem):
    overdue: bool = Field(description="Still open after its due time (its team's service level).")


class WorkList(BaseModel):
    items: list[WorkItem] = Field(description="Overdue first, then by day and priority.")
    overdue: int = Field(description="How many of them are overdue.")


def work_list(store: OutreachStore, team: str, queue_date: date | None) -> WorkList:
    """A team's day plus earlier open items, overdue first (`OutreachStore.work_list`)."""
    from outreach.store import utcnow

    now = utcnow()
    items = [
        WorkItem(**item.model_dump(), overdue=item.is_overdue(now))
        for item in store.work_list(team, queue_date or date.today(), now=now)
    ]
    return WorkList(items=items, overdue=sum(item.overdue for item in items))


# One HTTP status per kind of refusal; the store raises the kind, never a message to match.
STATUS_OF_REFUSAL: tuple[tuple[type[OutreachError], int, str], ...] = (
    (UnknownTeam, 404, "unknown_team"),
    (ItemNotFound, 404, "unknown_item"),
    (NoQueueBuilt, 404, "no_queue"),
    (NotClaimant, 409, "not_claimant"),
    (IllegalTransition, 409, "illegal_transition"),
    (OutreachError, 400, "refused"),
)


def refusal_status(error: OutreachError) -> tuple[int, str]:
    """The status and problem type of a refused queue request."""
    return next((s, k) for kind, s, k in STATUS_OF_REFUSAL if isinstance(error, kind))


def _agent(request: Request, given: str | None) -> str:
    """The acting agent, bound to the key (see the module's docstring)."""
    key = request.scope.get(KEY_SCOPE)
    if key is None:
        return given or "unknown"
    if given in (None, key.name):
        return key.name
    return f"{given} via {key.name}"


def _require_team(request: Request, team: str) -> None:
    key = request.scope.get(KEY_SCOPE)
    if key is not None and not key.may_work(team):
        raise HTTPException(
            403, f"key {key.name!r} may work the queues of {list(key.teams)}, not {team!r}"
        )


def _require_own_claim(request: Request, item: QueueItem, agent: str) -> None:
    """Only the agent holding a claim (or a supervisor) moves it on, contacted or not."""
    key = request.scope.get(KEY_SCOPE)
    holds = item.state in (ItemState.CLAIMED, ItemState.CONTACTED) and item.claimed_by
    if holds and item.claimed_by != agent and not (key is not None and key.supervises):
        raise NotClaimant(
            f"item {item.id} is claimed by {item.claimed_by!r}, not {agent!r}; only they or a "
            "key with role supervisor can move it on"
        )


def _items(
    store: OutreachStore, team: str, queue_date: date, state: str | None = None
) -> list[QueueItem]:
    frame = store.items(queue_date, team=team, state=state)
    frame = frame.astype(object).where(frame.notna(), None)  # SQL NULL, not NaN
    return [QueueItem.model_validate(row) for row in frame.to_dict(orient="records")]


def build_queue_app(
    access: Callable[[], QueueAccess | None], teams: Callable[[], list[str]]
) -> FastAPI:
    """The /queue API and the /agent page as one ASGI app (mounted at the root of the service)."""
    app = FastAPI(
        title="churnguard outreach queues", docs_url=None, redoc_url=None, openapi_url=None
    )
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    pages.filters["risk"] = risk_percent

    async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
        # The database went away (restart, network, connections refused): a 503 the client can
        # retry, never a 500; the pool reconnects by itself once it is back. The URL is not said:
        # it may carry a password.
        logger.warning(
            "queue database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            error.__class__.__name__,
        )
        return JSONResponse(
            single("the queue database is unavailable; retry in a few seconds", [], "unavailable"),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    async def refused(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, OutreachError)
        status, kind = refusal_status(error)
        return JSONResponse(single(str(error), [], kind), status_code=status)

    async def invalid(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return JSONResponse(validation_problem(error.errors(), drop="body"), status_code=400)

    async def http_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "refused")
        message = error.detail if isinstance(error.detail, str) else str(error.detail)
        if error.status_code == 404 and message == "Not Found":
            message = "no such path; see /docs.json for every endpoint"
        elif error.status_code == 405:
            message = "this path does not take that method; see /docs.json"
        return JSONResponse(
            single(message, [], kind), status_code=error.status_code, headers=error.headers
        )

    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)
    app.add_exception_handler(OutreachError, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)

    def store() -> OutreachStore:
        current = access()
        if current is None:
            raise HTTPException(503, "the service is starting")
        return current.store

    def known_team(team: str) -> str:
        return require_team(team, teams())

    @app.get("/queue/{team}", response_model=QueueItems)
    def list_queue(
        team: str,
        request: Request,
        queue_date: DayQuery = None,
        state: str | None = Query(None),
    ) -> QueueItems:
        """A team's queue for a date (default the latest built), by priority; optionally one
        state's items."""
        _require_team(request, team)
        if state is not None and state not in {s.value for s in ItemState}:
            raise OutreachError(
                f"state {state!r} is unknown; expected one of {[s.value for s in ItemState]}"
            )
        queue = store()
        day = queue.queue_date_or_latest(queue_date)
        return QueueItems(queue_date=day, items=_items(queue, known_team(team), day, state))

    @app.get("/queue/{team}/work", response_model=WorkList)
    def team_work(team: str, request: Request, queue_date: DayQuery = None) -> WorkList:
        """A team's work list for a date (default today): its items and earlier open ones, overdue
        first; each with its draft in the customer's language."""
        _require_team(request, team)
        return work_list(store(), known_team(team), queue_date)

    @app.post("/queue/{team}/claim", response_model=QueueItems)
    def claim(team: str, body: ClaimRequest, request: Request) -> QueueItems:
        """Claim the next n queued items of a team, atomically: two agents never get the same one."""
        _require_team(request, team)
        queue = store()
        day = queue.queue_date_or_latest(body.queue_date)
        items = queue.claim(known_team(team), body.n, _agent(request, body.agent), day)
        return QueueItems(queue_date=day, items=items)

    @app.post("/queue/items/{item_id}/outcome", response_model=QueueItem)
    def outcome(
        item_id: Annotated[int, Path(ge=1, le=MAX_ITEM_ID)], body: OutcomeRequest, request: Request
    ) -> QueueItem:
        """Record what happened to an item (contacted, then resolved / no_answer / declined)."""
        agent = _agent(request, body.agent)
        item = store().item(item_id)
        _require_team(request, item.team)
        _require_own_claim(request, item, agent)
        key = request.scope.get(KEY_SCOPE)
        return store().transition(
            item_id,
            body.state,
            agent,
            body.notes,
            message_subject=body.message_subject,
            message_body=body.message_body,
            supervisor=key is not None and key.supervises,
        )

    @app.get("/queue/{team}/export.csv", response_class=CsvResponse)
    def export(team: str, request: Request, queue_date: DayQuery = None) -> CsvResponse:
        """A team's items of a date (default the latest built) as CSV."""
        from outreach.exports import items_csv

        _require_team(request, team)
        queue = store()
        day = queue.queue_date_or_latest(queue_date)
        text = items_csv(_items(queue, known_team(team), day))
        filename = f"queue_{team}_{day.isoformat()}.csv"
        # Headers are latin-1: an ASCII fallback name, and the team's own name per RFC 6266.
        fallback = "".join(
            c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in filename
        )
        disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
        return CsvResponse(text, headers={"Content-Disposition": disposition})

    @app.get("/agent", response_class=HTMLResponse)
    def agent_page(
        team: str | None = None,
        queue_date: DayQuery = None,
    ) -> HTMLResponse:
        """The agents' page: the shell, opened on the latest built date and the first team with
        work that day; its rows come from /agent/rows with the agent's key."""
        known = teams()
        queue = access()
        day, busy = queue_date, None
        try:
            if queue is not None:
                day = day or queue.store.latest_queue_date()
                if day is not None:
                    busy = first_team_with_work(queue.store, day, known)
        except (OperationalError, InterfaceError):
            pass  # the shell still opens; loading the rows will say the database is away
        html = pages.get_template("agent.html").render(
            teams=known,
            team=team or busy or (known[0] if known else ""),
            queue_date=day.isoformat() if day else "",
        )
        return HTMLResponse(html)

    @app.get("/agent/rows", response_class=HTMLResponse)
    def agent_rows(
        team: str,
        request: Request,
        queue_date: DayQuery = None,
        page: Annotated[int, Query(ge=1, le=1_000_000, description="Page, from 1.")] = 1,
    ) -> HTMLResponse:
        """One page of the queue's rows, rendered on the server (needs a key with role outreach)."""
        if request.scope.get(KEY_SCOPE) is None:
            raise HTTPException(401, "send the header 'Authorization: Bearer <key>'")
        _require_team(request, team)
        queue = store()
        day = queue.queue_date_or_latest(queue_date)
        items = work_list(queue, known_team(team), day).items  # overdue first
        pages_total = max(1, -(-len(items) // PAGE_SIZE))
        page = min(page, pages_total)
        shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        html = pages.get_template("rows.html").render(
            items=shown, total=len(items), page=page, pages=pages_total, queue_date=day
        )
        pager = {"X-Queue-Date": day.isoformat(), "X-Total-Items": str(len(items))}
        pager |= {"X-Page": str(page), "X-Pages": str(pages_total)}
        return HTMLResponse(html, headers=pager)

    return app


def first_team_with_work(store: OutreachStore, queue_date: date, known: list[str]) -> str | None:
    """The first team (in the page's order) with items still to claim or finish on that date."""
    frame = store.items(queue_date)
    open_states = {ItemState.QUEUED.value, ItemState.CLAIMED.value, ItemState.CONTACTED.value}
    busy = set(frame.loc[frame["state"].isin(open_states), "team"])
    return next((team for team in known if team in busy), None)
