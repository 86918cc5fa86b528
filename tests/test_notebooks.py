"""Notebooks in notebooks/ execute top to bottom without errors."""

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from tests.xla import optimized_flags

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
# Notebooks that read PURERL_NOTEBOOK_QUICK and run a reduced version here: their few
# updates are compile-bound, so their kernel keeps the suite's build (tests.xla.SUITE_FLAGS).
QUICK = {"llm_rl", "compose"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch, tmp_path):
    """Run in a kernel that builds programs as the learning tests do (LLVM -O1, not the
    suite's -O0): the notebooks' training is run-bound. -O1 runs as fast as users' -O3
    and compiles faster, so the quickstart's 2-minute bound is checked a few seconds
    generously. A notebook in ``QUICK`` runs its reduced version at the suite's build.

    The kernel talks over Unix sockets in ``tmp_path``, not TCP: jupyter_client picks its
    TCP ports by binding port 0 and releasing it, and another process of the suite can take
    one before the kernel binds it (CI saw ``Address already in use``, the kernel died)."""
    if path.stem in QUICK:
        monkeypatch.setenv("PURERL_NOTEBOOK_QUICK", "1")
    else:
        monkeypatch.setenv("XLA_FLAGS", optimized_flags())
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    sockets = Config({"KernelManager": {"transport": "ipc", "ip": str(tmp_path / "kernel")}})
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        config=sockets,
    ).execute()
    elapsed = time.perf_counter() - start
    print(f"{path.name}: executed in {elapsed:.1f} s")
    if path.stem == "quickstart":
        assert elapsed < 120, f"the quickstart must run in under 2 minutes, took {elapsed:.0f} s"
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot was drawn"
