#!/usr/bin/python3
"""Independent safetensors reference for tests/test_safetensors.cpp.

Written from the format description (8-byte little-endian header length, compact JSON header
with "__metadata__" first and tensors in data order, header padded with spaces to a multiple
of 8, tensors ordered as the reference Rust implementation orders them: larger dtypes first,
then by name), with plain struct + json; torch (Debian's python3-torch, fixed seed) only
makes the values. The `safetensors` package is not installed here, so it is not used.

  make_safetensors_fixture.py write OUT_DIR     # OUT_DIR/multi_dtype.safetensors + .json
  make_safetensors_fixture.py check FILE        # parse FILE, verify layout, print tensors as JSON

`check` needs only the standard library; the C++ test runs it on the files it writes.
"""
import json
import struct
import sys

DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
# Rank in the reference implementation's Dtype enum (it sorts descending, then by name).
DTYPE_RANK = {"BOOL": 0, "U8": 4, "I8": 5, "I16": 9, "F16": 11, "BF16": 12, "I32": 13, "F32": 15, "F64": 16, "I64": 17}


def serialize(tensors, metadata):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    order = sorted(tensors, key=lambda t: (-DTYPE_RANK[t[1]], t[0].encode("utf-8")))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in order:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in order)


def parse(blob):
    """Strict reader: returns (metadata, [(name, dtype, shape, raw)]) in data order."""
    if len(blob) < 8:
        raise ValueError("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError("header length past the end")
    if n % 8 != 0:
        raise ValueError("header length %d is not a multiple of 8" % n)
    text = blob[8:8 + n]
    if text.rstrip(b" ") != text.rstrip(b" ").rstrip() or not text.startswith(b"{"):
        raise ValueError("header must be a JSON object padded with spaces")
    header = json.loads(text.decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    data = blob[8 + n:]
    items = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])
    out, expect = [], 0
    for name, info in items:
        begin, end = info["data_offsets"]
        if begin != expect:
            raise ValueError("%s: gap or overlap at %d (expected %d)" % (name, begin, expect))
        count = 1
        for d in info["shape"]:
            count *= d
        if count * DTYPE_SIZE[info["dtype"]] != end - begin:
            raise ValueError("%s: shape and byte range disagree" % name)
        if begin % DTYPE_SIZE[info["dtype"]] != 0:
            raise ValueError("%s: misaligned" % name)
        out.append((name, info["dtype"], info["shape"], data[begin:end]))
        expect = end
    if expect != len(data):
        raise ValueError("%d trailing bytes after the last tensor" % (len(data) - expect))
    return metadata, out


def write_fixture(out_dir):
    import torch

    torch.manual_seed(20240611)

    def raw(t):
        t = t.contiguous()
        return bytes(t.reshape(-1).view(torch.uint8).tolist()) if t.numel() else b""

    specs = [
        ("model.embed_tokens.weight", "F32", torch.randn(5, 4, dtype=torch.float32)),
        ("model.layers.0.self_attn.q_proj.weight", "BF16", torch.randn(4, 4).to(torch.bfloat16)),
        ("half", "F16", (torch.randn(3, 2) * 100).to(torch.float16)),
        ("double", "F64", torch.randn(2, 3, dtype=torch.float64)),
        ("ids", "I64", torch.tensor([0, -1, 2**40, -(2**62), 7], dtype=torch.int64)),
        ("i32", "I32", torch.randint(-2**31, 2**31 - 1, (2, 2), dtype=torch.int32)),
        ("i16", "I16", torch.tensor([-32768, 32767, 0], dtype=torch.int16)),
        ("i8", "I8", torch.tensor([[-128, 127], [1, -1]], dtype=torch.int8)),
        ("u8", "U8", torch.tensor([0, 255, 128], dtype=torch.uint8)),
        ("mask", "BOOL", torch.tensor([True, False, True], dtype=torch.bool)),
        ("scalar", "F32", torch.tensor(3.25, dtype=torch.float32)),
        ("empty", "F32", torch.zeros(0, 3, dtype=torch.float32)),
        ("transposed", "F32", torch.arange(6, dtype=torch.float32).reshape(2, 3).t()),  # written contiguous
        ("日本語.weight", "BF16", torch.tensor([1.0, -2.5, 0.0078125], dtype=torch.bfloat16)),
    ]
    tensors, expected = [], []
    for name, dtype, t in specs:
        b = raw(t)
        tensors.append((name, dtype, tuple(t.shape), b))
        values = t.to(torch.float64).reshape(-1).tolist() if dtype[0] in "FB" and dtype != "BOOL" else t.to(torch.int64).reshape(-1).tolist()
        expected.append({"name": name, "dtype": dtype, "shape": list(t.shape), "values": values, "hex": b.hex()})
    metadata = {"format": "pt", "source": "make_safetensors_fixture.py"}
    blob = serialize(tensors, metadata)
    parse(blob)  # the writer's output passes the reader
    with open(out_dir + "/multi_dtype.safetensors", "wb") as f:
        f.write(blob)
    with open(out_dir + "/multi_dtype.json", "w", encoding="utf-8") as f:
        json.dump({"metadata": metadata, "tensors": expected}, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write_fixture(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        with open(sys.argv[2], "rb") as f:
            metadata, tensors = parse(f.read())
        json.dump({"metadata": metadata,
                   "tensors": [{"name": n, "dtype": d, "shape": s, "hex": r.hex()} for n, d, s, r in tensors]},
                  sys.stdout, ensure_ascii=False)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
