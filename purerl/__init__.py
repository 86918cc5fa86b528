"""purerl: pure-JAX reinforcement-learning algorithm kernels.

Every algorithm is a pure ``train(config, key)`` compiled end to end with its environment,
so whole runs and seed × hyperparameter sweeps ``jit``, ``vmap`` and shard.
``purerl.evaluate(env, act, key, num_episodes)`` runs whole episodes of any policy.

Importing purerl lowers JAX's Threefry hash unrolled on CPU as on other platforms (the
same random numbers, faster programs: ``purerl.threefry``); ``PURERL_JAX_THREEFRY=1``
keeps JAX's own CPU lowering.
"""

from purerl import threefry as _threefry
from purerl.rollout import evaluate

_threefry.install_unless_disabled()

__version__ = "0.1.0"
__all__ = ["evaluate"]
