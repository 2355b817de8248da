"""The `churnguard` command: wiring only. Each command parses options, calls one package function, prints.

Commands are listed in the order the data travels: a shop's files -> warehouse -> features -> model
-> scores and queues -> outreach -> the service; then keys, settings and the demo.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup, TyperOption

from common.settings import get_settings

# The data's journey, then the tools around it: the order `churnguard --help` lists commands in.
WORKFLOW = (
    "generate",
    "contract",
    "ingest",
    "features",
    "train",
    "backtest",
    "promote",
    "score",
    "daily",
    "monitor",
    "queue",
    "report",
    "serve",
    "keys",
    "config",
    "demo",
)


class InWorkflowOrder(TyperGroup):
    """`--help` lists commands in WORKFLOW order (sub-commands as written here), not A-Z."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        # A command WORKFLOW does not name goes right after the one written before it.
        rank: dict[str, float] = {}
        last = -1.0
        for position, name in enumerate(self.commands):
            if name in WORKFLOW:
                last = float(WORKFLOW.index(name))
                rank[name] = last
            else:
                rank[name] = last + 0.5 + position / 10_000
        return sorted(self.commands, key=rank.__getitem__)


def _flag_type_hidden(display: object):
    """Typer shows every flag, even --help, as `<bool>`; a flag takes no value, so show none."""

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else display(self, ctx)  # type: ignore[operator]

    return display_type_rich


TyperOption.display_type_rich = _flag_type_hidden(TyperOption.display_type_rich)  # type: ignore[method-assign]

