#!/usr/bin/python3
"""Weights between modelspec's TensorFlow.js model folders and modules from `modelspec export --format pytorch`.

A model folder (model.json + weights.bin, as `modelspec build` and `train` write it) holds Keras'
channels-last weights by layer name; the exported module lists in KERAS_WEIGHTS where each one
lives in its state_dict and how its layout changes. Needs only torch.

    python3 modelspec_torch.py tfjs-to-torch MODEL.py TFJS_DIR OUT.pt
    python3 modelspec_torch.py torch-to-tfjs MODEL.py STATE.pt TEMPLATE_DIR OUT_DIR

torch-to-tfjs takes a state_dict (or a checkpoint dict with a "model" entry) and writes a model
folder with TEMPLATE_DIR's model.json (the topology, from `modelspec build`) and the new weights,
which `modelspec evaluate` and `predict` read. Exit codes: 0 fine, 1 bad input, 2 usage, 3 no torch.
"""
import importlib.util
import json
import os
import sys

try:
    import torch
except ImportError as e:  # an expected condition: say so, no stack trace
    print(f"modelspec_torch: PyTorch is not installed ({e}); install Debian's python3-torch or `pip install torch`", file=sys.stderr)
    sys.exit(3)


class ConvertError(Exception):
    """Bad input: a missing or inconsistent file."""


def load_module(path):
    """Import an exported module from its file (it has no code in __main__)."""
    name = "modelspec_exported_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConvertError(f"{path} cannot be imported as a Python module")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def model_class(mod):
    """The nn.Module class of an exported module (the first name of __all__)."""
    return getattr(mod, mod.__all__[0])


def to_torch(w, layout, hwc=None):
    """A Keras (channels-last) weight as the PyTorch parameter."""
    if layout == "conv" or layout == "conv_transpose":  # (*window, I, O) -> (O, I, *window)
        return w.permute(w.dim() - 1, w.dim() - 2, *range(w.dim() - 2))
    if layout == "dense":
        return w.t()
    if layout == "flat_dense":  # rows in (H, W, C) order -> columns in (C, H, W) order
        h, wd, c = hwc
        return w.reshape(h, wd, c, -1).permute(3, 2, 0, 1).reshape(w.shape[1], -1)
    if layout == "depthwise":
        kh, kw, c, m = w.shape
        return w.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    return w


def to_keras(p, layout, shape, hwc=None):
    """A PyTorch parameter as the Keras weight of the given shape."""
    if layout == "conv" or layout == "conv_transpose":
        return p.permute(*range(2, p.dim()), 1, 0)
    if layout == "dense":
        return p.t()
    if layout == "flat_dense":
        h, wd, c = hwc
        return p.reshape(-1, c, h, wd).permute(2, 3, 1, 0).reshape(h * wd * c, -1)
    if layout == "depthwise":
        kh, kw, c, m = shape
        return p.reshape(c, m, kh, kw).permute(2, 3, 0, 1)
    return p.reshape(shape)


def _manifest(tfjs_dir):
    path = os.path.join(tfjs_dir, "model.json")
    try:
        with open(path, encoding="utf-8") as f:
            model_json = json.load(f)
    except OSError as e:
        raise ConvertError(f"{path} cannot be read ({e.strerror})")
    except ValueError as e:
        raise ConvertError(f"{path} is not valid JSON ({e})")
    groups = model_json.get("weightsManifest") or []
    return model_json, groups


def read_tfjs(tfjs_dir):
    """{Keras weight name: float32 tensor} of a model folder."""
    _, groups = _manifest(tfjs_dir)
    data = b""
    for g in groups:
        for p in g["paths"]:
            with open(os.path.join(tfjs_dir, p), "rb") as f:
                data += f.read()
    out, offset = {}, 0
    for g in groups:
        for w in g["weights"]:
            if w.get("dtype", "float32") != "float32":
                raise ConvertError(f"{w['name']}: only float32 weights are supported, got {w.get('dtype')}")
            n = 1
            for d in w["shape"]:
                n *= d
            if offset + 4 * n > len(data):
                raise ConvertError(f"{tfjs_dir}: weights.bin is shorter than model.json describes")
            t = torch.frombuffer(bytearray(data[offset:offset + 4 * n]), dtype=torch.float32).reshape(w["shape"])
            out[w["name"]] = t
            offset += 4 * n
    return out


