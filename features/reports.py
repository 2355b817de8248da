"""What ingest tells people: the run report (JSON + GX Data Docs), the CLI summary, the contract text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from common.names import CONTRACT_VERSION, INPUT_TABLES
from features.contract import CONTRACT, Column
from features.validation import describe_rules

if TYPE_CHECKING:
    from features.ingest import IngestResult
    from features.validation import ContractValidator

TOP_RULES = 10


def write_report(result: IngestResult, run_dir: Path, validator: ContractValidator) -> Path:
    """Write `report.json` and the GX Data Docs of the run's validations into `run_dir`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    report_path = run_dir / "report.json"
    result.report_path = str(report_path)
    if any(validator.outcomes.values()):
        result.data_docs_path = validator.build_data_docs()
    report = result.to_dict()
    report["invariant"] = {
        t.table: {"read": t.read, "loaded_plus_quarantined": t.loaded + t.quarantined}
        for t in result.tables
    }
    for table in report["tables"]:
        table["broken_rules"] = table["broken_rules"][:TOP_RULES]
    report_path.write_text(json.dumps(report, indent=2, default=str))
    return report_path


def summary_table(result: IngestResult) -> Table:
    """The short per-table table the `ingest` command prints."""
    table = Table(title=f"ingest {result.run_id} (contract v{result.contract_version})")
    for heading in ("table", "read", "loaded", "quarantined", "inserted", "replaced", "unchanged"):
        table.add_column(heading, justify="left" if heading == "table" else "right")
    for counts in result.tables:
        table.add_row(
            counts.table,
            *(
                f"{value:,}"
                for value in (
                    counts.read,
                    counts.loaded,
                    counts.quarantined,
                    counts.inserted,
                    counts.replaced,
                    counts.unchanged,
                )
            ),
        )
    return table


def languages_table(result: IngestResult) -> Table | None:
    """Feedback texts per language and which scorer read them ("none": no sentiment)."""
    by_language = result.sentiment.get("by_language") if result.sentiment else None
    if not by_language:
        return None
    table = Table(title="feedback texts by language")
    for heading in ("language", "rows", "distinct texts", "scorer"):
        table.add_column(heading, justify="left" if heading in ("language", "scorer") else "right")
    for language, entry in by_language.items():
        table.add_row(
            language,
            f"{entry['rows']:,}",
            f"{entry['distinct_texts']:,}",
            entry["scorer"] or "none (no sentiment)",
        )
    return table


def top_rules_table(result: IngestResult, limit: int = 5) -> Table | None:
    """The most broken rules of the run, with the first example line of each."""
    broken = sorted(
        ((counts.source_file, rule) for counts in result.tables for rule in counts.broken_rules),
        key=lambda item: -item[1].rows,
    )[:limit]
    if not broken:
        return None
    table = Table(title="most broken rules")
    for heading in ("rule", "rows", "first example"):
        table.add_column(heading, justify="right" if heading == "rows" else "left")
    for source_file, rule in broken:
        first = rule.examples[0]["source_line"] if rule.examples else "?"
        table.add_row(rule.rule, f"{rule.rows:,}", f"{Path(source_file).name} line {first}")
    return table


# --- the contract, for `churnguard contract` and the README ------------------------------------


def _constraint(column: Column) -> str:
    parts = []
    if column.allowed:
        parts.append("one of " + ", ".join(column.allowed))
    if column.minimum is not None:
        parts.append(f">= {column.minimum:g}")
    if column.maximum is not None:
        parts.append(f"<= {column.maximum:g}")
    return "; ".join(parts)


def contract_tables() -> list[Table]:
    """One rich table per contract table: columns, kinds, required, nullable, allowed values."""
    tables = []
    for name in INPUT_TABLES:
        contract = CONTRACT[name]
        table = Table(
            title=f"{name}{' (required)' if contract.required else ''} — key {contract.key}",
            caption=contract.description,
        )
        for heading in ("column", "kind", "required", "nullable", "allowed", "meaning"):
            table.add_column(heading)
        for column in contract.columns:
            table.add_row(
                column.name,
                column.kind,
                "yes" if column.required else "no",
                "yes" if column.nullable else "no",
                _constraint(column),
                column.description,
            )
        for column in contract.derived_columns:
            table.add_row(
                column.name, column.kind, "derived", "yes", _constraint(column), column.description
            )
        tables.append(table)
    return tables


