"""A minimal safetensors reader/writer (float32), independent of the C code.
Uses the `safetensors` package instead when it is installed."""
import json
import struct

import numpy as np


def save(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    blobs = []
    for name, a in tensors.items():
        a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
        b = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """(dict name -> float32 array, metadata dict); through the safetensors
    package when it is installed, so that the files are checked by it too."""
    try:
        from safetensors import safe_open
    except ImportError:
        return _load(path)
    out = {}
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
        for k in f.keys():
            out[k] = f.get_tensor(k)
    return out, meta


def _load(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    base = 8 + n
    for name, d in header.items():
        if d["dtype"] != "F32":
            raise ValueError("%s: dtype %s" % (name, d["dtype"]))
        b, e = d["data_offsets"]
        out[name] = np.frombuffer(buf[base + b:base + e], dtype="<f4").reshape(d["shape"]).copy()
    return out, meta
