"""The import structure: layers < routing < cim, the order inside cim, no cycle, and no
analysis reaching into the routing engine's internals."""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).parent.parent


def test_imports_keep_the_layers_of_pyproject(capsys):
    """The contracts of ``[tool.importlinter]`` in pyproject.toml (they forbid cycles too)."""
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out
