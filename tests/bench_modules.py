"""Load a module of ``bench/`` from its file, for the tests of the benchmarks' helpers.

Not through ``sys.path``: with ``bench/`` on it, its modules (common, ppo, …) would shadow
others of the same name for every later test in the worker."""

import importlib.util
from pathlib import Path
from types import ModuleType


def load(name: str) -> ModuleType:
    """``bench/<name>.py`` as a module named ``bench_<name>``."""
    path = Path(__file__).parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
