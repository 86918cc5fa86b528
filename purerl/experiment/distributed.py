"""Sweeps over several processes — on one machine or across hosts — with ``jax.distributed``.

Every process runs the same ``purerl train`` command, given the coordinator's address
(``host:port``, process 0's machine), the number of processes and its own id: the flags
``--coordinator``, ``--num-processes``, ``--process-id``, or the environment variables
``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``. The sweep's runs
are then sharded over every device of every process (``sharding.py``): each process
computes its share, the metrics are gathered after every chunk, and process 0 alone writes
the run directory. CPU processes exchange data with gloo collectives.

A Ctrl-C stops every process after the same chunk, whichever processes it reached (a
cluster's launcher may deliver it to process 0 alone): after every chunk the processes
agree, with one collective, whether any was asked to stop (``any_process``).

A multi-process run writes no checkpoint (its state lives on every process, and gathering
a replay buffer after every chunk would cost more than the chunk), so it cannot be resumed.
"""

from __future__ import annotations

import os
from typing import NamedTuple

ENV = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


class Settings(NamedTuple):
    coordinator: str  # host:port of process 0's coordinator service
    num_processes: int
    process_id: int


def _int(name: str, value: str | int) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def settings(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> Settings | None:
    """The multi-process settings from the flags, else the environment; ``None`` when
    neither gives any (a single process). Raises ``ValueError`` naming what is missing or
    out of range."""
    given = {
        "--coordinator": coordinator or os.environ.get(ENV[0]),
        "--num-processes": num_processes if num_processes is not None else os.environ.get(ENV[1]),
        "--process-id": process_id if process_id is not None else os.environ.get(ENV[2]),
    }
    if all(v is None for v in given.values()):
        return None
    missing = [f"{flag} (or {env})" for (flag, v), env in zip(given.items(), ENV) if v is None]
    if missing:
        raise ValueError(f"a multi-process run also needs {', '.join(missing)}")
    address = str(given["--coordinator"])
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--coordinator must be host:port, got {address!r}")
    count = _int("--num-processes", given["--num-processes"])
    index = _int("--process-id", given["--process-id"])
    if count < 1:
        raise ValueError(f"--num-processes must be >= 1, got {count}")
    if not 0 <= index < count:
        raise ValueError(f"--process-id must be in [0, {count}), got {index}")
    return Settings(address, count, index)


def initialize(s: Settings) -> None:
    """Join the other processes (blocks until all have joined). Call it before anything
    starts JAX's backend."""
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(s.coordinator, s.num_processes, s.process_id)


def is_main() -> bool:
    """True in process 0 (and in a single-process run): the one that writes results."""
    import jax

    return jax.process_index() == 0


def any_process(flag: bool) -> bool:
    """Whether ``flag`` is True in any process. A collective: every process must call it
    at the same point (the runner asks after every chunk); in a single process, ``flag``."""
    import jax

    if jax.process_count() == 1:
        return flag
    import numpy as np
    from jax.experimental import multihost_utils

    return bool(np.any(multihost_utils.process_allgather(np.int32(flag))))
