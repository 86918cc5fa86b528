"""One entry per algorithm for the shared contract tests: a tiny config and its error cases."""

from __future__ import annotations

from typing import Any, NamedTuple

from purerl.algos import ppo


class AlgoCase(NamedTuple):
    name: str
    module: Any
    small: dict[str, Any]  # a config that trains in a few updates
    sweep: dict[str, list[float]]  # two hyperparameters to batch
    invalid: list[tuple[dict[str, Any], str]]  # (overrides, field named in the error)


CASES = [
    AlgoCase(
        "ppo",
        ppo,
        dict(num_envs=2, num_steps=16, total_timesteps=96, num_epochs=2, num_minibatches=2),
        dict(lr=[1e-3, 3e-4], clip_eps=[0.1, 0.3]),
        [
            (dict(lr=-1e-3), "lr"),
            (dict(num_minibatches=3), "num_minibatches"),
            (dict(env_id="NoSuchEnv-v0"), "env_id"),
            (dict(gamma=1.5), "gamma"),
            (dict(objective="trust-me"), "objective"),
            (dict(num_envs=0), "num_envs"),
        ],
    ),
    AlgoCase(
        "ppo-continuous",
        ppo,
        dict(
            env_id="Pendulum-v1",
            num_envs=2,
            num_steps=16,
            total_timesteps=96,
            num_epochs=2,
            num_minibatches=2,
            normalize_obs=True,
            objective="kl_adaptive",
        ),
        dict(lr=[1e-3, 3e-4], kl_target=[0.01, 0.03]),
        [(dict(env_id="Pendulum-v1", kl_target=0.0), "kl_target")],
    ),  # fmt: skip
]
