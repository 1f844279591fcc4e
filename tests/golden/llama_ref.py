#!/usr/bin/python3
"""Independent reference for model/llama.cpp: a tiny GQA Llama written from the published
formulas (transformers' modeling_llama / modeling_rope_utils) with plain torch, no transformers.

Writes, per fixture, into tests/fixtures/<name>/:
  config.json, model.safetensors    the model (fixed seed)
  inputs.json                       input_ids, position_ids, attention_mask, document_ids [B, T],
                                    and for each logits file its rope override and shape
  logits*.f32                       raw little-endian float32 logits [B, T, V]

Row 0 is left-padded (3 pads, position ids as transformers builds them: cumsum(mask) - 1, pads 1);
row 1 packs two documents (lengths 5 and 7, positions restart at 0).

Run: /usr/bin/python3 tests/golden/llama_ref.py [fixtures_dir]

The reverse direction (Tsumugi saves, this loads): llama_ref.py check DIR
  DIR holds config.json, model.safetensors or model.safetensors.index.json + shards, and
  inputs.json + logits files written by Tsumugi in the layout above. Prints the max abs error of
  each logits file and exits 1 when one exceeds 1e-4 (2 when the files are malformed).
"""
import json
import math
import os
import struct
import sys

import torch

B, T = 2, 12


