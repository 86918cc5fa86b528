"""Group Relative Policy Optimization (GRPO) on a verifiable sequence task, as a pure
``train(config, key)``.

``init`` fine-tunes a policy on demonstrations (``purerl.algos.sft``, inside the same
program) until its greedy exact match on them reaches ``sft_target`` (a weak start by
design; ``sft_updates`` at most); it is both the starting policy and the frozen reference
π_ref. Each update then

1. samples ``num_prompts`` training prompts and ``group_size`` completions of each at
   temperature τ from the current policy π_old, with their log-probs under π_old (the
   ratio's denominator: sampling's own, no second pass);
2. scores them with the task's verifier: one outcome reward per completion (exact match),
   or one process reward per generated token (``supervision="process"``: right so far);
3. turns rewards into advantages within each group (``kernels.preference``:
   ``group_advantages`` — every token of a completion gets its Â — or
   ``process_advantages``);
4. takes ``num_iterations`` Adam steps on the whole batch, maximizing the aggregated token
   objective min(ρ Â, clip(ρ, 1 − ε, 1 + ε_high) Â) − β KL̂[π_θ‖π_ref]
   (``grpo_token_objective``, ``aggregate_token_terms``).

No critic. ``eval_return`` is the held-out exact match of greedy decoding.

Reference: Shao et al., "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open
Language Models" (2024), §4.1, Algorithm 1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import config as cfg
from purerl import lm, loop, optim
from purerl.algos import sft
from purerl.envs import sequence
from purerl.kernels import divergence, preference

SUPERVISION = ("outcome", "process")
KL_ESTIMATORS = ("k1", "k2", "k3")


def _check(config: Config) -> None:
    cfg.validate(config)
    lm.check_network(config)
    if config.baseline == "leave_one_out":
        cfg.require(config, "group_size", config.group_size >= 2, "must be >= 2 (leave-one-out)")


class Config(eqx.Module):
    """GRPO hyperparameters; the ``sft_*`` fields set the SFT stage that starts it."""

    env_id: str = cfg.sequence_task("purerl/Addition-3")
    sft_demos: int = cfg.count(4096)
    sft_batch_size: int = cfg.count(128)
    sft_updates: int = cfg.count(1500, minimum=0)  # at most; 0: start from a fresh policy
    width: int = cfg.count(64)
    depth: int = cfg.count(2)
    heads: int = cfg.count(4)
    num_prompts: int = cfg.count(32)  # prompts per update
    group_size: int = cfg.count(8)  # G completions per prompt
    num_updates: int = cfg.count(100)
    num_iterations: int = cfg.count(1)  # gradient steps per sampled batch (μ)
    supervision: str = cfg.choice("outcome", SUPERVISION)
    baseline: str = cfg.choice("mean", preference.BASELINES)
    scale: str = cfg.choice("group", ("group", "none"))
    aggregation: str = cfg.choice("sequence_mean", preference.AGGREGATIONS)
    kl_estimator: str = cfg.choice("k3", KL_ESTIMATORS)
    anneal_lr: bool = cfg.flag(False)  # decay lr linearly to 0 over the run
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(256)  # held-out prompts per evaluation

    sft_lr: jax.Array = cfg.hyperparameter(3e-3, 0.0, low_open=True)
    # SFT stops once its greedy exact match on demonstrations reaches this (checked every
    # sft.CHECK_EVERY updates; sft.train_to_target): a weak start; ∞: all sft_updates.
    sft_target: jax.Array = cfg.hyperparameter(0.2, 0.0, allow_inf=True)
    lr: jax.Array = cfg.hyperparameter(3e-4, 0.0, low_open=True)
    clip_eps: jax.Array = cfg.hyperparameter(0.2, 0.0, low_open=True, allow_inf=True)
    clip_eps_high: jax.Array = cfg.hyperparameter(0.2, 0.0, low_open=True, allow_inf=True)
    beta: jax.Array = cfg.hyperparameter(0.04, 0.0)  # weight of KL[π_θ‖π_ref]
    temperature: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)
    max_grad_norm: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)

    __check_init__ = _check


class State(NamedTuple):
    model: Any  # transformer.Transformer, the policy
    reference: Any  # the frozen SFT policy π_ref
    opt_state: Any
    key: jax.Array


def _optimizer(config: Config) -> optax.GradientTransformation:
    steps = config.num_updates * config.num_iterations if config.anneal_lr else None
    return optim.clipped_adam(config.lr, config.max_grad_norm, steps, every=config.num_iterations)


def init_from(config: Config, model: Any, key: jax.Array) -> State:
    """Start from a given policy (also the reference), e.g. one fine-tuned elsewhere."""
    opt_state = _optimizer(config).init(eqx.filter(model, eqx.is_array))
    return State(model, model, opt_state, key)


def init(config: Config, key: jax.Array) -> State:
    k_sft, key = jax.random.split(key)
    return init_from(config, sft.stage(config, k_sft, config.sft_target)[0], key)


class Batch(NamedTuple):
    problems: sequence.Problem  # [N·G], each prompt repeated G times
    tokens: jax.Array  # [N·G, A]
    mask: jax.Array  # [N·G, A]
    logp_old: jax.Array
    logp_ref: jax.Array
    advantage: jax.Array  # [N·G, A] per token


def _log_probs(config: Config, model: Any, batch_problems, tokens) -> jax.Array:
    return lm.completion_log_probs(model, batch_problems.prompt, tokens, config.temperature)[0]


def _advantages(config: Config, tokens, mask, problems, outcome) -> jax.Array:
    n, g, a = config.num_prompts, config.group_size, tokens.shape[1]
    if config.supervision == "outcome":
        adv = jax.vmap(lambda r: preference.group_advantages(r, config.baseline, config.scale))(
            outcome.reshape(n, g)
        )
        return jnp.broadcast_to(adv.reshape(n * g, 1), (n * g, a)) * mask
    steps, ends, step_mask = jax.vmap(sequence.process_rewards)(tokens, problems)
    adv = jax.vmap(lambda r, e, m: preference.process_advantages(r, e, m, a))(
        steps.reshape(n, g, a), ends.reshape(n, g, a), step_mask.reshape(n, g, a)
    )
    return adv.reshape(n * g, a) * mask


def sample_batch(config: Config, state: State, key: jax.Array) -> tuple[Batch, jax.Array]:
    """Steps 1-3: prompts, G completions each, rewards, advantages; and the outcomes."""
    k_problems, k_sample = jax.random.split(key)
    problems = sequence.sample_batch(lm.task(config), k_problems, config.num_prompts)
    problems = jax.tree.map(lambda x: jnp.repeat(x, config.group_size, axis=0), problems)
    samples = lm.sample_and_verify(state.model, problems, k_sample, config.temperature)
    tokens, mask = samples.completion.tokens, samples.completion.mask
    batch = Batch(
        problems=problems,
        tokens=tokens,
        mask=mask,
        logp_old=samples.completion.logp,  # as teacher-forced, but for rounding; 0 past EOS
        logp_ref=_log_probs(config, state.reference, problems, tokens),
        advantage=_advantages(config, tokens, mask, problems, samples.outcome),
    )
    return batch, samples.outcome


def _loss(config: Config, model: Any, batch: Batch):
    logp = _log_probs(config, model, batch.problems, batch.tokens)
    objective = jax.vmap(
        lambda lp, old, ref, adv: preference.grpo_token_objective(
            lp, old, ref, adv, config.clip_eps, config.clip_eps_high, config.beta,
            config.kl_estimator,
        )
    )(logp, batch.logp_old, batch.logp_ref, batch.advantage)  # fmt: skip
    normalizer = float(batch.tokens.shape[1])  # the completion budget A (Dr. GRPO's constant)
    loss = -preference.aggregate_token_terms(objective, batch.mask, config.aggregation, normalizer)
    ratio = jnp.exp(logp - batch.logp_old)
    outside = (ratio < 1 - config.clip_eps) | (ratio > 1 + config.clip_eps_high)
    kl = divergence.kl_k3(batch.logp_ref - logp)  # KL[π_θ‖π_ref] per token, reported as k3

    def token_mean(x):
        return preference.aggregate_token_terms(x.astype(jnp.float32), batch.mask, "token_mean")

    return loss, {"loss": loss, "kl": token_mean(kl), "clip_fraction": token_mean(outside)}


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One GRPO iteration: sample and score a batch, then ``num_iterations`` steps on it."""
    key, k_batch = jax.random.split(state.key)
    batch, outcome = sample_batch(config, state, k_batch)
    grad_fn = eqx.filter_value_and_grad(lambda m: _loss(config, m, batch), has_aux=True)
    tx = _optimizer(config)

    def step(learner: optim.Learner, _):
        (_, metrics), grads = grad_fn(learner.model)
        return optim.apply(tx, learner, grads), {**metrics, "grad_norm": optax.tree.norm(grads)}

    learner, metrics = jax.lax.scan(
        step, optim.Learner(state.model, state.opt_state), None, config.num_iterations
    )
    metrics = {
        **jax.tree.map(jnp.mean, metrics),
        "reward": jnp.mean(outcome),
        "completion_length": jnp.mean(jnp.sum(batch.mask, axis=1)),
    }
    return state._replace(model=learner.model, opt_state=learner.opt_state, key=key), metrics


evaluate = lm.evaluate  # held-out exact match of greedy decoding


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` (SFT) then ``config.num_updates`` × ``update`` in one ``lax.scan``."""
    return loop.train(loop.Algorithm(init, update, None, evaluate=evaluate), config, key)
