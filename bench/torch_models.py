#!/usr/bin/python3
"""PyTorch reference for bench/train-throughput.ts (issue 8).

The three seed architectures of specs/mnist-cnn.yaml, specs/y-network.yaml and
specs/resnet-v1.yaml (n=3, ResNet20v1), written in PyTorch with the same layers, channels,
kernel sizes, strides, padding, dilation and BatchNorm settings (Keras defaults: momentum 0.99,
i.e. 0.01 in PyTorch's convention, eps 1e-3), and the L2 1e-4 kernel regulariser of the ResNet
convolutions (as Adam's coupled weight decay 2e-4, which is the same gradient). Parameter counts
are asserted against the Keras / tfjs-layers counts. Speed only: weights keep PyTorch's default
initialisation, data are random.

Run with Debian's python3-torch: /usr/bin/python3 bench/torch_models.py [--models a,b] [--seconds N]
[--warmup N] [--threads 2] [--y-dilation 1] [--malloc tuned|default]. Prints one JSON object on
stdout (progress on stderr). Exit code 3 when torch cannot be imported.

Memory allocator: PyTorch's CPU tensors come from glibc malloc, which serves blocks above its mmap
threshold (a few MB: every activation of a batch here) with fresh mmap()s and unmaps them on free,
so every step touches new pages. In a Firecracker VM, as on the machine this was written on, those
page faults are expensive: 32,000 minor faults per MNIST CNN inference step of 256 made PyTorch
about 8x slower than with the memory kept. With --malloc tuned (the default) the script calls
mallopt() first (no mmap for large blocks, no trimming of the heap), the allocator behaviour
jemalloc/tcmalloc or a tuned deployment would give; --malloc default measures stock glibc.
"""
import argparse
import ctypes
import json
import resource
import statistics
import sys
import time


