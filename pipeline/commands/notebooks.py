"""``vigil notebooks``: JupyterLab on the curated notebooks in ``notebooks/``, against the warehouse.

The notebooks read ``VIGIL_CLICKHOUSE_URL`` / ``VIGIL_CLICKHOUSE_DATABASE`` like every other
Vigil process (JupyterLab's kernels inherit this process's environment), and take their
parameters — project, time range — from the cell tagged ``parameters`` (the papermill
convention); :func:`pipeline.queries.open_project` turns those into a client and the query
layer's ``Filters``. :func:`execute` runs a notebook top to bottom with other parameters, as
the tests do.

JupyterLab is an optional extra: ``pip install -e '.[notebooks]'``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from pipeline import settings as settings_module
from pipeline.settings import REPO_ROOT, redacted

HELP = "open JupyterLab on the curated notebooks, against the warehouse"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")


NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PARAMETERS_TAG = "parameters"


def notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The curated notebooks, in their numbered order."""
    return sorted(path for path in directory.glob("*.ipynb") if not path.name.startswith("."))


def with_parameters(notebook: Any, parameters: dict[str, Any]) -> Any:
    """A copy of ``notebook`` (an nbformat node) with a cell setting ``parameters`` right after
    the cell tagged ``parameters`` — the defaults stay visible, the new values win."""
    import copy

    import nbformat

    result = copy.deepcopy(notebook)
    index = next((i for i, cell in enumerate(result.cells)
                  if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise ValueError("the notebook has no cell tagged 'parameters'; tag the cell that sets PROJECT, START, END")
    source = "# injected parameters\n" + "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    result.cells.insert(index + 1, cell)
    return result


def execute(path: Path, parameters: dict[str, Any] | None = None, *, timeout: int = 120) -> Any:
    """Run the notebook at ``path`` top to bottom with ``parameters``; returns the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` (with the failing cell and traceback)
    if a cell fails.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if parameters:
        notebook = with_parameters(notebook, parameters)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def main(args: argparse.Namespace) -> int:
    """Start JupyterLab on ``notebooks/`` (this process becomes JupyterLab)."""
    if importlib.util.find_spec("jupyterlab") is None:
        print("vigil notebooks: JupyterLab is not installed; install the notebooks extra: "
              "pip install -e '.[notebooks]'", file=sys.stderr)
        return 1
    config = settings_module.load()
    from pipeline.warehouse.client import WarehouseUnavailable, wait_until_ready

    try:
        wait_until_ready(config.clickhouse_url, timeout=3.0)
    except WarehouseUnavailable as error:
        print(f"vigil notebooks: warning: {error}", file=sys.stderr)
    print(f"vigil notebooks: JupyterLab on {NOTEBOOKS_DIR} (warehouse {redacted(config.clickhouse_url)}, "
          f"database {config.clickhouse_database})", flush=True)
    argv = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={NOTEBOOKS_DIR}", f"--port={args.port}",
            "--ServerApp.ip=127.0.0.1"]
    if args.no_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI machines run as root; JupyterLab refuses without it
    env = dict(os.environ, VIGIL_CLICKHOUSE_URL=config.clickhouse_url,
               VIGIL_CLICKHOUSE_DATABASE=config.clickhouse_database)
    # the notebooks import pipeline.*: make sure the kernels find it even without an editable install
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    os.execve(sys.executable, argv, env)
    return 0  # not reached