# --- safetensors writer (the format, written by hand) -------------------------------------------
def write_safetensors(path, named):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(named):
        t = named[name].contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """Tensors of one safetensors file, parsed by hand (F32 and BF16)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(body[begin:end])
        if info["dtype"] == "F32":
            t = torch.frombuffer(raw, dtype=torch.float32) if raw else torch.empty(0)
        elif info["dtype"] == "BF16":
            t = torch.frombuffer(raw, dtype=torch.bfloat16).float() if raw else torch.empty(0)
        else:
            raise ValueError(f"{path}: {name}: dtype {info['dtype']} is not read by this reference")
        out[name] = t.reshape(info["shape"])
    return out


def read_checkpoint(directory):
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    W = {}
    for name in files:
        W.update(read_safetensors(os.path.join(directory, name)))
    return W


# --- RoPE ---------------------------------------------------------------------------------------
def inv_freq_for(cfg, seq_len):
    d = cfg["head_dim"]
    base = cfg["rope_theta"]
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", "default")
    if kind == "dynamic" and seq_len > cfg["max_position_embeddings"]:
        f = rs["factor"]
        base = base * ((f * seq_len / cfg["max_position_embeddings"]) - (f - 1)) ** (d / (d - 2))
    inv = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        f, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        lo_wl, hi_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > lo_wl, inv / f, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / f + smooth * scaled
        medium = ~(wl < hi_wl) * ~(wl > lo_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rope_cos_sin(cfg, position_ids, dtype):
    seq_len = int(position_ids.max()) + 1
    inv = inv_freq_for(cfg, seq_len)
    freqs = (inv[None, :, None] @ position_ids[:, None, :].float()).transpose(1, 2)  # [B, T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


# --- model --------------------------------------------------------------------------------------
def rms_norm(x, w, eps):
    dt = x.dtype
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(dt)


def linear(x, W, name):
    y = x @ W[name + ".weight"].t()
    if name + ".bias" in W:
        y = y + W[name + ".bias"]
    return y


def additive_mask(attention_mask, document_ids, dtype):
    i = torch.arange(attention_mask.shape[1])
    allowed = (i[None, :] <= i[:, None])[None]  # [1, T, T]
    allowed = allowed & (document_ids[:, :, None] == document_ids[:, None, :])
    allowed = allowed & attention_mask[:, None, :].bool()
    m = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    return m[:, None]  # [B, 1, T, T]


def forward(cfg, W, ids, pos, mask):
    H, Nq, Nkv, D = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    B, T = ids.shape
    x = W["model.embed_tokens.weight"][ids]
    cos, sin = rope_cos_sin(cfg, pos, x.dtype)
    cos, sin = cos[:, None], sin[:, None]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = linear(h, W, p + "self_attn.q_proj").view(B, T, Nq, D).transpose(1, 2)
        k = linear(h, W, p + "self_attn.k_proj").view(B, T, Nkv, D).transpose(1, 2)
        v = linear(h, W, p + "self_attn.v_proj").view(B, T, Nkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(Nq // Nkv, dim=1)
        v = v.repeat_interleave(Nq // Nkv, dim=1)
        s = (q @ k.transpose(2, 3)) * D ** -0.5 + mask
        a = torch.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype) @ v
        x = x + linear(a.transpose(1, 2).reshape(B, T, Nq * D), W, p + "self_attn.o_proj")
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(linear(h, W, p + "mlp.gate_proj")) * linear(h, W, p + "mlp.up_proj")
        x = x + linear(g, W, p + "mlp.down_proj")
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return (x @ head.t()).float()


def make_weights(cfg, gen):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    Nq, Nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]

    def rnd(*shape, std=0.1):
        return torch.randn(*shape, generator=gen) * std

    W = {"model.embed_tokens.weight": rnd(V, H, std=1.0)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = 1 + rnd(H)
        for n, o in (("q", Nq * D), ("k", Nkv * D), ("v", Nkv * D)):
            W[p + f"self_attn.{n}_proj.weight"] = rnd(o, H, std=0.2)
            if cfg["attention_bias"]:
                W[p + f"self_attn.{n}_proj.bias"] = rnd(o)
        W[p + "self_attn.o_proj.weight"] = rnd(H, Nq * D)
        if cfg["attention_bias"]:
            W[p + "self_attn.o_proj.bias"] = rnd(H)
        W[p + "post_attention_layernorm.weight"] = 1 + rnd(H)
        W[p + "mlp.gate_proj.weight"] = rnd(I, H)
        W[p + "mlp.up_proj.weight"] = rnd(I, H)
        W[p + "mlp.down_proj.weight"] = rnd(H, I)
    W["model.norm.weight"] = 1 + rnd(H)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = rnd(V, H)
    return W


def base_config(tied, rope_scaling, attention_bias):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 64, "intermediate_size": 176, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": rope_scaling,
        "max_position_embeddings": 64, "vocab_size": 320, "tie_word_embeddings": tied,
        "attention_bias": attention_bias, "mlp_bias": False, "hidden_act": "silu",
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
    }


def inputs(gen, V):
    ids = torch.randint(3, V, (B, T), generator=gen)
    attn = torch.ones(B, T, dtype=torch.int64)
    attn[0, :3] = 0
    ids[0, :3] = 0
    pos = torch.empty(B, T, dtype=torch.int64)
    pos[0] = (attn[0].cumsum(0) - 1).masked_fill(attn[0] == 0, 1)
    pos[1] = torch.cat((torch.arange(5), torch.arange(7)))
    doc = torch.zeros(B, T, dtype=torch.int64)
    doc[1, 5:] = 1
    return ids, pos, attn, doc


def write_fixture(root, name, cfg, seed, variants):
    gen = torch.Generator().manual_seed(seed)
    W = make_weights(cfg, gen)
    ids, pos, attn, doc = inputs(gen, cfg["vocab_size"])
    mask = additive_mask(attn, doc, torch.float32)
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), W)
    meta = {"input_ids": ids.tolist(), "position_ids": pos.tolist(), "attention_mask": attn.tolist(),
            "document_ids": doc.tolist(), "logits": []}
    for file, override in variants:
        c = dict(cfg)
        c.update(override)
        logits = forward(c, W, ids, pos, mask)  # [B, T, V]
        with open(os.path.join(out, file), "wb") as f:
            f.write(logits.contiguous().numpy().astype("<f4").tobytes())
        meta["logits"].append({"file": file, "shape": list(logits.shape), "override": override})
    with open(os.path.join(out, "inputs.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


def check(directory):
    """Loads what Tsumugi saved and compares its logits with this reference's."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    cfg.setdefault("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    cfg.setdefault("attention_bias", False)
    with open(os.path.join(directory, "inputs.json")) as f:
        meta = json.load(f)
    W = read_checkpoint(directory)
    ids = torch.tensor(meta["input_ids"], dtype=torch.int64)
    pos = torch.tensor(meta["position_ids"], dtype=torch.int64)
    attn = torch.tensor(meta["attention_mask"], dtype=torch.int64)
    doc = torch.tensor(meta["document_ids"], dtype=torch.int64)
    mask = additive_mask(attn, doc, torch.float32)
    worst = 0.0
    for entry in meta["logits"]:
        with open(os.path.join(directory, entry["file"]), "rb") as f:
            ours = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(entry["shape"])
        ref = forward(cfg, W, ids, pos, mask)
        err = float((ref - ours).abs().max())
        print(f"{entry['file']}: max abs error {err:.3e}")
        worst = max(worst, err)
    return 0 if worst < 1e-4 else 1


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "check":
        torch.set_grad_enabled(False)
        try:
            sys.exit(check(sys.argv[2]))
        except (OSError, KeyError, ValueError) as e:
            print(f"llama_ref.py check: {e}", file=sys.stderr)
            sys.exit(2)
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures")
    torch.set_grad_enabled(False)
    llama3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 64}
    write_fixture(root, "llama-tiny-llama3", base_config(False, llama3, True), 1234, [("logits.f32", {})])
    write_fixture(root, "llama-tiny-tied", base_config(True, None, False), 5678, [
        ("logits.f32", {}),
        ("logits-linear.f32", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
        # max position ids + 1 = 9 > 8: the NTK base rescale is active.
        ("logits-dynamic.f32", {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0},
                                "max_position_embeddings": 8}),
    ])


if __name__ == "__main__":
    main()
