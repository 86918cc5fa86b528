"""A Bradley–Terry reward model learned from rankings of completions, as a pure
``train(config, key)``.

A run starts from the SFT policy (``sft.stage``, inside the same program; InstructGPT
starts its reward model from the SFT model) or, with ``sft_updates = 0``, from scratch.
It draws ``num_prompts`` prompts of its task's training split once and, for each, K
completions ranked by a simulated labeler (``sequence.ranking``: the answer, then copies
with 1, …, K − 1 mistakes — fewer mistakes is better). It then takes ``num_updates`` Adam
steps on minibatches of rankings, minimizing the K-wise Bradley–Terry loss

    L(θ) = E_(x, y_1 ≻ … ≻ y_K) [ mean over i < j of −log σ(r_θ(x, y_i) − r_θ(x, y_j)) ]

(``kernels.preference.ranking_loss``; K = 2 is the pairwise loss). The score r_θ(x, y) is
a transformer's value head at the completion's last token (``lm.sequence_reward``).
``eval_return`` is the pairwise accuracy on fresh rankings of held-out prompts: the fraction
of pairs the model orders as the labeler does.

Reference: Ouyang et al., "Training language models to follow instructions with human
feedback" (InstructGPT, 2022), §3.5, eq. 1.
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
from purerl.kernels import preference

LABELERS = ("fair", "length_biased")


def _check_ranking_size(config: Any, field: str, k: int) -> None:
    answer_len = lm.task(config).answer_len
    cfg.require(
        config, field, k <= answer_len,
        f"must be <= {answer_len} for {config.env_id} (a candidate has at most "
        f"{answer_len - 1} mistakes within the completion budget)",
    )  # fmt: skip


def _check(config: Config) -> None:
    cfg.validate(config)
    lm.check_network(config)
    _check_ranking_size(config, "ranking_size", config.ranking_size)


class Config(eqx.Module):
    """Reward-model hyperparameters."""

    env_id: str = cfg.sequence_task("purerl/Addition-3")
    sft_demos: int = cfg.count(4096)
    sft_batch_size: int = cfg.count(128)
    sft_updates: int = cfg.count(600, minimum=0)  # SFT stage to start from; 0: from scratch
    num_prompts: int = cfg.count(4096)  # ranked prompts in the comparison set
    ranking_size: int = cfg.count(2, minimum=2)  # K completions ranked per prompt
    # "length_biased": mistakes never lengthen a completion (``sequence.corrupt``), so the
    # data also reward length — for studying reward over-optimization
    labeler: str = cfg.choice("fair", LABELERS)
    batch_size: int = cfg.count(64)  # rankings per update
    num_updates: int = cfg.count(1000)
    width: int = cfg.count(64)
    depth: int = cfg.count(2)
    heads: int = cfg.count(4)
    eval_every: int = cfg.count(0, minimum=0)  # updates between evaluations; 0: none
    eval_episodes: int = cfg.count(256)  # held-out rankings per evaluation

    sft_lr: jax.Array = cfg.hyperparameter(3e-3, 0.0, low_open=True)
    lr: jax.Array = cfg.hyperparameter(1e-3, 0.0, low_open=True)
    max_grad_norm: jax.Array = cfg.hyperparameter(1.0, 0.0, low_open=True)

    __check_init__ = _check


class Rankings(NamedTuple):
    prompt: jax.Array  # [N, P]
    completions: jax.Array  # [N, K, A], best first


class State(NamedTuple):
    model: Any  # transformer.Transformer; its value head is the reward
    opt_state: Any
    data: Rankings  # the comparison set, [num_prompts]
    key: jax.Array


def _optimizer(config: Config) -> optax.GradientTransformation:
    return optim.clipped_adam(config.lr, config.max_grad_norm)


def rankings(config: Config, key: jax.Array, n: int, held_out: bool = False) -> Rankings:
    """``n`` prompts of the task and K labeler-ranked completions of each."""
    k_problems, k_rank = jax.random.split(key)
    problems = sequence.sample_batch(lm.task(config), k_problems, n, held_out)
    keys = jax.random.split(k_rank, n)
    lengthen = config.labeler == "fair"
    completions = jax.vmap(lambda p, k: sequence.ranking(p, k, config.ranking_size, lengthen))(
        problems, keys
    )
    return Rankings(problems.prompt, completions)


def scores(model: Any, data: Rankings) -> jax.Array:
    """r(x, y) of every ranked completion, ``[N, K]``."""
    per_prompt = jax.vmap(lambda x, y: lm.sequence_reward(model, x, y), in_axes=(None, 0))
    return jax.vmap(per_prompt)(data.prompt, data.completions)


def pairwise_accuracy(rewards: jax.Array) -> jax.Array:
    """Fraction of the pairs i < j of rankings ``[N, K]`` (best first) with r_i > r_j."""
    better, worse = jnp.triu_indices(rewards.shape[1], 1)
    return jnp.mean(rewards[:, better] > rewards[:, worse])


def init_from(config: Config, model: Any, key: jax.Array) -> State:
    """Start from a given transformer, e.g. the SFT policy (as InstructGPT does)."""
    k_data, key = jax.random.split(key)
    opt_state = _optimizer(config).init(eqx.filter(model, eqx.is_array))
    return State(model, opt_state, rankings(config, k_data, config.num_prompts), key)


def init(config: Config, key: jax.Array) -> State:
    """From the SFT policy (``sft.stage``, inside the program) as InstructGPT does, or with
    ``sft_updates = 0`` from a freshly initialized transformer."""
    k_model, key = jax.random.split(key)
    return init_from(config, sft.stage(config, k_model)[0], key)


def _loss(model: Any, batch: Rankings):
    r = scores(model, batch)
    loss = jnp.mean(jax.vmap(preference.ranking_loss)(r))
    # The loss sees only differences of scores, so their common offset is unconstrained (its
    # gradient is 0 up to rounding, which Adam turns into steps of size lr): metrics report
    # the margin between the best and the worst of each ranking, not the mean score.
    margin = jnp.mean(r[:, 0] - r[:, -1])
    return loss, {"loss": loss, "accuracy": pairwise_accuracy(r), "margin": margin}


def update(config: Config, state: State) -> tuple[State, dict[str, jax.Array]]:
    """One gradient step on a minibatch of rankings (drawn with replacement)."""
    key, k_batch = jax.random.split(state.key)
    index = jax.random.randint(k_batch, (config.batch_size,), 0, config.num_prompts)
    batch = jax.tree.map(lambda x: x[index], state.data)
    (_, metrics), grads = eqx.filter_value_and_grad(_loss, has_aux=True)(state.model, batch)
    learner = optim.apply(_optimizer(config), optim.Learner(state.model, state.opt_state), grads)
    metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
    return State(learner.model, learner.opt_state, state.data, key), metrics


def evaluate(config: Config, state: State, key: jax.Array) -> jax.Array:
    """Held-out pairwise accuracy (``loop``'s ``eval_return``)."""
    held_out = rankings(config, key, config.eval_episodes, held_out=True)
    return pairwise_accuracy(scores(state.model, held_out))


def train(config: Config, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
    """``init`` then ``config.num_updates`` × ``update`` in one ``lax.scan`` (``loop.train``)."""
    return loop.train(loop.Algorithm(init, update, None, evaluate=evaluate), config, key)


def check_stage(config: Any) -> None:
    """Validate the ``rm_*`` fields of a later algorithm's config (``stage``)."""
    _check_ranking_size(config, "rm_ranking_size", config.rm_ranking_size)


def stage(config: Any, model: Any, key: jax.Array) -> Any:
    """The reward-model stage of a later algorithm (RLHF-PPO), read from its config's
    ``rm_prompts``, ``rm_ranking_size``, ``rm_labeler``, ``rm_batch_size``, ``rm_updates``,
    ``rm_lr`` and its task: a reward model trained from ``model`` (the SFT policy)."""
    stage_config = Config(
        env_id=config.env_id, num_prompts=config.rm_prompts,
        ranking_size=config.rm_ranking_size, labeler=config.rm_labeler,
        batch_size=config.rm_batch_size,
        num_updates=config.rm_updates, width=config.width, depth=config.depth,
        heads=config.heads, lr=config.rm_lr, sft_updates=0,
    )  # fmt: skip
    algorithm = loop.Algorithm(lambda c, k: init_from(c, model, k), update, None)
    state, _ = loop.train(algorithm, stage_config, key)
    return state.model
