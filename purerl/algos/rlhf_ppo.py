"""RLHF with PPO (InstructGPT's third step) on a verifiable sequence task, as a pure
``train(config, key)``.

``init`` runs the two earlier steps inside the same program: supervised fine-tuning
(``sft.stage``: the starting policy and the frozen reference π_SFT) and a reward model
trained from the SFT policy on labeler rankings (``reward_model.stage``, then frozen). Each
update then

1. samples ``num_prompts`` training prompts and one completion of each at temperature τ;
2. scores each with the reward model, r(x, y) (less ``missing_eos_penalty`` if it has no
   EOS within the budget), and shapes per-token rewards
   −β log(π(y_t)/π_SFT(y_t)) plus r(x, y) on the last token (``kl_shaped_rewards``);
3. estimates advantages with the policy's value head (same trunk) and GAE over the
   completion's tokens (γ = 1; ``returns.gae``), normalized over the batch's tokens;
4. takes ``num_epochs`` × ``num_minibatches`` Adam steps on the clipped surrogate
   (``policy.clipped_surrogate_objective``) + ``vf_coef`` × value loss − γ_ptx × the
   demonstrations' log-likelihood (``preference.pretraining_objective``: PPO-ptx).

The task's verifier is never seen by the policy: ``true_reward`` (exact match) is reported
beside the proxy ``reward`` so over-optimization of the reward model shows. ``kl`` is the
sampled estimate of KL[π‖π_SFT] per completion (Σ_t k1). ``eval_return`` is held-out exact
match of greedy decoding.

Reference: Ouyang et al., "Training language models to follow instructions with human
feedback" (InstructGPT, 2022), §3.5, eq. 2; Ziegler et al., "Fine-Tuning Language Models
from Human Preferences" (2019).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from purerl import config as cfg
from purerl import lm, loop, onpolicy, optim
from purerl.algos import reward_model, sft
from purerl.envs import sequence
from purerl.kernels import policy as pg
from purerl.kernels import preference, returns


def _check(config: Config) -> None:
    cfg.validate(config)
    lm.check_network(config)
    cfg.require(
        config, "num_minibatches", config.num_prompts % config.num_minibatches == 0,
        f"must divide num_prompts ({config.num_prompts})",
    )  # fmt: skip
    reward_model.check_stage(config)


class Config(eqx.Module):
    """RLHF-PPO hyperparameters; ``sft_*`` and ``rm_*`` set the two stages that start it."""

    env_id: str = cfg.sequence_task("purerl/Addition-3")
    sft_demos: int = cfg.count(4096)
    sft_batch_size: int = cfg.count(128)
    sft_updates: int = cfg.count(600, minimum=0)  # 0: start from a fresh policy
    rm_prompts: int = cfg.count(4096)
    rm_ranking_size: int = cfg.count(2, minimum=2)
    rm_labeler: str = cfg.choice("fair", reward_model.LABELERS)
    rm_batch_size: int = cfg.count(64)
    rm_updates: int = cfg.count(600)
    width: int = cfg.count(64)
    depth: int = cfg.count(2)
    heads: int = cfg.count(4)
    num_prompts: int = cfg.count(128)  # completions per update (one per prompt)
    num_updates: int = cfg.count(100)
    num_epochs: int = cfg.count(2)
    num_minibatches: int = cfg.count(2)
    ptx_batch_size: int = cfg.count(0, minimum=0)  # demonstrations per step for PPO-ptx; 0: off
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(256)  # held-out prompts per evaluation

    sft_lr: jax.Array = cfg.hyperparameter(3e-3, 0.0, low_open=True)
    rm_lr: jax.Array = cfg.hyperparameter(1e-3, 0.0, low_open=True)
    lr: jax.Array = cfg.hyperparameter(3e-4, 0.0, low_open=True)
    clip_eps: jax.Array = cfg.hyperparameter(0.2, 0.0, low_open=True)
    vf_coef: jax.Array = cfg.hyperparameter(0.5, 0.0)
    beta: jax.Array = cfg.hyperparameter(0.1, 0.0)  # KL penalty in the reward
    # subtracted from the score of a completion without EOS in its budget (TRL's option)
    missing_eos_penalty: jax.Array = cfg.hyperparameter(0.0, 0.0)
    ptx_coef: jax.Array = cfg.hyperparameter(1.0, 0.0)  # γ of PPO-ptx (with ptx_batch_size)
    gae_lambda: jax.Array = cfg.hyperparameter(0.95, 0.0, 1.0)
    temperature: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)
    max_grad_norm: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)

    __check_init__ = _check


class State(NamedTuple):
    model: Any  # transformer.Transformer: the policy, its value head the critic
    reference: Any  # π_SFT, frozen
    reward_model: Any  # frozen
    reward_normalization: tuple[jax.Array, jax.Array]  # (bias, scale) of its scores
    demos: sequence.Problem  # the SFT demonstrations (the pretraining mix)
    opt_state: Any
    key: jax.Array


def _optimizer(config: Config) -> optax.GradientTransformation:
    return optim.clipped_adam(config.lr, config.max_grad_norm)


NORMALIZATION_SAMPLES = 256  # SFT completions that set the reward model's scale


def init_from(config: Config, policy: Any, rm: Any, demos: sequence.Problem, key) -> State:
    """Start from a given SFT policy (also the reference), reward model and demonstrations.

    The reward model is normalized before RL: a bias so that the demonstrations score 0 on
    average, as InstructGPT does (appendix C; its training fixes only differences of
    scores), and a scale so that the SFT policy's own completions have standard deviation 1
    (unscaled, scores several units apart made the shared trunk's value loss ~50 and the
    policy worse at what the reward model measures)."""
    k_problems, k_sample, key = jax.random.split(key, 3)
    opt_state = _optimizer(config).init(eqx.filter(policy, eqx.is_array))
    problems = sequence.sample_batch(lm.task(config), k_problems, NORMALIZATION_SAMPLES)
    samples = lm.sample_and_verify(policy, problems, k_sample, config.temperature)
    spread = jnp.std(lm.sequence_rewards(rm, problems.prompt, samples.completion.tokens))
    normalization = (jnp.mean(lm.sequence_rewards(rm, demos.prompt, demos.answer)), spread + 1e-6)
    return State(policy, policy, rm, normalization, demos, opt_state, key)


def init(config: Config, key: jax.Array) -> State:
    k_sft, k_rm, key = jax.random.split(key, 3)
    policy, demos = sft.stage(config, k_sft)
    return init_from(config, policy, reward_model.stage(config, policy, k_rm), demos, key)


class Batch(NamedTuple):
    prompt: jax.Array  # [N, P]
    tokens: jax.Array  # [N, A]
    mask: jax.Array  # [N, A]
    logp_old: jax.Array  # [N, A]
    value_old: jax.Array  # [N, A]
    advantage: jax.Array  # [N, A]
    target: jax.Array  # [N, A]


def _forward(config: Config, model: Any, prompt, tokens):
    """Log-probabilities (at τ) and values ``[N, A]`` of the completion tokens."""
    return lm.completion_log_probs(model, prompt, tokens, config.temperature)


def _token_advantages(config: Config, rewards, values, mask):
    """GAE over one completion's tokens ``[A]`` with γ = 1; zero beyond its end."""
    after = jnp.concatenate([mask[1:], jnp.zeros(1)])  # a next token exists
    v_next = jnp.concatenate([values[1:], jnp.zeros(1)]) * after
    adv = returns.gae(rewards, after, values * mask, v_next, config.gae_lambda)
    return adv * mask


