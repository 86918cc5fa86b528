"""Small pure functions over arrays: the part of purerl other researchers import and compose.

Unbatched (one trajectory ``[T]`` or one sample), rank-checked at trace time, targets
``stop_gradient``-ed; callers ``vmap`` and reduce.
"""

from purerl.kernels import distributions, policy, returns

__all__ = ["distributions", "policy", "returns"]