def tune_malloc():
    """Keep freed memory in the process (glibc mallopt): no mmap'd blocks, no heap trimming."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1
        ok = libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 and ok
        ok = libc.mallopt(M_TOP_PAD, 64 << 20) == 1 and ok
        return "tuned (mallopt: no mmap, no trim)" if ok else "default (mallopt failed)"
    except OSError as e:
        return f"default (no glibc: {e})"


def stock_malloc_requested(argv):
    return any(a == "--malloc=default" or (a == "--malloc" and argv[i + 1:i + 2] == ["default"]) for i, a in enumerate(argv))


# Before torch is imported, so that every tensor it allocates comes from the tuned allocator.
MALLOC = "default (glibc)" if stock_malloc_requested(sys.argv[1:]) else tune_malloc()

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # an expected condition: say so, no stack trace
    print(json.dumps({"error": f"torch not installed ({e}); apt-get install python3-torch"}))
    sys.exit(3)

TRAIN_BATCH = 128
INFER_BATCH = 256
CLASSES = 10


def same_padding(kernel, dilation=1):
    # Keras 'same' for stride 1: total padding dilation * (kernel - 1). For stride 2 and an even
    # input Keras pads (0, 1) where this pads (1, 1): same output shape and cost.
    return dilation * (kernel - 1) // 2


class MnistCnn(nn.Module):
    """Conv(64,3,valid,relu)-MaxPool(2)-Conv(64,3)-MaxPool(2)-Conv(64,3)-Flatten-Dropout(0.3)-Dense(10)."""

    keras_params = 80_266

    def __init__(self, filters=64, k=3, dropout=0.3):
        super().__init__()
        self.c1 = nn.Conv2d(1, filters, k)
        self.c2 = nn.Conv2d(filters, filters, k)
        self.c3 = nn.Conv2d(filters, filters, k)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(3 * 3 * filters, CLASSES)  # 28 -> 26 -> 13 -> 11 -> 5 -> 3

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = F.relu(self.c3(x))
        return self.fc(self.drop(torch.flatten(x, 1)))  # logits; the softmax is in the loss


class Branch(nn.Module):
    """levels x [Conv(filters * 2**level, 3, same, relu, dilation) - Dropout(0.4) - MaxPool(2)]."""

    def __init__(self, filters=32, levels=3, k=3, dropout=0.4, dilation=1):
        super().__init__()
        layers, cin = [], 1
        for level in range(levels):
            cout = filters * 2 ** level
            layers += [nn.Conv2d(cin, cout, k, padding=same_padding(k, dilation), dilation=dilation),
                       nn.ReLU(), nn.Dropout(dropout), nn.MaxPool2d(2)]
            cin = cout
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class YNetwork(nn.Module):
    """Two branches (left input, right input; the right one dilated when asked), concatenated on
    channels, Flatten, Dropout(0.4), Dense(10). The same image is fed to both inputs."""

    keras_params = 208_394

    def __init__(self, right_dilation=1):
        super().__init__()
        self.left = Branch()
        self.right = Branch(dilation=right_dilation)
        self.drop = nn.Dropout(0.4)
        self.fc = nn.Linear(3 * 3 * 256, CLASSES)  # 28 -> 14 -> 7 -> 3; 128 channels per branch

    def forward(self, left, right):
        x = torch.cat([self.left(left), self.right(right)], dim=1)
        return self.fc(self.drop(torch.flatten(x, 1)))


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)  # Keras: epsilon 1e-3, momentum 0.99


class ResnetLayer(nn.Module):
    """resnet_layer(conv_first=True): Conv(same) [-> BN] [-> ReLU]."""

    def __init__(self, cin, cout, k=3, stride=1, relu=True, batch_norm=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=same_padding(k))
        self.bn = bn(cout) if batch_norm else None
        self.relu = relu

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class Block(nn.Module):
    def __init__(self, cin, cout, down):
        super().__init__()
        stride = 2 if down else 1
        self.a = ResnetLayer(cin, cout, stride=stride)
        self.b = ResnetLayer(cout, cout, relu=False)
        self.shortcut = ResnetLayer(cin, cout, k=1, stride=2, relu=False, batch_norm=False) if down else None

    def forward(self, x):
        y = self.b(self.a(x))
        s = self.shortcut(x) if self.shortcut is not None else x
        return F.relu(s + y)


class ResNetV1(nn.Module):
    """ResNet v1 for CIFAR-10, depth 6n+2 (n=3: ResNet20v1): stem, 3 stages x n blocks
    (16, 32, 64 filters), AveragePooling(8), Flatten, Dense(10)."""

    keras_params = 274_442  # n=3: 273,066 trainable + 1,376 BN moving statistics

    def __init__(self, n=3):
        super().__init__()
        self.stem = ResnetLayer(3, 16)
        blocks, cin = [], 16
        for stage in range(3):
            f = 16 * 2 ** stage
            for b in range(n):
                blocks.append(Block(cin, f, down=stage > 0 and b == 0))
                cin = f
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, CLASSES)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.avg_pool2d(x, 8), 1))


def keras_count(model):
    """Parameters as Keras counts them: trainable ones plus BatchNorm moving mean and variance."""
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    return trainable, trainable + stats


def optimizer_for(name, model):
    if name == "resnet-v1":
        # Keras l2(1e-4) on the conv kernels adds 2e-4 * w to their gradient: Adam's (coupled) weight_decay.
        decay = [p for n, p in model.named_parameters() if n.endswith("conv.weight")]
        rest = [p for n, p in model.named_parameters() if not n.endswith("conv.weight")]
        return torch.optim.Adam([{"params": decay, "weight_decay": 2e-4}, {"params": rest}], lr=1e-3)
    return torch.optim.Adam(model.parameters(), lr=1e-3)


MODELS = {
    "mnist-cnn": (lambda a: MnistCnn(), (1, 28, 28), 1),
    "y-network": (lambda a: YNetwork(a.y_dilation), (1, 28, 28), 2),
    "resnet-v1": (lambda a: ResNetV1(3), (3, 32, 32), 1),
}


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(step, warmup, seconds, min_steps, max_steps):
    """Warm-up steps, then steps until the budget is spent: the step times and minor page faults per step."""
    for _ in range(warmup):
        step()
    times, start, faults = [], time.perf_counter(), minor_faults()
    while len(times) < max_steps and (len(times) < min_steps or time.perf_counter() - start < seconds):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return times, (minor_faults() - faults) / len(times)


def measure(name, args):
    make, shape, n_inputs = MODELS[name]
    model = make(args)
    trainable, total = keras_count(model)
    expected = model.keras_params
    assert total == expected, f"{name}: {total} parameters (Keras counting), expected {expected}"

    g = torch.Generator().manual_seed(0)
    x = torch.rand((TRAIN_BATCH, *shape), generator=g)
    y = torch.randint(0, CLASSES, (TRAIN_BATCH,), generator=g)
    opt = optimizer_for(name, model)
    loss_fn = nn.CrossEntropyLoss()
    inputs = [x] * n_inputs  # the same image to both inputs of the Y-network
    losses = []

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(*inputs), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    model.train()
    train, train_faults = timed(train_step, args.warmup, args.seconds, args.min_steps, args.max_steps)

    xi = torch.rand((INFER_BATCH, *shape), generator=g)
    infer_inputs = [xi] * n_inputs

    def infer_step():
        with torch.no_grad():
            model(*infer_inputs).sum().item()

    model.eval()
    infer, infer_faults = timed(infer_step, args.warmup, args.seconds, args.min_steps, args.max_steps * 2)

    med_train, med_infer = statistics.median(train), statistics.median(infer)
    return {
        "params": total,
        "trainable_params": trainable,
        "train": {"batch": TRAIN_BATCH, "steps": len(train), "median_ms": med_train * 1e3,
                  "images_per_s": TRAIN_BATCH / med_train, "last_loss": losses[-1],
                  "minor_faults_per_step": train_faults},
        "infer": {"batch": INFER_BATCH, "steps": len(infer), "median_ms": med_infer * 1e3,
                  "images_per_s": INFER_BATCH / med_infer,
                  "minor_faults_per_step": infer_faults},
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="mnist-cnn,y-network,resnet-v1")
    p.add_argument("--seconds", type=float, default=15, help="time budget per measurement (after warm-up)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--min-steps", type=int, default=5)
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--y-dilation", type=int, default=1, help="dilation of the Y-network's right branch (spec param right_dilation)")
    p.add_argument("--malloc", choices=["tuned", "default"], default="tuned", help="glibc malloc tuned to keep memory (default) or stock")
    p.add_argument("--check", action="store_true", help="only build the models and check their parameter counts")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "python": sys.version.split()[0], "malloc": MALLOC, "models": {}}
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            out["models"][name] = {"error": f"unknown model {name!r} (known: {', '.join(MODELS)})"}
            continue
        if args.check:
            trainable, total = keras_count(MODELS[name][0](args))
            assert total == MODELS[name][0](args).keras_params, f"{name}: {total} parameters"
            out["models"][name] = {"params": total, "trainable_params": trainable}
            continue
        print(f"torch: {name} ...", file=sys.stderr, flush=True)
        out["models"][name] = measure(name, args)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
