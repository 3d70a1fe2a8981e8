"""The import structure: layers < routing < cim, the order inside cim, no cycle, and no
analysis reaching into the routing engine's internals."""

import re
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).parent.parent
ENGINE_INTERNALS = re.compile(
    r"\.engine\b|\b_Search\b|\b_Weights\b|routing\._engine|from routing import _engine"
    r"|routing\.compiled\b"
)


def test_imports_keep_the_layers_of_pyproject(capsys):
    """The contracts of ``[tool.importlinter]`` in pyproject.toml (they forbid cycles too)."""
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out


def test_no_analysis_or_benchmark_reaches_into_the_routing_engine():
    """cim and the benchmarks use Router's public methods (snap, cost_matrix, reach …) only."""
    sources = sorted((ROOT / "cim").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    assert len(sources) > 20
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ENGINE_INTERNALS.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_cli_shows_a_bug_as_a_bug_and_bad_input_as_one_line(invoke, tmp_path, monkeypatch):
    import cim.scenarios

    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(cim.scenarios, "flood_scenario", broken)
    crashed = invoke("flood", "--rain-mm-h", 60, "--hours", 1, "--out", tmp_path / "a")
    assert isinstance(crashed.exception, KeyError), crashed.output  # the traceback, not "error:"
    monkeypatch.undo()
    refused = invoke(
        "flood",
        "--rain-mm-h",
        60,
        "--hours",
        1,
        "--out",
        tmp_path / "b",
        "--dem",
        tmp_path / "none.tif",
    )
    assert refused.exit_code == 1 and refused.output.startswith("error: no such DEM")
