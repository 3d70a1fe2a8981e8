"""Cold imports stay light: ``import cim``, the address parser and ``cim --help`` load no heavy library.

Each check is one fresh interpreter under ``python -X importtime`` and asserts on the modules
it imported, never on time (``benchmarks/imports.py`` measures the time).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cim
import routing
from cim.cli import app
from cim.coverage import TARGET_DENSITY

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"osmnx", "pydeck", "rasterio", "sklearn", "skimage", "matplotlib", "numba"}


def imported(statement: str) -> tuple[set[str], str]:
    """The modules a fresh interpreter imports to run ``statement``, and what it printed."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }
    return names, done.stdout


def test_import_cim_loads_no_heavy_library():
    names, _ = imported("import cim")
    assert {n.split(".")[0] for n in names} & HEAVY == set()
    assert "cim.model" not in names and "cim.views" not in names


def test_the_flood_module_loads_numba_and_rasterio_only_when_a_dem_is_used():
    names, _ = imported("import cim.waterlogging")
    assert {n.split(".")[0] for n in names} & HEAVY == set()
    assert "cim.priority_flood" not in names


def test_the_address_parser_finds_its_table_without_the_sample_city():
    names, out = imported(
        "from cim.address import parse; print(parse('成都市武侯区桂溪街道天府大道北段1700号').town)"
    )
    assert out.strip() == "桂溪街道"
    assert {n.split(".")[0] for n in names} & (HEAVY | {"routing", "networkx"}) == set()
    assert {"cim.sample", "cim.model"} & names == set()


def test_cim_help_builds_every_command_without_the_analyses():
    names, out = imported("from cim.cli import app; app(['--help'], prog_name='cim')")
    assert "dispatch" in out and "vitals" in out
    assert {n.split(".")[0] for n in names} & (HEAVY | {"geopandas", "pandas", "routing"}) == set()
    assert not any(n.startswith("cim.") and n != "cim.cli" and n != "cim.lazy" for n in names)


def test_the_lazy_names_are_the_modules_own():
    from cim.model import CityModel
    from cim.sample import sample_city
    from cim.views import maps

    assert (cim.CityModel, cim.sample_city) == (CityModel, sample_city)
    assert cim.views.city_view is maps.city_view and "waterlogging_view" in dir(cim.views)
    assert {"CityModel", "sample_city", "views"} <= set(dir(cim))
    assert cim.vitals.__name__ == "cim.vitals"  # any submodule, as when cim imported them all
    with pytest.raises(AttributeError, match="no attribute 'sample_town'"):
        cim.sample_town  # noqa: B018


@pytest.mark.parametrize(
    ("command", "default"),
    [("dispatch", routing.SNAP_LIMIT_M), ("coverage", TARGET_DENSITY)],
)
def test_help_states_the_defaults_the_commands_use(command, default):
    result = CliRunner().invoke(app, [command, "--help"])
    assert f"{default:g} by default" in " ".join(result.output.replace("│", " ").split())
