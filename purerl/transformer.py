"""A small causal transformer policy over token sequences, with a value head, and the two
things RL on language needs from it: sampling completions autoregressively inside one
``lax.scan``, and the log-probabilities of given completions in one forward pass.

Pre-LayerNorm blocks (causal multi-head attention, then a GELU MLP of width 4d), learned
absolute position embeddings, untied output projection. Unbatched: one sequence ``[T]``;
``vmap`` for batches. The policy at temperature τ is softmax(logits / τ); sampling and
``completion_log_probs`` use the same τ, so importance ratios compare like with like.

Reference: Vaswani et al., "Attention Is All You Need" (2017); Radford et al., GPT-2 (2019)
for the pre-LN layout.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import equinox as eqx
import jax
import jax.numpy as jnp

Array = chex.Array


class Block(eqx.Module):
    """x + Attention(LN(x)), then x + MLP(LN(x)); causal multi-head attention."""

    heads: int = eqx.field(static=True)
    norm_attn: eqx.nn.LayerNorm
    qkv: eqx.nn.Linear  # width → 3 · width (queries, keys, values of every head)
    out: eqx.nn.Linear
    norm_mlp: eqx.nn.LayerNorm
    mlp_in: eqx.nn.Linear
    mlp_out: eqx.nn.Linear

    def __init__(self, width: int, heads: int, *, key: Array):
        k_qkv, k_out, k_in, k_mlp = jax.random.split(key, 4)
        self.heads = heads
        self.norm_attn = eqx.nn.LayerNorm(width)
        self.qkv = eqx.nn.Linear(width, 3 * width, use_bias=False, key=k_qkv)
        self.out = eqx.nn.Linear(width, width, use_bias=False, key=k_out)
        self.norm_mlp = eqx.nn.LayerNorm(width)
        self.mlp_in = eqx.nn.Linear(width, 4 * width, key=k_in)
        self.mlp_out = eqx.nn.Linear(4 * width, width, key=k_mlp)

    def attention(self, x: Array) -> Array:
        t, width = x.shape
        q, k, v = jnp.split(jax.vmap(self.qkv)(x).reshape(t, 3, self.heads, -1), 3, axis=1)
        q, k, v = q[:, 0], k[:, 0], v[:, 0]  # [T, heads, width / heads]
        scores = jnp.einsum("qhd,khd->hqk", q, k) / jnp.sqrt(jnp.float32(q.shape[-1]))
        causal = jnp.tril(jnp.ones((t, t), bool))
        weights = jax.nn.softmax(jnp.where(causal[None], scores, -jnp.inf), axis=-1)
        return jax.vmap(self.out)(jnp.einsum("hqk,khd->qhd", weights, v).reshape(t, width))

    def __call__(self, x: Array) -> Array:
        x = x + self.attention(jax.vmap(self.norm_attn)(x))
        h = jax.vmap(self.norm_mlp)(x)
        return x + jax.vmap(lambda v: self.mlp_out(jax.nn.gelu(self.mlp_in(v))))(h)


class Transformer(eqx.Module):
    """Causal transformer: tokens ``[T]`` → next-token logits ``[T, V]`` and values ``[T]``."""

    embed: eqx.nn.Embedding
    position: Array  # [max_len, width]
    blocks: tuple[Block, ...]
    norm: eqx.nn.LayerNorm
    head: eqx.nn.Linear
    value: eqx.nn.Linear

    def __init__(
        self, vocab_size: int, max_len: int, width: int = 64, depth: int = 2, heads: int = 4,
        *, key: Array,
    ):  # fmt: skip
        if width % heads:
            raise ValueError(f"width ({width}) must be a multiple of heads ({heads})")
        k_embed, k_pos, k_head, k_value, *k_blocks = jax.random.split(key, 4 + depth)
        self.embed = eqx.nn.Embedding(vocab_size, width, key=k_embed)
        self.position = 0.02 * jax.random.normal(k_pos, (max_len, width))
        self.blocks = tuple(Block(width, heads, key=k) for k in k_blocks)
        self.norm = eqx.nn.LayerNorm(width)
        self.head = eqx.nn.Linear(width, vocab_size, key=k_head)
        self.value = eqx.nn.Linear(width, 1, key=k_value)

    def __call__(self, tokens: Array) -> tuple[Array, Array]:
        chex.assert_rank(tokens, 1)
        x = jax.vmap(self.embed)(tokens) + self.position[: tokens.shape[0]]
        for block in self.blocks:
            x = block(x)
        x = jax.vmap(self.norm)(x)
        return jax.vmap(self.head)(x), jax.vmap(self.value)(x)[:, 0]


class Completion(NamedTuple):
    tokens: Array  # [A] sampled tokens; PAD after the first EOS
    logp: Array  # [A] their log-probabilities under softmax(logits / τ); 0 after EOS
    mask: Array  # [A] 1 up to and including the first EOS


def _token_log_probs(logits: Array, tokens: Array, temperature: Array | float) -> Array:
    logp = jax.nn.log_softmax(logits / temperature, axis=-1)
    return jnp.take_along_axis(logp, tokens[:, None], axis=-1)[:, 0]


def sample(
    model: Transformer,
    prompt: Array,
    length: int,
    key: Array,
    temperature: Array | float = 1.0,
    eos: int = 1,
    pad: int = 0,
) -> Completion:
    """Sample a completion of at most ``length`` tokens after ``prompt`` ``[P]``.

    One ``lax.scan`` over positions; each step runs the model on the whole fixed-width
    buffer (prompt + completion so far, PAD after it — the causal mask hides the padding
    from earlier positions) and samples from softmax(logits / τ). Once EOS is sampled the
    rest is PAD. τ = 0 is greedy decoding (argmax).
    """
    chex.assert_rank(prompt, 1)
    p = prompt.shape[0]
    buffer = jnp.concatenate([prompt, jnp.full(length, pad, prompt.dtype)])
    temperature = jnp.asarray(temperature, jnp.float32)
    greedy = temperature <= 0.0
    safe_t = jnp.where(greedy, 1.0, temperature)

    def step(carry, i):
        buffer, done = carry
        logits = model(buffer)[0][p - 1 + i]
        scaled = logits / safe_t
        sampled = jax.random.categorical(jax.random.fold_in(key, i), scaled)
        token = jnp.where(greedy, jnp.argmax(logits), sampled).astype(buffer.dtype)
        token = jnp.where(done, pad, token)
        logp = jnp.where(done, 0.0, jax.nn.log_softmax(scaled)[token])
        buffer = buffer.at[p + i].set(token)
        return (buffer, done | (token == eos)), (token, logp, 1.0 - done)

    _, (tokens, logp, mask) = jax.lax.scan(step, (buffer, jnp.bool_(False)), jnp.arange(length))
    return Completion(tokens, logp, mask.astype(jnp.float32))


def completion_log_probs(
    model: Transformer, prompt: Array, completion: Array, temperature: Array | float = 1.0
) -> tuple[Array, Array]:
    """Log-probabilities ``[A]`` of the tokens of ``completion`` after ``prompt`` under
    softmax(logits / τ), and the values ``[A]`` of the states they were chosen in — one
    forward pass over prompt + completion (teacher forcing). Mask the result yourself."""
    chex.assert_rank([prompt, completion], 1)
    p, a = prompt.shape[0], completion.shape[0]
    logits, values = model(jnp.concatenate([prompt, completion]))
    before = jax.lax.dynamic_slice_in_dim(logits, p - 1, a)  # the logits that chose each token
    return _token_log_probs(before, completion, temperature), values[p - 1 : p - 1 + a]
