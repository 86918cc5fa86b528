"""The experiment tests start ``purerl`` processes that build the same small programs
again — a sweep and its resume, each restart after a kill -9, a run and its re-plot — so
those processes share one persistent XLA compilation cache (a folder per test session and
worker) and compile each program once. The pytest process itself does not write to it:
storing every program it builds cost more than the few it would find again."""

import pytest


@pytest.fixture(scope="session")
def _xla_cache_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("xla-cache")


@pytest.fixture(scope="module", autouse=True)
def _subprocesses_share_compiled_programs(_xla_cache_folder):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JAX_COMPILATION_CACHE_DIR", str(_xla_cache_folder))
        mp.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
        yield
