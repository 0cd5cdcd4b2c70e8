"""The import rule: the engine (everything under darkreach_pipeline/ except definitions.py and cli.py) never
imports Dagster (dagster, dagster_*), the assets or the resources, and names no run tag: Dagster's vocabulary
lives on the Dagster side (resources/run_tags.py, resources/instance_config.py)."""

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "darkreach_pipeline"
ENTRY_POINTS = {"definitions.py", "cli.py"}  # the two modules that join the engine and the Dagster side
FORBIDDEN = ("dagster", "assets", "resources")
TAG_PREFIXES = ("dagster/", "darkreach/")  # run tags: dagster/partition, darkreach/campaign, ...


def forbidden_module(name: str) -> bool:
    top = name.split(".")[0]
    return top in FORBIDDEN or top.startswith("dagster_")


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import statement, at module level or inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (they may describe the Dagster side; code may not use its names)."""
    owners = [n for n in ast.walk(tree) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                                          ast.AsyncFunctionDef))]
    return {id(o.body[0].value) for o in owners
            if o.body and isinstance(o.body[0], ast.Expr) and isinstance(o.body[0].value, ast.Constant)}


def run_tag_strings(tree: ast.AST) -> list[tuple[int, str]]:
    skip = docstrings(tree)
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
            and n.value.startswith(TAG_PREFIXES)]


def violations(files: list[Path], root: Path = ENGINE.parent) -> list[str]:
    found = []
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(root)
        found += [f"{where}:{line}: imports {name}" for line, name in imported_modules(tree)
                  if forbidden_module(name)]
        found += [f"{where}:{line}: names the run tag {text!r}" for line, text in run_tag_strings(tree)]
    return found


def engine_files() -> list[Path]:
    return [p for p in sorted(ENGINE.rglob("*.py"))
            if not (p.parent == ENGINE and p.name in ENTRY_POINTS)]


def test_engine_imports_no_dagster_assets_or_resources_and_names_no_run_tag():
    files = engine_files()
    assert len(files) > 50 and ENGINE / "forms" / "kbn.py" in files  # every engine module, nested ones too
    assert violations(files) == []


def test_the_rule_catches_each_kind_of_breach(tmp_path):
    """The checker itself: each way of breaking the rule is reported, a docstring or a look-alike is not."""
    bad = tmp_path / "bad.py"
    bad.write_text('"""Mentions dagster/partition in prose: allowed."""\n'
                   "import dagster\n"
                   "import dagster_celery.app\n"
                   "from assets.campaign_progress import summarise\n"
                   "def f():\n"
                   "    from resources import run_tags\n"
                   "    return {'darkreach/campaign': 'x', 'dagster/max_runtime': '1'}\n"
                   "import dagsterish, assets_like\n"
                   "from darkreach_pipeline import settings\n")
    assert sorted(violations([bad], root=tmp_path)) == sorted([
        "bad.py:2: imports dagster", "bad.py:3: imports dagster_celery.app",
        "bad.py:4: imports assets.campaign_progress",
        "bad.py:6: imports resources", "bad.py:7: names the run tag 'darkreach/campaign'",
        "bad.py:7: names the run tag 'dagster/max_runtime'"])


VERIFIER_IMPORTS = {  # the Pietrzak verifier and its FFT: independent of the prover, the test and its arithmetic
    "proofs/pietrzak_verify.py": {"darkreach_pipeline.proofs.verifier_fft"},
    "proofs/verifier_fft.py": set(),
}


def project_imports(path: Path) -> set[str]:
    """The project's modules a file imports (a relative import counts as one, by its dots and name)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    relative = {"." * n.level + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
    return relative | {name for _, name in imported_modules(tree) if name.split(".")[0] == "darkreach_pipeline"}


def test_the_proof_verifier_and_its_fft_import_nothing_of_the_prover_the_test_or_its_arithmetic():
    for name, allowed in VERIFIER_IMPORTS.items():
        assert project_imports(ENGINE / name) == allowed, name
    users = [str(p.relative_to(ENGINE)) for p in sorted(ENGINE.rglob("*.py"))
             if any("verifier_fft" in module for module in project_imports(p))]
    assert users == ["proofs/pietrzak_verify.py"]  # the FFT is the verifier's alone


def test_the_verifier_rule_sees_absolute_relative_and_package_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import gmpy2\nfrom darkreach_pipeline.arith import ibdwt\nfrom ..primality import gerbicz\n"
                   "def f():\n    from darkreach_pipeline import proofs\n")
    assert project_imports(bad) == {"darkreach_pipeline.arith", "..primality", "darkreach_pipeline"}
