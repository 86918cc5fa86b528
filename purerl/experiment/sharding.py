"""Shard the leading run axis of a sweep across ``jax.devices()``.

Runs are independent, so the vmapped program partitions along the run axis with no
communication: inputs are placed with ``NamedSharding(Mesh(devices, ("runs",)),
PartitionSpec("runs"))`` and XLA's SPMD partitioner keeps every intermediate sharded the
same way. A run count that does not divide the device count is padded by repeating the
last run; ``unpad`` drops the copies from the results.

With several processes (``distributed.py``) the mesh holds every process's devices: each
process places the runs of its own devices (every process holds the same inputs) and
``to_host`` gathers the results onto every process.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def run_mesh(devices: list | None = None) -> Mesh:
    return Mesh(np.array(devices or jax.devices()), ("runs",))


def padded_size(num_runs: int, num_devices: int) -> int:
    return -(-num_runs // num_devices) * num_devices


def pad_runs(tree: Any, num_runs: int, size: int) -> Any:
    """Grow every leaf's leading axis from ``num_runs`` to ``size`` by repeating the last run."""
    if size == num_runs:
        return tree
    index = jnp.minimum(jnp.arange(size), num_runs - 1)
    return jax.tree.map(lambda x: x[index], tree)


def unpad(tree: Any, num_runs: int) -> Any:
    return jax.tree.map(lambda x: x[:num_runs], tree)


def run_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (run) axis split across the mesh, other axes whole."""
    return NamedSharding(mesh, PartitionSpec("runs"))


def shard_runs(tree: Any, mesh: Mesh) -> Any:
    """Place every leaf with its leading (run) axis split across the mesh."""
    sharding = run_sharding(mesh)
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda x: _global_array(x, sharding), tree)


def _global_array(x: jax.Array, sharding: NamedSharding) -> jax.Array:
    """``x`` (the same on every process) as one array over every process's devices; each
    process supplies the slices of its own devices."""
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        data = _global_array(jax.random.key_data(x), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def to_host(tree: Any) -> Any:
    """Every leaf as a NumPy array, whole (gathered from every process when there are
    several)."""
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)
