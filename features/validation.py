"""The validation rules of input contract v1, derived from `features.contract`, and their GX suites.

One definition: every row rule is a `Rule` that builds exactly one great-expectations Expectation.
Ingest quarantines a row because GX reported that row (by `_source_line`) as unexpected for that
rule; nothing else decides. Checks that need the whole file or the warehouse (a key's first copy,
the order a delivery belongs to) are computed by DuckDB as context columns of the validated frame,
so GX still judges them row by row:

- `_key_occurrence`: 1 for the first copy of a key in file order, 2 for the next copy, ...
- `_utf8_valid`: false when any field of the row was not valid UTF-8.
- `_line_complete`: false for the last line of a CSV that does not end in a newline (a file cut
  mid-write: its last value may be cut short, `76.76` read as `76.`).
- `_order_ordered_at` (deliveries): the day (midnight) of `ordered_at` of the delivery's order in the
  warehouse, where the orders of this run are already loaded; NULL when the order does not exist.
  A day, not an instant, because shops often export promised and delivered dates without a time.

For a parsed column (timestamp, number, integer, boolean) the frame holds the parsed value under the
column's name and the value as given under `<name>__given` (blank text counts as missing).

Table rules (a required column missing, a column none of whose values parse) fail the whole table;
they are plain functions here because GX reports on rows, not on whether a file can be read at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from common.names import CONTRACT_VERSION, DELIVERIES, FEEDBACK
from features.contract import CONTRACT, Column, TableContract

SOURCE_LINE = "_source_line"
KEY_OCCURRENCE = "_key_occurrence"
UTF8_VALID = "_utf8_valid"
LINE_COMPLETE = "_line_complete"
# A header wider than this is refused before anything else is read: the contract's tables have a
# few dozen columns, and every per-column step (parsing options, checks) grows with the width.
MAX_HEADER_COLUMNS = 1_000
MAX_HEADER_BYTES = 1 << 20
ORDER_ORDERED_AT = "_order_ordered_at"

PARSED_KINDS = frozenset({"timestamp", "number", "integer", "boolean"})
WHOLE_NUMBER_PATTERN = r"^\s*[+-]?[0-9]+(\.0*)?\s*$"

EXPECTED_BY_KIND = {
    "timestamp": "an ISO 8601 timestamp (UTC when it has no offset)",
    "number": "a finite number",
    "integer": "a whole number",
    "boolean": "true or false",
}


def given_column(name: str) -> str:
    """Frame column holding a parsed column's value as the file gave it (blank = missing)."""
    return f"{name}__given"


def is_parsed(column: Column) -> bool:
    return column.kind in PARSED_KINDS


@dataclass(frozen=True)
class Rule:
    """One row rule: a stable name, what was expected (for people), and its GX expectation."""

    name: str
    table: str
    column: str | None
    expected: str
    expectation_type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def expectation(self) -> Any:
        """The great-expectations Expectation that checks this rule; `meta.rule` names it back."""
        import great_expectations as gx

        expectation_class = getattr(gx.expectations, self.expectation_type)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return expectation_class(
                **self.kwargs,
                description=f"{self.name}: expected {self.expected}",
                meta={"rule": self.name, "contract_version": CONTRACT_VERSION},
            )


