"""Ingest a shop's data directory into the warehouse: read, validate with GX, quarantine, upsert.

One run is one DuckDB transaction. A table that cannot be used at all (missing required column,
unreadable, empty or truncated file, a column none of whose values parse) raises `IngestError`
and rolls the whole run back: the warehouse stays exactly as it was. Rows that break a row rule
go to the `quarantine` table and a JSON-lines file; every other row is upserted by the table key
(a changed row replaces the stored one, an identical one is left alone).

Source lines: for CSV the header is line 1, so the first data row is line 2 (what an editor shows,
unless a quoted field spans several lines); for Parquet the first row is line 1.
Duplicates: the first copy of a key in file order is loaded; every later copy is quarantined.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.files import run_lock
from common.names import (
    CONTACTS,
    CONTRACT_VERSION,
    CUSTOMERS,
    DELIVERIES,
    FEEDBACK,
    INGEST_RUNS_TABLE,
    INPUT_TABLES,
    ORDERS,
    QUARANTINE_TABLE,
)
from common.settings import Settings, get_settings
from features import warehouse
from features.contract import CONTRACT, Column, TableContract
from features.sentiment import SentimentScorer, default_scorers, score_by_language
from features.validation import (
    KEY_OCCURRENCE,
    LINE_COMPLETE,
    MAX_HEADER_BYTES,
    ORDER_ORDERED_AT,
    SOURCE_LINE,
    UTF8_VALID,
    ColumnParseCount,
    ContractValidator,
    frame_columns,
    given_column,
    header_problem,
    is_parsed,
    missing_required_columns,
    rules_for,
    separator_hint,
    unusable_columns,
)

# Orders first: deliveries are checked against the orders this run has just loaded.
LOAD_ORDER = (ORDERS, CUSTOMERS, DELIVERIES, FEEDBACK, CONTACTS)
READ_BATCH_ROWS = 250_000
VALIDATE_CHUNK_ROWS = 500_000
DUCKDB_MEMORY_LIMIT = "3GB"
SUFFIXES = (".parquet", ".csv")


class IngestError(Exception):
    """A table cannot be used at all; the run was rolled back and the warehouse is unchanged."""


@dataclass
class RuleCount:
    """How many rows of a table broke one rule, with a few of them as examples."""

    rule: str
    column: str | None
    expected: str
    rows: int
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TableIngest:
    """What happened to one input file. `read == loaded + quarantined` always holds."""

    table: str
    source_file: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    broken_rules: list[RuleCount] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class IngestResult:
    """One ingest run: per-table counts, the rules broken, and where the report and quarantine are."""

    run_id: str
    data_dir: str
    contract_version: str
    started_at: str
    finished_at: str = ""
    status: str = "running"
    error: str | None = None
    tables: list[TableIngest] = field(default_factory=list)
    sentiment: dict[str, Any] = field(default_factory=dict)
    quarantine_file: str | None = None
    report_path: str | None = None
    data_docs_path: str | None = None

    def table(self, name: str) -> TableIngest:
        for table in self.tables:
            if table.table == name:
                return table
        raise KeyError(f"table {name!r} was not part of ingest run {self.run_id}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressFactory = Callable[[], Any]


# --- finding and reading files ------------------------------------------------------------------


def find_input_files(data_dir: Path) -> dict[str, Path]:
    """The file of each contract table present in `data_dir` (NAME.parquet or NAME.csv)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise IngestError(
            f"{data_dir}: not a directory; expected a folder with orders.csv or orders.parquet"
        )
    found: dict[str, Path] = {}
    for table in INPUT_TABLES:
        candidates = [data_dir / f"{table}{suffix}" for suffix in SUFFIXES]
        present = [path for path in candidates if path.is_file()]
        if len(present) > 1:
            raise IngestError(
                f"{data_dir}: both {present[0].name} and {present[1].name}; expected one file per table"
            )
        if present:
            found[table] = present[0]
    missing = [table for table in CONTRACT if CONTRACT[table].required and table not in found]
    if missing:
        raise IngestError(
            f"{data_dir}: no {missing[0]}.csv or {missing[0]}.parquet; the {missing[0]} table is required"
        )
    return found


