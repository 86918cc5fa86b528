"""The README's Python example runs (with a shorter training budget)."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_runs():
    text = README.read_text()
    assert text.index("make demo") < text.index("```python"), "the two commands come first"
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert "steps = 500_000" in code
    namespace: dict = {}
    exec(code.replace("steps = 500_000", "steps = 1_024"), namespace)
    assert namespace["seeds"]["episode_return"].shape == (8, 2)
    assert namespace["grid"]["episode_return"].shape == (2, 2)


def test_every_other_readme_python_block_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[1:]
    assert blocks
    for code in blocks:
        exec(code, {})
