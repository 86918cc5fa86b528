"""purerl: pure-JAX reinforcement-learning algorithm kernels.

Every algorithm is a pure ``train(config, key)`` compiled end to end with its environment,
so whole runs and seed × hyperparameter sweeps ``jit``, ``vmap`` and shard.
"""

__version__ = "0.1.0"