def read_header(path: Path) -> list[str]:
    """Column names of an input file, without reading its rows."""
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: empty file; expected a header line naming the columns")
    if path.suffix == ".parquet":
        try:
            names = list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as error:
            raise IngestError(
                f"{path}: unreadable Parquet file ({error}); expected a complete Parquet file"
            ) from error
        problem = header_problem(names)
        if problem:
            raise IngestError(f"{path}: {problem}")
        return names
    with path.open("rb") as handle:
        first_line = handle.readline(MAX_HEADER_BYTES + 1)
    if len(first_line) > MAX_HEADER_BYTES:
        raise IngestError(
            f"{path}: line 1 (header) is longer than {MAX_HEADER_BYTES:,} bytes; expected a header "
            "line naming the contract's columns"
        )
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(
            f"{path}: line 1 (header) is not valid UTF-8; expected a UTF-8 CSV with a header"
        ) from error
    header = next(csv.reader([text.rstrip("\r\n")]), [])
    problem = header_problem(header)
    if problem:
        raise IngestError(f"{path}: {problem}")
    return header


def _batches(path: Path, header: list[str], wanted: list[str]) -> Iterator[pa.RecordBatch]:
    """Record batches of the wanted columns; CSV fields arrive as bytes so bad UTF-8 stays per row."""
    if path.suffix == ".parquet":
        try:
            parquet = pq.ParquetFile(path)
            yield from parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=wanted)
        except (pa.ArrowException, OSError) as error:
            raise IngestError(
                f"{path}: unreadable Parquet file ({error}); expected a complete Parquet file"
            ) from error
        return
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.binary() for name in header},
                include_columns=wanted,
                strings_can_be_null=False,
            ),
        )
        yield from reader
    except pa.ArrowInvalid as error:
        message = str(error).splitlines()[0]
        if not _ends_with_newline(path):
            lines = _count_lines(path)
            raise IngestError(
                f"{path}: cannot parse the CSV: line {lines} (the last) is cut short, with no "
                "newline after it "
                f"({message}): the file was probably cut mid-write; copy or export it again"
            ) from error
        raise IngestError(
            f"{path}: cannot parse the CSV ({message}); expected {len(header)} fields on every line "
            "as in the header (a truncated or malformed file?)"
        ) from error


