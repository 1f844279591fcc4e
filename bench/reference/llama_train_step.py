#!/usr/bin/python3
"""Reference for bench_train_step: one forward + backward step of a Llama in plain torch, the
model of tests/golden/llama_ref.py (the published formulas), weights normal(0, 0.02).

  /usr/bin/python3 bench/reference/llama_train_step.py CONFIG.json BATCH SEQ STEPS THREADS

Runs one warm-up step, then STEPS timed steps (forward, next-token cross-entropy, backward,
gradients dropped), and prints one JSON line: {"seconds": [...], "loss": first loss}.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
import llama_ref  # noqa: E402


def main():
    config_path, batch, seq, steps, threads = sys.argv[1], *map(int, sys.argv[2:6])
    torch.set_num_threads(threads)
    with open(config_path) as f:
        cfg = json.load(f)
    cfg.setdefault("attention_bias", False)
    gen = torch.Generator().manual_seed(0)
    W = llama_ref.make_weights(cfg, gen)
    for t in W.values():
        t.normal_(0.0, 0.02, generator=gen).requires_grad_(True)
    ids = torch.randint(3, cfg["vocab_size"], (batch, seq), generator=gen)
    pos = torch.arange(seq).expand(batch, seq)
    mask = llama_ref.additive_mask(torch.ones(batch, seq, dtype=torch.int64),
                                   torch.zeros(batch, seq, dtype=torch.int64), torch.float32)
    seconds, first = [], None
    for step in range(steps + 1):
        start = time.perf_counter()
        logits = llama_ref.forward(cfg, W, ids, pos, mask)  # [B, T, V]
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        for t in W.values():
            t.grad = None
        if step == 0:
            first = float(loss)
        else:
            seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "loss": first}))


if __name__ == "__main__":
    main()