def collect(config: Config, state: State, key: jax.Array) -> tuple[Batch, dict[str, jax.Array]]:
    """Steps 1-3: prompts, completions, reward-model scores, shaped rewards, advantages."""
    k_problems, k_sample = jax.random.split(key)
    problems = sequence.sample_batch(lm.task(config), k_problems, config.num_prompts)
    samples = lm.sample_and_verify(state.model, problems, k_sample, config.temperature)
    tokens, mask = samples.completion.tokens, samples.completion.mask
    logp, values = _forward(config, state.model, problems.prompt, tokens)
    logp_ref, _ = _forward(config, state.reference, problems.prompt, tokens)
    truncated = jnp.all(tokens != sequence.EOS, axis=1)
    score = lm.sequence_rewards(state.reward_model, problems.prompt, tokens)
    bias, scale = state.reward_normalization
    score = (score - bias) / scale - config.missing_eos_penalty * truncated
    rewards = jax.vmap(
        lambda r, lp, lr, m: preference.kl_shaped_rewards(r, lp, lr, m, config.beta)
    )(score, logp, logp_ref, mask)
    adv = jax.vmap(lambda r, v, m: _token_advantages(config, r, v, m))(rewards, values, mask)
    target = adv + values
    flat = pg.normalize_advantages(adv.reshape(-1), mask.reshape(-1)).reshape(adv.shape) * mask
    batch = Batch(problems.prompt, tokens, mask, logp, values, flat, target)
    metrics = {
        "reward": jnp.mean(score),
        "true_reward": jnp.mean(samples.outcome),
        "kl": jnp.mean(jnp.sum((logp - logp_ref) * mask, axis=1)),
        "completion_length": jnp.mean(jnp.sum(mask, axis=1)),
        "truncated": jnp.mean(truncated),  # no EOS within the budget
    }
    return batch, metrics


