"""purerl: pure-JAX reinforcement-learning algorithm kernels.

Every algorithm is a pure ``train(config, key)`` compiled end to end with its environment,
so whole runs and seed × hyperparameter sweeps ``jit``, ``vmap`` and shard.
"""

import os


def _single_threaded_eigen() -> None:
    """Turn off XLA:CPU's multi-threaded Eigen pool unless the user chose otherwise.

    On this project's 2-core machines, programs made of many tiny ops (RL training loops)
    intermittently wedge inside that pool: every thread idle, ``block_until_ready`` never
    returns. The flag is the known workaround, costs nothing measurable here, and only
    affects the CPU backend. It takes effect when set before JAX starts its backend, i.e.
    when ``purerl`` is imported before the first JAX computation. Set
    ``PURERL_KEEP_XLA_FLAGS=1`` to leave ``XLA_FLAGS`` untouched.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if os.environ.get("PURERL_KEEP_XLA_FLAGS") or "xla_cpu_multi_thread_eigen" in flags:
        return
    os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()


_single_threaded_eigen()

__version__ = "0.1.0"
