"""The core runs without a terminal or a server: domain, store, services, export and qr load no UI library.

The full layer rules (and no import cycles) are import-linter contracts in pyproject.toml, run by .ci/run.
"""

from __future__ import annotations

import subprocess
import sys

import citizen

UI_LIBRARIES = ("textual", "aiohttp", "jinja2", "rich")


def test_the_core_imports_without_textual_aiohttp_or_jinja2():
    code = (
        "import sys\n"
        "import citizen.domain.models, citizen.store, citizen.services, citizen.services.merge\n"
        "import citizen.services.xlsform, citizen.services.demo, citizen.export, citizen.export.files\n"
        "import citizen.export.run, citizen.export.bundle, citizen.qr\n"
        f"print(' '.join(sorted(m for m in {UI_LIBRARIES!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the core loaded {out.stdout.strip()}"


def test_every_import_inside_a_function_names_a_module_that_exists():
    """Imports deferred to a function (for start-up time) are not run by lint-imports: check they still resolve."""
    import ast
    import importlib.util
    from pathlib import Path

    root = Path(citizen.__file__).parent
    missing = []
    for path in root.rglob("*.py"):
        package = ".".join(("citizen", *path.relative_to(root).with_suffix("").parts[:-1]))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.level:
                    name = importlib.util.resolve_name("." * inner.level + (inner.module or ""), package)
                    if importlib.util.find_spec(name) is None:
                        missing.append(f"{path.relative_to(root)}:{inner.lineno} {name}")
    assert not missing, missing


def test_every_import_inside_a_function_says_why():
    """An import belongs at the top of its module; one inside a function carries a comment (on it, or
    just above its group of imports) saying why: start-up time, an optional dependency, a cycle."""
    import ast
    from pathlib import Path

    root = Path(citizen.__file__).parent
    silent = []
    for path in root.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        spans = set()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                spans |= {(i.lineno, i.end_lineno) for i in ast.walk(node) if isinstance(i, (ast.Import, ast.ImportFrom))}
        ends = {end: start for start, end in spans}
        starts = {start: end for start, end in spans}
        for start, end in spans:
            first, last = start, end
            while first - 1 in ends:  # the group of imports this one stands in
                first = ends[first - 1]
            while last + 1 in starts:
                last = starts[last + 1]
            said = lines[first - 2].strip().startswith("#") or any("#" in line for line in lines[first - 1 : last])
            if not said:
                silent.append(f"{path.relative_to(root)}:{start}")
    assert not silent, sorted(silent)


def test_no_source_file_is_over_450_lines():
    """A file past 450 lines is split by meaning (STYLE: files stay small enough to read whole): the
    code and its tests alike."""
    from pathlib import Path

    root = Path(citizen.__file__).parent.parent
    files = [*(root / "citizen").rglob("*.py"), *(root / "tests").rglob("*.py")]
    long = {str(p.relative_to(root)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, long