def _decode_utf8(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Bytes to text; a value that is not UTF-8 is kept with its bad bytes escaped and flagged."""
    valid = np.ones(len(array), dtype=bool)
    try:
        return array.cast(pa.string()), valid
    except pa.ArrowInvalid:
        decoded: list[str | None] = []
        for position, value in enumerate(array.to_pylist()):
            if value is None:
                decoded.append(None)
                continue
            try:
                decoded.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(value.decode("utf-8", errors="backslashreplace"))
                valid[position] = False
        return pa.array(decoded, pa.string()), valid


def _raw_batch(batch: pa.RecordBatch, first_line: int) -> pa.Table:
    """One batch as text-or-native columns plus its source lines and a UTF-8 validity flag."""
    rows = batch.num_rows
    utf8_valid = np.ones(rows, dtype=bool)
    columns: dict[str, pa.Array] = {
        SOURCE_LINE: pa.array(np.arange(first_line, first_line + rows, dtype=np.int64))
    }
    for name in batch.schema.names:
        array = batch.column(name)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
            array, valid = _decode_utf8(array)
            utf8_valid &= valid
        elif pa.types.is_floating(array.type):
            # pandas writes a missing number as NaN; the contract has no other use for NaN
            array = pc.if_else(pc.is_nan(array), pa.scalar(None, array.type), array)
        columns[name] = array
    columns[UTF8_VALID] = pa.array(utf8_valid)
    return pa.table(columns)


# --- SQL built from the contract ----------------------------------------------------------------


def _blank_to_null(ref: str) -> str:
    return f"CASE WHEN trim({ref}) = '' THEN NULL ELSE {ref} END"


def _parsed_expr(column: Column, ref: str) -> str:
    """The value the warehouse stores, parsed from the raw text (NULL when it does not parse)."""
    given = _blank_to_null(ref)
    if column.kind == "timestamp":
        return f"(TRY_CAST({given} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    if column.kind in ("number", "integer"):
        number = f"TRY_CAST({given} AS DOUBLE)"
        return f"CASE WHEN isfinite({number}) THEN {number} END"
    if column.kind == "boolean":
        return f"TRY_CAST({given} AS BOOLEAN)"
    return given


def _typed_select(table: TableContract, present: set[str]) -> str:
    """SELECT of the frame GX validates (see `features.validation.frame_columns`)."""
    parts = [f"r.{SOURCE_LINE}", f"r.{UTF8_VALID}", f"r.{LINE_COMPLETE}"]
    for column in table.columns:
        ref = f"r.{column.sql}" if column.name in present else "NULL::VARCHAR"
        parts.append(f"{_parsed_expr(column, ref)} AS {column.sql}")
        if is_parsed(column):
            parts.append(f"{_blank_to_null(ref)} AS {given_column(column.name)}")
    key_ref = f"r.{table.key}" if table.key in present else "NULL::VARCHAR"
    key = _blank_to_null(key_ref)
    parts.append(
        f"CASE WHEN {key} IS NULL THEN 1 ELSE row_number() OVER "
        f"(PARTITION BY {key} ORDER BY r.{SOURCE_LINE}) END AS {KEY_OCCURRENCE}"
    )
    source = f"_raw_{table.name} r"
    if table.name == DELIVERIES:
        order_id = _blank_to_null("r.order_id")
        # the order's day, not its instant: shops often export promised/delivered dates without a time
        parts.append(f"date_trunc('day', o.ordered_at) AS {ORDER_ORDERED_AT}")
        source += f" LEFT JOIN {ORDERS} o ON o.order_id = {order_id}"
    return f"SELECT {', '.join(parts)} FROM {source}"


# --- the run -----------------------------------------------------------------------------------


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def ingest(
    data_dir: Path | str,
    settings: Settings | None = None,
    scorers: Mapping[str, SentimentScorer] | None = None,
    progress: ProgressFactory | None = None,
    data_docs: bool = True,
) -> IngestResult:
    """Validate and load every contract table found in `data_dir`; raise IngestError if one is unusable.

    `scorers` maps a language (BCP 47 primary subtag) to its sentiment scorer; a text in a language
    without one is loaded with no sentiment. `progress` makes a rich Progress (or any object with its add_task/advance/update API) to show
    how far reading and validating have come; None shows nothing. `data_docs=False` skips
    rendering GX Data Docs (the JSON report is always written).
    """
    settings = settings or get_settings()
    settings.ensure_home()
    # One ingest at a time: a second one is told who runs, never left to DuckDB's lock error.
    with run_lock(warehouse.run_lock_path(settings.warehouse_path), "ingest"):
        return _ingest_locked(data_dir, settings, scorers, progress, data_docs)


def _ingest_locked(
    data_dir: Path | str,
    settings: Settings,
    scorers: Mapping[str, SentimentScorer] | None,
    progress: ProgressFactory | None,
    data_docs: bool,
) -> IngestResult:
    import time

    from features.reports import write_report

    data_dir = Path(data_dir).resolve()
    run_id = _new_run_id()
    run_dir = settings.reports_dir / f"ingest-{run_id}"
    result = IngestResult(
        run_id=run_id,
        data_dir=str(data_dir),
        contract_version=CONTRACT_VERSION,
        started_at=datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
    )
    validator = ContractValidator(
        run_id, data_docs_dir=str(run_dir / "data_docs") if data_docs else None
    )
    con: duckdb.DuckDBPyConnection | None = None
    try:
        files = find_input_files(data_dir)
        headers = {table: read_header(path) for table, path in files.items()}
        problems = [
            f"{files[table]}: missing required column {name!r} ({CONTRACT[table].column(name).kind}: "
            f"{CONTRACT[table].column(name).description}){separator_hint(headers[table])}"
            for table in LOAD_ORDER
            if table in headers
            for name in missing_required_columns(table, headers[table])
        ]
        if problems:
            raise IngestError("; ".join(problems))
        con = warehouse.connect(settings.warehouse_path)
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = false")
        con.begin()
        with progress() if progress else nullcontext() as bar:
            for table_name in LOAD_ORDER:
                if table_name not in files:
                    continue
                started = time.perf_counter()
                counts = _ingest_table(
                    con,
                    CONTRACT[table_name],
                    files[table_name],
                    headers[table_name],
                    run_id,
                    validator,
                    bar,
                    scorers,
                    result,
                    settings.language,
                )
                counts.seconds = round(time.perf_counter() - started, 2)
                result.tables.append(counts)
        result.status = "succeeded"
        result.finished_at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        result.quarantine_file = str(settings.quarantine_dir / f"{run_id}.jsonl")
        result.report_path = str(run_dir / "report.json")
        _record_run(con, result)
        con.commit()
    except BaseException as error:
        if con is not None:
            con.rollback()
        result.status = "failed"
        result.error = str(error) if isinstance(error, IngestError) else repr(error)
        result.finished_at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        result.quarantine_file = None
        _safe_write_failure_report(result, run_dir, validator)
        if con is not None:
            con.close()
        raise
    try:
        _write_quarantine_file(con, run_id, Path(result.quarantine_file))
    finally:
        con.close()
    write_report(result, run_dir, validator)
    return result


def _safe_write_failure_report(
    result: IngestResult, run_dir: Path, validator: ContractValidator
) -> None:
    """Leave a report of a failed run next to the others; never mask the original error."""
    from features.reports import write_report

    try:
        write_report(result, run_dir, validator)
    except Exception:  # the failure being reported matters more than its report
        result.report_path = None


def _ingest_table(
    con: duckdb.DuckDBPyConnection,
    table: TableContract,
    path: Path,
    header: list[str],
    run_id: str,
    validator: ContractValidator,
    bar: Any,
    scorers: Mapping[str, SentimentScorer] | None,
    result: IngestResult,
    shop_language: str,
) -> TableIngest:
    name = table.name
    counts = TableIngest(table=name, source_file=str(path))
    present = [column.name for column in table.columns if column.name in header]
    _stage_raw(con, table, path, header, present, bar)
    counts.read = con.execute(f"SELECT count(*) FROM _raw_{name}").fetchall()[0][0]
    if counts.read == 0:
        raise IngestError(
            f"{path}: no data rows after the header; expected at least one {name} row"
        )

    con.execute(f"CREATE TEMP TABLE _typed_{name} AS {_typed_select(table, set(present))}")
    _check_column_types(con, table, path, present)
    _validate(con, table, validator, counts.read, bar)

    counts.quarantined = _quarantine(con, table, path, present, run_id)
    _classify(con, table)
    counts.loaded = con.execute(f"SELECT count(*) FROM _change_{name}").fetchall()[0][0]
    if counts.read != counts.loaded + counts.quarantined:
        raise RuntimeError(
            f"{path}: {counts.read} rows read but {counts.loaded} loaded + "
            f"{counts.quarantined} quarantined; ingest lost rows"
        )
    by_change = dict(
        con.execute(f"SELECT _change, count(*) FROM _change_{name} GROUP BY 1").fetchall()
    )
    counts.inserted = by_change.get("inserted", 0)
    counts.replaced = by_change.get("replaced", 0)
    counts.unchanged = by_change.get("unchanged", 0)
    if name == FEEDBACK:
        result.sentiment = _score_sentiment(
            con, scorers if scorers is not None else default_scorers(), shop_language
        )
    _upsert(con, table, path, run_id)
    counts.broken_rules = _broken_rules(con, table, run_id)
    for temp in ("raw", "typed", "violations", "change"):
        con.execute(f"DROP TABLE IF EXISTS _{temp}_{name}")
    return counts


def _stage_raw(
    con: duckdb.DuckDBPyConnection,
    table: TableContract,
    path: Path,
    header: list[str],
    present: list[str],
    bar: Any,
) -> None:
    """Stream the file into a temp table of raw text, one row per data line, with its line number."""
    name = table.name
    columns = ", ".join(f"{column.sql} VARCHAR" for column in table.columns)
    con.execute(
        f"CREATE TEMP TABLE _raw_{name} ({SOURCE_LINE} BIGINT, {UTF8_VALID} BOOLEAN, "
        f"{LINE_COMPLETE} BOOLEAN DEFAULT true, {columns})"
    )
    select = ", ".join(
        f"CAST(b.{column.sql} AS VARCHAR)" if column.name in present else "NULL"
        for column in table.columns
    )
    total = pq.ParquetFile(path).metadata.num_rows if path.suffix == ".parquet" else None
    task = bar.add_task(f"read {path.name}", total=total) if bar else None
    next_line = 1 if path.suffix == ".parquet" else 2  # a CSV's header is line 1
    for batch in _batches(path, header, present):
        if batch.num_rows == 0:
            continue
        con.register("_staged_batch", _raw_batch(batch, next_line))
        con.execute(
            f"INSERT INTO _raw_{name} SELECT b.{SOURCE_LINE}, b.{UTF8_VALID}, true, {select} "
            "FROM _staged_batch b"
        )
        con.unregister("_staged_batch")
        next_line += batch.num_rows
        if bar:
            bar.advance(task, batch.num_rows)
    if path.suffix == ".csv" and not _ends_with_newline(path):
        con.execute(
            f"UPDATE _raw_{name} SET {LINE_COMPLETE} = false "
            f"WHERE {SOURCE_LINE} = (SELECT max({SOURCE_LINE}) FROM _raw_{name})"
        )


def _count_lines(path: Path) -> int:
    """Lines in a file (the last counted even without a newline), reading 1 MiB at a time."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _ends_with_newline(path: Path) -> bool:
    """Whether the file's last byte ends a line (a file cut mid-write does not)."""
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1) in (b"\n", b"\r")


