import json
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import static_page_text

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
# run before each notebook, outside its history: its own folder, an empty namespace, In[1]
FRESH = "import os\nos.chdir({folder!r})\nget_ipython().reset(new_session=True)"

pytestmark = pytest.mark.xdist_group("notebooks")  # one kernel for all under --dist loadgroup


@pytest.fixture(scope="session")
def kernel():
    """One Jupyter kernel per test process, shared by the notebooks (see :func:`run`).

    A fresh kernel would import cim again for every notebook; modules stay imported here,
    while every name a notebook defines is gone before the next one starts.
    """
    manager = AsyncKernelManager(kernel_name="python3")
    yield manager
    if manager.has_kernel:
        run_sync(manager.shutdown_kernel)(now=True)


def run(notebook, folder: Path, kernel) -> None:
    """Execute ``notebook`` in ``kernel`` as in a fresh one, in ``folder``; raise on error."""
    folder.mkdir(exist_ok=True)
    if kernel.has_kernel and not run_sync(kernel.is_alive)():
        run_sync(kernel.restart_kernel)(now=True)  # a notebook before this one killed it
    client = NotebookClient(
        notebook, km=kernel, timeout=120, resources={"metadata": {"path": str(folder)}}
    )
    with client.setup_kernel():  # starts the kernel on first use
        try:
            fresh = client.kc.execute(FRESH.format(folder=str(folder)), store_history=False)
            assert client.wait_for_reply(fresh)["content"]["status"] == "ok"
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
        finally:
            client.kc.stop_channels()


def inline_views(cells) -> list[tuple[str, str]]:
    """The views the notebook displayed inline: (their text form, their offline page)."""
    return [
        (out["data"].get("text/plain", ""), unescape(page))
        for cell in cells
        for out in cell.outputs
        for page in re.findall(r'srcdoc="([^"]*)"', out.get("data", {}).get("text/html", ""))
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean_runs_and_shows_its_views_offline(path, tmp_path, kernel):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "strip outputs"
    run(notebook, tmp_path, kernel)
    assert not any(out.get("output_type") == "error" for cell in code for out in cell.outputs)
    assert not list(tmp_path.iterdir()), "a notebook writes nothing into its own folder"
    views = inline_views(code)
    if any("cim.views." in cell.source for cell in code):
        assert views, "a notebook that uses cim.views shows at least one view inline"
    for text, page in views:  # the same page as export_html writes; test_views renders each
        static_page_text(page)
        assert text.startswith("<CityDeck: ") and len(text) < 1000, "layers named, not dumped"


def test_a_notebook_sees_no_name_the_one_before_defined(kernel, tmp_path):
    probe = "import json, os\nprint(json.dumps([os.getpid(), os.getcwd(), dir()]))"
    first = new_notebook(cells=[new_code_cell(f"left_over = 1\n{probe}")])
    second = new_notebook(cells=[new_code_cell(probe)])
    run(first, tmp_path / "first", kernel)
    run(second, tmp_path / "second", kernel)
    (pid, _, names_before), (pid_after, folder, names) = (
        json.loads(nb.cells[0].outputs[0]["text"]) for nb in (first, second)
    )
    assert pid_after == pid, "the same kernel ran both"
    assert "left_over" in names_before and "left_over" not in names
    assert folder == str(tmp_path / "second")
    assert second.cells[0].execution_count == 1
