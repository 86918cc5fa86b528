"""Adapter from gymnax (≥ 1.0) environments to purerl's interface.

gymnax 1.0 already resets automatically and reports ``terminated`` and ``truncated``
apart; the adapter fixes the environment parameters (``max_episode_steps`` overrides the
time limit), renames ``final_observation`` to
``final_obs``, and makes ``truncated`` false wherever the step also terminated.
"""

from __future__ import annotations

from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from purerl.envs.interface import Discrete, box


class GymnaxEnv:
    def __init__(self, env_id: str, max_episode_steps: int | None = None, **kwargs: Any):
        self.env_id = env_id
        self._env, self._params = gymnax.make(env_id, **kwargs)
        if max_episode_steps is not None:
            if max_episode_steps < 1:
                raise ValueError(f"env max_episode_steps must be >= 1, got {max_episode_steps}")
            self._params = self._params.replace(max_steps_in_episode=int(max_episode_steps))
        obs_space = self._env.observation_space(self._params)
        self.observation_shape = tuple(int(d) for d in obs_space.shape)
        space = self._env.action_space(self._params)
        if isinstance(space, spaces.Discrete):
            self.action_space = Discrete(int(space.n))
        elif isinstance(space, spaces.Box):
            self.action_space = box(np.asarray(space.low), np.asarray(space.high), space.shape)
        else:
            raise ValueError(f"env_id {env_id!r}: unsupported action space {type(space).__name__}")
        self.max_episode_steps = int(self._params.max_steps_in_episode)

    def reset(self, key: jax.Array):
        obs, state = self._env.reset(key, self._params)
        return obs.astype(jnp.float32), state

    def step(self, key: jax.Array, env_state: Any, action: jax.Array):
        obs, state, reward, terminated, truncated, info = self._env.step(
            key, env_state, action, self._params
        )
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), ~terminated)
        final_obs = info["final_observation"].astype(jnp.float32)
        return (
            obs.astype(jnp.float32),
            state,
            jnp.asarray(reward, jnp.float32),
            terminated,
            truncated,
            {"final_obs": final_obs},
        )