def _check_column_types(
    con: duckdb.DuckDBPyConnection, table: TableContract, path: Path, present: list[str]
) -> None:
    """Fail the table when a column has values but none of them parse: the column has the wrong type."""
    parsed = [column for column in table.columns if is_parsed(column) and column.name in present]
    if not parsed:
        return
    selects = ", ".join(
        f"count({given_column(c.name)}), count({c.sql}), "
        f"any_value({given_column(c.name)}) FILTER (WHERE {c.sql} IS NULL)"
        for c in parsed
    )
    row = con.execute(f"SELECT {selects} FROM _typed_{table.name}").fetchall()[0]
    counts = [
        ColumnParseCount(c.name, row[3 * i], row[3 * i + 1], row[3 * i + 2])
        for i, c in enumerate(parsed)
    ]
    unusable = unusable_columns(counts)
    if unusable:
        column = table.column(unusable[0].column)
        kind = "an ISO 8601 timestamp" if column.kind == "timestamp" else f"a {column.kind}"
        raise IngestError(
            f"{path}: column {column.name!r} has no value that is {kind} "
            f"({unusable[0].given} values, e.g. {unusable[0].example!r}); "
            f"expected {column.kind} values ({column.description})"
        )


def _validate(
    con: duckdb.DuckDBPyConnection,
    table: TableContract,
    validator: ContractValidator,
    rows: int,
    bar: Any,
) -> None:
    """Run the GX suite over the typed frame in chunks; store (line, rule) for every broken rule."""
    name = table.name
    task = bar.add_task(f"validate {name}", total=rows) if bar else None
    quoted = ", ".join(f'"{column}"' for column in frame_columns(name))
    reader = con.sql(f"SELECT {quoted} FROM _typed_{name}").to_arrow_reader(VALIDATE_CHUNK_ROWS)
    lines: list[np.ndarray] = []
    rules: list[np.ndarray] = []
    for batch in reader:
        frame = batch.to_pandas()
        verdict = validator.validate(name, frame)
        for rule, broken_lines in verdict.broken.items():
            lines.append(np.asarray(broken_lines, dtype=np.int64))
            rules.append(np.full(len(broken_lines), rule, dtype=object))
        if bar:
            bar.advance(task, verdict.rows)
    violations = pa.table(
        {
            SOURCE_LINE: pa.array(np.concatenate(lines) if lines else np.empty(0, np.int64)),
            "rule": pa.array(np.concatenate(rules) if rules else np.empty(0, object), pa.string()),
        }
    )
    con.register("_violations_found", violations)
    con.execute(f"CREATE TEMP TABLE _violations_{name} AS SELECT * FROM _violations_found")
    con.unregister("_violations_found")


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    table: TableContract,
    path: Path,
    present: list[str],
    run_id: str,
) -> int:
    """Copy every row with a broken rule into `quarantine`, with its raw values and every rule."""
    name = table.name
    rules = rules_for(name)
    catalogue = pa.table(
        {
            "rule": [rule.name for rule in rules],
            "position": list(range(len(rules))),
            "problem": [f"{rule.name}: expected {rule.expected}" for rule in rules],
        }
    )
    con.register("_rule_catalogue", catalogue)
    raw_values = ", ".join(f"'{column}', r.\"{column}\"" for column in present)
    con.execute(
        f"""
        INSERT INTO {QUARANTINE_TABLE}
        SELECT ?, ?, ?, ?, r.{SOURCE_LINE}, to_json(json_object({raw_values})),
               v.rules, v.problems, now()::TIMESTAMP
        FROM _raw_{name} r
        JOIN (
            SELECT v.{SOURCE_LINE}, list(c.rule ORDER BY c.position) AS rules,
                   list(c.problem ORDER BY c.position) AS problems
            FROM _violations_{name} v JOIN _rule_catalogue c USING (rule)
            GROUP BY v.{SOURCE_LINE}
        ) v USING ({SOURCE_LINE})
        """,
        [run_id, CONTRACT_VERSION, name, str(path)],
    )
    return con.execute(f"SELECT count(DISTINCT {SOURCE_LINE}) FROM _violations_{name}").fetchall()[
        0
    ][0]


