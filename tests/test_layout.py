"""The house's layout holds: no import cycle anywhere in the package, the library never
imports the command line, no module is over 500 lines but the generated ones, the
generated sync code is what its async source makes, and the record tests pass under
``python -O`` (the code generators' guards are checks that raise, not asserts)."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "backtest_store"
MAX_LINES = 500
GENERATED = "# Generated from "


def modules() -> dict[str, Path]:
    """Each module of the package by its dotted name (a package by its own name)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in it (a function's lazy
    import counts: it is a cycle waiting for its first call). ``from a import b`` is an
    import of the module ``a.b`` when there is one, else of ``a``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif node.module in known:
                    found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return groups


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_walk_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from backtest_store.schema import files\n"
        "def f():\n    from backtest_store.errors import ValidationError\n"
    )
    found = imports(source, modules())
    assert found == {"backtest_store.schema.files", "backtest_store.errors"}


def test_no_import_cycle_anywhere_in_the_package() -> None:
    assert cycles(graph()) == []


def test_the_library_never_imports_the_command_line() -> None:
    offenders = {
        name: sorted(i for i in imported if i.startswith("backtest_store.cli"))
        for name, imported in graph().items()
        if not name.startswith("backtest_store.cli")
    }
    assert {name: cli for name, cli in offenders.items() if cli} == {}


def test_only_the_migration_runner_reads_the_sql_files() -> None:
    """``schema.files`` reads sql/: only the migration runner (the schema package, its
    public face ``migrations`` and the schema commands) imports it. The rules, statuses
    and units the DAO words its errors with are ``rules.py``'s, proven equal to the
    catalog by tests/test_catalog.py, never parsed out of a migration at run time."""
    readers = {
        name for name, imported in graph().items() if "backtest_store.schema.files" in imported
    }
    allowed = {"backtest_store.migrations", "backtest_store.cli.schema"}
    assert {n for n in readers if not n.startswith("backtest_store.schema")} <= allowed, readers
    for name, path in modules().items():
        if name.startswith("backtest_store.schema") or name in allowed:
            continue
        assert "migrations_dir" not in path.read_text(encoding="utf-8"), name


# The library's inside: what the faces reach only through the stores and public names
INSIDE = ("operations", "tables", "json_policy", "schema", "preparer", "codegen",
          "convert", "columnar", "driver", "aio_driver", "copy_writer", "store_base",
          "aio_base")  # fmt: skip
FACES = ("backtest_store.cli", "backtest_store.web", "backtest_store.mcp_server")


def test_the_faces_import_the_library_s_public_names_and_the_presentation_layer_only() -> None:
    """The CLI, the web view and the MCP server read the store through its methods and
    the public modules (the package's names, ``facts``, ``migrations``, the records,
    errors and the presentation modules: metrics, documents, serialize, pairs, lookup,
    charts, report, tearsheet, assessment). The schema commands (``cli/schema.py``) are
    the migration runner's own command line."""
    inside = {f"backtest_store.{name}" for name in INSIDE}
    reached = {
        name: sorted(i for i in imported if i in inside or any(i.startswith(f"{m}.") for m in inside))
        for name, imported in graph().items()
        if name.startswith(FACES) and name != "backtest_store.cli.schema"
    }  # fmt: skip
    assert {name: found for name, found in reached.items() if found} == {}
    assert any(n.startswith("backtest_store.web") for n in reached)  # the faces were seen


def test_no_face_imports_another_but_to_start_it() -> None:
    """What two faces share (the list's state, the HTTP gate, ids and prefixes) is the
    presentation layer's, not one face's: the MCP server never imports the web view. Only
    the command line starts the others (``serve``, ``mcp``)."""
    starts = {("backtest_store.cli.serve", "backtest_store.web"),
              ("backtest_store.cli.mcp", "backtest_store.mcp_server")}  # fmt: skip
    crossed = sorted(
        (name, i) for name, imported in graph().items() if name.startswith(FACES)
        for i in imported for face in FACES
        if (i == face or i.startswith(f"{face}.")) and not name.startswith(face)
        and (name, face) not in starts
    )  # fmt: skip
    assert crossed == []


