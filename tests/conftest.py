"""Suite-wide settings: strict rank promotion (DESIGN.md) and a hypothesis profile."""

import os


def _pin_xdist_worker() -> None:
    """Give each pytest-xdist worker its own cores. XLA:CPU sizes its thread pools to every
    core it sees; two workers sharing both cores spend much of their time contending."""
    worker, count = (
        os.environ.get("PYTEST_XDIST_WORKER"),
        os.environ.get("PYTEST_XDIST_WORKER_COUNT"),
    )
    if not worker or not count or not hasattr(os, "sched_setaffinity"):
        return
    cpus, count = sorted(os.sched_getaffinity(0)), int(count)
    if count > 1 and len(cpus) >= count:
        os.sched_setaffinity(0, cpus[int(worker.removeprefix("gw")) % count :: count])


_pin_xdist_worker()  # before jax starts its thread pools


# Most tests run tiny programs for a few updates: their time is XLA's compile, not the run.
# The suite builds with ``tests.xla.SUITE_FLAGS``: LLVM -O0 (PPO's contract program:
# 8.4 s -> 4.9 s) and XLA:CPU's elemental emitters (the kernels' property tests, the nets,
# buffers and environments: 209 -> 135 s on one core). Tests that compare two programs bit
# for bit build with the fusion emitters users get (``tests.xla.BITWISE``), and tests whose
# run time dominates ask for XLA's default optimised build at LLVM -O1
# (``tests.xla.OPTIMIZED``: as fast to run as -O3, ~40% less to compile; notebook kernels
# too). Float results may differ in the last bits between builds, never within one.
# Subprocesses (the CLI) inherit the setting through the environment.
from tests.xla import SUITE_FLAGS  # noqa: E402  (imports jax; XLA reads its flags later)

os.environ["XLA_FLAGS"] = " ".join([*SUITE_FLAGS, os.environ.get("XLA_FLAGS", "")]).strip()

# The suite keeps JAX's own (rolled) Threefry lowering: at -O0 the unrolled one that
# ``import purerl`` installs (``purerl.threefry``: faster to build and run at XLA's default
# -O3) made the contract module slower to compile, 230 -> 257 s and 249 -> 280 s (one core
# each, cores swapped), and changed the learning tests' time by nothing measurable (SAC and
# TRPO 208 vs 212 s). Both lowerings give the same bits; tests/test_threefry.py checks ours.
os.environ.setdefault("PURERL_JAX_THREEFRY", "1")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Imported here so that its XLA flag (purerl.xla_flags) is set before any test starts JAX's
# backend: the suite builds programs as users' are built.
import purerl  # noqa: E402, F401

jax.config.update("jax_numpy_rank_promotion", "raise")

# 30 examples per property (was 40; the suite had to fit 15 minutes with the language-model
# algorithms added): PURERL_HYPOTHESIS_EXAMPLES=200 for a deeper search.
settings.register_profile(
    "purerl",
    max_examples=int(os.environ.get("PURERL_HYPOTHESIS_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile("purerl")


# The longest modules first (worker-seconds on a fresh clone, 2026-12-07), so that
# pytest-xdist hands out the short ones last and both workers finish together (longest
# processing time first). It takes effect only with ``--no-loadscope-reorder`` (the
# Makefile passes it): by default ``--dist loadscope`` sorts modules by their number of
# tests, which put the many small property-test modules first and the long learning-test
# and notebook modules last, one worker running alone for the final ~40 s. Modules not
# listed (under 8 s each, 54 s in all) follow in collection order.
LONGEST_FIRST = (
    "tests/algos/test_contract.py",  # 162 s
    "tests/test_notebooks.py",  # 147 s
    "tests/algos/test_dqn.py",  # 147 s
    "tests/algos/test_trpo.py",  # 86 s
    "tests/algos/test_sac_learning.py",  # 80 s
    "tests/algos/test_rlhf_ppo.py",  # 69 s
    "tests/experiment/test_distributed.py",  # 67 s
    "tests/algos/test_ppo_learning.py",  # 65 s
    "tests/algos/test_contract_lm.py",  # 64 s
    "tests/algos/test_td3_ddpg_learning.py",  # 53 s
    "tests/experiment/test_cli.py",  # 46 s
    "tests/algos/test_grpo.py",  # 34 s
    "tests/algos/test_tabular.py",  # 33 s
    "tests/algos/test_pg.py",  # 29 s
    "tests/experiment/test_checkpoint.py",  # 28 s
    "tests/experiment/test_sweep.py",  # 26 s
    "tests/kernels/test_preference.py",  # 25 s
    "tests/algos/test_sft.py",  # 24 s
    "tests/algos/test_reward_model.py",  # 22 s
    "tests/envs/test_contract.py",  # 19 s
    "tests/algos/test_offpolicy.py",  # 15 s
    "tests/envs/test_envs.py",  # 15 s
    "tests/kernels/test_policy.py",  # 13 s
    "tests/test_readme.py",  # 12 s
    "tests/test_transformer.py",  # 10 s
    "tests/kernels/test_tabular.py",  # 10 s
    "tests/kernels/test_returns.py",  # 9 s
    "tests/kernels/test_value.py",  # 9 s
    "tests/kernels/test_distributions.py",  # 8 s
    "tests/test_buffers.py",  # 8 s
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable
