"""DDPG: TD3 (``purerl.algos.td3``) with one critic, no target policy smoothing and the actor
and targets updated at every gradient step — the same program, other defaults.

    y = r + γ_d · Q_θ⁻(s', μ_φ⁻(s')),   L(θ) = mean ½ (y − Q_θ(s, a))²,   φ ascends Q_θ(s, μ_φ(s))

Exploration adds Gaussian noise to μ(s), as Stable-Baselines3's and CleanRL's DDPG do (the
paper's Ornstein–Uhlenbeck process is not needed: Fujimoto et al. 2018, §6.1).

Reference: Lillicrap et al., "Continuous control with deep reinforcement learning" (2016).
"""

from __future__ import annotations

import jax

from purerl import config as cfg
from purerl.algos import td3
from purerl.algos.td3 import (
    Nets,
    State,
    actor_loss,
    behaviour_policy,
    critic_loss,
    critic_target,
    gradient_step,
    greedy_policy,
    init,
    train,
    update,
)

__all__ = [
    "Config", "Nets", "State", "actor_loss", "behaviour_policy", "critic_loss", "critic_target",
    "gradient_step", "greedy_policy", "init", "train", "update",
]  # fmt: skip


class Config(td3.Config):
    """TD3's fields with DDPG's defaults (only these three differ)."""

    num_critics: int = cfg.count(1)
    policy_delay: int = cfg.count(1)
    target_noise: jax.Array = cfg.hyperparameter(0.0, 0.0)
