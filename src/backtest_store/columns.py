"""Column facts: the SQL type, nullability and default of each record field.

The SQL in ``sql/`` defines the schema. The records repeat the facts the DAO
needs to validate input before anything is written (a varchar length, a
numeric precision and scale, a server default), attached to each field with
``typing.Annotated``. ``tests/test_catalog.py`` proves that these facts equal
the live catalog of a migrated database, column by column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Server defaults that the database computes (not constants).
NOW = "now()"
GEN_RANDOM_UUID = "gen_random_uuid()"
_COMPUTED = (NOW, GEN_RANDOM_UUID)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its type as ``format_type()`` prints it, and its limits."""

    kind: str  # uuid | varchar | text | integer | numeric | date | timestamptz | jsonb | boolean
    not_null: bool = False
    length: int | None = None  # varchar(length)
    precision: int | None = None  # numeric(precision, scale)
    scale: int | None = None
    default: Decimal | int | bool | str | None = None  # a constant server default
    server_default: str | None = None  # now() | gen_random_uuid()

    @property
    def sql_type(self) -> str:
        """The type as PostgreSQL's ``format_type()`` spells it."""
        if self.kind == "varchar":
            return f"character varying({self.length})"
        if self.kind == "numeric":
            return f"numeric({self.precision},{self.scale})"
        return {
            "timestamptz": "timestamp with time zone",
        }.get(self.kind, self.kind)

    @property
    def pg_type(self) -> str:
        """The type name psycopg's COPY ``set_types()`` takes."""
        return {"integer": "int4", "boolean": "bool"}.get(self.kind, self.kind)

    @property
    def default_sql(self) -> str | None:
        """The default as ``pg_get_expr()`` prints it, or None."""
        if self.server_default is not None:
            return self.server_default
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, str):
            return f"'{self.default}'::character varying"
        return str(self.default)

    @property
    def db_fills(self) -> bool:
        """True when the database computes the value if it is left out."""
        return self.server_default in _COMPUTED

    @property
    def numeric_limit(self) -> Decimal:
        """Smallest absolute value that overflows numeric(p, s) once rounded to s places."""
        assert self.precision is not None and self.scale is not None
        return Decimal(10) ** (self.precision - self.scale) - Decimal(5) * Decimal(10) ** -(
            self.scale + 1
        )

    def describe(self) -> str:
        """The limit in words, for error messages."""
        if self.kind == "varchar":
            return f"varchar({self.length}): at most {self.length} characters"
        if self.kind == "numeric":
            p, s = self.precision, self.scale
            bound = self.numeric_limit
            return f"numeric({p},{s}): absolute value below {bound} (rounds to {s} places)"
        if self.kind == "integer":
            return "integer: -2147483648 to 2147483647"
        return self.sql_type


def uuid(*, key: bool = False, not_null: bool = False) -> Column:
    return Column("uuid", not_null=key or not_null, server_default=GEN_RANDOM_UUID if key else None)


def varchar(length: int, *, not_null: bool = False, default: str | None = None) -> Column:
    return Column("varchar", not_null=not_null, length=length, default=default)


def text() -> Column:
    return Column("text")


def integer(*, not_null: bool = False, default: int | None = None) -> Column:
    return Column("integer", not_null=not_null, default=default)


def numeric(
    precision: int, scale: int, *, not_null: bool = False, default: str | None = None
) -> Column:
    return Column(
        "numeric",
        not_null=not_null,
        precision=precision,
        scale=scale,
        default=None if default is None else Decimal(default),
    )


def date(*, not_null: bool = False) -> Column:
    return Column("date", not_null=not_null)


def timestamptz(*, not_null: bool = False, now: bool = False) -> Column:
    return Column("timestamptz", not_null=not_null, server_default=NOW if now else None)


def jsonb(*, not_null: bool = False) -> Column:
    return Column("jsonb", not_null=not_null)


def boolean(*, default: bool | None = None) -> Column:
    return Column("boolean", default=default)
