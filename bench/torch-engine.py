#!/usr/bin/python3
"""bench/torch-engine (issue 18): images/s of the exported PyTorch modules (generated/pytorch/,
`modelspec export --format pytorch`) against the hand-written references of bench/torch_models.py,
on the same device, for the MNIST CNN, the Y-network and ResNet20v1.

    /usr/bin/python3 bench/torch-engine.py [--device cpu|cuda] [--batch 128] [--rounds 7] [--steps 3] [--threads 2]

Training step: forward, the loss, backward, Adam step (exported: its softmax output, Keras'
categorical cross-entropy and the l2 penalty; hand-written: logits, CrossEntropyLoss and coupled
weight decay). Inference: forward under no_grad in eval mode. The two models run alternately in
rounds (A, B, A, B, ...) so a busy machine slows both alike; each figure is the median over rounds.
Prints one JSON object: images/s per model and the ratio exported / hand-written.
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_models as ref  # noqa: E402  (tunes malloc before torch is imported, as its docstring says)
import torch  # noqa: E402

GENERATED = os.path.join(HERE, "..", "generated", "pytorch")


def exported(name):
    spec = importlib.util.spec_from_file_location(f"exported_{name}", os.path.join(GENERATED, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CASES = {
    "mnist-cnn": ("mnist_cnn", lambda: ref.MnistCnn(), (1, 28, 28), 1),
    "y-network": ("y_network", lambda: ref.YNetwork(), (1, 28, 28), 2),
    "resnet-v1": ("resnet_v1", lambda: ref.ResNetV1(3), (3, 32, 32), 1),
}


def median_step(fn, steps):
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps


def bench(name, args, device):
    modname, make_ref, shape, n_in = CASES[name]
    mod = exported(modname)
    a = getattr(mod, mod.__all__[0])().to(device)
    b = make_ref().to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand((args.batch, *shape), generator=g).to(device)
    labels = torch.randint(0, 10, (args.batch,), generator=g).to(device)
    onehot = torch.nn.functional.one_hot(labels, 10).float()
    opt_a = mod.make_optimizer(a)
    opt_b = ref.optimizer_for(name, b)
    ce = torch.nn.CrossEntropyLoss()

    def train_a():
        opt_a.zero_grad(set_to_none=True)
        loss = mod.keras_loss(a(*[x] * n_in), onehot) + a.regularization_loss()
        loss.backward()
        opt_a.step()

    def train_b():
        opt_b.zero_grad(set_to_none=True)
        ce(b(*[x] * n_in), labels).backward()
        opt_b.step()

    def infer(m):
        def f():
            with torch.no_grad():
                m(*[x] * n_in)
        return f

    out = {}
    for what, fa, fb, setup in (("train", train_a, train_b, lambda: (a.train(), b.train())),
                                ("infer", infer(a), infer(b), lambda: (a.eval(), b.eval()))):
        setup()
        fa(), fb(), fa(), fb()  # warm-up
        ta, tb = [], []
        for _ in range(args.rounds):
            ta.append(median_step(fa, args.steps))
            tb.append(median_step(fb, args.steps))
        ea, eb = args.batch / statistics.median(ta), args.batch / statistics.median(tb)
        out[what] = {"exported_images_per_s": round(ea, 1), "handwritten_images_per_s": round(eb, 1), "ratio": round(ea / eb, 3)}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="mnist-cnn,y-network,resnet-v1")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    res = {"torch": torch.__version__, "device": args.device, "threads": torch.get_num_threads(), "batch": args.batch,
           "malloc": ref.MALLOC, "models": {}}
    if args.device == "cuda":
        res["gpu"] = torch.cuda.get_device_name(0)
    for name in args.models.split(","):
        print(f"torch-engine: {name} ...", file=sys.stderr, flush=True)
        res["models"][name] = bench(name, args, device)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
