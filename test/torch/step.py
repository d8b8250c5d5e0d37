#!/usr/bin/python3
"""Test helper (test/pytorch-export.test.ts): run an exported module on given weights and inputs.

    step.py MODEL.py TFJS_DIR CASE.json OUT_DIR

CASE.json: {"inputs": [{"shape": [...], "data": [...]}] (Keras layout), "targets": [...], "losses":
["cce"|"mse"...], "lr": 0.001, "steps": 2}. Prints JSON: outputs in inference mode (Keras layout),
the training losses of each step (dropout off), and the outputs after the first step; writes the
weights after the first step as a model folder OUT_DIR (torch-to-tfjs) for tfjs to read back.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import torch  # noqa: E402
import modelspec_torch as mt  # noqa: E402


def to_torch_layout(t):
    return t.permute(0, 3, 1, 2) if t.dim() == 4 else t


def to_keras_layout(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def main(model_py, tfjs_dir, case_path, out_dir):
    torch.set_num_threads(1)
    case = json.load(open(case_path))
    mod = mt.load_module(model_py)
    model = mt.load_tfjs(mt.model_class(mod)(), mod, tfjs_dir)
    dtype = lambda i: torch.int64 if case["inputs"][i].get("dtype") == "int32" else torch.float32  # noqa: E731
    xs = [to_torch_layout(torch.tensor(i["data"], dtype=dtype(k)).reshape(i["shape"])) for k, i in enumerate(case["inputs"])]
    ys = [to_torch_layout(torch.tensor(t["data"]).reshape(t["shape"])) for t in case["targets"]]

    def outputs():
        model.eval()
        with torch.no_grad():
            out = model(*xs)
        out = out if isinstance(out, tuple) else (out,)
        return [to_keras_layout(o).reshape(-1).tolist() for o in out]

    before = outputs()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    opt = mod.make_optimizer(model, case["lr"])
    losses, after = [], None
    for step in range(case["steps"]):
        model.train()
        out = model(*xs)
        out = out if isinstance(out, tuple) else (out,)
        loss = model.regularization_loss()
        for o, y, kind in zip(out, ys, case["losses"]):
            loss = loss + (mod.keras_loss(o, y) if kind == "cce" else ((o - y) ** 2).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step == 0:
            mt.write_tfjs(mod, model.state_dict(), tfjs_dir, out_dir)
            after = outputs()
    print(json.dumps({"before": before, "losses": losses, "after": after}))


if __name__ == "__main__":
    main(*sys.argv[1:])