def _classify(con: duckdb.DuckDBPyConnection, table: TableContract) -> None:
    """Good rows in warehouse types, each marked inserted, replaced or unchanged against the warehouse."""
    name, key = table.name, table.key
    typed = ", ".join(f"CAST(t.{c.sql} AS {c.duckdb_type}) AS {c.sql}" for c in table.columns)
    same = " AND ".join(f"g.{c.sql} IS NOT DISTINCT FROM w.{c.sql}" for c in table.columns)
    stored = ", ".join(c.sql for c in table.columns)
    con.execute(
        f"""
        CREATE TEMP TABLE _change_{name} AS
        WITH good AS (
            SELECT t.{SOURCE_LINE}, {typed}
            FROM _typed_{name} t ANTI JOIN _violations_{name} v USING ({SOURCE_LINE})
        )
        SELECT g.*, CASE WHEN w._stored IS NULL THEN 'inserted'
                         WHEN {same} THEN 'unchanged' ELSE 'replaced' END AS _change
        FROM good g LEFT JOIN (SELECT {stored}, true AS _stored FROM {name}) w USING ({key})
        """
    )


def _score_sentiment(
    con: duckdb.DuckDBPyConnection, scorers: Mapping[str, SentimentScorer], shop_language: str
) -> dict[str, Any]:
    """Detect the language of each distinct text about to be written and score it once with that
    language's scorer; count texts per language, and those no scorer reads."""
    import time

    from features.language import detect_languages

    texts = con.sql(
        f"SELECT text, count(*) AS n FROM _change_{FEEDBACK} "
        "WHERE _change <> 'unchanged' AND text IS NOT NULL GROUP BY text"
    ).to_arrow_table()
    values = texts.column("text").to_pylist()
    rows = texts.column("n").to_numpy()
    started = time.perf_counter()
    languages = detect_languages(values, shop_language)
    detected = time.perf_counter()
    scores = score_by_language(values, languages, scorers)
    seconds = time.perf_counter() - started
    sentiment = pa.table(
        {
            "text": texts.column("text"),
            "text_language": pa.array(languages, pa.string()),
            "text_sentiment": pa.array(scores, pa.float64(), from_pandas=True),
        }
    )
    con.register("_sentiment_scored", sentiment)
    con.execute("CREATE OR REPLACE TEMP TABLE _sentiment AS SELECT * FROM _sentiment_scored")
    con.unregister("_sentiment_scored")
    by_language: dict[str, dict[str, Any]] = {}
    for language, n_rows in zip(languages, rows, strict=True):
        entry = by_language.setdefault(
            language,
            {
                "rows": 0,
                "distinct_texts": 0,
                "scorer": getattr(scorers.get(language), "name", None),
            },
        )
        entry["rows"] += int(n_rows)
        entry["distinct_texts"] += 1
    unsupported = {lang: e["rows"] for lang, e in by_language.items() if e["scorer"] is None}
    return {
        "scorers": {lang: getattr(s, "name", type(s).__name__) for lang, s in scorers.items()},
        "rows_with_text": int(rows.sum()),
        "distinct_texts_scored": int(np.isfinite(scores).sum()),
        "by_language": dict(sorted(by_language.items(), key=lambda kv: -kv[1]["rows"])),
        "rows_unsupported_language": unsupported,
        "seconds": round(seconds, 3),
        "language_detection_seconds": round(detected - started, 3),
        "microseconds_per_distinct_text": round(seconds / len(values) * 1e6, 1) if values else None,
    }


