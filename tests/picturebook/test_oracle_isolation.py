"""The oracle is for tests and benchmarks: no product module imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("core", "engine", "adapters", "storage", "bot", "training")


def imports_oracle(path: Path) -> bool:
    """Whether a module imports picturebook.oracle anywhere in it, in any spelling."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name.startswith("picturebook.oracle") for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("picturebook.oracle"):
                return True
            if node.module == "picturebook" and any(a.name == "oracle" for a in node.names):
                return True
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            # importlib.import_module("picturebook.oracle") and __import__ alike
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if any(isinstance(a, str) and a.startswith("picturebook.oracle") for a in args):
                return True
    return False


def test_the_check_sees_each_spelling(tmp_path: Path) -> None:
    for line in (
        "import picturebook.oracle",
        "from picturebook import oracle",
        "from picturebook.oracle import read",
        "import importlib\nimportlib.import_module('picturebook.oracle')",
    ):
        module = tmp_path / "m.py"
        module.write_text(f"def f():\n    {line.replace(chr(10), chr(10) + '    ')}\n")
        assert imports_oracle(module), line
    module.write_text("from picturebook import world\nimport picturebook.captions\n")
    assert not imports_oracle(module)


def test_no_product_module_imports_the_oracle() -> None:
    modules = [path for package in PRODUCT for path in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 100
    assert [str(p.relative_to(ROOT)) for p in modules if imports_oracle(p)] == []
