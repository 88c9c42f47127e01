"""Generate the sync store from the async one: store.py from aio.py, store_base.py from
aio_base.py, driver.py from aio_driver.py (in src/backtest_store).

    python tools/async_to_sync.py           write the sync modules
    python tools/async_to_sync.py --check   exit 1 if one is not what its source makes

As psycopg 3 generates its sync code from its async code, the rewrite is driven by the
syntax tree of aio.py, and its edits are made in aio.py's text, so comments and layout
survive:

* ``async def``, ``async with`` and ``async for`` lose ``async``; ``await`` goes;
* names are mapped (``NAMES``): in code, in docstrings and in comments;
* ``if True:  # ASYNC`` keeps its body in the async store only: the sync store gets the
  ``else`` body in its place (or nothing, without an ``else``);
* the module docstring becomes the one ``FILES`` gives, under a first line that says the
  file is generated;
* imports left unused (asyncio, the writer thread's on the async side) are removed and
  the result formatted, by ruff with the project's settings.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "backtest_store"
# each hand-written async module, the sync module generated from it, and its docstring
FILES = {
    "aio.py": (
        "store.py",
        '''"""BacktestStore: the synchronous DAO over a psycopg Connection or ConnectionPool.

Generated from aio.py (AsyncBacktestStore), so the two stores cannot drift: the same
methods, the same transactions, the same errors. Run ``python tools/async_to_sync.py``
after changing aio.py; CI runs it with ``--check``.
"""''',
    ),
    "aio_base.py": (
        "store_base.py",
        '''"""The sync store's base: how a call gets its connection and its transaction, and runs
an operation's steps on it. Generated from aio_base.py; the methods are in store.py.
"""''',
    ),
    "aio_driver.py": (
        "driver.py",
        '''"""The sync driver: run an operation's steps on a psycopg Connection, in the transaction
the store chooses. Generated from aio_driver.py; COPY of an encoded DataFrame is sent
from a writer thread while the next chunk is encoded (copy_writer.py).
"""''',
    ),
}
MODULES = {"backtest_store.aio_driver": "backtest_store.driver",
           "backtest_store.aio_base": "backtest_store.store_base"}  # fmt: skip

NAMES = {
    "AsyncBacktestStore": "BacktestStore",
    "AsyncStoreBase": "StoreBase",
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncConnection": "Connection",
    "AsyncRawCursor": "RawCursor",
    "AsyncCursor": "Cursor",
    "AsyncIterator": "Iterator",
    "asynccontextmanager": "contextmanager",
}
HEADER = "# Generated from {source} by tools/async_to_sync.py: edit {source}, not this file."
MARKER = re.compile(r"#\s*ASYNC\b")
WORD = re.compile(r"\b(" + "|".join(sorted(NAMES, key=len, reverse=True)) + r")\b")


class GeneratorError(Exception):
    pass


def _offsets(source: bytes) -> list[int]:
    """The byte offset of each line's start (ast positions are 1-based lines, byte columns)."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _rename(text: str) -> str:
    return WORD.sub(lambda m: NAMES[m.group(1)], text)


