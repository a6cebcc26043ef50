"""The machine a benchmark ran on, as the bench scripts print it beside their figures."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    """Cores, CPU, Python and the load average now."""
    return {"cores": str(os.cpu_count()), "cpu": cpu_model(), "python": platform.python_version(),
            "load": load_average()}


def one_line() -> str:
    """:func:`machine` as one line: ``2 cores · AMD EPYC … · Python 3.11.7 · load average 0.81 0.68 0.82``."""
    facts = machine()
    return f"{facts['cores']} cores · {facts['cpu']} · Python {facts['python']} · load average {facts['load']}"
