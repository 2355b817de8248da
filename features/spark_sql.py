"""Spark SQL from the catalogue's DuckDB SQL: one definition, transpiled (SQLGlot), never rewritten by hand.

SQLGlot carries most constructs across (windows, `count_if`, `FILTER (WHERE ...)`, interval
arithmetic, casts, `median`, null ordering). The ones where the two engines mean different things
are rewritten here, each pinned by a test in tests/features/test_spark_sql.py:

- `date_diff('second', a, b)` counts second boundaries in DuckDB; Spark's `datediff(SECOND, ..)`
  counts whole elapsed seconds. Both become `unix_seconds(b) - unix_seconds(a)` (the session runs
  in UTC, so a naive timestamp cast to TIMESTAMP keeps its instant).
- A decimal literal (`86400.0`) is DECIMAL in both, but DuckDB divides decimals as DOUBLE while Spark
  keeps DECIMAL(.., 6): six digits, not 1e-9. Spark gets DOUBLE literals.
- `arg_max(x, k)` skips rows where x is NULL in DuckDB; Spark's `max_by` does not: the key is
  nulled where x is. `arg_max_null` keeps them: plain `max_by`.
- A struct key compares a NULL field as the largest value in DuckDB, the smallest in Spark: each
  field is preceded by its `IS NULL` flag.
- `count_if(p)` is NULL in DuckDB when p is NULL on every row, 0 in Spark: it becomes a sum of
  1 / 0 / NULL.
- `epoch_us` is `unix_micros`; HUGEINT is DECIMAL(38, 0) (the keys built with it stay below 1e38).

Anything else DuckDB-only is left as it is, so Spark's analyzer refuses it by name
(`features.spark_snapshot.features_without_spark_form` turns that into a list of feature names).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"
TARGET_DIALECT = "spark"


def _as_timestamp(node: exp.Expression) -> exp.Expression:
    return exp.cast(node, exp.DataType.build("timestamp", dialect=TARGET_DIALECT))


def _spark_function(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _nulls_last(key: exp.Struct) -> exp.Struct:
    """A struct key ordered as DuckDB orders it: a NULL field ranks above every value (Spark ranks it
    below), so each field is preceded by its `IS NULL` flag (false < true)."""
    fields: list[exp.Expression] = []
    for field in key.expressions:
        name, value = field.this.name, field.expression
        fields.append(
            exp.PropertyEQ(
                this=exp.to_identifier(f"{name}_is_null"),
                expression=exp.Is(this=value.copy(), expression=exp.Null()),
            )
        )
        fields.append(exp.PropertyEQ(this=exp.to_identifier(name), expression=value))
    return exp.Struct(expressions=fields)


def _rewrite(node: exp.Expression) -> exp.Expression:
    """One node's Spark form (its children are already rewritten), or the node itself."""
    if isinstance(node, exp.DateDiff) and node.text("unit").upper() == "SECOND":
        return exp.paren(
            exp.Sub(
                this=_spark_function("unix_seconds", _as_timestamp(node.this)),
                expression=_spark_function("unix_seconds", _as_timestamp(node.expression)),
            )
        )
    if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
        return _spark_function("unix_micros", _as_timestamp(node.expressions[0]))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "arg_max_null":
        return exp.ArgMax(this=node.expressions[0], expression=node.expressions[1])
    if isinstance(node, exp.ArgMax):  # DuckDB's arg_max: rows with a NULL value do not compete
        value, key = node.this, node.expression
        if isinstance(key, exp.Struct):
            key = _nulls_last(key)
        unless_null = exp.Case(
            ifs=[exp.If(this=exp.not_(exp.Is(this=value.copy(), expression=exp.Null())), true=key)]
        )
        return exp.ArgMax(this=value, expression=unless_null)
    if isinstance(node, exp.CountIf):  # DuckDB: NULL when every input is NULL; Spark's count_if: 0
        condition = node.this
        counted = exp.Case(
            ifs=[
                exp.If(this=condition.copy(), true=exp.Literal.number(1)),
                exp.If(this=exp.not_(condition.copy()), true=exp.Literal.number(0)),
            ]
        )
        return exp.Sum(this=counted)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build("decimal(38, 0)", dialect=TARGET_DIALECT)
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this:
        return exp.cast(node.copy(), exp.DataType.build("double"))
    return node


def to_spark(duckdb_sql: str) -> str:
    """The same statement in Spark SQL (see the module docstring for what is rewritten and why)."""
    tree = sqlglot.parse_one(duckdb_sql, read=SOURCE_DIALECT)
    for node in reversed(
        list(tree.walk(bfs=False))
    ):  # children first: a parent sees their new form
        replacement = _rewrite(node)
        if replacement is not node:
            node.replace(replacement)
    return tree.sql(dialect=TARGET_DIALECT)


def expression_to_spark(duckdb_expression: str) -> str:
    """One expression (a feature's SQL) in Spark SQL."""
    return to_spark(f"SELECT {duckdb_expression}").removeprefix("SELECT ")
