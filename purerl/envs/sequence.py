"""Verifiable sequence tasks for language-model policies: a prompt, one right answer, and a
verifier that scores a completion — as a whole (outcome reward) and step by step (process
rewards), so that outcome and process supervision can be compared on the same task.

- ``purerl/Addition-D``: ``"347+85="`` → ``"0432"``, operands uniform in [0, 10^D), the
  sum in D + 1 places;
- ``purerl/Reverse-D``: ``"3071="`` → ``"1703"``, a digit string of 1 to D digits.

Tokens: PAD, EOS, the digits, ``+`` and ``=``. A prompt has a fixed width and ends at the
same position for every problem, so a completion starts right after it; an answer is its
digits then EOS, left-aligned and padded with PAD. Addition lays each operand out
right-aligned in a field of D places (``"347+85="`` with D = 3 is ``3 4 7 + _ 8 5 =``, ``_``
the PAD that decoding drops), so a position means the same place in every prompt; with
the operands packed together (``_ 3 4 7 + 8 5 =``) the units of the first operand move
with the length of the second, and a 2-layer width-64 transformer trained on 32k
demonstrations plateaued at 88-91% held-out exact match, against 99-100% (one seed of two)
with the fields. For the same reason its answer is the sum in all D + 1 places, leading
zeros included (``0432``), so an answer position is a place too. With the sum's own digits
(``432``, ``1032``) the tens digit sits at the second answer position in one sum and the
third in another; policies fine-tuned part way (600-800 updates on 4,096 demonstrations)
typically had one of the two lengths right and got the tens digit of the other wrong in
90-98% of its problems, and GRPO lifted some of them only slowly (from 0.28-0.42 held-out
exact match to 0.52-0.81 in 3,000 updates; 4 runs of 11 from 10-50%). A reversal prompt
is the digit string right-aligned.

Each task splits its problems by a fixed rule into a training set and a held-out 10% that
training never samples, so held-out accuracy measures generalization to unseen problems:
addition, h(a, b) = Σ_i 3^i a_i + 7 Σ_i 3^i b_i ≡ 0 (mod 10) over the operands' digits a_i,
b_i (i = 0 the units) — a rule over every digit, so each pair of digits in each place is
still seen in training; reversal, digit sum ≡ 0 (mod 10). Everything is pure JAX and
unbatched (one problem); ``vmap`` for batches.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

Array = chex.Array

TOKENS = ("_", "$", *"0123456789", "+", "=")  # "_" is PAD and "$" EOS when printed
PAD, EOS, DIGIT0, PLUS, EQUALS = 0, 1, 2, 12, 13
VOCAB_SIZE = len(TOKENS)
KINDS = ("Addition", "Reverse")


class Task(NamedTuple):
    """A task's static description (hashable: a ``Config`` field can hold its id)."""

    kind: str  # one of KINDS
    digits: int  # D
    prompt_len: int  # P, every prompt's width
    answer_len: int  # A, the longest answer including its EOS: a completion's budget


class Problem(NamedTuple):
    prompt: Array  # [P] int32
    answer: Array  # [A] int32: digits, EOS, then PAD
    answer_len: Array  # int32: digits + 1 (the EOS)


def task_ids() -> tuple[str, ...]:
    return tuple(f"purerl/{k}-{d}" for k in KINDS for d in (1, 2, 3, 4, 5))


def make(task_id: str) -> Task:
    """``"purerl/Addition-3"`` → its ``Task``; an unknown id raises ``ValueError``."""
    kind, _, digits = task_id.removeprefix("purerl/").partition("-")
    if kind not in KINDS or not digits.isdigit() or not 1 <= int(digits) <= 5:
        close = difflib.get_close_matches(task_id, task_ids(), n=3)
        known = close or task_ids()
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(known)}"
        raise ValueError(f"env_id: unknown sequence task {task_id!r}{hint}")
    d = int(digits)
    if kind == "Addition":
        return Task(kind, d, prompt_len=2 * d + 2, answer_len=d + 2)
    return Task(kind, d, prompt_len=d + 1, answer_len=d + 1)