def contract_markdown() -> str:
    """The README's contract section, generated from `features.contract` so it cannot drift."""
    lines = [
        f"## Input contract v{CONTRACT_VERSION}",
        "",
        "`churnguard ingest DATA_DIR` reads one file per table, `NAME.parquet` or `NAME.csv` "
        "(UTF-8 with a header). Only `orders` is required. Timestamps are ISO 8601; without an "
        "offset they are UTC (the warehouse stores naive UTC). Extra columns are ignored. "
        "`churnguard contract` prints this contract.",
        "",
    ]
    for name in INPUT_TABLES:
        contract = CONTRACT[name]
        required = " (required)" if contract.required else ""
        lines += [
            f"### `{name}`{required}",
            "",
            f"{contract.description} Key: `{contract.key}`.",
            "",
            "| column | kind | required | nullable | allowed | meaning |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for column in contract.columns:
            lines.append(
                f"| `{column.name}` | {column.kind} | {'yes' if column.required else 'no'} | "
                f"{'yes' if column.nullable else 'no'} | {_constraint(column)} | {column.description} |"
            )
        for column in contract.derived_columns:
            lines.append(
                f"| `{column.name}` | {column.kind} | derived at ingest | yes | "
                f"{_constraint(column)} | {column.description} |"
            )
        lines += ["", "Row rules (a row breaking any of them is quarantined):", ""]
        lines += [f"- `{rule}`: expected {expected}" for rule, expected in describe_rules(name)]
        lines.append("")
    lines += [
        "### What ingest does with bad data",
        "",
        "- A row that breaks a row rule goes to the `quarantine` table and to "
        "`CHURNGUARD_HOME/quarantine/RUN_ID.jsonl` with its table, source file, source line, raw "
        "values and every rule it broke. Source line: for CSV the header is line 1, so the first "
        "data row is line 2 (what an editor shows unless a quoted field spans lines); for Parquet "
        "the first row is line 1.",
        "- Duplicate keys within a file: the first copy (in file order) is loaded, every later copy "
        "is quarantined under `TABLE.KEY.unique`.",
        "- A delivery must belong to an order in the warehouse or in the same run; its "
        "`promised_at` and `delivered_at` may not be before the order's `ordered_at`.",
        "- A table that cannot be used at all (required column missing, empty, unreadable or "
        "truncated file, a column none of whose values parse) stops the run with exit code 2 and "
        "a message naming the file, the column and what was expected. A run is one DuckDB "
        "transaction: a failed run leaves the warehouse exactly as it was.",
        "- Re-ingesting is idempotent: rows are upserted by the table key; a changed row replaces "
        "the stored one (counted as replaced), an identical one is left alone (unchanged). A "
        "quarantined row never replaces a stored good one.",
        "- Every run reports, per table, read = loaded + quarantined, plus inserted, replaced and "
        "unchanged, the most broken rules with example rows (`CHURNGUARD_HOME/reports/"
        "ingest-RUN_ID/report.json`) and great-expectations Data Docs (`.../data_docs/index.html`); "
        "the `ingest_runs` table records each successful run.",
        "- `feedback.text_language` is the language each text is written in, detected offline at "
        "ingest (see Languages); `feedback.text_sentiment` is the score of that language's scorer "
        "(English: VADER's compound score; Japanese: the lexicon scorer), scored once at ingest "
        "(each distinct text once); the rating stays a separate column. A text in a language no "
        "scorer reads keeps an empty sentiment and is counted per language under "
        "`sentiment.rows_unsupported_language` in the report.",
        "",
    ]
    return "\n".join(lines)
