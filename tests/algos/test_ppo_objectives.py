"""PPO's general objective "clip_kl" reduces to each named objective at the matching array
hyperparameters — the property that lets bench/ppo_ablation.py run every row of the PPO
paper's table in one program. Checked on the loss and its gradient over a random batch;
the β adaptation with ``kl_adapt_factor`` is checked on its kernel (tests/kernels)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl import envs, onpolicy
from purerl.algos import ppo
from purerl.kernels.distributions import DIAG_GAUSSIAN

INF = float("inf")


def loss_and_grad(config, kl_beta=1.0):
    env = envs.from_config(config)
    model = onpolicy.actor_critic(env, (8,), "tanh", False, jax.random.key(0))
    old = eqx.tree_at(  # a slightly different old policy, so ratios and KLs are not trivial
        lambda m: m.policy_head.log_std, model, model.policy_head.log_std + 0.3
    )
    keys = jax.random.split(jax.random.key(1), 3)
    obs = jax.random.normal(keys[0], (32, *env.observation_shape))
    old_params, old_value = jax.vmap(old)(obs)
    action = jax.vmap(DIAG_GAUSSIAN.sample)(jax.random.split(keys[1], 32), old_params)
    batch = ppo.Batch(
        obs, action, jax.vmap(DIAG_GAUSSIAN.log_prob)(old_params, action), old_value,
        old_params, jax.random.normal(keys[2], (32,)), jnp.zeros(32),
    )  # fmt: skip
    fn = eqx.filter_value_and_grad(
        lambda m: ppo._loss(config, DIAG_GAUSSIAN, jnp.float32(kl_beta), m, batch), has_aux=True
    )
    (total, _), grads = fn(model)
    return total, jax.tree.leaves(eqx.filter(grads, eqx.is_array))


@pytest.mark.parametrize(
    "named, general",
    [
        (dict(objective="none"), dict(clip_eps=INF, kl_beta=0.0)),
        (dict(objective="clip", clip_eps=0.1), dict(clip_eps=0.1, kl_beta=0.0)),
        (dict(objective="kl_fixed", kl_beta=3.0), dict(clip_eps=INF, kl_beta=3.0)),
        (dict(objective="kl_adaptive", kl_beta=0.5), dict(clip_eps=INF, kl_beta=0.5)),
    ],
    ids=["none", "clip", "kl_fixed", "kl_adaptive"],
)
def test_clip_kl_loss_and_gradient_reduce_to_each_named_objective(named, general):
    base = dict(env_id="Pendulum-v1", clip_value_loss=False)
    want, want_grads = loss_and_grad(ppo.Config(**base, **named), named.get("kl_beta", 1.0))
    got, got_grads = loss_and_grad(
        ppo.Config(**base, objective="clip_kl", **general), general["kl_beta"]
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for g, w in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_infinite_clip_range_is_accepted_and_nan_is_not():
    ppo.Config(clip_eps=INF)
    with pytest.raises(ValueError, match="clip_eps"):
        ppo.Config(clip_eps=float("nan"))
    with pytest.raises(ValueError, match="kl_adapt_factor"):
        ppo.Config(kl_adapt_factor=0.5)
