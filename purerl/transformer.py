"""A small causal transformer policy over token sequences, with a value head, and the two
things RL on language needs from it: sampling completions autoregressively inside one
``lax.scan``, and the log-probabilities of given completions in one forward pass.

Pre-LayerNorm blocks (causal multi-head attention, then a GELU MLP of width 4d), learned
absolute position embeddings, untied output projection; sampling keeps every block's keys
and values (a KV cache), so each new token costs one position's work. Unbatched: one
sequence ``[T]``; ``vmap`` for batches. The policy at temperature τ is softmax(logits / τ);
sampling and ``completion_log_probs`` use the same τ, so importance ratios compare like
with like.

Reference: Vaswani et al., "Attention Is All You Need" (2017); Radford et al., GPT-2 (2019)
for the pre-LN layout.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import equinox as eqx
import jax
import jax.numpy as jnp

from purerl import nets

Array = chex.Array


class Block(eqx.Module):
    """x + Attention(LN(x)), then x + MLP(LN(x)); causal multi-head attention."""

    heads: int = eqx.field(static=True)
    norm_attn: eqx.nn.LayerNorm
    qkv: nets.Linear  # width → 3 · width (queries, keys, values of every head)
    out: nets.Linear
    norm_mlp: eqx.nn.LayerNorm
    mlp_in: nets.Linear
    mlp_out: nets.Linear

    def __init__(self, width: int, heads: int, *, key: Array):
        k_qkv, k_out, k_in, k_mlp = jax.random.split(key, 4)
        self.heads = heads
        self.norm_attn = eqx.nn.LayerNorm(width)
        self.qkv = nets.uniform_linear(width, 3 * width, use_bias=False, key=k_qkv)
        self.out = nets.uniform_linear(width, width, use_bias=False, key=k_out)
        self.norm_mlp = eqx.nn.LayerNorm(width)
        self.mlp_in = nets.uniform_linear(width, 4 * width, key=k_in)
        self.mlp_out = nets.uniform_linear(4 * width, width, key=k_mlp)

    def _queries_keys_values(self, x: Array) -> tuple[Array, Array, Array]:
        """q, k, v ``[T, heads, width / heads]`` of the positions ``x`` ``[T, width]``."""
        qkv = jax.vmap(self.qkv)(jax.vmap(self.norm_attn)(x)).reshape(x.shape[0], 3, self.heads, -1)
        return qkv[:, 0], qkv[:, 1], qkv[:, 2]

    def _attend(self, x: Array, q: Array, k: Array, v: Array, visible: Array) -> Array:
        """x + attention of queries ``q`` ``[Q, …]`` over ``k``, ``v`` ``[K, …]`` where
        ``visible`` ``[Q, K]``; then the MLP."""
        scores = jnp.einsum("qhd,khd->hqk", q, k) / jnp.sqrt(jnp.float32(q.shape[-1]))
        weights = jax.nn.softmax(jnp.where(visible[None], scores, -jnp.inf), axis=-1)
        x = x + jax.vmap(self.out)(jnp.einsum("hqk,khd->qhd", weights, v).reshape(x.shape))
        h = jax.vmap(self.norm_mlp)(x)
        return x + jax.vmap(lambda u: self.mlp_out(jax.nn.gelu(self.mlp_in(u))))(h)

    def prefill(self, x: Array) -> tuple[Array, Array, Array]:
        """The block over a whole sequence ``[T, width]``, and its keys and values."""
        q, k, v = self._queries_keys_values(x)
        t = x.shape[0]
        return self._attend(x, q, k, v, jnp.tril(jnp.ones((t, t), bool))), k, v

    def __call__(self, x: Array) -> Array:
        return self.prefill(x)[0]

    def decode(self, x: Array, i: Array, keys: Array, values: Array):
        """The block at position ``i`` alone (``x`` ``[width]``), attending to the cached
        ``keys``/``values`` ``[L, heads, d]`` of positions < i; returns the output and the
        cache with position i written."""
        q, k, v = self._queries_keys_values(x[None])
        keys = jax.lax.dynamic_update_slice_in_dim(keys, k, i, axis=0)
        values = jax.lax.dynamic_update_slice_in_dim(values, v, i, axis=0)
        visible = (jnp.arange(keys.shape[0]) <= i)[None]
        return self._attend(x[None], q, keys, values, visible)[0], keys, values


class Cache(NamedTuple):
    """Every block's keys and values ``[L, heads, width / heads]`` of the positions decoded
    so far (the rest is zeros, never attended to)."""

    keys: tuple[Array, ...]
    values: tuple[Array, ...]


class Transformer(eqx.Module):
    """Causal transformer: tokens ``[T]`` → next-token logits ``[T, V]`` and values ``[T]``."""

    embed: eqx.nn.Embedding
    position: Array  # [max_len, width]
    blocks: tuple[Block, ...]
    norm: eqx.nn.LayerNorm
    head: nets.Linear
    value: nets.Linear

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
        self.head = nets.uniform_linear(width, vocab_size, key=k_head)
        self.value = nets.uniform_linear(width, 1, key=k_value)

    def _embed(self, tokens: Array) -> Array:
        """Token plus position embeddings ``[T, width]`` of ``tokens`` ``[T]``."""
        chex.assert_rank(tokens, 1)
        return jax.vmap(self.embed)(tokens) + self.position[: tokens.shape[0]]

    def __call__(self, tokens: Array) -> tuple[Array, Array]:
        x = self._embed(tokens)
        for block in self.blocks:
            x = block(x)
        x = jax.vmap(self.norm)(x)
        return jax.vmap(self.head)(x), jax.vmap(self.value)(x)[:, 0]

    def prefill(self, tokens: Array, length: int) -> tuple[Array, Cache]:
        """Next-token logits ``[T, V]`` of ``tokens`` ``[T]`` (as ``__call__``), and a cache of
        room ``length`` ≥ T holding their keys and values, for ``decode``."""
        x = self._embed(tokens)
        keys, values = [], []
        pad = ((0, length - tokens.shape[0]), (0, 0), (0, 0))
        for block in self.blocks:
            x, k, v = block.prefill(x)
            keys.append(jnp.pad(k, pad))
            values.append(jnp.pad(v, pad))
        return jax.vmap(self.head)(jax.vmap(self.norm)(x)), Cache(tuple(keys), tuple(values))

    def decode(self, token: Array, i: Array, cache: Cache) -> tuple[Array, Cache]:
        """The next-token logits ``[V]`` after ``token`` at position ``i``, given the cache of
        positions < i (one position's work: a KV cache); and the cache with i added."""
        x = self.embed(token) + self.position[i]
        keys, values = [], []
        for block, k, v in zip(self.blocks, cache.keys, cache.values):
            x, k, v = block.decode(x, i, k, v)
            keys.append(k)
            values.append(v)
        return self.head(self.norm(x)), Cache(tuple(keys), tuple(values))


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

    The prompt runs through the model once (``prefill``); then one ``lax.scan`` over
    positions samples from softmax(logits / τ) and runs the model on the sampled token alone
    against the cached keys and values (``decode``). Once EOS is sampled the rest is PAD.
    τ = 0 is greedy decoding (argmax).
    """
    chex.assert_rank(prompt, 1)
    p = prompt.shape[0]
    temperature = jnp.asarray(temperature, jnp.float32)
    greedy = temperature <= 0.0
    safe_t = jnp.where(greedy, 1.0, temperature)
    logits, cache = model.prefill(prompt, p + length)

    def step(carry, i):
        logits, cache, done = carry  # logits: the distribution of token i
        scaled = logits / safe_t
        sampled = jax.random.categorical(jax.random.fold_in(key, i), scaled)
        token = jnp.where(greedy, jnp.argmax(logits), sampled).astype(prompt.dtype)
        token = jnp.where(done, pad, token)
        logp = jnp.where(done, 0.0, jax.nn.log_softmax(scaled)[token])
        # The last step's decode is never read: one position of work spent for one scan body.
        logits, cache = model.decode(token, p + i, cache)
        return (logits, cache, done | (token == eos)), (token, logp, 1.0 - done)

    start = (logits[-1], cache, jnp.bool_(False))
    _, (tokens, logp, mask) = jax.lax.scan(step, start, jnp.arange(length))
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