def _upsert(con: duckdb.DuckDBPyConnection, table: TableContract, path: Path, run_id: str) -> None:
    """Replace changed rows, add new ones, leave identical ones (and their lineage) alone."""
    name, key = table.name, table.key
    columns = [c.sql for c in table.columns]
    values = [f"c.{c}" for c in columns]
    source = f"_change_{name} c"
    if any(d.name == "text_sentiment" for d in table.derived_columns):
        columns += ["text_language", "text_sentiment"]
        values += ["s.text_language", "s.text_sentiment"]
        source += " LEFT JOIN _sentiment s ON s.text = c.text"
    con.execute(
        f"DELETE FROM {name} WHERE {key} IN "
        f"(SELECT {key} FROM _change_{name} WHERE _change = 'replaced')"
    )
    con.execute(
        f"""
        INSERT INTO {name} ({", ".join(columns)}, _ingest_run_id, _source_file, _source_line)
        SELECT {", ".join(values)}, ?, ?, c.{SOURCE_LINE}
        FROM {source} WHERE c._change <> 'unchanged'
        """,
        [run_id, str(path)],
    )


def _broken_rules(
    con: duckdb.DuckDBPyConnection, table: TableContract, run_id: str, examples: int = 3
) -> list[RuleCount]:
    """Rules this run's rows broke, most broken first, each with a few quarantined rows."""
    by_rule = dict(
        con.execute(f"SELECT rule, count(*) FROM _violations_{table.name} GROUP BY rule").fetchall()
    )
    counts: list[RuleCount] = []
    for rule in rules_for(table.name):
        if rule.name not in by_rule:
            continue
        rows = con.execute(
            f"""
            SELECT source_line, raw_values, broken_rules FROM {QUARANTINE_TABLE}
            WHERE ingest_run_id = ? AND table_name = ? AND list_contains(broken_rules, ?)
            ORDER BY source_line LIMIT {examples}
            """,
            [run_id, table.name, rule.name],
        ).fetchall()
        counts.append(
            RuleCount(
                rule=rule.name,
                column=rule.column,
                expected=rule.expected,
                rows=by_rule[rule.name],
                examples=[
                    {
                        "source_line": line,
                        "raw_values": json.loads(raw),
                        "broken_rules": list(broken),
                    }
                    for line, raw, broken in rows
                ],
            )
        )
    counts.sort(key=lambda count: -count.rows)
    return counts