def _digits(n: Array, width: int) -> Array:
    """The ``width`` decimal digits of ``n``, most significant first."""
    powers = 10 ** jnp.arange(width - 1, -1, -1)
    return (n // powers) % 10


def _compact(tokens: Array, keep: Array, right: bool) -> Array:
    """Keep ``tokens[keep]`` in order, pushed to the right (or left) end, PAD elsewhere."""
    order = jnp.argsort(keep if right else ~keep, stable=True)
    return jnp.where(keep, tokens, PAD)[order]


def _number(n: Array, width: int) -> tuple[Array, Array]:
    """Digit tokens of ``n`` in ``width`` places and which of them to keep (no leading 0s)."""
    digits = _digits(n, width)
    significant = jnp.cumsum(digits != 0) > 0
    return digits + DIGIT0, significant.at[-1].set(True)


def _place_weights(n: int) -> Array:
    """3^i mod 10 for the places i = 0 … n − 1 (units first): the held-out rule's weights."""
    return jnp.array([(1, 3, 9, 7)[i % 4] for i in range(n)], jnp.int32)


def _addition_hash(a: Array, b: Array, d: int) -> Array:
    """h(a, b) mod 10, the addition split's rule (module docstring)."""
    places = 10 ** jnp.arange(d)
    w = _place_weights(d)
    return (jnp.sum(w * (a // places % 10)) + 7 * jnp.sum(w * (b // places % 10))) % 10


def _addition(task: Task, key: Array, held_out: bool) -> Problem:
    d = task.digits
    k_a, k_b = jax.random.split(key)
    a = jax.random.randint(k_a, (), 0, 10**d)
    b = jax.random.randint(k_b, (), 0, 10**d)
    tens = b - b % 10
    if held_out:  # the units digit of b that makes h ≡ 0: 7 b_0 ≡ −h(a, tens)  (7⁻¹ ≡ 3)
        b = tens + (-3 * _addition_hash(a, tens, d)) % 10
    else:  # off the held-out split: a units digit one more (h changes by 7 mod 10)
        b = jnp.where(_addition_hash(a, b, d) == 0, tens + (b + 1) % 10, b)
    a_tok, a_keep = _number(a, d)
    b_tok, b_keep = _number(b, d)
    prompt = jnp.concatenate(
        [
            _compact(a_tok, a_keep, right=True),
            jnp.array([PLUS]),
            _compact(b_tok, b_keep, right=True),
            jnp.array([EQUALS]),
        ]
    )
    answer = jnp.concatenate([_digits(a + b, d + 1) + DIGIT0, jnp.array([EOS])])
    return Problem(prompt, answer, jnp.int32(d + 2))


def _reverse(task: Task, key: Array, held_out: bool) -> Problem:
    d = task.digits
    k_len, k_digits = jax.random.split(key)
    length = jax.random.randint(k_len, (), 1, d + 1)
    used = jnp.arange(d) < length
    digits = jnp.where(used, jax.random.randint(k_digits, (d,), 0, 10), 0)
    last = length - 1
    rest = jnp.sum(digits) - digits[last]
    if held_out:  # the last digit makes the digit sum ≡ 0 (mod 10)
        digits = digits.at[last].set((-rest) % 10)
    else:
        digits = digits.at[last].set(
            jnp.where((rest + digits[last]) % 10 == 0, (digits[last] + 1) % 10, digits[last])
        )
    mark = jnp.ones(1, bool)
    prompt = _compact(
        jnp.concatenate([digits + DIGIT0, jnp.array([EQUALS])]),
        jnp.concatenate([used, mark]),
        right=True,
    )
    reversed_ = jnp.roll(digits[::-1], length - d)  # the used digits, reversed, first
    answer = _compact(
        jnp.concatenate([reversed_ + DIGIT0, jnp.array([EOS])]),
        jnp.concatenate([used, mark]),
        right=False,
    )
    return Problem(prompt, answer, length.astype(jnp.int32) + 1)


def sample(task: Task, key: Array, held_out: bool = False) -> Problem:
    """One problem from the training split (or, with ``held_out``, the held-out split)."""
    problem = (_addition if task.kind == "Addition" else _reverse)(task, key, held_out)
    return jax.tree.map(lambda x: x.astype(jnp.int32), problem)


def sample_batch(task: Task, key: Array, n: int, held_out: bool = False) -> Problem:
    """``n`` problems, each field with a leading axis ``[n]``."""
    return jax.vmap(lambda k: sample(task, k, held_out))(jax.random.split(key, n))


def is_held_out(task: Task, prompt: Array) -> Array:
    """Whether a prompt belongs to the held-out split (the rule in the module docstring)."""
    digit = (prompt >= DIGIT0) & (prompt < DIGIT0 + 10)
    value = prompt - DIGIT0
    if task.kind == "Reverse":
        return jnp.sum(jnp.where(digit, value, 0)) % 10 == 0
    plus = jnp.argmax(prompt == PLUS)
    position = jnp.arange(prompt.shape[0])
    place = jnp.where(position < plus, plus - 1 - position, prompt.shape[0] - 2 - position)
    weight = jnp.take(_place_weights(4), place % 4) * jnp.where(position < plus, 1, 7)
    return jnp.sum(jnp.where(digit, weight * value, 0)) % 10 == 0


# --- the verifier ---------------------------------------------------------------------------


def completion_mask(completion: Array) -> Array:
    """1 on a completion's tokens up to and including its first EOS (all, if it has none)."""
    chex.assert_rank(completion, 1)
    ended_before = jnp.cumsum(completion == EOS) - (completion == EOS)
    return (ended_before == 0).astype(jnp.float32)


def outcome_reward(completion: Array, problem: Problem) -> Array:
    """1.0 if the completion is exactly the answer (its digits, then EOS), else 0.0."""
    chex.assert_equal_shape([completion, problem.answer])
    within = jnp.arange(completion.shape[0]) < problem.answer_len
    return jnp.all(jnp.where(within, completion == problem.answer, True)).astype(jnp.float32)


def process_rewards(completion: Array, problem: Problem) -> tuple[Array, Array, Array]:
    """One step per generated token: reward 1 while every token so far is right, 0 from the
    first wrong one on. Returns (step rewards ``[A]``, step ends ``[A]`` — step t ends at
    token t — and the step mask ``[A]``, the completion's own tokens).

    The rewards sum to the length of the correct prefix; a completion is exactly right iff
    its every step is rewarded and it stops where the answer does.
    """
    chex.assert_equal_shape([completion, problem.answer])
    right_so_far = jnp.cumprod(completion == problem.answer).astype(jnp.float32)
    mask = completion_mask(completion)
    return right_so_far * mask, jnp.arange(completion.shape[0]), mask


def corrupt(problem: Problem, key: Array, errors: Array | int, lengthen: bool = True) -> Array:
    """A wrong completion ``[A]`` with exactly ``errors`` mistakes, as a labeler counts them:
    digits that differ from the answer's in the same place, plus the difference in length.

    A completion with at least one mistake is, at random, the answer's length, one digit
    shorter (its last digit dropped) or one longer (a random digit appended; one that fills
    the whole budget has no EOS, like a policy's truncated completion), where the mistakes
    allow it; the remaining mistakes change digits at random places (each to a different
    digit); mistakes beyond the answer's digits are appended digits. ``errors`` < A;
    ``errors`` = 0 is the answer itself. ``lengthen=False`` is a biased labeler's data: a
    mistake never adds a digit unless the answer has too few digits to hold them all, so
    the longer of two completions is (almost) never the worse — a spurious cue.
    Candidates made with 0, 1, …, K − 1 errors are a strict ranking of K completions (the
    reward model's data).
    """
    chex.assert_rank(problem.answer, 1)
    a = problem.answer.shape[0]
    digits = problem.answer_len - 1
    k_shift, k_where, k_digit, k_extra = jax.random.split(key, 4)
    errors = jnp.asarray(errors, jnp.int32)
    shift = jax.random.randint(k_shift, (), -1, 2) * (errors >= 1)
    shift = jnp.where((shift == -1) & ((digits < 2) | (errors > digits)), 0, shift)
    shift = jnp.where((shift == 1) & ((digits + 1 > a) | (errors - 1 > digits)), 0, shift)
    if not lengthen:
        shift = jnp.minimum(shift, 0)
    length = jnp.where(shift == 0, digits + jnp.maximum(errors - digits, 0), digits + shift)
    kept = jnp.minimum(digits, length)  # places that keep (or change) an answer digit
    changes = errors - jnp.abs(length - digits)
    position = jnp.arange(a)
    order = jnp.argsort(jnp.where(position < kept, jax.random.uniform(k_where, (a,)), 2.0))
    rank = jnp.zeros(a, jnp.int32).at[order].set(jnp.arange(a, dtype=jnp.int32))
    changed = (rank < changes) & (position < kept)
    step = jax.random.randint(k_digit, (a,), 1, 10)  # never 0: a different digit
    tokens = jnp.where(changed, (problem.answer - DIGIT0 + step) % 10 + DIGIT0, problem.answer)
    extra = jax.random.randint(k_extra, (a,), 0, 10) + DIGIT0
    tokens = jnp.where((position >= kept) & (position < length), extra, tokens)
    return jnp.where(position == length, EOS, jnp.where(position > length, PAD, tokens)).astype(
        problem.answer.dtype
    )


def ranking(problem: Problem, key: Array, k: int, lengthen: bool = True) -> Array:
    """K completions ``[K, A]`` of ``problem`` ranked best first: ``corrupt`` with
    0, 1, …, K − 1 errors (the first is the answer)."""
    keys = jax.random.split(key, k)
    return jax.vmap(lambda e, kk: corrupt(problem, kk, e, lengthen))(jnp.arange(k), keys)


# --- text, for people ------------------------------------------------------------------------


def encode_prompt(task: Task, text: str) -> np.ndarray:
    """A prompt's text (``"347+85="``, ``"3071="``) → its ``[P]`` tokens in ``task``'s layout
    (the module docstring): what ``sample`` draws for that problem."""
    if task.kind == "Reverse":
        return encode(text, task.prompt_len, right=True)
    a, plus, b = text.removesuffix("=").partition("+")
    if not plus:
        raise ValueError(f"encode_prompt: {text!r} is not an addition prompt 'a+b='")
    d = task.digits
    fields = [encode(a, d, right=True), encode("+", 1), encode(b, d, right=True), encode("=", 1)]
    return np.concatenate(fields)


def decode(tokens) -> str:
    """Tokens → text without padding, stopping after the first EOS (shown as ``$``)."""
    out = []
    for t in np.asarray(tokens).tolist():
        if t == PAD:
            continue
        out.append(TOKENS[t])
        if t == EOS:
            break
    return "".join(out)


def encode(text: str, width: int, right: bool = False) -> np.ndarray:
    """Text → ``width`` tokens, padded with PAD on the right (or, ``right=True``, left)."""
    ids = [TOKENS.index(c) for c in text]
    if len(ids) > width:
        raise ValueError(f"encode: {text!r} is longer than {width} tokens")
    pad = [PAD] * (width - len(ids))
    return np.array(pad + ids if right else ids + pad, np.int32)
