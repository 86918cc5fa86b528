"""Networks: the linear layer, orthogonal initialization and actor-critic shapes."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.nets import ActorCritic, Linear, QNetwork, orthogonal, orthogonal_linear


def test_linear_computes_what_equinox_linear_computes_with_the_same_parameters():
    reference = eqx.nn.Linear(5, 3, key=jax.random.key(0))
    layer = Linear(reference.weight, reference.bias)
    x = jax.random.normal(jax.random.key(1), (7, 5))
    np.testing.assert_allclose(jax.vmap(layer)(x), jax.vmap(reference)(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer(x[0]), reference(x[0]), rtol=1e-5, atol=1e-6)
    assert (layer.in_features, layer.out_features) == (5, 3)


def test_orthogonal_linear_has_the_orthogonal_weights_of_its_key_and_zero_bias():
    layer = orthogonal_linear(4, 6, 2.0, key=jax.random.key(2))
    np.testing.assert_array_equal(layer.weight, orthogonal(jax.random.key(2), (6, 4), 2.0))
    np.testing.assert_array_equal(layer.bias, np.zeros(6))


@pytest.mark.parametrize("shape", [(64, 4), (4, 64), (64, 64), (1, 64), (2, 1)])
def test_orthogonal_has_orthonormal_rows_or_columns(shape):
    w = np.asarray(orthogonal(jax.random.key(0), shape, gain=2.0)) / 2.0
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)


def test_orthogonal_is_vmappable_and_random():
    ws = jax.vmap(lambda k: orthogonal(k, (8, 8)))(jax.random.split(jax.random.key(1), 3))
    assert not np.allclose(ws[0], ws[1])


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("discrete", [False, True])
def test_actor_critic_outputs(shared, discrete):
    net = ActorCritic(5, 3, discrete, (16, 16), "tanh", shared, key=jax.random.key(0))
    params, value = net(jnp.ones(5))
    assert value.shape == ()
    if discrete:
        assert params.shape == (3,)
    else:
        assert params[0].shape == params[1].shape == (3,)
    assert (net.critic_trunk is None) == shared
    np.testing.assert_allclose(net.value(jnp.ones(5)), value, rtol=1e-6)


@pytest.mark.parametrize("aggregation", ["mean", "max"])
def test_dueling_q_network_combines_value_and_advantages(aggregation):
    net = QNetwork(3, 4, (8,), "relu", dueling=True, aggregation=aggregation, key=jax.random.key(0))
    obs = jax.random.normal(jax.random.key(1), (5, 3))
    q = jax.vmap(net)(obs)
    features = jax.vmap(net.trunk)(obs)
    v = jax.vmap(net.value_head)(features)[:, 0]
    adv = jax.vmap(net.head)(features)
    base = adv.mean(-1) if aggregation == "mean" else adv.max(-1)
    np.testing.assert_allclose(q, v[:, None] + adv - base[:, None], rtol=1e-5, atol=1e-6)
    plain = QNetwork(3, 4, (8,), key=jax.random.key(0))
    assert plain.value_head is None and jax.vmap(plain)(obs).shape == (5, 4)
