"""Supervised fine-tuning (behaviour cloning of demonstrations) as a pure ``train(config, key)``.

A run draws ``num_demos`` problems of its task's training split once (the demonstration
set: prompt and correct answer), then takes ``num_updates`` Adam steps on minibatches of
them, maximizing the teacher-forced log-likelihood of the answer tokens (digits and EOS):

    L(θ) = −(1 / Σ|y|) Σ_(x, y) Σ_t log π_θ(y_t | x, y_<t).

A small demonstration set and few steps leave a weak policy on purpose: the starting point
(and the reference π_SFT) of the reward-model, RLHF-PPO and GRPO stages. With
``eval_every`` > 0, ``eval_return`` is the held-out exact match of greedy decoding.

Reference: Ouyang et al., "Training language models to follow instructions with human
feedback" (InstructGPT, 2022), §3.5 (SFT).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import config as cfg
from purerl import lm, loop, optim
from purerl.envs import sequence


def _check(config: Config) -> None:
    cfg.validate(config)
    lm.check_network(config)


class Config(eqx.Module):
    """SFT hyperparameters. Defaults: a deliberately weak start on 3-digit addition, before
    the steep part of its learning curve, which comes after 500 to 1,100 updates depending
    on the seed (measured on 8 seeds, ``split(key(0), 8)``: held-out greedy exact match 0%,
    1%, 2%, 3%, 3%, 5%, 26% and 45% after 600 updates; 1%-86% at 800, 2%-95% at 1,000,
    57%-98% at 1,200). ``train_to_target`` stops at a given exact match instead."""

    env_id: str = cfg.sequence_task("purerl/Addition-3")
    num_demos: int = cfg.count(4096)  # demonstrations, from the training split
    batch_size: int = cfg.count(128)
    num_updates: int = cfg.count(600)
    width: int = cfg.count(64)
    depth: int = cfg.count(2)
    heads: int = cfg.count(4)
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(256)  # held-out prompts per evaluation

    lr: jax.Array = cfg.hyperparameter(3e-3, 0.0, low_open=True)
    max_grad_norm: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)

    __check_init__ = _check


class State(NamedTuple):
    model: Any  # transformer.Transformer
    opt_state: Any
    demos: sequence.Problem  # [num_demos]
    key: jax.Array


def _optimizer(config: Config) -> optax.GradientTransformation:
    return optim.clipped_adam(config.lr, config.max_grad_norm)


def init(config: Config, key: jax.Array) -> State:
    k_model, k_demos, key = jax.random.split(key, 3)
    model = lm.build_policy(config, k_model)
    demos = sequence.sample_batch(lm.task(config), k_demos, config.num_demos)
    opt_state = _optimizer(config).init(eqx.filter(model, eqx.is_array))
    return State(model, opt_state, demos, key)


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One gradient step on a minibatch of demonstrations (drawn with replacement)."""
    key, k_batch = jax.random.split(state.key)
    index = jax.random.randint(k_batch, (config.batch_size,), 0, config.num_demos)
    batch = jax.tree.map(lambda x: x[index], state.demos)
    loss_fn = eqx.filter_value_and_grad(lambda m: -lm.answer_log_likelihood(m, batch))
    loss, grads = loss_fn(state.model)
    learner = optim.apply(_optimizer(config), optim.Learner(state.model, state.opt_state), grads)
    metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads)}
    return State(learner.model, learner.opt_state, state.demos, key), metrics


evaluate = lm.evaluate  # held-out exact match of greedy decoding


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``)."""
    return loop.train(loop.Algorithm(init, update, None, evaluate=evaluate), config, key)


CHECK_EVERY = 25  # SFT updates between a stage's checks of its target
PROBE = 256  # demonstrations a stage's target is checked on


def train_to_target(config: Config, key: jax.Array, target: jax.Array) -> State:
    """SFT that stops part way: ``config.num_updates`` updates at most, in chunks of
    ``CHECK_EVERY``, until the greedy exact match on the first ``PROBE`` demonstrations
    (training data, never the held-out split) reaches ``target`` at the end of a chunk.
    ``target`` = ∞ runs every update. Each update is ``update``'s; those past
    ``num_updates`` in the last chunk are computed and dropped.

    A fixed number of updates is a poor way to stop at a weak policy: on 3-digit addition
    the steep part of the learning curve comes anywhere between 500 and 1,100 updates
    depending on the seed (8 seeds after 700 updates: 0%-67% held-out exact match).
    Under ``vmap`` the loop runs until the last run stops; the others keep their state."""
    state = init(config, key)
    probe = jax.tree.map(lambda x: x[:PROBE], state.demos)

    def chunk(carry):
        state, done, _ = carry

        def step(state, i):
            new, _ = update(config, state)
            return jax.tree.map(
                lambda a, b: jnp.where(i < config.num_updates, a, b), new, state
            ), None

        state, _ = jax.lax.scan(step, state, done + jnp.arange(CHECK_EVERY))
        match = lm.exact_match(state.model, probe, state.key)  # greedy: the key is unused
        return state, done + CHECK_EVERY, match

    def more(carry):
        _, done, match = carry
        return (done < config.num_updates) & (match < target)

    start = (state, jnp.int32(0), jnp.float32(-jnp.inf))
    return jax.lax.while_loop(more, chunk, start)[0]


def stage(
    config: Any, key: jax.Array, target: jax.Array | None = None
) -> tuple[Any, sequence.Problem]:
    """The SFT stage that starts a later algorithm (GRPO, RLHF-PPO, a reward model), read
    from its config's ``sft_demos``, ``sft_batch_size``, ``sft_updates``, ``sft_lr`` and its
    task and network fields: the fine-tuned policy and its demonstrations. With
    ``sft_updates = 0``, the freshly initialized policy ``init`` builds (no SFT); with a
    ``target``, ``train_to_target`` (``sft_updates`` at most)."""
    # num_updates ≥ 1 keeps the Config valid; with sft_updates = 0 it is never used.
    stage_config = Config(
        env_id=config.env_id, num_demos=config.sft_demos, batch_size=config.sft_batch_size,
        num_updates=max(config.sft_updates, 1), width=config.width, depth=config.depth,
        heads=config.heads, lr=config.sft_lr,
    )  # fmt: skip
    if config.sft_updates == 0:
        state = init(stage_config, key)
    elif target is None:
        state, _ = train(stage_config, key)
    else:
        state = train_to_target(stage_config, key, target)
    return state.model, state.demos