def _record_run(con: duckdb.DuckDBPyConnection, result: IngestResult) -> None:
    con.execute(
        f"INSERT INTO {INGEST_RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.run_id,
            result.started_at,
            result.finished_at,
            result.data_dir,
            result.contract_version,
            sum(t.read for t in result.tables),
            sum(t.loaded for t in result.tables),
            sum(t.quarantined for t in result.tables),
            json.dumps(
                {
                    t.table: {
                        k: getattr(t, k)
                        for k in (
                            "source_file",
                            "read",
                            "loaded",
                            "quarantined",
                            "inserted",
                            "replaced",
                            "unchanged",
                        )
                    }
                    for t in result.tables
                }
            ),
            result.report_path,
        ],
    )


def _write_quarantine_file(con: duckdb.DuckDBPyConnection, run_id: str, path: Path) -> None:
    """One JSON object per quarantined row of this run: table, file, line, raw values, rules broken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = str(path).replace("'", "''")
    con.execute(
        f"""
        COPY (
            SELECT table_name AS "table", source_file, source_line,
                   raw_values::JSON AS raw_values, broken_rules, problems
            FROM {QUARANTINE_TABLE} WHERE ingest_run_id = '{run_id}'
            ORDER BY table_name, source_line
        ) TO '{target}' (FORMAT JSON)
        """
    )


__all__ = [
    "IngestError",
    "IngestResult",
    "RuleCount",
    "TableIngest",
    "find_input_files",
    "ingest",
    "read_header",
]
