"""One entry per algorithm for the shared contract tests: a tiny config and its error cases."""

from __future__ import annotations

from typing import Any, NamedTuple

from purerl.algos import (
    ddpg,
    dqn,
    grpo,
    pg,
    ppo,
    reward_model,
    rlhf_ppo,
    sac,
    sft,
    tabular,
    td3,
    trpo,
)  # fmt: skip


class AlgoCase(NamedTuple):
    name: str
    module: Any
    small: dict[str, Any]  # a config that trains in a few updates
    sweep: dict[str, list[float]]  # two hyperparameters to batch
    invalid: list[tuple[dict[str, Any], str]]  # (overrides, field named in the error)
    # metrics every update reports (environment algorithms: steps, returns, episodes)
    metrics: tuple[str, ...] = (
        "env_steps", "episode_return", "episode_length", "episodes", "nonfinite_at",
    )  # fmt: skip
    # Build the contract programs with XLA:CPU's fusion emitters (``tests.xla.BITWISE``):
    # True where the suite's elemental build rounds the same sums differently in two
    # programs (vmap vs loop, evaluation on vs off), which 5 of the 17 cases do (see
    # ``test_contract.py``); the others compile 2-2.5x faster in the suite's build.
    fusion_emitters: bool = False


DQN_SMALL = dict(
    num_envs=2, total_timesteps=64, buffer_size=32, batch_size=8, learning_starts=16,
    target_update_interval=8, hidden_sizes=(16,),
)  # fmt: skip

OFFPOLICY_SMALL = dict(
    num_envs=2, total_timesteps=48, buffer_size=32, batch_size=8, learning_starts=16,
    hidden_sizes=(16,),
)  # fmt: skip
OFFPOLICY_INVALID = [
    (dict(env_id="CartPole-v1"), "env_id"),
    (dict(tau=0.0), "tau"),
    (dict(buffer_size=4), "buffer_size"),
    (dict(actor_lr=-1.0), "actor_lr"),
    (dict(num_critics=0), "num_critics"),
    (dict(learning_starts=-1), "learning_starts"),
    (dict(learning_starts=49), "learning_starts"),  # beyond the run's 48 steps: never learns
]