def convert(text: str, header: str, docstring: str) -> str:
    """The sync module's text (before ruff) for the async module's ``text``."""
    source = text.encode()
    lines = source.splitlines(keepends=True)
    starts = _offsets(source)
    tree = ast.parse(text)

    def at(line: int, col: int) -> int:
        return starts[line - 1] + col

    edits: list[tuple[int, int, bytes]] = []
    kept: list[tuple[int, int]] = []  # byte spans replaced whole (marked branches)

    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _marked(node, lines):
            start = starts[node.lineno - 1]
            end = starts[node.end_lineno] if node.end_lineno is not None else len(source)
            replacement = b""
            if node.orelse:
                first = node.orelse[0]
                body_start = _else_line(node, lines) + 1
                last = node.orelse[-1].end_lineno or first.lineno
                indent = first.col_offset - node.col_offset
                body = b"".join(lines[body_start - 1 : last])
                replacement = _rename(_dedent(body, indent).decode()).encode()
                if b"async " in body or b"await " in body:
                    raise GeneratorError(f"line {node.lineno}: the else of # ASYNC is sync code")
            edits.append((start, end, replacement))
            kept.append((start, end))

    def inside_branch(position: int) -> bool:
        return any(a <= position < b for a, b in kept)

    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension) and node.is_async:
            raise GeneratorError(f"line {node.target.lineno}: an async comprehension has no "
                                 "sync form here: write the loop out")  # fmt: skip
        if isinstance(node, ast.AsyncFunctionDef | ast.AsyncWith | ast.AsyncFor):
            start = at(node.lineno, node.col_offset)
            if not source.startswith(b"async ", start):
                raise GeneratorError(f"line {node.lineno}: expected 'async' here")
            edits.append((start, start + len(b"async "), b""))
        elif isinstance(node, ast.Await):
            start = at(node.lineno, node.col_offset)
            edits.append((start, at(node.value.lineno, node.value.col_offset), b""))
        elif isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name in NAMES:
            line = lines[node.lineno - 1]
            found = re.search(rb"\b(class|def)\s+(" + node.name.encode() + rb")\b", line)
            if found is None:
                raise GeneratorError(f"line {node.lineno}: cannot find the name {node.name}")
            start = starts[node.lineno - 1] + found.start(2)
            edits.append((start, start + len(node.name), NAMES[node.name].encode()))
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES:
            line = lines[node.lineno - 1]
            found = re.search(rb"\bfrom\s+(" + re.escape(node.module.encode()) + rb")\b", line)
            if found is None:
                raise GeneratorError(f"line {node.lineno}: cannot find the module {node.module}")
            start = starts[node.lineno - 1] + found.start(1)
            edits.append((start, start + len(node.module), MODULES[node.module].encode()))
        elif isinstance(node, ast.Name) and node.id in NAMES:
            start = at(node.lineno, node.col_offset)
            edits.append((start, start + len(node.id), NAMES[node.id].encode()))
        elif isinstance(node, ast.Attribute) and node.attr in NAMES:
            assert node.end_lineno is not None and node.end_col_offset is not None
            end = at(node.end_lineno, node.end_col_offset)
            edits.append((end - len(node.attr), end, NAMES[node.attr].encode()))
        elif isinstance(node, ast.alias) and node.name in NAMES:
            start = at(node.lineno, node.col_offset)
            edits.append((start, start + len(node.name), NAMES[node.name].encode()))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.end_lineno is not None and node.end_col_offset is not None
            start, end = at(node.lineno, node.col_offset), at(node.end_lineno, node.end_col_offset)
            literal = source[start:end].decode()
            if WORD.search(literal):
                edits.append((start, end, _rename(literal).encode()))

    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT and WORD.search(token.string):
            (row, col), (end_row, end_col) = token.start, token.end
            start = starts[row - 1] + len(text.splitlines(True)[row - 1][:col].encode())
            end = starts[end_row - 1] + len(text.splitlines(True)[end_row - 1][:end_col].encode())
            edits.append((start, end, _rename(token.string).encode()))

    doc_node = tree.body[0]
    if not (isinstance(doc_node, ast.Expr) and isinstance(doc_node.value, ast.Constant)):
        raise GeneratorError("aio.py must start with its docstring")
    assert doc_node.end_lineno is not None and doc_node.end_col_offset is not None
    doc_end = at(doc_node.end_lineno, doc_node.end_col_offset)
    edits = [e for e in edits if not (e[0] < doc_end)]
    edits = [e for e in edits if (e[0], e[1]) in kept or not inside_branch(e[0])]
    edits.append((0, doc_end, (header + "\n" + docstring).encode()))

    out = source
    previous_start = len(source) + 1
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > previous_start:
            raise GeneratorError(f"overlapping edits at byte {start}")
        out = out[:start] + replacement + out[end:]
        previous_start = start
    return out.decode()


def _marked(node: ast.If, lines: list[bytes]) -> bool:
    return (
        isinstance(node.test, ast.Constant)
        and node.test.value is True
        and bool(MARKER.search(lines[node.lineno - 1].decode()))
    )


def _else_line(node: ast.If, lines: list[bytes]) -> int:
    """The line of the ``else:`` of a marked branch (1-based)."""
    last_body = node.body[-1].end_lineno or node.lineno
    for number in range(last_body + 1, node.orelse[0].lineno):
        if lines[number - 1].strip().startswith(b"else"):
            return number
    raise GeneratorError(f"line {node.lineno}: a marked branch needs a plain else:, not elif")


def _dedent(body: bytes, indent: int) -> bytes:
    out = []
    for line in body.splitlines(keepends=True):
        if line.strip() and not line.startswith(b" " * indent):
            raise GeneratorError(f"cannot dedent {line!r}")
        out.append(line[indent:] if line.strip() else line.lstrip(b" "))
    return b"".join(out)


def ruff(text: str, target: Path, *args: str) -> str:
    """The text through ruff (the project's settings), as the target file."""
    command = [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(target), "-"]
    done = subprocess.run(command, input=text, capture_output=True, text=True, cwd=ROOT)
    if done.returncode not in (0, 1) or not done.stdout:
        raise GeneratorError(f"{' '.join(command)} failed: {done.stderr}")
    return done.stdout


def generate(source: str) -> tuple[Path, str]:
    """The sync module generated from the async module ``source``: its path and text."""
    name, docstring = FILES[source]
    target = PACKAGE / name
    text = (PACKAGE / source).read_text(encoding="utf-8")
    text = convert(text, HEADER.format(source=source), docstring)
    text = ruff(text, target, "check", "--fix", "--select", "F401,I", "--quiet", "--exit-zero")
    return target, ruff(text, target, "format", "--quiet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a sync module is stale")
    args = parser.parse_args(argv)
    stale = []
    for source in FILES:
        try:
            target, text = generate(source)
        except GeneratorError as exc:
            print(f"async_to_sync: {source}: {exc}", file=sys.stderr)
            return 2
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if not args.check:
            if current != text:
                target.write_text(text, encoding="utf-8")
            continue
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), target.name, f"from {source}"
            )
            sys.stderr.writelines(diff)
            stale.append(f"src/backtest_store/{target.name}")
    if stale:
        print(
            f"async_to_sync: {', '.join(stale)} stale: run `python tools/async_to_sync.py`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
