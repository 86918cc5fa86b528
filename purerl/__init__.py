"""purerl: pure-JAX reinforcement-learning algorithm kernels.

Every algorithm is a pure ``train(config, key)`` compiled end to end with its environment,
so whole runs and seed × hyperparameter sweeps ``jit``, ``vmap`` and shard.
``purerl.evaluate(env, act, key, num_episodes)`` runs whole episodes of any policy.

Importing purerl lowers JAX's Threefry hash unrolled on CPU as on other platforms (the
same random numbers, faster programs: ``purerl.threefry``); ``PURERL_JAX_THREEFRY=1``
keeps JAX's own CPU lowering. It also adds an XLA:CPU flag to ``XLA_FLAGS`` (copy insertion
with region analysis: off-policy programs ~2.5x faster, ``purerl.xla_flags``), so import
purerl before running JAX computations.
"""

from purerl import threefry as _threefry
from purerl import xla_flags as _xla_flags
from purerl.rollout import evaluate

_xla_flags.install()  # before a JAX backend starts (importing purerl starts none)
_threefry.install_unless_disabled()

__version__ = "0.1.0"
__all__ = ["evaluate"]
