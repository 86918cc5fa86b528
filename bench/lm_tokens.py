"""Language-model throughput: tokens/s of batched sampling and of GRPO updates, 1 and 8 seeds.

Default setting: Addition-3, the GRPO defaults (a 2-layer width-64 transformer, 32 prompts
× 8 completions per update, 5-token completion budget). Seeds run vmapped in one program,
each with its own policy. Sampling generates every position of the budget (``lax.scan``
over it, one position per step with a KV cache; a finished completion is padded), so
tokens/s counts budget positions; a GRPO update is sampling (which gives the old policy's
log-probs) + the reference's pass + ``num_iterations`` gradient steps, and its tokens/s
counts the batch's completion positions per update. Run time is the median of
``--repeats`` calls of the compiled program; compile is timed apart.

    python bench/lm_tokens.py [--seeds 1 8] [--updates 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).parent))
from common import report, time_program  # noqa: E402

from purerl import lm  # noqa: E402
from purerl.algos import grpo  # noqa: E402
from purerl.envs import sequence  # noqa: E402

COLUMNS = ["work", "seeds", "compile_s", "run_s", "tokens_per_s"]


def sampling(config: grpo.Config, keys: jax.Array) -> jax.Array:
    """Each seed: a fresh policy samples ``num_prompts × group_size`` completions."""

    def one(key):
        k_model, k_problems, k_sample = jax.random.split(key, 3)
        model = lm.build_policy(config, k_model)
        n = config.num_prompts * config.group_size
        problems = sequence.sample_batch(lm.task(config), k_problems, n)
        return lm.sample_and_verify(model, problems, k_sample, 1.0).outcome

    return jax.vmap(one)(keys)


def grpo_updates(config: grpo.Config, keys: jax.Array, updates: int) -> jax.Array:
    """Each seed: ``updates`` GRPO updates from a fresh policy (no SFT stage)."""

    def one(key):
        k_model, k_state = jax.random.split(key)
        state = grpo.init_from(config, lm.build_policy(config, k_model), k_state)
        _, metrics = jax.lax.scan(lambda s, _: grpo.update(config, s), state, None, updates)
        return metrics["loss"]

    return jax.vmap(one)(keys)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--env", default="purerl/Addition-3")
    args = parser.parse_args(argv)
    config = grpo.Config(env_id=args.env)
    budget = lm.task(config).answer_len
    per_batch = config.num_prompts * config.group_size * budget
    rows = []
    for seeds in args.seeds:
        keys = jax.random.split(jax.random.key(0), seeds)
        for work, fn, tokens in (
            ("sampling", lambda k: sampling(config, k), seeds * per_batch),
            ("grpo update", lambda k: grpo_updates(config, k, args.updates),
             seeds * per_batch * args.updates),
        ):  # fmt: skip
            compile_s, run_s, out = time_program(fn, keys, repeats=args.repeats)
            assert bool(jnp.all(jnp.isfinite(out))), f"{work}: non-finite output"
            rows.append({
                "work": work, "seeds": seeds, "compile_s": round(compile_s, 2),
                "run_s": round(run_s, 3), "tokens_per_s": round(tokens / run_s),
            })  # fmt: skip
    report("lm_tokens", rows, COLUMNS, {
        "config": {"env_id": config.env_id, "width": config.width, "depth": config.depth,
                   "num_prompts": config.num_prompts, "group_size": config.group_size,
                   "completion_budget": budget, "num_iterations": config.num_iterations,
                   "updates_per_call": args.updates},
    })  # fmt: skip


if __name__ == "__main__":
    main()