app = typer.Typer(
    help="churnguard: find customers about to leave, say why, and queue them for outreach.",
    cls=InWorkflowOrder,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
# Piped output (cron mail, CI logs) gets a readable width instead of rich's 80-column default.
console = Console() if sys.stdout.isatty() else Console(width=140)


def fail(message: object) -> typer.Exit:
    """A CLI error: one line on stderr saying what happened and what to do; exit code 2."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def fail_if_operator_fault(error: BaseException, job: str) -> None:
    """Exit 2 with one line for a fault the operator can fix (disk full, a job running, a locked
    store); return for anything else, which keeps its traceback."""
    from churnguard.faults import operator_fault

    message = operator_fault(error, get_settings(), job)
    if message is not None:
        raise fail(message) from None


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date; expected YYYY-MM-DD") from None


@app.callback()
def main(
    log_level: str = typer.Option(
        None, "--log-level", help="Log level (default CHURNGUARD_LOG_LEVEL)."
    ),
) -> None:
    """Set up logging once per command (churnguard.logs: libraries say only what matters)."""
    import os

    from churnguard.logs import set_up_logging

    # State is the owner's alone: the warehouse, MLflow store, queue database, keys and exports
    # this command creates (through any library) are 0600, their folders 0700.
    os.umask(0o077)
    set_up_logging(log_level or get_settings().log_level)


@app.command("generate")
def generate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the shop's Parquet tables into."),
    customers: int = typer.Option(2_000, "--customers", min=1, help="How many customers."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same bytes."),
    start: str = typer.Option("2023-01-01", "--start", help="First day of the shop (ISO date)."),
    end: str = typer.Option("2025-12-31", "--end", help="Last day of the shop (ISO date)."),
    campaigns: int = typer.Option(
        0, "--campaigns", min=0, help="Monthly randomized campaigns to write into contacts."
    ),
    effects: str = typer.Option(
        "recovery", "--effects", help="How contacts work in this shop: recovery, win-back, uniform."
    ),
    language: str = typer.Option(
        "en", "--language", help="Language of the customers, reviews and tickets: en or ja."
    ),
) -> None:
    """Write a realistic synthetic shop in the input contract (customers, orders, deliveries,
    feedback, and with --campaigns past randomized campaigns in contacts)."""
    from shopsim import EFFECT_MODELS, ShopConfig, generate_shop, summarize_shop

    if effects not in EFFECT_MODELS:
        raise fail(f"--effects {effects!r}: expected one of {sorted(EFFECT_MODELS)}")
    try:
        config = ShopConfig(
            customers=customers,
            seed=seed,
            start=_day(start, "--start"),
            end=_day(end, "--end"),
            campaigns=campaigns,
            effects=EFFECT_MODELS[effects],
            language=language,
        )
    except ValueError as error:
        raise fail(error) from None
    summary = generate_shop(config, out)
    console.print(summarize_shop(summary))


@app.command("contract")
def contract_command(
    markdown: bool = typer.Option(False, "--markdown", help="Print the README section instead."),
) -> None:
    """Print the input contract: tables, columns, kinds, required, allowed values and row rules."""
    from features.reports import contract_markdown, contract_tables

    if markdown:
        typer.echo(contract_markdown())
        return
    for table in contract_tables():
        console.print(table)


@app.command("ingest")
def ingest_command(
    data_dir: Path = typer.Argument(
        ..., help="Folder with orders.csv|parquet and optional tables."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Validate DATA_DIR against the input contract, load good rows, quarantine bad ones, report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from features.ingest import IngestError, ingest
    from features.reports import languages_table, summary_table, top_rules_table

    def bars() -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    from features.spark_session import SparkUnavailableError
    from features.warehouse import WarehouseVersionError

    settings = get_settings()
    published = None
    try:
        if settings.engine == "spark":
            from features.spark_warehouse import ingest_into_spark

            result, published = ingest_into_spark(
                data_dir, settings, progress=bars if progress else None
            )
        else:
            result = ingest(data_dir, progress=bars if progress else None)
    except (IngestError, WarehouseVersionError, SparkUnavailableError) as error:
        raise fail(error) from None
    except Exception as error:
        fail_if_operator_fault(error, "ingest")
        raise
    console.print(summary_table(result))
    if published is not None:
        tables = ", ".join(f"{table} {rows:,}" for table, rows in published.items())
        console.print(
            f"Spark warehouse {settings.spark_warehouse_location}: {tables}", soft_wrap=True
        )
    languages = languages_table(result)
    if languages is not None:
        console.print(languages)
    rules = top_rules_table(result)
    if rules is not None:
        console.print(rules)
    console.print(f"report: {result.report_path}", soft_wrap=True)
    if result.data_docs_path:
        console.print(f"data docs: {result.data_docs_path}", soft_wrap=True)
    if any(t.quarantined for t in result.tables):
        console.print(f"quarantined rows: {result.quarantine_file}", soft_wrap=True)


@app.command("features")
def features_command(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Cutoff (ISO date or datetime, UTC): features as known just before it.",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="File to write (.parquet or .csv); default CHURNGUARD_HOME/exports/."
    ),
    list_features: bool = typer.Option(
        False, "--list", help="Print every feature with its description and source table."
    ),
) -> None:
    """Print the feature catalogue (--list) or write a point-in-time snapshot (--as-of DATE)."""
    from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURES
    from features.io import export_snapshot

    if list_features:
        table = Table(
            "feature",
            "description",
            "source",
            "missing (NaN) means",
            title=f"feature catalogue {FEATURE_CATALOGUE_VERSION}: {len(FEATURES)} features",
        )
        for feature in FEATURES:
            table.add_row(feature.name, feature.description, feature.source, feature.missing)
        console.print(table)
        return
    if as_of is None:
        raise fail("give --as-of DATE to write a snapshot, or --list to see the features")
    from features.engine import connect_warehouse
    from features.spark_session import SparkUnavailableError

    settings = get_settings()
    if out is None:
        settings.ensure_home()
    try:
        written = export_snapshot(
            settings.warehouse_path,
            as_of,
            out,
            settings.exports_dir,
            settings.lookback_days,
            open_warehouse=(lambda: connect_warehouse(settings))
            if settings.engine == "spark"
            else None,
        )
    except (ValueError, FileNotFoundError, SparkUnavailableError) as error:
        raise fail(error) from None
    console.print(
        f"{written.customers:,} active customers x {written.features} features as of "
        f"{written.cutoff:%Y-%m-%d %H:%M} (catalogue {FEATURE_CATALOGUE_VERSION}) -> {written.path}"
    )


def _with_engine(engine: str | None):
    """Settings with `--engine` applied (an unknown engine exits 2 saying which exist)."""
    settings = get_settings()
    if engine is None:
        return settings
    if engine not in ("duckdb", "spark"):
        raise fail(f"--engine {engine!r}: expected duckdb or spark")
    return settings.model_copy(update={"engine": engine})


@app.command("train")
def train_command(
    horizon_days: int = typer.Option(
        None, "--horizon-days", min=7, max=730, help="Churn = no order within this many days."
    ),
    experiment: str = typer.Option(
        None, "--experiment", help="MLflow experiment (default settings)."
    ),
    promote: bool = typer.Option(
        False, "--promote", help="Move the champion alias to this model if it passes the gate."
    ),
    engine: str = typer.Option(
        None,
        "--engine",
        help="duckdb or spark: where the training set is built (default CHURNGUARD_ENGINE).",
    ),
) -> None:
    """Train on the warehouse, evaluate against the baselines, log to MLflow and register the model.

    On a registry without a champion, a model that passes the gate becomes champion even without --promote."""
    from churnguard.uplift_job import train_uplift_from_history
    from features.spark_session import SparkUnavailableError
    from features.warehouse import WarehouseVersionError
    from training.train import TrainingDataError, train

    settings = _with_engine(engine)
    try:
        with console.status("training: features at every cutoff, fit, evaluation, MLflow ..."):
            result = train(
                horizon_days=horizon_days,
                experiment=experiment,
                promote_after=promote,
                settings=settings,
            )
    except (
        TrainingDataError,
        FileNotFoundError,
        WarehouseVersionError,
        SparkUnavailableError,
    ) as error:
        raise fail(error) from None
    except Exception as error:
        fail_if_operator_fault(error, "train")
        raise
    console.print(result.summary(), soft_wrap=True)
    console.print(train_uplift_from_history(horizon_days, promote), soft_wrap=True)
    if promote and result.promotion is not None and not result.promotion.promoted:
        raise typer.Exit(2)


@app.command("backtest")
def backtest_command(
    as_of: list[str] = typer.Option(
        None,
        "--as-of",
        help="Past date to replay (ISO; repeatable). Default: the dates train uses.",
    ),
    horizon_days: int = typer.Option(
        None, "--horizon-days", min=7, max=730, help="Churn = no order within this many days."
    ),
) -> None:
    """What churnguard would have scored at past dates: trained only on what was known then, judged on what happened next, against days since the last order and BG/NBD; logged to MLflow."""
    from features.warehouse import WarehouseVersionError
    from training.train import TrainingDataError, backtest

    dates = [_day(d, "--as-of") for d in as_of or []]
    try:
        result = backtest(as_of=dates or None, horizon_days=horizon_days)
    except (TrainingDataError, FileNotFoundError, WarehouseVersionError) as error:
        raise fail(error) from None
    if result.dates:
        console.print(result.table().round(4).to_string(), soft_wrap=True)
    console.print(result.verdict(), soft_wrap=True)


@app.command("promote")
def promote_command(
    candidate: str = typer.Argument(
        None, help="Model version number or run id (default: the latest registered version)."
    ),
) -> None:
    """Make a registered model the champion if it passes the gate; exit 2 and say why if not."""
    from training.registry import promote, tracking_client

    settings = get_settings()
    try:
        result = promote(tracking_client(settings), settings, candidate)
    except LookupError as error:
        raise fail(error) from None
    except Exception as error:
        fail_if_operator_fault(error, "promote")
        raise
    console.print(result.message(), soft_wrap=True)
    if not result.promoted:
        raise typer.Exit(2)


@app.command("score")
def score_command(
    as_of: str = typer.Option(..., "--as-of", help="Score customers active at this date (ISO)."),
    out: Path = typer.Option(..., "--out", help="Output file, .parquet or .csv."),
    model: str = typer.Option(
        None, "--model", help="Registry URI (default models:/churnguard@champion)."
    ),
) -> None:
    """Score every active customer at --as-of with a registered model; write probabilities, risk bands, percentiles and reasons."""
    from features.spark_session import SparkUnavailableError
    from models.pyfunc import NoChampionError
    from training.score import write_batch_scores

    settings = get_settings()
    try:
        with console.status("scoring every active customer ..."):
            if settings.engine == "spark":
                from churnguard.spark_batch import score_customers_on_spark

                summary = score_customers_on_spark(_day(as_of, "--as-of"), out, model, settings)
            else:
                summary = write_batch_scores(_day(as_of, "--as-of"), out, model_uri=model)
    except (NoChampionError, FileNotFoundError, ValueError, SparkUnavailableError) as error:
        raise fail(error) from None
    console.print(summary.message(), soft_wrap=True)


@app.command("daily")
def daily_command(
    as_of: str = typer.Option(
        None,
        "--as-of",
        help="Day to score and queue (ISO; default today, or the day after the data ends).",
    ),
    model: str = typer.Option(
        None, "--model", help="Registry URI (default models:/churnguard@champion)."
    ),
) -> None:
    """Refresh features, score every active customer, publish the snapshot, build the day's queues."""
    from churnguard.daily import format_daily_report, run_daily
    from features.spark_session import SparkUnavailableError
    from models.pyfunc import NoChampionError

    try:
        with console.status("daily: features, scores, reasons, snapshot, queues ..."):
            report = run_daily(
                get_settings(), _day(as_of, "--as-of") if as_of else None, model_uri=model
            )
    except (NoChampionError, FileNotFoundError, ValueError, SparkUnavailableError) as error:
        raise fail(error) from None
    except Exception as error:
        fail_if_operator_fault(error, "daily")
        raise
    console.print(format_daily_report(report), soft_wrap=True)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


@app.command("monitor")
def monitor_command(
    as_of: str = typer.Option(None, "--as-of", help="Today (ISO; default the day after the data)."),
) -> None:
    """How the champion's past scores turned out (realised ROC-AUC, lift, calibration, once a scored day's horizon has passed) and how far today's customers drifted from its training rows (PSI); logged to MLflow, shown at /metrics."""
    from models.pyfunc import NoChampionError
    from training.monitor import monitor

    day = _day(as_of, "--as-of") if as_of else None
    try:
        report = monitor(get_settings(), day)
    except (NoChampionError, FileNotFoundError, ValueError) as error:
        raise fail(error) from None
    console.print(report.lines(), soft_wrap=True)


queue_app = typer.Typer(
    help="Outreach queues: list, claim, record outcomes, export items and control group. "
    "Without --date, every command works on the latest date whose queues were built.",
    cls=InWorkflowOrder,
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(queue_app, name="queue")
DATE_HELP = "Queue date (YYYY-MM-DD); default the latest built one."


def _queue_day(store: object, day: str | None) -> date:
    """The date asked for, or the latest built one; exit 2 saying the latest when it has no queue."""
    from outreach.records import NoQueueBuilt

    try:
        return store.queue_date_or_latest(_day(day, "--date") if day else None)  # type: ignore[attr-defined]
    except NoQueueBuilt as error:
        raise fail(error) from None


def _team(team: str | None) -> str | None:
    from outreach.playbooks import load_playbooks
    from outreach.records import UnknownTeam, require_team

    try:
        return None if team is None else require_team(team, list(load_playbooks().teams))
    except UnknownTeam as error:
        raise fail(error) from None


@queue_app.command("list")
def queue_list_command(
    day: str | None = typer.Option(None, "--date", help=DATE_HELP),
    team: str | None = typer.Option(None, "--team", help="Only this team's items."),
    state: str | None = typer.Option(None, "--state", help="Only items in this state."),
) -> None:
    """Show a day's queue items in priority order."""
    from outreach.records import OutreachError
    from outreach.store import open_store

    store = open_store()
    queue_date = _queue_day(store, day)
    try:
        items = store.items(queue_date, team=_team(team), state=state)
    except (OutreachError, ValueError) as error:
        raise fail(error) from None
    from outreach.records import risk_percent

    table = Table(
        "id",
        "team",
        "rank",
        "customer",
        "channel",
        "action",
        "reason",
        "risk",
        "value at risk",
        "state",
        "agent",
        title=f"queue of {queue_date}: {len(items)} items" + (f" of {team}" if team else ""),
    )
    for column in (table.columns[0], table.columns[2], table.columns[3]):
        column.no_wrap = True  # ids must survive a narrow terminal
    items = items.astype(object).where(items.notna(), None)  # SQL NULL, not NaN
    for row in items.itertuples():
        table.add_row(
            str(row.id),
            row.team,
            str(row.priority_rank),
            row.customer_id,
            row.channel,
            row.action,
            row.reason_sentence or row.reason_code or "",
            risk_percent(row.churn_probability),
            f"{row.value_at_risk:,.0f}",
            row.state,
            row.claimed_by or "",
        )
    console.print(table)


@queue_app.command("claim")
def queue_claim_command(
    team: str = typer.Option(..., "--team", help="Team whose queue to claim from."),
    n: int = typer.Option(10, "--n", min=1, help="How many items to claim."),
    agent: str = typer.Option(..., "--agent", help="Who claims them."),
    day: str | None = typer.Option(None, "--date", help=DATE_HELP),
) -> None:
    """Claim the next N items of a team's queue; prints them as CSV (header, then one row per item)."""
    from outreach.exports import items_csv
    from outreach.records import OutreachError
    from outreach.store import open_store

    store = open_store()
    queue_date = _queue_day(store, day)
    try:
        claimed = store.claim(_team(team) or team, n, agent, queue_date=queue_date)
    except OutreachError as error:
        raise fail(error) from None
    typer.echo(items_csv(claimed), nl=False)


@queue_app.command("outcome")
def queue_outcome_command(
    item_id: int = typer.Argument(..., help="Id of the queue item."),
    state: str = typer.Option(
        ...,
        "--state",
        help="contacted, resolved, no_answer, declined, expired or queued (hand back).",
    ),
    agent: str = typer.Option(..., "--agent", help="Who records it."),
    notes: str | None = typer.Option(None, "--notes", help="Free text kept with the item."),
    subject: str | None = typer.Option(
        None, "--subject", help="With contacted: the email subject as sent (edited draft)."
    ),
    body: str | None = typer.Option(
        None, "--body", help="With contacted: the message as sent (edited draft)."
    ),
) -> None:
    """Record what happened to a claimed item (illegal moves are refused and exit 2); no_answer and
    resolved print the step they scheduled."""
    from outreach.records import OutreachError
    from outreach.store import open_store

    store = open_store()
    try:
        item = store.transition(
            item_id, state, agent, notes=notes, message_subject=subject, message_body=body
        )
    except OutreachError as error:
        raise fail(error) from None
    console.print(f"item {item.id} ({item.customer_id}) is now {item.state.value}")
    for step in store.scheduled_by(item.id):
        console.print(
            f"scheduled {step.step} {step.id}: {step.channel} on {step.queue_date.isoformat()}, "
            f"due {step.due_at:%Y-%m-%d %H:%M}"
        )


@queue_app.command("work")
def queue_work_command(
    team: str = typer.Option(..., "--team", help="Team whose work list to show."),
    day: str | None = typer.Option(None, "--date", help="Day (YYYY-MM-DD); default today."),
) -> None:
    """A team's work list: the day's items and earlier ones still open, overdue first."""
    from outreach.store import open_store, utcnow

    now = utcnow()
    queue_date = _day(day, "--date") if day else now.date()
    items = open_store().work_list(_team(team) or team, queue_date, now=now)
    table = Table("id", "due", "step", "customer", "channel", "lang", "reason", "state")
    table.columns[0].no_wrap = True
    for item in items:
        due = f"{item.due_at:%Y-%m-%d %H:%M}" if item.due_at else ""
        table.add_row(
            str(item.id),
            f"[red]OVERDUE {due}[/red]" if item.is_overdue(now) else due,
            item.step if item.attempt == 1 else f"{item.step} #{item.attempt}",
            item.customer_id,
            item.channel,
            item.language or "",
            item.reason_sentence,
            item.state.value,
        )
    console.print(table)
    overdue = sum(item.is_overdue(now) for item in items)
    console.print(f"{len(items)} items, {overdue} overdue")


@queue_app.command("draft")
def queue_draft_command(item_id: int = typer.Argument(..., help="Id of the queue item.")) -> None:
    """Print an item's draft message (subject and body) in the customer's language."""
    from outreach.records import OutreachError
    from outreach.store import open_store

    try:
        item = open_store().item(item_id)
    except OutreachError as error:
        raise fail(error) from None
    typer.echo(f"language: {item.language or ''}")
    if not item.message_body:
        typer.echo(
            f"\nno draft: item {item.id} was queued before drafts existed; write to the customer "
            f"in your own words (why: {item.reason_sentence})"
        )
        return
    if item.message_subject:
        typer.echo(f"subject: {item.message_subject}")
    typer.echo("")
    typer.echo(item.message_body)


@queue_app.command("export")
def queue_export_command(
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    day: str | None = typer.Option(None, "--date", help=DATE_HELP),
) -> None:
    """Write every item of a date, in any state, to a CSV file."""
    from outreach.exports import export_items
    from outreach.store import open_store

    store = open_store()
    queue_date = _queue_day(store, day)
    rows = export_items(store, queue_date, out)
    console.print(f"wrote {rows} items of {queue_date} to {out}")


@queue_app.command("control")
def queue_control_command(
    out: Path = typer.Option(..., "--out", help="CSV file to write."),
    day: str | None = typer.Option(None, "--date", help=DATE_HELP),
) -> None:
    """Write the control group of a date (customers held out: do not contact them) to a CSV file."""
    from outreach.exports import export_control
    from outreach.store import open_store

    store = open_store()
    queue_date = _queue_day(store, day)
    rows = export_control(store, queue_date, out)
    console.print(f"wrote {rows} control customers of {queue_date} to {out}")


@app.command("report")
def report_command(
    period: str | None = typer.Option(
        None, "--period", help="START:END, queue dates (YYYY-MM-DD:YYYY-MM-DD)."
    ),
    start: str | None = typer.Option(
        None, "--from", help="First queue date (instead of --period)."
    ),
    end: str | None = typer.Option(None, "--to", help="Last queue date (instead of --period)."),
) -> None:
    """Churn of queued customers against the control group, with 95% intervals and saves per team and playbook."""
    from outreach.report import build_report, format_report
    from outreach.store import open_store

    if period:
        start, _, end = period.partition(":")
    if not start or not end:
        raise fail("give --period START:END, or both --from and --to")
    settings = get_settings()
    try:
        report = build_report(
            open_store(),
            settings.warehouse_path,
            _day(start, "--from"),
            _day(end, "--to"),
            settings.horizon_days,
        )
    except (ValueError, FileNotFoundError) as error:
        raise fail(error) from None
    typer.echo(format_report(report))


@app.command("serve")
def serve_command(
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Interface to bind: 127.0.0.1 (this machine only) or 0.0.0.0 for replicas behind a "
        "balancer.",
    ),
) -> None:
    """Start the scoring service (BentoML): /score, the queues, /agent, probes and /metrics."""
    from serving.launch import serve

    serve(port, host)


keys_app = typer.Typer(
    help="API keys of the scoring service (stored hashed in CHURNGUARD_HOME).",
    cls=InWorkflowOrder,
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create_command(
    name: str = typer.Option(..., "--name", help="Who the key is for, e.g. crm or agents-team-a."),
    roles: str = typer.Option(
        "score", "--roles", help="Comma-separated roles: score, outreach, supervisor, admin."
    ),
    teams: str | None = typer.Option(
        None, "--teams", help="Comma-separated outreach teams the key may work (default: all)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the key (for scripts)."),
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from common.files import Busy
    from serving.keys import KeyStoreError, create_key

    path = get_settings().api_keys_path
    try:
        key, stored = create_key(path, name, roles, teams)
    except (KeyStoreError, Busy) as error:
        raise fail(error) from None
    if quiet:
        print(key)
        return
    console.print(
        f"key {stored.name!r} with roles {', '.join(stored.roles)} (stored hashed in {path}):"
    )
    print(key)
    console.print("Shown once: keep it in the caller's secret store.")


@keys_app.command("list")
def keys_list_command() -> None:
    """List keys: name, roles, created, revoked (never the keys themselves)."""
    from serving.config import get_serving_settings
    from serving.keys import KeyStoreError, list_keys

    try:
        keys = list_keys(get_settings().api_keys_path, get_serving_settings().api_keys)
    except KeyStoreError as error:
        raise fail(error) from None
    table = Table("name", "roles", "teams", "created", "revoked", "source")
    for key in keys:
        table.add_row(
            key.name,
            ",".join(key.roles),
            ",".join(key.teams) or "all",
            key.created_at,
            key.revoked_at or "",
            key.source,
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke_command(name: str = typer.Argument(..., help="Name of the key to revoke.")) -> None:
    """Revoke a key; a running service refuses it from its next request."""
    from common.files import Busy
    from serving.keys import KeyStoreError, revoke_key

    try:
        revoked = revoke_key(get_settings().api_keys_path, name)
    except (KeyStoreError, Busy) as error:
        raise fail(error) from None
    console.print(f"revoked {revoked.name!r} at {revoked.revoked_at}")


@app.command("config")
def config_command(
    markdown: bool = typer.Option(False, "--markdown", help="Print the README's settings table."),
) -> None:
    """Print every setting, its environment variable, its current value and what it is for."""
    from churnguard.docs import configuration_markdown, configuration_rows

    if markdown:
        typer.echo(configuration_markdown())
        return
    rows = configuration_rows()
    table = Table("environment variable", "value", "meaning")
    for row in rows:
        table.add_row(row.variable, row.value, row.description)
    console.print(table)


@app.command("demo")
def demo_command(
    customers: int = typer.Option(3_000, "--customers", min=200, help="Size of the demo shop."),
    seed: int = typer.Option(42, "--seed", help="Seed of the demo shop."),
) -> None:
    """Generate a shop, ingest it, train and promote a model, run the daily job, show its queue."""
    from churnguard.demo import run_demo

    run_demo(get_settings(), customers=customers, seed=seed, say=console.print)
