"""Parametrizes the contract tests (``test_contract.py``) with their module's cases."""


def pytest_generate_tests(metafunc):
    cases = getattr(metafunc.module, "CONTRACT_CASES", None)
    if cases is None:
        return
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", cases, ids=[c.name for c in cases], scope="module")
    if "invalid" in metafunc.fixturenames:
        items = [(c, overrides, field) for c in cases for overrides, field in c.invalid]
        ids = [f"{c.name}-{field}" for c, _, field in items]
        metafunc.parametrize("invalid", items, ids=ids)