def test_dev_code_is_in_one_place_that_the_others_import() -> None:
    """devkit/ is what tests, bench and tools share: it imports none of them, and bench
    and tools import no test module (only devkit and the package)."""

    def imported(folder: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for path in sorted((ROOT / folder).rglob("*.py")):
            names: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
            out[str(path.relative_to(ROOT))] = names
        return out

    assert {p: n & {"tests", "bench", "tools"} for p, n in imported("devkit").items()
            if n & {"tests", "bench", "tools"}} == {}  # fmt: skip
    for folder in ("bench", "tools"):
        assert {p: n for p, n in imported(folder).items() if "tests" in n} == {}


# Text that is a SQL statement or clause, as a built string's constant parts show it
SQL_TEXT = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE FROM\b"
    r"|\b(CREATE|ALTER|DROP)\s+(TABLE|INDEX|VIEW|FUNCTION|TRIGGER)\b|\bUNION ALL\b"
    r"|\bWITH\s+\w+\s+AS\s*\(|\bCASE WHEN\b|\bIS NOT DISTINCT FROM\b|\bCOPY\s+\S+"
    r"|\bGROUP BY\b|\bORDER BY\b|\bWHERE\b",
    re.S,
)


def sql_made_by_formatting(source: str) -> list[tuple[int, str]]:
    """Where ``source`` builds SQL text by string formatting: an f-string, ``%``, ``+``,
    ``str.format`` or ``str.join`` on text that reads as SQL, and any ``get_sql`` (a
    custom pypika term writes its SQL by hand)."""

    def text(node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        return None

    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        parts: list[ast.AST] = []
        if isinstance(node, ast.JoinedStr) and any(
            isinstance(v, ast.FormattedValue) for v in node.values
        ):
            parts = [node]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            parts = [node.left, node.right]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("format", "join")):  # fmt: skip
            parts = [node.func.value]
        elif isinstance(node, ast.FunctionDef) and node.name == "get_sql":
            found.append((node.lineno, "get_sql"))
        for part in parts:
            written = text(part)
            if written and SQL_TEXT.search(written):
                found.append((getattr(node, "lineno", 0), written[:60]))
    return found


def test_the_sql_finder_finds_sql_made_by_formatting() -> None:
    made = sql_made_by_formatting(
        'a = f"SELECT {x} FROM t"\n'
        'b = "DELETE FROM %s" % t\n'
        'c = "SELECT * FROM " + t\n'
        'd = "UPDATE {} SET a = 1".format(t)\n'
        'e = " UNION ALL ".join(parts)\n'
        "class T:\n    def get_sql(self): ...\n"
    )
    assert [line for line, _ in made] == [1, 2, 3, 4, 5, 7]
    assert (
        sql_made_by_formatting(
            'sql.SQL("SELECT {} FROM t").format(sql.Identifier(n))\n'  # composed, not formatted
            'm = f"SHARE UPDATE EXCLUSIVE on {table}"\n'
            'q = "SELECT a FROM t WHERE b = %s"\n'
        )
        == []
    )


def test_no_sql_is_made_by_string_formatting_in_the_package() -> None:
    """Statements are pypika's, and psycopg.sql composes where identifiers or COPY need
    it: no module writes SQL text by formatting strings."""
    made = {
        name: found
        for name, path in modules().items()
        if (found := sql_made_by_formatting(path.read_text(encoding="utf-8")))
    }
    assert made == {}


