"""The README's code runs as written: every ```python block in order, and its ``cim`` commands.

The blocks run once, in order, in one namespace, in a temporary folder that holds links to
``sample_data/`` and ``tests/data/`` (the files the README reads), so whatever the examples
write stays out of the repository. ``cim.sample_city()`` returns the session's sample city to
save a load.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import cim
from cim.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
pytestmark = pytest.mark.xdist_group("readme")  # one worker runs the README once for all tests


def _blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


@pytest.fixture(scope="session")  # kept while xdist runs other modules' tests between these
def readme_run(tmp_path_factory, city):
    """The folder the README ran in, and each statement that failed, with its error."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "tests").mkdir()
    (folder / "sample_data").symlink_to(ROOT / "sample_data")
    (folder / "tests" / "data").symlink_to(ROOT / "tests" / "data")
    namespace: dict = {}
    failed = []
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(cim, "sample_city", lambda: city)
        for block in _blocks("python"):
            for statement in ast.parse(block).body:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(ast.Module([statement], []), "README.md", "exec"), namespace)
                except Exception as err:  # every failing statement is listed, not the first
                    line = ast.get_source_segment(block, statement).splitlines()[0]
                    failed.append(f"{line}  ->  {type(err).__name__}: {err}")
    return folder, failed


def test_every_python_statement_in_the_readme_runs(readme_run):
    folder, failed = readme_run
    assert failed == []
    assert (folder / "map.html").exists() and not (ROOT / "map.html").exists()


def test_the_own_city_is_saved_as_a_city_folder(readme_run):
    folder, failed = readme_run
    assert failed == []
    jinan = cim.CityModel.load(folder / "jinan")
    assert jinan.name == "jinan" and jinan.settings.home == "山东省济南市"
    assert set(jinan.layers) == {"roads", "facilities"}
    assert jinan.graph.number_of_edges() == len(jinan.layer("roads")) > 20_000
    assert jinan.metric_crs.to_epsg() == 4548  # CGCS2000 zone of 117°E, picked from the roads
    assert not (ROOT / "jinan").exists()


def test_the_own_city_commands_run_on_the_saved_city(readme_run, monkeypatch):
    folder, failed = readme_run
    assert failed == []
    monkeypatch.chdir(folder)
    section = _section("Your own city")
    commands = [
        line.split("#")[0]
        for block in _blocks("bash", section)
        for line in block.splitlines()
        if line.startswith(".venv/bin/cim ")
    ]
    assert commands and all("--city jinan" in command for command in commands)
    for command in commands:
        result = CliRunner().invoke(app, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}\n{result.output}"
    vitals = pd.read_csv(folder / "jinan_vitals" / "vitals.csv").set_index("indicator_id")
    assert set(vitals["unit_name"]) == {"jinan"}  # the saved city, not the Chengdu sample
    assert vitals.loc["road_network_density", "value"] > 0
