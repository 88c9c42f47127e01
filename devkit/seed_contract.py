"""The contract, read from the Alembic revision this package replaces.

``tests/seed/013_add_backtest_persistence_models.txt`` is that revision as it
was handed over (its indentation lost in copying). This module re-indents it,
parses it with ``ast`` and turns every ``sa.Column``, foreign key and
``op.create_index`` into plain facts, so the catalog tests compare the live
database against the seed itself rather than against a copy typed by hand.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SEED = Path(__file__).parents[1] / "tests" / "seed" / "013_add_backtest_persistence_models.txt"


@dataclass(frozen=True)
class SeedColumn:
    name: str
    sql_type: str  # as format_type() prints it
    nullable: bool
    server_default: str | None
    primary_key: bool


@dataclass(frozen=True)
class SeedForeignKey:
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    ondelete: str


@dataclass(frozen=True)
class SeedIndex:
    name: str
    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Seed:
    tables: dict[str, list[SeedColumn]]
    foreign_keys: list[SeedForeignKey]
    indexes: list[SeedIndex]


def _source() -> str:
    # The copy lost all indentation. Statements only start lines inside the two
    # function bodies; continuation lines sit inside brackets, where
    # indentation does not matter. So indenting every line of a body is enough.
    lines = SEED.read_text(encoding="utf-8").splitlines()[1:]  # line 1: a file-size banner
    out, in_body = [], False
    for line in lines:
        if line.startswith("def "):
            in_body = True
            out.append(line)
        elif in_body:
            out.append("    " + line)
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _sql_type(call: ast.Call) -> str:
    assert isinstance(call.func, ast.Attribute)
    name = call.func.attr
    kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    if name == "String":
        return f"character varying({kw['length']})"
    if name == "Numeric":
        return f"numeric({kw['precision']},{kw['scale']})"
    if name == "DateTime":
        assert kw.get("timezone") is True
        return "timestamp with time zone"
    return {
        "Uuid": "uuid",
        "Date": "date",
        "Integer": "integer",
        "Text": "text",
        "Boolean": "boolean",
        "JSON": "json",
    }[name]


def load() -> Seed:
    tree = ast.parse(_source())
    upgrade = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade")
    tables: dict[str, list[SeedColumn]] = {}
    fks: list[SeedForeignKey] = []
    indexes: list[SeedIndex] = []
    for stmt in upgrade.body:
        assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
        call = stmt.value
        assert isinstance(call.func, ast.Attribute)
        if call.func.attr == "create_table":
            table = ast.literal_eval(call.args[0])
            cols: list[SeedColumn] = []
            for arg in call.args[1:]:
                assert isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                kw = {k.arg: k.value for k in arg.keywords}
                if arg.func.attr == "Column":
                    assert isinstance(arg.args[1], ast.Call)
                    default = kw.get("server_default")
                    cols.append(
                        SeedColumn(
                            name=ast.literal_eval(arg.args[0]),
                            sql_type=_sql_type(arg.args[1]),
                            nullable=ast.literal_eval(kw["nullable"]) if "nullable" in kw else True,
                            server_default=None if default is None else ast.literal_eval(default),
                            primary_key=bool(
                                ast.literal_eval(kw.get("primary_key", ast.Constant(False)))
                            ),
                        )
                    )
                elif arg.func.attr == "ForeignKeyConstraint":
                    ref = ast.literal_eval(arg.args[1])
                    fks.append(
                        SeedForeignKey(
                            table=table,
                            columns=tuple(ast.literal_eval(arg.args[0])),
                            ref_table=ref[0].split(".")[0],
                            ref_columns=tuple(r.split(".")[1] for r in ref),
                            ondelete=ast.literal_eval(kw["ondelete"]),
                        )
                    )
            tables[table] = cols
        elif call.func.attr == "create_index":
            name, table, columns = (ast.literal_eval(a) for a in call.args)
            indexes.append(SeedIndex(name, table, tuple(columns)))
    return Seed(tables, fks, indexes)