CASES = [
    AlgoCase(
        "ppo",
        ppo,
        dict(
            num_envs=2,
            num_steps=16,
            total_timesteps=96,
            num_epochs=2,
            num_minibatches=2,
            eval_every=2,
            eval_episodes=2,
        ),
        dict(lr=[1e-3, 3e-4], clip_eps=[0.1, 0.3]),
        [
            (dict(lr=-1e-3), "lr"),
            (dict(num_minibatches=3), "num_minibatches"),
            (dict(env_id="NoSuchEnv-v0"), "env_id"),
            (dict(gamma=1.5), "gamma"),
            (dict(objective="trust-me"), "objective"),
            (dict(num_envs=0), "num_envs"),
        ],
        fusion_emitters=True,
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
    AlgoCase(
        "tabular-q_learning",
        tabular,
        dict(method="q_learning", num_episodes=6, eval_every=2, eval_episodes=2),
        dict(lr=[0.1, 0.5], epsilon_end=[0.0, 0.2]),
        [
            (dict(method="monte-carlo"), "method"),
            (dict(env_id="CartPole-v1"), "env_id"),
            (dict(lr=0.0), "lr"),
            (dict(method="td0", policy=[[0.5, 0.5]]), "policy"),
            (dict(lambda_=1.5), "lambda_"),
            (dict(epsilon_decay=0.1), "epsilon_decay"),  # 0.6 of 6 episodes: no annealing
        ],
    ),
    AlgoCase(
        "tabular-td_lambda",
        tabular,
        dict(method="td_lambda", env_id="purerl/FrozenLake-4x4", num_episodes=6),
        dict(lr=[0.1, 0.5], lambda_=[0.0, 0.9]),
        [(dict(method="td_n", n=0), "n")],
    ),
    AlgoCase(
        "dqn",
        dqn,
        dict(DQN_SMALL, eval_every=2, eval_episodes=2),
        dict(lr=[1e-3, 3e-4], tau=[1.0, 0.5]),
        [
            (dict(env_id="Pendulum-v1"), "env_id"),
            (dict(target_update_interval=5), "target_update_interval"),
            (dict(buffer_size=4), "buffer_size"),
            (dict(aggregation="median"), "aggregation"),
            (dict(epsilon_end=1.5), "epsilon_end"),
            (dict(n_step=0), "n_step"),
            (dict(total_timesteps=15), "learning_starts"),  # 14 steps < 16: never learns
            (dict(exploration_fraction=0.01), "exploration_fraction"),  # 0.64 steps < 2
        ],
        fusion_emitters=True,
    ),
    AlgoCase(
        "dqn-double-dueling-prioritized-3step",
        dqn,
        dict(DQN_SMALL, double=True, dueling=True, prioritized=True, n_step=3, loss="huber"),
        dict(per_alpha=[0.0, 0.6], gamma=[0.9, 0.99]),
        [(dict(per_beta_start=2.0), "per_beta_start"), (dict(loss="l1"), "loss")],
    ),
    AlgoCase(
        "reinforce-baseline",
        pg,
        dict(num_envs=2, num_steps=24, total_timesteps=144, eval_every=2, eval_episodes=2),
        dict(lr=[1e-3, 3e-3], gamma=[0.9, 0.99]),
        [
            (dict(psi="advantage"), "psi"),
            (dict(num_steps=0), "num_steps"),
            (dict(env_id="brax/no_such_env"), "env_id"),
            (dict(total_timesteps=10), "total_timesteps"),
            (dict(vf_coef=-1.0), "vf_coef"),
        ],
    ),
    AlgoCase(
        "a2c-gae-continuous-shared",
        pg,
        dict(
            env_id="Pendulum-v1",
            psi="gae",
            num_envs=2,
            num_steps=8,
            total_timesteps=64,
            shared_trunk=True,
            normalize_obs=True,
        ),
        dict(lr=[1e-3, 3e-3], gae_lambda=[0.0, 0.95]),
        [(dict(gae_lambda=1.1), "gae_lambda")],
    ),  # fmt: skip
    AlgoCase(
        "trpo",
        trpo,
        dict(num_envs=2, num_steps=16, total_timesteps=96, vf_minibatches=2),
        # damping 0.01 would make the 10-step CG solve amplify summation-order noise (0.3%
        # after 3 updates at -O0) past the contract's 1e-4: a probe of conditioning, not vmap
        dict(max_kl=[0.01, 0.05], cg_damping=[0.1, 0.05]),
        [
            (dict(method="adam"), "method"),
            (dict(max_kl=0.0), "max_kl"),
            (dict(line_search_shrink=1.0), "line_search_shrink"),
            (dict(cg_iters=0), "cg_iters"),
            (dict(vf_minibatches=5), "vf_minibatches"),
        ],
    ),
    AlgoCase(
        "trpo-penalized-continuous",
        trpo,
        dict(
            env_id="Pendulum-v1",
            method="penalized",
            num_envs=2,
            num_steps=16,
            total_timesteps=96,
            vf_minibatches=2,
            normalize_obs=True,
            eval_every=2,
            eval_episodes=2,
        ),
        dict(dual_lr=[1.0, 10.0], policy_lr=[1e-3, 3e-4]),
        [(dict(dual_lr=-1.0), "dual_lr")],
        fusion_emitters=True,
    ),  # fmt: skip
    AlgoCase(
        "ddpg",
        ddpg,
        dict(OFFPOLICY_SMALL, eval_every=2, eval_episodes=2),
        dict(actor_lr=[1e-3, 3e-4], exploration_noise=[0.1, 0.3]),
        [*OFFPOLICY_INVALID, (dict(exploration_noise=-0.1), "exploration_noise")],
        fusion_emitters=True,
    ),
    AlgoCase(
        "td3",
        td3,
        dict(OFFPOLICY_SMALL, gradient_steps=2),
        dict(tau=[0.005, 0.5], target_noise=[0.2, 0.5]),
        [
            (dict(policy_delay=0), "policy_delay"),
            (dict(target_noise_clip=-1.0), "target_noise_clip"),
        ],
    ),
    AlgoCase(
        "sac",
        sac,
        dict(OFFPOLICY_SMALL, eval_every=2, eval_episodes=2),
        dict(critic_lr=[1e-3, 3e-4], target_entropy_scale=[1.0, 0.5]),
        [*OFFPOLICY_INVALID, (dict(alpha=0.0), "alpha"), (dict(alpha_lr=0.0), "alpha_lr")],
        fusion_emitters=True,
    ),
    AlgoCase(
        "sft",
        sft,
        dict(
            env_id="purerl/Addition-2",
            num_demos=32,
            batch_size=8,
            num_updates=3,
            width=16,
            depth=1,
            heads=2,
            eval_every=2,
            eval_episodes=8,
        ),
        dict(lr=[1e-3, 1e-2], max_grad_norm=[0.5, 1.0]),
        [
            (dict(env_id="purerl/Addition-9"), "env_id"),
            (dict(env_id="CartPole-v1"), "env_id"),
            (dict(width=30, heads=4), "width"),
            (dict(lr=0.0), "lr"),
            (dict(num_demos=0), "num_demos"),
        ],
        metrics=("loss", "grad_norm", "nonfinite_at"),
    ),  # fmt: skip
    AlgoCase(
        "reward-model-3-wise",
        reward_model,
        dict(
            env_id="purerl/Addition-2",
            sft_demos=32,
            sft_batch_size=8,
            sft_updates=2,
            num_prompts=32,
            ranking_size=3,
            batch_size=8,
            num_updates=3,
            width=16,
            depth=1,
            heads=2,
            eval_every=2,
            eval_episodes=8,
        ),
        dict(lr=[1e-3, 1e-2], max_grad_norm=[0.5, 1.0]),
        [
            (dict(ranking_size=1), "ranking_size"),
            (dict(labeler="biased"), "labeler"),
            (dict(ranking_size=5), "ranking_size"),
            (dict(env_id="purerl/Addition"), "env_id"),
            (dict(lr=-1.0), "lr"),
        ],
        metrics=("loss", "accuracy", "grad_norm", "nonfinite_at"),
    ),  # fmt: skip
    AlgoCase(
        "rlhf-ppo-ptx",
        rlhf_ppo,
        dict(
            env_id="purerl/Addition-2",
            sft_demos=32,
            sft_updates=0,  # a fresh policy: the SFT stage is the reward-model case's
            rm_prompts=16,
            rm_batch_size=8,
            rm_updates=2,
            width=16,
            depth=1,
            heads=2,
            num_prompts=8,
            num_updates=3,
            num_minibatches=2,
            ptx_batch_size=4,
            # evaluation off: it is SFT's (lm.held_out_exact_match), tested in that case
        ),
        dict(beta=[0.0, 0.1], ptx_coef=[0.0, 1.0]),
        [
            (dict(num_minibatches=3), "num_minibatches"),
            (dict(rm_ranking_size=9), "rm_ranking_size"),
            (dict(gae_lambda=1.5), "gae_lambda"),
            (dict(ptx_batch_size=-1), "ptx_batch_size"),
        ],
        metrics=("loss", "reward", "true_reward", "kl", "grad_norm", "nonfinite_at"),
    ),  # fmt: skip
    AlgoCase(
        "grpo-process-leave-one-out",
        grpo,
        dict(
            env_id="purerl/Addition-2",
            sft_demos=32,
            sft_updates=0,  # a fresh policy: the SFT stage is the reward-model case's
            width=16,
            depth=1,
            heads=2,
            # 8 prompts, not 4: with 4, every group of one run's first and third batches
            # scored alike (answers in D + 1 places), leaving the KL term's gradient alone,
            # exactly 0 at π_θ = π_ref in the loop and 1e-7 (rounding) in the vmapped
            # program; Adam turns either into a step, and grad_norm came out 10% apart.
            num_prompts=8,
            group_size=4,
            num_updates=3,
            num_iterations=2,
            supervision="process",
            baseline="leave_one_out",
            aggregation="constant",
            # evaluation off: it is SFT's (lm.held_out_exact_match), tested in that case
        ),
        dict(lr=[1e-4, 1e-3], beta=[0.0, 0.1]),
        [
            (dict(supervision="critic"), "supervision"),
            (dict(group_size=1), "group_size"),
            (dict(kl_estimator="k4"), "kl_estimator"),
            (dict(clip_eps=0.0), "clip_eps"),
            (dict(temperature=0.0), "temperature"),
            (dict(env_id="purerl/Sort-3"), "env_id"),
            (dict(sft_target=-0.5), "sft_target"),
        ],
        metrics=("loss", "kl", "reward", "grad_norm", "nonfinite_at"),
    ),  # fmt: skip
]

# Language-model algorithms: their contract tests are a module of their own
# (``test_contract_lm.py``) so that pytest-xdist's ``--dist loadscope`` can run them on a
# worker beside the environment algorithms' (together they were a third of the suite on
# one worker).
LM_MODULES = (sft, reward_model, rlhf_ppo, grpo)
LM_CASES = [c for c in CASES if c.module in LM_MODULES]
ENV_CASES = [c for c in CASES if c.module not in LM_MODULES]