def _column_rules(table: TableContract, column: Column) -> list[Rule]:
    from great_expectations.expectations.row_conditions import Column as GxColumn

    rules: list[Rule] = []
    given = given_column(column.name) if is_parsed(column) else column.name
    prefix = f"{table.name}.{column.name}"
    if not column.nullable:
        rules.append(
            Rule(
                f"{prefix}.present",
                table.name,
                column.name,
                f"a value in {column.name} (it may not be empty)",
                "ExpectColumnValuesToNotBeNull",
                {"column": given},
            )
        )
    if is_parsed(column):
        kind = "number" if column.kind == "integer" else column.kind
        rules.append(
            Rule(
                f"{prefix}.parses",
                table.name,
                column.name,
                f"{EXPECTED_BY_KIND[kind]} in {column.name}",
                "ExpectColumnValuesToNotBeNull",
                {"column": column.name, "row_condition": GxColumn(given).is_not_null()},
            )
        )
    if column.kind == "integer":
        rules.append(
            Rule(
                f"{prefix}.whole_number",
                table.name,
                column.name,
                f"a whole number in {column.name}",
                "ExpectColumnValuesToMatchRegex",
                {
                    "column": given,
                    "regex": WHOLE_NUMBER_PATTERN,
                    "row_condition": GxColumn(column.name).is_not_null(),
                },
            )
        )
    if column.minimum is not None or column.maximum is not None:
        bounds = {"min_value": column.minimum, "max_value": column.maximum}
        if column.minimum is not None and column.maximum is not None:
            expected = f"{column.name} between {column.minimum:g} and {column.maximum:g}"
        elif column.minimum is not None:
            expected = f"{column.name} >= {column.minimum:g}"
        else:
            expected = f"{column.name} <= {column.maximum:g}"
        rules.append(
            Rule(
                f"{prefix}.in_range",
                table.name,
                column.name,
                expected,
                "ExpectColumnValuesToBeBetween",
                {"column": column.name, **{k: v for k, v in bounds.items() if v is not None}},
            )
        )
    if column.pattern:
        rules.append(
            Rule(
                f"{prefix}.pattern",
                table.name,
                column.name,
                f"{column.pattern_meaning or column.pattern} in {column.name}",
                "ExpectColumnValuesToMatchRegex",
                {"column": column.name, "regex": column.pattern},
            )
        )
    if column.allowed:
        rules.append(
            Rule(
                f"{prefix}.allowed",
                table.name,
                column.name,
                f"{column.name} one of {', '.join(column.allowed)}",
                "ExpectColumnValuesToBeInSet",
                {"column": column.name, "value_set": list(column.allowed)},
            )
        )
    return rules


def _table_rules(table: TableContract) -> list[Rule]:
    from great_expectations.expectations.row_conditions import Column as GxColumn

    rules = [
        Rule(
            f"{table.name}.truncated",
            table.name,
            None,
            "a complete last line, ending in a newline (the file may have been cut mid-write)",
            "ExpectColumnValuesToBeInSet",
            {"column": LINE_COMPLETE, "value_set": [True]},
        ),
        Rule(
            f"{table.name}.utf8",
            table.name,
            None,
            "valid UTF-8 text in every field",
            "ExpectColumnValuesToBeInSet",
            {"column": UTF8_VALID, "value_set": [True]},
        ),
        Rule(
            f"{table.name}.{table.key}.unique",
            table.name,
            table.key,
            f"each {table.key} once per file (the first copy is loaded, later copies quarantined)",
            "ExpectColumnValuesToBeBetween",
            {"column": KEY_OCCURRENCE, "max_value": 1},
        ),
    ]
    if table.name == DELIVERIES:
        rules.append(
            Rule(
                f"{DELIVERIES}.order_id.order_exists",
                DELIVERIES,
                "order_id",
                "an order_id that exists in orders (the warehouse or this run)",
                "ExpectColumnValuesToNotBeNull",
                {"column": ORDER_ORDERED_AT, "row_condition": GxColumn("order_id").is_not_null()},
            )
        )
        for column in ("promised_at", "delivered_at"):
            rules.append(
                Rule(
                    f"{DELIVERIES}.{column}.not_before_ordered",
                    DELIVERIES,
                    column,
                    f"{column} on or after the day of the order's ordered_at",
                    "ExpectColumnPairValuesAToBeGreaterThanB",
                    {
                        "column_A": column,
                        "column_B": ORDER_ORDERED_AT,
                        "or_equal": True,
                        "ignore_row_if": "either_value_is_missing",
                    },
                )
            )
    if table.name == FEEDBACK:
        rules.append(
            Rule(
                f"{FEEDBACK}.rating_or_text",
                FEEDBACK,
                "text",
                "a rating or a text (a row with neither says nothing)",
                "ExpectColumnValuesToNotBeNull",
                {"column": "text", "row_condition": GxColumn(given_column("rating")).is_null()},
            )
        )
    return rules


