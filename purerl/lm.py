"""What the language-model algorithms (SFT, reward models, RLHF-PPO, GRPO) share: the
policy for a sequence task, teacher-forced log-likelihood of answers, a reward model's
score of a completion, sampling a batch of completions with their rewards, and held-out
exact match under greedy decoding."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from purerl import config as cfg
from purerl import transformer
from purerl.envs import sequence
from purerl.kernels import preference


def task(config) -> sequence.Task:
    return sequence.make(config.env_id)


def build_policy(config, key: jax.Array) -> transformer.Transformer:
    """The config's transformer (``width``, ``depth``, ``heads``) sized for its task."""
    t = task(config)
    return transformer.Transformer(
        sequence.VOCAB_SIZE, t.prompt_len + t.answer_len, config.width, config.depth,
        config.heads, key=key,
    )  # fmt: skip


def check_network(config) -> None:
    """The transformer fields every LM config shares: ``width`` splits evenly into heads."""
    cfg.require(config, "width", config.width % config.heads == 0, "must be a multiple of heads")


def completion_log_probs(model, prompts: jax.Array, completions: jax.Array, temperature=1.0):
    """``transformer.completion_log_probs`` over a batch: log-probabilities and values
    ``[N, A]`` of ``completions`` ``[N, A]`` after ``prompts`` ``[N, P]``, at ``temperature``."""
    return jax.vmap(lambda p, c: transformer.completion_log_probs(model, p, c, temperature))(
        prompts, completions
    )


def answer_log_likelihood(model, problems: sequence.Problem) -> jax.Array:
    """Mean log-probability per answer token (digits and EOS) of ``problems`` ``[N]``,
    teacher-forced: the supervised fine-tuning objective (to maximize)."""
    logp, _ = completion_log_probs(model, problems.prompt, problems.answer)
    mask = jnp.arange(problems.answer.shape[1])[None, :] < problems.answer_len[:, None]
    return preference.aggregate_token_terms(logp, mask, "token_mean")


def sequence_reward(model, prompt: jax.Array, completion: jax.Array) -> jax.Array:
    """A reward model's score r(x, y) of ``completion`` ``[A]`` after ``prompt`` ``[P]``: its
    value head at the completion's last token (its EOS, or the last of the budget), the
    state that has read all of x and y (InstructGPT §3.5)."""
    last = prompt.shape[0] + jnp.sum(sequence.completion_mask(completion)).astype(jnp.int32) - 1
    return model(jnp.concatenate([prompt, completion]))[1][last]


def sequence_rewards(model, prompts: jax.Array, completions: jax.Array) -> jax.Array:
    """``sequence_reward`` over a batch: scores ``[N]`` of ``completions`` ``[N, A]``."""
    return jax.vmap(lambda x, y: sequence_reward(model, x, y))(prompts, completions)


class Samples(NamedTuple):
    completion: transformer.Completion  # fields [N, A]
    outcome: jax.Array  # [N] exact match, 1/0


def sample_and_verify(model, problems: sequence.Problem, key: jax.Array, temperature) -> Samples:
    """One completion per problem ``[N]`` at ``temperature`` (0: greedy), and its outcome."""
    a = problems.answer.shape[1]
    keys = jax.random.split(key, problems.prompt.shape[0])
    completion = jax.vmap(lambda p, k: transformer.sample(model, p, a, k, temperature))(
        problems.prompt, keys
    )
    outcome = jax.vmap(sequence.outcome_reward)(completion.tokens, problems)
    return Samples(completion, outcome)


def exact_match(model, problems: sequence.Problem, key: jax.Array) -> jax.Array:
    """Fraction of ``problems`` ``[N]`` answered exactly by greedy decoding."""
    return jnp.mean(sample_and_verify(model, problems, key, 0.0).outcome)


def held_out_exact_match(config, model, key: jax.Array) -> jax.Array:
    """Fraction of ``config.eval_episodes`` held-out prompts answered exactly, greedily."""
    k_problems, k_sample = jax.random.split(key)
    problems = sequence.sample_batch(task(config), k_problems, config.eval_episodes, True)
    return exact_match(model, problems, k_sample)


def evaluate(config, state, key: jax.Array) -> jax.Array:
    """A policy algorithm's ``evaluate`` (``loop``'s ``eval_return``): held-out exact match
    of ``state.model``'s greedy decoding."""
    return held_out_exact_match(config, state.model, key)
