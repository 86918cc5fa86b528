"""An independent NumPy DQN on a NumPy CartPole, to tell a property of DQN's settings from
a defect of purerl's DQN (issue #11: Huber-loss DQN diverges at the default settings).

Nothing here is shared with purerl: its own CartPole (the classic-control physics), MLP,
backpropagation, Adam, replay and target network. Settings follow ``purerl.algos.dqn``'s
defaults (CleanRL's CartPole DQN): 10 environments, one gradient step of 128 per 10
environment steps after 10k, target copied every 500 steps, Adam 2.5e-4, γ 0.99,
ε 1 → 0.05 over 250k steps, a 120-84 ReLU network.

    python bench/dqn_loss_reference.py --loss huber --steps 60000 --seeds 2
"""

from __future__ import annotations

import argparse

import numpy as np


class CartPole:
    """Vectorized CartPole-v1 physics (Barto, Sutton & Anderson 1983; gymnasium constants)."""

    def __init__(self, n, rng):
        self.n, self.rng = n, rng
        self.s = rng.uniform(-0.05, 0.05, (n, 4))
        self.t = np.zeros(n, int)

    def step(self, a):
        x, x_dot, th, th_dot = self.s.T
        force = np.where(a == 1, 10.0, -10.0)
        cos, sin = np.cos(th), np.sin(th)
        temp = (force + 0.05 * th_dot**2 * sin) / 1.1
        th_acc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos**2 / 1.1))
        x_acc = temp - 0.05 * th_acc * cos / 1.1
        self.s = np.stack([x + 0.02 * x_dot, x_dot + 0.02 * x_acc,
                           th + 0.02 * th_dot, th_dot + 0.02 * th_acc], 1)  # fmt: skip
        self.t += 1
        term = (np.abs(self.s[:, 0]) > 2.4) | (np.abs(self.s[:, 2]) > 12 * 2 * np.pi / 360)
        trunc = (self.t >= 500) & ~term
        final = self.s.copy()
        done = term | trunc
        self.s[done] = self.rng.uniform(-0.05, 0.05, (done.sum(), 4))
        self.t[done] = 0
        return final, np.ones(self.n), term, done


def init_mlp(rng, sizes):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)  # PyTorch's nn.Linear default
        params += [
            rng.uniform(-bound, bound, (fan_in, fan_out)),
            rng.uniform(-bound, bound, fan_out),
        ]
    return params


def forward(params, x):
    acts = [x]
    for i in range(0, len(params), 2):
        x = x @ params[i] + params[i + 1]
        if i + 2 < len(params):
            x = np.maximum(x, 0.0)
        acts.append(x)
    return x, acts


def backward(params, acts, d_out):
    grads = [None] * len(params)
    d = d_out
    for i in reversed(range(0, len(params), 2)):
        grads[i], grads[i + 1] = acts[i // 2].T @ d, d.sum(0)
        if i:
            d = (d @ params[i].T) * (acts[i // 2] > 0)
    return grads


class Adam:
    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads):
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p -= (
                self.lr
                * (m / (1 - self.b1**self.t))
                / (np.sqrt(v / (1 - self.b2**self.t)) + self.eps)
            )


def run(
    loss, steps, seed, lr=2.5e-4, num_envs=10, log_every=10_000, grad_clip=None, target_every=500
):
    rng = np.random.default_rng(seed)
    env, params = CartPole(num_envs, rng), init_mlp(rng, [4, 120, 84, 2])
    target, opt = [p.copy() for p in params], Adam(params, lr)
    size, ptr, full = 10_000, 0, False
    buf = dict(o=np.zeros((size, 4)), a=np.zeros(size, int), r=np.zeros(size),
               o2=np.zeros((size, 4)), d=np.zeros(size))  # fmt: skip
    ep_ret, returns, log = np.zeros(num_envs), [], []
    obs = env.s.copy()
    for t in range(num_envs, steps + 1, num_envs):
        eps = max(0.05, 1.0 - 0.95 * t / 250_000)
        q, _ = forward(params, obs)
        a = np.where(rng.random(num_envs) < eps, rng.integers(0, 2, num_envs), q.argmax(1))
        final, r, term, done = env.step(a)
        idx = (ptr + np.arange(num_envs)) % size
        for k, v in zip("o a r o2 d".split(), (obs, a, r, final, term)):
            buf[k][idx] = v
        ptr, full = (ptr + num_envs) % size, full or ptr + num_envs >= size
        ep_ret += r
        returns += list(ep_ret[done])
        ep_ret[done] = 0.0
        obs = env.s.copy()
        if t >= 10_000:
            j = rng.integers(0, size if full else ptr, 128)
            q_next, _ = forward(target, buf["o2"][j])
            y = buf["r"][j] + 0.99 * (1 - buf["d"][j]) * q_next.max(1)
            q_all, acts = forward(params, buf["o"][j])
            td = q_all[np.arange(128), buf["a"][j]] - y
            d_q = np.clip(td, -1.0, 1.0) if loss == "huber" else td  # d loss / d Q, per item
            d_out = np.zeros_like(q_all)
            d_out[np.arange(128), buf["a"][j]] = d_q / 128
            grads = backward(params, acts, d_out)
            if grad_clip is not None:
                norm = np.sqrt(sum((g * g).sum() for g in grads))
                grads = [g * min(1.0, grad_clip / (norm + 1e-6)) for g in grads]
            opt.step(params, grads)
            if t % target_every == 0:
                target = [p.copy() for p in params]
            if t % log_every == 0:
                log.append((t, float(q_all.mean()), float(np.mean(returns[-100:]))))
    return log


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--loss", choices=["huber", "mse"], default="huber")
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--grad-clip", type=float, default=None)
    parser.add_argument("--target-every", type=int, default=500, help="env steps per copy")
    args = parser.parse_args()
    for seed in range(args.seeds):
        log = run(
            args.loss,
            args.steps,
            seed,
            args.lr,
            grad_clip=args.grad_clip,
            target_every=args.target_every,
        )
        print(f"{args.loss} lr={args.lr} clip={args.grad_clip} target={args.target_every} "
              f"seed {seed}: " + ", ".join(
            f"{t // 1000}k: Q {q:.3g} ret {r:.0f}" for t, q, r in log))  # fmt: skip
