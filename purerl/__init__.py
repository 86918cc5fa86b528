"""purerl: pure-JAX reinforcement-learning algorithm kernels.

Every algorithm is a pure ``train(config, key)`` compiled end to end with its environment,
so whole runs and seed × hyperparameter sweeps ``jit``, ``vmap`` and shard.
``purerl.evaluate(env, act, key, num_episodes)`` runs whole episodes of any policy.
"""

from purerl.rollout import evaluate

__version__ = "0.1.0"
__all__ = ["evaluate"]
