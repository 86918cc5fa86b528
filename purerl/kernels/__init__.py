"""Small pure functions over arrays: the part of purerl other researchers import and compose.

Unbatched (one trajectory ``[T]`` or one sample), rank-checked at trace time, targets
``stop_gradient``-ed; callers ``vmap`` and reduce. Every kernel is importable from here by
name (``from purerl.kernels import gae, clipped_surrogate_objective``) or through its module
(``purerl.kernels.returns.gae``):

- ``continuous``: DDPG/TD3/SAC: deterministic policy gradient, clipped double-Q and soft
  targets, target smoothing, SAC's actor and temperature losses, Polyak averaging;
- ``distributions``: sample, log-probability, entropy, KL and mode of categorical and
  diagonal-Gaussian policies; the tanh-squashed Gaussian on a box; ε-greedy sampling;
- ``divergence``: the k1, k2, k3 sample estimators of KL from log-ratios;
- ``policy``: policy-gradient, surrogate, clipped (symmetric or asymmetric) and KL-penalized
  objectives, advantage normalization, entropy and value losses;
- ``preference``: language-model RL: Bradley–Terry and ranking losses, group-relative and
  process-supervision advantages, token-loss aggregation, GRPO's token objective, RLHF's
  KL-shaped rewards and pretraining term;
- ``returns``: TD errors, λ-returns, n-step returns, GAE and the policy-gradient ψ weights;
- ``tabular``: Bellman backups, exact policy evaluation, greedy/ε-greedy tables, traces;
- ``trust_region``: Fisher-vector products, conjugate gradient, line search, dual ascent;
- ``value``: Q-learning, Double Q, SARSA and expected-SARSA targets, TD losses, dueling.
"""

from purerl.kernels import (
    continuous,
    distributions,
    divergence,
    policy,
    preference,
    returns,
    tabular,
    trust_region,
    value,
)
from purerl.kernels.continuous import (
    clipped_double_q_target,
    deterministic_policy_loss,
    polyak,
    smoothed_target_action,
    soft_policy_loss,
    soft_q_target,
    target_entropy,
    temperature_loss,
)
from purerl.kernels.distributions import (
    CATEGORICAL,
    DIAG_GAUSSIAN,
    DistributionOps,
    categorical_entropy,
    categorical_kl,
    categorical_log_prob,
    categorical_mode,
    categorical_sample,
    epsilon_greedy_sample,
    gaussian_entropy,
    gaussian_kl,
    gaussian_log_prob,
    gaussian_mode,
    gaussian_sample,
    squashed_gaussian_log_prob,
    squashed_gaussian_mode,
    squashed_gaussian_sample,
    tanh_log_det_jacobian,
)
from purerl.kernels.divergence import kl_k1, kl_k2, kl_k3
from purerl.kernels.policy import (
    adaptive_kl_coefficient,
    clipped_surrogate_objective,
    entropy_loss,
    importance_ratio,
    kl_penalized_objective,
    normalize_advantages,
    policy_gradient_loss,
    surrogate_objective,
    value_loss,
)
from purerl.kernels.preference import (
    aggregate_token_terms,
    bradley_terry_loss,
    group_advantages,
    grpo_token_objective,
    kl_shaped_rewards,
    pretraining_objective,
    process_advantages,
    ranking_loss,
)
from purerl.kernels.returns import (
    PSI,
    discounted_returns,
    gae,
    lambda_returns,
    n_step_returns,
    policy_gradient_psi,
    td_error,
    total_returns,
)
from purerl.kernels.tabular import (
    TRACES,
    eligibility_trace,
    epsilon_greedy_probs,
    first_visits,
    greedy_policy,
    policy_model,
    q_backup,
    q_optimality_backup,
    solve_linear,
    table_increment,
    v_expectation_backup,
    v_optimality_backup,
)
from purerl.kernels.trust_region import (
    LineSearch,
    backtracking_line_search,
    conjugate_gradient,
    dual_ascent,
    fisher_vector_product,
    max_step_scale,
)
from purerl.kernels.value import (
    AGGREGATIONS,
    double_q_learning_target,
    dueling,
    expected_sarsa_target,
    huber_loss,
    n_step_accumulate,
    q_learning_target,
    q_td_error,
    sarsa_target,
    squared_loss,
)

MODULES = (
    continuous, distributions, divergence, policy, preference, returns, tabular, trust_region,
    value,
)  # fmt: skip

__all__ = [
    # modules
    "continuous",
    "distributions",
    "divergence",
    "policy",
    "preference",
    "returns",
    "tabular",
    "trust_region",
    "value",
    # distributions
    "CATEGORICAL",
    "DIAG_GAUSSIAN",
    "DistributionOps",
    "categorical_entropy",
    "categorical_kl",
    "categorical_log_prob",
    "categorical_mode",
    "categorical_sample",
    "epsilon_greedy_sample",
    "gaussian_entropy",
    "gaussian_kl",
    "gaussian_log_prob",
    "gaussian_mode",
    "gaussian_sample",
    "squashed_gaussian_log_prob",
    "squashed_gaussian_mode",
    "squashed_gaussian_sample",
    "tanh_log_det_jacobian",
    # continuous
    "clipped_double_q_target",
    "deterministic_policy_loss",
    "polyak",
    "smoothed_target_action",
    "soft_policy_loss",
    "soft_q_target",
    "target_entropy",
    "temperature_loss",
    # divergence
    "kl_k1",
    "kl_k2",
    "kl_k3",
    # policy
    "adaptive_kl_coefficient",
    "clipped_surrogate_objective",
    "entropy_loss",
    "importance_ratio",
    "kl_penalized_objective",
    "normalize_advantages",
    "policy_gradient_loss",
    "surrogate_objective",
    "value_loss",
    # preference
    "aggregate_token_terms",
    "bradley_terry_loss",
    "group_advantages",
    "grpo_token_objective",
    "kl_shaped_rewards",
    "pretraining_objective",
    "process_advantages",
    "ranking_loss",
    # returns
    "PSI",
    "discounted_returns",
    "gae",
    "lambda_returns",
    "n_step_returns",
    "policy_gradient_psi",
    "td_error",
    "total_returns",
    # tabular
    "TRACES",
    "eligibility_trace",
    "epsilon_greedy_probs",
    "first_visits",
    "greedy_policy",
    "policy_model",
    "q_backup",
    "q_optimality_backup",
    "solve_linear",
    "table_increment",
    "v_expectation_backup",
    "v_optimality_backup",
    # trust_region
    "LineSearch",
    "backtracking_line_search",
    "conjugate_gradient",
    "dual_ascent",
    "fisher_vector_product",
    "max_step_scale",
    # value
    "AGGREGATIONS",
    "double_q_learning_target",
    "dueling",
    "expected_sarsa_target",
    "huber_loss",
    "n_step_accumulate",
    "q_learning_target",
    "q_td_error",
    "sarsa_target",
    "squared_loss",
]
