"""The contract tests (``test_contract.py``) on the language-model algorithms: SFT, reward
models, RLHF-PPO and GRPO. A module of its own so that pytest-xdist balances the two."""

from tests.algos.cases import LM_CASES
from tests.algos.test_contract import *  # noqa: F403 (the tests and their fixtures)

CONTRACT_CASES = LM_CASES
