"""labelmill.quality is a standalone library: numpy/scipy/pandas only, a curated surface."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import labelmill.quality as quality

PACKAGE = Path(quality.__file__).parent
ALLOWED_THIRD_PARTY = {"numpy", "pandas", "scipy"}


def test_imports_nothing_else_from_labelmill_or_beyond_numpy_scipy_pandas() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative import inside the package
                    continue
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                stdlib = root in sys.stdlib_module_names
                if not (stdlib or root in ALLOWED_THIRD_PARTY):
                    offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_public_surface_is_exported() -> None:
    assert sorted(quality.__all__) == sorted(set(quality.__all__))
    for name in quality.__all__:
        assert hasattr(quality, name), name


def test_every_public_name_stays_itself_after_every_submodule_is_imported() -> None:
    """Names load lazily; a submodule of the same name as a public function would replace it
    on the package once imported (``quality.aggregate`` the module, not the function)."""
    import importlib
    import types

    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem != "__init__":
            importlib.import_module(f"labelmill.quality.{path.stem}")
    for name in quality.__all__:
        assert not isinstance(getattr(quality, name), types.ModuleType), name
