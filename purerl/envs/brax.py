"""Adapter from brax environments to purerl's interface, with a time limit.

brax environments neither reset nor truncate by themselves. The adapter counts steps,
reports ``truncated`` at ``episode_length`` (unless the step terminated), and resets
automatically from a freshly sampled initial state, keeping the pre-reset observation as
``info["final_obs"]``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl.envs.interface import box

BACKENDS = ("generalized", "positional", "spring", "mjx")

# mujoco, which brax imports, prints these two lines on stdout when NVIDIA Warp (its optional
# GPU backend, which purerl does not use) is not installed: noise before every brax run's
# output and inside the CLI's one-line errors.
WARP_NOTICES = ("Failed to import warp:", "Failed to import mujoco_warp:")


def import_without(name: str, notices: tuple[str, ...]) -> Any:
    """``importlib.import_module(name)``, dropping the lines it prints on stdout that start
    with one of ``notices``; any other line is printed as it would have been (also when the
    import fails)."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            return importlib.import_module(name)
    finally:
        for line in printed.getvalue().splitlines(keepends=True):
            if not line.startswith(notices):
                sys.stdout.write(line)


def _brax_envs() -> Any:
    return import_without("brax.envs", WARP_NOTICES)


class BraxEnvState(NamedTuple):
    brax_state: Any
    time: jax.Array


def _patch_brax_fluid() -> None:
    """brax's fluid model (used by ``swimmer``) calls ``jnp.clip(x, a_min=...)``, a keyword
    jax 0.10 removed; give that module a ``jnp`` whose ``clip`` still accepts it."""
    import inspect
    import types

    from brax import fluid

    if "a_min" in inspect.signature(jnp.clip).parameters or hasattr(fluid.jp, "_purerl_shim"):
        return

    def clip(x, min=None, max=None, *, a_min=None, a_max=None):
        return jnp.clip(x, a_min if min is None else min, a_max if max is None else max)

    shim = types.ModuleType("jax.numpy (brax.fluid shim)")
    shim.__dict__.update({k: v for k, v in vars(jnp).items() if not k.startswith("__")})
    shim.clip, shim._purerl_shim = clip, True
    fluid.jp = shim


def brax_names() -> list[str]:
    return sorted(_brax_envs()._envs)  # brax keeps its registry in this dict; there is no getter


class BraxEnv:
    def __init__(
        self,
        env_id: str,
        backend: str = "generalized",
        episode_length: int = 1000,
        **kwargs: Any,
    ):
        envs = _brax_envs()
        _patch_brax_fluid()

        if backend not in BACKENDS:
            raise ValueError(f"env backend must be one of {BACKENDS}, got {backend!r}")
        if episode_length < 1:
            raise ValueError(f"env episode_length must be >= 1, got {episode_length}")
        self.env_id = env_id
        name = env_id.removeprefix("brax/")
        self._env = envs.get_environment(name, backend=backend, **kwargs)
        # brax's physics takes seconds to trace. Under ``jit`` the traced program is cached
        # (this adapter is too, in ``envs.make``), so every later call site — the rollout,
        # the evaluation, the next program — reuses it; XLA inlines it as before.
        self._physics_step, self._physics_reset = jax.jit(self._env.step), jax.jit(self._env.reset)
        self.observation_shape = (int(self._env.observation_size),)
        self.action_space = box(-1.0, 1.0, (int(self._env.action_size),))
        self.max_episode_steps = int(episode_length)

    def reset(self, key: jax.Array):
        state = self._physics_reset(key)
        return state.obs, BraxEnvState(state, jnp.zeros((), jnp.int32))

    def _advance(self, env_state: BraxEnvState, action: jax.Array):
        """The physics step and time limit, without the reset: ``(state, terminated,
        truncated)``."""
        nxt = self._physics_step(env_state.brax_state, action)
        time = env_state.time + 1
        terminated = nxt.done > 0.5
        truncated = jnp.logical_and(time >= self.max_episode_steps, ~terminated)
        return BraxEnvState(nxt, time), terminated, truncated

    def _reset_where(self, key: jax.Array, done: jax.Array, state: BraxEnvState):
        """``(obs, state)``: a fresh episode where ``done``, ``state`` elsewhere."""
        reset_obs, reset_state = self.reset(key)
        state = jax.tree.map(lambda r, s: jnp.where(done, r, s), reset_state, state)
        return jnp.where(done, reset_obs, state.brax_state.obs), state

    def step(self, key: jax.Array, env_state: BraxEnvState, action: jax.Array):
        state, terminated, truncated = self._advance(env_state, action)
        final_obs, reward = state.brax_state.obs, state.brax_state.reward
        obs, state = self._reset_where(key, terminated | truncated, state)
        return obs, state, reward, terminated, truncated, {"final_obs": final_obs}

    def step_batch(self, keys: jax.Array, env_state: BraxEnvState, action: jax.Array):
        """``vmap(step)``, but the batch computes resets only when one of its episodes
        ended (a ``lax.cond`` on the batch; under a further ``vmap``, e.g. over seeds, the
        cond becomes a select and both branches run, as in ``step``). Same episodes; the
        reset states can differ from ``step``'s in the last float bits, as XLA fuses the
        branch differently. Measured in ``bench/brax_reset.py``: 1.04–1.08× the steps/s."""
        state, terminated, truncated = jax.vmap(self._advance)(env_state, action)
        final_obs, reward = state.brax_state.obs, state.brax_state.reward
        done = terminated | truncated
        obs, state = jax.lax.cond(
            jnp.any(done),
            lambda: jax.vmap(self._reset_where)(keys, done, state),
            lambda: (final_obs, state),
        )
        return obs, state, reward, terminated, truncated, {"final_obs": final_obs}