def tfjs_to_state_dict(mod, tfjs_dir, model=None):
    """The state_dict of `model` (default: a new one of the module's class) with a model folder's weights."""
    keras = read_tfjs(tfjs_dir)
    model = model if model is not None else model_class(mod)()
    state = model.state_dict()
    for entry in mod.KERAS_WEIGHTS:
        name, key, layout = entry[:3]
        if name not in keras:
            raise ConvertError(f"{tfjs_dir} has no weight {name} (was it built from the same spec and --set values?)")
        t = to_torch(keras[name], layout, entry[3] if len(entry) > 3 else None)
        if tuple(t.shape) != tuple(state[key].shape):
            raise ConvertError(f"{name}: shape {list(keras[name].shape)} does not fit {key} {list(state[key].shape)}")
        state[key] = t.clone().to(state[key].dtype)
    return state


def load_tfjs(model, mod, tfjs_dir):
    """Load a model folder's weights into an exported module instance."""
    model.load_state_dict(tfjs_to_state_dict(mod, tfjs_dir, model))
    return model


def write_tfjs(mod, state, template_dir, out_dir):
    """Write a model folder: template_dir's model.json (topology, metadata) with these weights."""
    model_json, groups = _manifest(template_dir)
    by_name = {e[0]: e for e in mod.KERAS_WEIGHTS}
    chunks = []
    for g in groups:
        for w in g["weights"]:
            e = by_name.get(w["name"])
            if e is None:
                raise ConvertError(f"{template_dir}: weight {w['name']} is not in the module's KERAS_WEIGHTS")
            t = to_keras(state[e[1]].detach().float().cpu(), e[2], w["shape"], e[3] if len(e) > 3 else None)
            if list(t.shape) != list(w["shape"]):
                raise ConvertError(f"{e[1]}: shape {list(t.shape)} does not fit {w['name']} {w['shape']}")
            chunks.append(t.contiguous().numpy().tobytes() if hasattr(t, "numpy") else bytes(t.contiguous().untyped_storage()))
    model_json["weightsManifest"] = [{"paths": ["weights.bin"], "weights": [w for g in groups for w in g["weights"]]}]
    tmp = out_dir.rstrip("/") + f".tmp-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    import shutil
    for name in os.listdir(template_dir):  # what else the folder holds (pixel_mean.bin, ...)
        if name not in ("model.json", "weights.bin") and os.path.isfile(os.path.join(template_dir, name)):
            shutil.copy(os.path.join(template_dir, name), os.path.join(tmp, name))
    with open(os.path.join(tmp, "weights.bin"), "wb") as f:
        f.write(b"".join(chunks))
    with open(os.path.join(tmp, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model_json, f)
        f.write("\n")
    if os.path.isdir(out_dir):
        old = out_dir.rstrip("/") + f".old-{os.getpid()}"
        os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out_dir)


def _state_of(obj):
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        return obj["model"]
    return obj


def main(argv):
    usage = __doc__.split("\n\n")[1]
    if len(argv) == 4 and argv[0] == "tfjs-to-torch":
        mod = load_module(argv[1])
        torch.save(tfjs_to_state_dict(mod, argv[2]), argv[3])
        print(f"wrote {argv[3]}")
        return 0
    if len(argv) == 5 and argv[0] == "torch-to-tfjs":
        mod = load_module(argv[1])
        write_tfjs(mod, _state_of(torch.load(argv[2], map_location="cpu")), argv[3], argv[4])
        print(f"wrote {argv[4]}")
        return 0
    print(f"usage:\n{usage}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ConvertError as e:
        print(f"modelspec_torch: {e}", file=sys.stderr)
        sys.exit(1)
