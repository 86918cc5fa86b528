"""Shard the leading run axis of a sweep across ``jax.devices()``.

Runs are independent, so the vmapped program partitions along the run axis with no
communication: inputs are placed with ``NamedSharding(Mesh(devices, ("runs",)),
PartitionSpec("runs"))`` and XLA's SPMD partitioner keeps every intermediate sharded the
same way. A run count that does not divide the device count is padded by repeating the
last run; ``unpad`` drops the copies from the results.
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
    return jax.device_put(tree, run_sharding(mesh))
