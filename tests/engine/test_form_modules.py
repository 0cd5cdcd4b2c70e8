"""Forms are peers: no form module imports another form module, only the shared bases (issue 17, item 1).

A form's tests live in primality/ (primality/kbn.py, proth.py, llr.py), its shared campaign rules and base
classes in the few modules below; a new form copies none of another form's code and imports none of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import darkreach_pipeline.forms as forms_package
from darkreach_pipeline.forms import FORM_CLASSES

FORMS_DIR = Path(forms_package.__file__).parent
SHARED = {"__init__", "base", "pair_base", "product_base", "kbn_limits"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_every_registered_form_lives_in_a_form_module() -> None:
    modules = {cls.__module__.rsplit(".", 1)[1] for cls in FORM_CLASSES}
    assert modules == {p.stem for p in FORMS_DIR.glob("*.py")} - SHARED


def test_no_form_module_imports_another() -> None:
    form_modules = {p.stem for p in FORMS_DIR.glob("*.py")} - SHARED
    for path in FORMS_DIR.glob("*.py"):
        if path.stem == "__init__":
            continue
        imported = {m.split(".")[2] for m in imported_modules(path) if m.startswith("darkreach_pipeline.forms.")}
        assert not imported & (form_modules - {path.stem}), f"{path.name} imports {imported & form_modules}"
