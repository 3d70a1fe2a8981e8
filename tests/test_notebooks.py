import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import static_page_text

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def inline_pages(cells) -> list[str]:
    """The offline pages the notebook's views displayed inline (iframe srcdoc)."""
    html = [
        out["data"]["text/html"]
        for cell in cells
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]
    return [unescape(m) for text in html for m in re.findall(r'srcdoc="([^"]*)"', text)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean_runs_and_shows_its_views_offline(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "strip outputs"
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert not any(out.get("output_type") == "error" for cell in code for out in cell.outputs)
    assert not list(tmp_path.iterdir()), "a notebook writes nothing into its own folder"
    pages = inline_pages(code)
    if any("cim.views." in cell.source for cell in code):
        assert pages, "a notebook that uses cim.views shows at least one view inline"
    for page in pages:  # the same page as export_html writes; test_views renders every view
        static_page_text(page)
