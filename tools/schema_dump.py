"""``make schema-dump``: print the schema a fresh ``migrate`` makes (devkit/schema_dump.py),
which the Makefile writes to schema.sql."""

from __future__ import annotations

import sys

from devkit.schema_dump import fresh_dump

if __name__ == "__main__":
    sys.stdout.write(fresh_dump())