def test_no_module_is_over_500_lines_but_the_generated_ones() -> None:
    over = {}
    for directory in ("src", "bench", "tools", "tests"):
        for path in sorted((ROOT / directory).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if text.startswith(GENERATED):
                continue
            lines = text.count("\n")
            if lines > MAX_LINES:
                over[str(path.relative_to(ROOT))] = lines
    assert over == {}


def test_the_generated_sync_modules_are_current_and_say_so() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "async_to_sync.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    for name, source in (("store.py", "aio.py"), ("store_base.py", "aio_base.py"),
                         ("driver.py", "aio_driver.py")):  # fmt: skip
        first = (PACKAGE / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(GENERATED + source), first


@pytest.mark.slow
def test_the_record_tests_pass_under_python_O() -> None:
    """``python -O`` strips asserts: the code generators' guards must still refuse, and the
    records still be made, validated and read back as under plain python (through the sync
    store: the async one runs the same generated code)."""
    tests = [
        "tests/test_row_makers.py",
        "tests/test_refused.py",
        "tests/test_stored.py",
        "-k",
        "not async",
    ]
    probe = subprocess.run([sys.executable, "-O", "-c", "assert False"], capture_output=True)
    assert probe.returncode == 0  # this interpreter does strip asserts under -O
    done = subprocess.run(
        [sys.executable, "-O", "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BACKTEST_STORE_TEST_DB": "bt_test_optimized"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout


STORE_MODULES = {"aio.py", "store.py", "aio_base.py", "store_base.py"}


def test_a_store_method_s_name_is_written_in_one_module_outside_the_store() -> None:
    """The operation that checks a method's arguments names the method in its errors; no
    other module writes that name as a string (the MCP tools are named by their methods,
    and the store calls the operation). A CLI command's name (``add_parser``) is the
    command line's own contract and is not counted, nor a name that is also an argument's
    (``backtest_ids``: a method, and the argument of ``compare_backtests`` an error names)."""
    from backtest_store.aio import AsyncBacktestStore

    methods = {n for n in vars(AsyncBacktestStore) if not n.startswith("_")}
    arguments = {p for m in methods if callable(f := getattr(AsyncBacktestStore, m))
                 for p in inspect.signature(f).parameters}  # fmt: skip
    methods -= arguments
    written: dict[str, set[str]] = {}
    for name, path in modules().items():
        if path.parent == PACKAGE and path.name in STORE_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        commands = {
            id(node.args[0]) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_parser" and node.args
        }  # fmt: skip
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and node.value in methods
                    and id(node) not in commands):  # fmt: skip
                written.setdefault(str(node.value), set()).add(name)
    assert written["list_backtests"] == {"backtest_store.operations.backtests"}  # where it is
    assert {m: sorted(w) for m, w in written.items() if len(w) > 1} == {}


def test_the_readme_is_a_newcomer_s_page_and_the_rest_is_in_docs() -> None:
    """Within 400 lines: the two commands, the API by example, the map, and a link to each
    page of docs/ (operations, Citus, the web view, failures, performance live there)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.count("\n") <= 400
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", readme))
    assert linked == pages


def test_the_readme_map_names_files_that_exist_and_every_module_of_the_package() -> None:
    """README's "What is where" names real paths, and leaves no module of the package out."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## What is where\n\n```\n", 1)[1].split("```", 1)[0]
    named: set[Path] = set()
    parents: list[tuple[int, Path]] = []
    for line in block.splitlines():
        if not line.strip() or line.startswith(" " * 30):
            continue  # a description carried onto the next line
        indent = len(line) - len(line.lstrip())
        field = line.strip().split("  ")[0].strip()
        while parents and parents[-1][0] >= indent:
            parents.pop()
        base = parents[-1][1] if parents else ROOT
        for name in field.split(", "):
            path = base / name.rstrip("/")
            assert path.exists(), f"README names {path.relative_to(ROOT)}, which does not exist"
            named.add(path)
            if name.endswith("/"):
                parents.append((indent, path))
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue  # private helpers (_extras.py) and __main__.py
        if path == PACKAGE / "__init__.py":
            continue
        in_named_folder = any(p in named for p in path.parents if PACKAGE in p.parents)
        assert path in named or in_named_folder, f"README's map leaves out {path.relative_to(ROOT)}"


def test_the_generator_rewrites_async_code_to_sync() -> None:
    from tools.async_to_sync import GeneratorError, convert

    source = '''"""An async module."""

from contextlib import asynccontextmanager


class AsyncBacktestStore:
    """Uses an AsyncConnection."""

    @asynccontextmanager
    async def run(self, conn):  # AsyncConnection in a comment
        if True:  # ASYNC
            await conn.sleep()
        else:
            conn.wait()
        async with conn.transaction():
            async for row in conn.rows():
                yield await conn.use(row)
'''
    out = convert(source, "# generated", '"""A sync module."""')
    assert out.startswith('# generated\n"""A sync module."""')
    assert "async" not in out.replace("asynccontextmanager", "") and "await" not in out
    assert "class BacktestStore:" in out and "@contextmanager" in out
    assert '"""Uses an Connection."""' in out and "# Connection in a comment" in out
    assert "conn.wait()" in out and "sleep" not in out  # the marked branch: its else only
    assert "with conn.transaction():" in out and "yield conn.use(row)" in out
    with pytest.raises(GeneratorError, match="comprehension"):
        convert('"""d"""\nasync def f(x):\n    return [y async for y in x]\n', "#", '""" """')