def rules_for(table_name: str) -> tuple[Rule, ...]:
    """Every row rule of one contract table, in a stable order."""
    table = CONTRACT[table_name]
    rules = [rule for column in table.columns for rule in _column_rules(table, column)]
    return (*rules, *_table_rules(table))


def suite_name(table_name: str) -> str:
    return f"churnguard.{table_name}.contract_v{CONTRACT_VERSION}"


def build_suite(table_name: str) -> Any:
    """The great-expectations ExpectationSuite of one table, versioned with the contract."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(
        name=suite_name(table_name),
        meta={"contract_version": CONTRACT_VERSION, "table": table_name},
    )
    for rule in rules_for(table_name):
        suite.add_expectation(rule.expectation())
    return suite


def frame_columns(table_name: str) -> tuple[str, ...]:
    """Columns of the frame GX validates: line, parsed values, given values, context."""
    table = CONTRACT[table_name]
    columns = [SOURCE_LINE, UTF8_VALID, LINE_COMPLETE, KEY_OCCURRENCE]
    for column in table.columns:
        columns.append(column.name)
        if is_parsed(column):
            columns.append(given_column(column.name))
    if table_name == DELIVERIES:
        columns.append(ORDER_ORDERED_AT)
    return tuple(columns)


# --- table rules: the file cannot be used at all -----------------------------------------------


def missing_required_columns(table_name: str, header: Iterable[str]) -> list[str]:
    present = set(header)
    return [name for name in CONTRACT[table_name].required_columns if name not in present]


def header_problem(header: Sequence[str]) -> str | None:
    """What makes a header unusable (too wide, blank, a name twice), or None; linear in its width."""
    if len(header) > MAX_HEADER_COLUMNS:
        return (
            f"the header has {len(header):,} columns; expected at most {MAX_HEADER_COLUMNS:,} "
            "(the contract's columns and a few extra)"
        )
    if not any(name.strip() for name in header):
        return "line 1 is blank; expected a header line naming the columns"
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return f"column {name!r} appears twice in the header; expected each column once"
        seen.add(name)
    return None


def separator_hint(header: Sequence[str]) -> str:
    """A hint when a header read with commas looks separated by something else (; tab |)."""
    if len(header) > 2:
        return ""
    text = ",".join(header)
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
        if text.count(separator) >= 2:
            return (
                f" (the header looks separated by {name}; the contract expects comma-separated "
                "CSV: re-export with ',' as the separator)"
            )
    return ""


@dataclass(frozen=True)
class ColumnParseCount:
    """How many values of a parsed column were given and how many of those parsed."""

    column: str
    given: int
    parsed: int
    example: str | None


def unusable_columns(counts: Sequence[ColumnParseCount]) -> list[ColumnParseCount]:
    """Columns where values were given but none parsed: the whole column has the wrong type."""
    return [count for count in counts if count.given > 0 and count.parsed == 0]


# --- running GX over chunks ----------------------------------------------------------------------


@dataclass
class RuleOutcome:
    """What GX said about one rule over the rows validated so far."""

    rule: Rule
    checked: int = 0
    unexpected: int = 0
    examples: list[Any] = field(default_factory=list)


@dataclass
class ChunkVerdict:
    """The rows (by source line) GX found breaking each rule in one chunk."""

    rows: int
    broken: dict[str, list[int]]


class ContractValidator:
    """Validates frames of each contract table with great-expectations, in an ephemeral context.

    Every chunk is one GX validation run (kept in the context's stores for Data Docs); the
    verdict lists, per rule, the `_source_line`s GX reported unexpected.
    """

    RESULT_FORMAT: Mapping[str, Any] = {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [SOURCE_LINE],
        "return_unexpected_index_query": False,
        "partial_unexpected_count": 5,
    }

    def __init__(self, run_id: str, data_docs_dir: str | None = None) -> None:
        import great_expectations as gx

        self.run_id = run_id
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.context = gx.get_context(mode="ephemeral")
        # ingest draws its own progress; GX's per-metric bars would flood the terminal
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        for site in list(self.context.get_docs_sites_urls()):
            self.context.delete_data_docs_site(site["site_name"])
        self.site_name = "churnguard_ingest"
        if data_docs_dir is not None:
            self.context.add_data_docs_site(
                self.site_name,
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(data_docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self._source = self.context.data_sources.add_pandas("churnguard_input")
        self._definitions: dict[str, Any] = {}
        self._rules: dict[str, dict[str, Rule]] = {}
        self.outcomes: dict[str, dict[str, RuleOutcome]] = {}
        self._chunks: dict[str, int] = {}

    def _definition(self, table_name: str) -> Any:
        import great_expectations as gx

        if table_name not in self._definitions:
            asset = self._source.add_dataframe_asset(table_name)
            batch = asset.add_batch_definition_whole_dataframe(f"{table_name}_chunk")
            suite = self.context.suites.add(build_suite(table_name))
            self._definitions[table_name] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{table_name}_contract", data=batch, suite=suite)
            )
            self._rules[table_name] = {rule.name: rule for rule in rules_for(table_name)}
            self.outcomes[table_name] = {
                name: RuleOutcome(rule) for name, rule in self._rules[table_name].items()
            }
            self._chunks[table_name] = 0
        return self._definitions[table_name]

    def validate(self, table_name: str, frame: pd.DataFrame) -> ChunkVerdict:
        """Run the table's suite on one chunk; return the source lines of unexpected rows per rule."""
        from great_expectations.core.run_identifier import RunIdentifier

        definition = self._definition(table_name)
        chunk = self._chunks[table_name]
        self._chunks[table_name] = chunk + 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = definition.run(
                batch_parameters={"dataframe": frame},
                result_format=dict(self.RESULT_FORMAT),
                run_id=RunIdentifier(run_name=f"{self.run_id}-{table_name}-chunk{chunk:04d}"),
            )
        broken: dict[str, list[int]] = {}
        for expectation_result in result.results:
            rule_name = expectation_result.expectation_config.meta["rule"]
            outcome = self.outcomes[table_name][rule_name]
            if expectation_result.exception_info and expectation_result.exception_info.get(
                "raised_exception"
            ):
                message = expectation_result.exception_info.get("exception_message")
                raise RuntimeError(f"great-expectations could not check {rule_name}: {message}")
            details = expectation_result.result
            outcome.checked += int(details.get("element_count") or 0)
            outcome.unexpected += int(details.get("unexpected_count") or 0)
            if expectation_result.success:
                continue
            lines = [int(item[SOURCE_LINE]) for item in details.get("unexpected_index_list") or []]
            if len(lines) != int(details.get("unexpected_count") or 0):
                raise RuntimeError(
                    f"great-expectations reported {details.get('unexpected_count')} unexpected rows "
                    f"for {rule_name} but listed {len(lines)}"
                )
            broken[rule_name] = lines
        return ChunkVerdict(rows=len(frame), broken=broken)

    def build_data_docs(self) -> str | None:
        """Render the stored validation runs as GX Data Docs; return the index path."""
        if self.site_name not in {s["site_name"] for s in self.context.get_docs_sites_urls()}:
            return None
        urls = self.context.build_data_docs(site_names=[self.site_name])
        return urls.get(self.site_name, "").removeprefix("file://") or None


def describe_rules(table_name: str) -> list[tuple[str, str]]:
    """(rule name, what was expected) for every row rule of a table, for people."""
    return [(rule.name, rule.expected) for rule in rules_for(table_name)]


__all__ = [
    "KEY_OCCURRENCE",
    "ORDER_ORDERED_AT",
    "SOURCE_LINE",
    "UTF8_VALID",
    "ColumnParseCount",
    "ContractValidator",
    "Rule",
    "build_suite",
    "describe_rules",
    "frame_columns",
    "given_column",
    "missing_required_columns",
    "rules_for",
    "suite_name",
    "unusable_columns",
]