def _loss(config: Config, model: Any, batch: Batch, demos: sequence.Problem):
    logp, values = _forward(config, model, batch.prompt, batch.tokens)
    shape = logp.shape
    ratio = pg.importance_ratio(logp.reshape(-1), batch.logp_old.reshape(-1))
    adv = batch.advantage.reshape(-1)
    objective = pg.clipped_surrogate_objective(ratio, adv, config.clip_eps).reshape(shape)
    policy_loss = -preference.aggregate_token_terms(objective, batch.mask, "token_mean")
    v_loss = pg.value_loss(values.reshape(-1), batch.target.reshape(-1)).reshape(shape)
    value_loss = preference.aggregate_token_terms(v_loss, batch.mask, "token_mean")
    ptx = lm.answer_log_likelihood(model, demos) if config.ptx_batch_size else jnp.zeros(())
    loss = policy_loss + config.vf_coef * value_loss - config.ptx_coef * ptx
    outside = (jnp.abs(ratio - 1.0) > config.clip_eps).reshape(shape)
    clip_fraction = preference.aggregate_token_terms(
        outside.astype(jnp.float32), batch.mask, "token_mean"
    )
    return loss, {
        "loss": loss, "loss/policy": policy_loss, "loss/value": value_loss,
        "ptx_log_likelihood": ptx, "clip_fraction": clip_fraction,
    }  # fmt: skip


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One RLHF-PPO iteration: collect a batch, then ``num_epochs`` × ``num_minibatches``
    steps on it (each with its own draw of demonstrations for the pretraining mix)."""
    key, k_collect, k_epochs = jax.random.split(state.key, 3)
    batch, collected = collect(config, state, k_collect)
    tx = _optimizer(config)
    grad_fn = eqx.filter_value_and_grad(lambda m, b, d: _loss(config, m, b, d), has_aux=True)

    def step(carry, minibatch: Batch):
        learner, k = carry
        k, k_demo = jax.random.split(k)
        index = jax.random.randint(k_demo, (config.ptx_batch_size,), 0, config.sft_demos)
        demos = jax.tree.map(lambda x: x[index], state.demos)
        (_, metrics), grads = grad_fn(learner.model, minibatch, demos)
        learner = optim.apply(tx, learner, grads)
        return (learner, k), {**metrics, "grad_norm": optax.tree.norm(grads)}

    k_order, k_ptx = jax.random.split(k_epochs)
    (learner, _), metrics = onpolicy.minibatch_epochs(
        k_order, batch, config.num_epochs, config.num_minibatches, step,
        (optim.Learner(state.model, state.opt_state), k_ptx),
    )  # fmt: skip
    metrics = {**jax.tree.map(jnp.mean, metrics), **collected}
    return state._replace(model=learner.model, opt_state=learner.opt_state, key=key), metrics


evaluate = lm.evaluate  # held-out exact match of greedy decoding


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` (SFT, reward model) then ``config.num_updates`` × ``update`` in one
    ``lax.scan``."""
    return loop.train(loop.Algorithm(init, update, None, evaluate=evaluate), config, key)
