"""The committed notebooks are sources, not results: no outputs, no execution counts; each is
parameterised the papermill way, reads the warehouse only through the shared query layer, and
tells its story in markdown between the code."""

from __future__ import annotations

import nbformat
import pytest

from pipeline.commands.notebooks import PARAMETERS_TAG, notebooks, with_parameters

NOTEBOOKS = notebooks()


def test_there_are_the_four_curated_notebooks():
    assert [path.name for path in NOTEBOOKS] == ["01_web_vitals.ipynb", "02_error_triage.ipynb",
                                                 "03_funnels_and_retention.ipynb", "04_traffic.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_committed_notebook_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has outputs: clear them before committing"
            assert cell.execution_count is None, f"{path.name} cell {index} was executed: clear it before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_takes_project_and_time_range_as_parameters(path):
    notebook = nbformat.read(path, as_version=4)
    (parameters,) = [cell for cell in notebook.cells if PARAMETERS_TAG in cell.metadata.get("tags", [])]
    for name in ("PROJECT = ", "DAYS = ", "END = "):
        assert name in parameters.source
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_reads_through_the_query_layer_only(path):
    code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    assert "queries." in code and "open_project(" in code
    for raw in ("SELECT ", "client.query", "client.command", "clickhouse_connect"):
        assert raw not in code, f"{path.name} bypasses the query layer ({raw!r})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_is_written_to_be_read(path):
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    sections = [cell for cell in cells if cell.cell_type == "markdown" and "\n## " in "\n" + cell.source]
    assert len(sections) >= 4, f"{path.name}: a short narrative per section (## headings)"
    # no run of more than three code cells without a word in between
    run = 0
    for cell in cells:
        run = run + 1 if cell.cell_type == "code" else 0
        assert run <= 3, f"{path.name}: too much code without narrative"


def test_injected_parameters_follow_the_defaults():
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    injected = with_parameters(notebook, {"PROJECT": "shop", "DAYS": 1})
    index = next(i for i, cell in enumerate(injected.cells) if PARAMETERS_TAG in cell.metadata.get("tags", []))
    assert injected.cells[index + 1].source == "# injected parameters\nPROJECT = 'shop'\nDAYS = 1"
    assert len(injected.cells) == len(notebook.cells) + 1
