"""The house's rules (ARCHITECTURE.md): layers, one meaning per module name, small modules."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "pipeline"
MAX_LINES = 600  # "no module over ~600 lines in the product code"


def product_modules() -> list[Path]:
    return sorted(path for root in (PIPELINE, REPO / "app") for path in root.rglob("*.py"))


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_two_modules_of_the_pipeline_share_a_base_name():
    places = defaultdict(list)
    for path in PIPELINE.rglob("*.py"):
        if path.name != "__init__.py":
            places[path.stem].append(str(path.relative_to(REPO)))
    shared = {name: where for name, where in places.items() if len(where) > 1}
    assert not shared, f"one name, several modules: {shared}"


def test_nothing_loose_at_the_pipelines_root_but_the_settings():
    loose = sorted(path.name for path in PIPELINE.glob("*.py"))
    assert loose == ["__init__.py", "settings.py"]


def test_no_product_module_is_over_600_lines():
    long = {str(path.relative_to(REPO)): lines for path in product_modules()
            if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these along their jobs: {long}"
