#!/usr/bin/python3
"""`modelspec train <spec> --engine torch`: the spec's training recipe in PyTorch, data-parallel.

Started by modelspec under torchrun (one process per replica):

    python3 -m torch.distributed.run --standalone --nproc_per_node N --redirects 3 --tee 3 \\
        modelspec_train.py RUN.json

RUN.json (written by modelspec) names the exported module (model.py), the dataset files and the
resolved recipe. Each replica reads the same MNIST IDX / CIFAR-10 binary files, takes its share
of every batch (batch_size / N examples; DistributedDataParallel averages the gradients, gloo on
CPU, NCCL on CUDA), and starts from the same weights (the model folder modelspec built, so tfjs
and PyTorch runs start alike). BatchNorm statistics stay per replica (SyncBatchNorm is CUDA-only);
rank 0's are the ones saved. Rank 0 evaluates, logs, and writes checkpoints (best only, by the
recipe's monitor), the state to resume from after every epoch (checkpoints/last.pt: weights,
optimizer, epoch, best value, ReduceLROnPlateau state, RNG; RUN.json's "resume" continues from
it), and the final model folder (model.json + weights.bin) that `modelspec evaluate` and
`predict` read. Exit codes: 0 fine, 1 bad data, 3 no torch.
"""
import gzip
import hashlib
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
except ImportError as e:
    print(f"modelspec train --engine torch: PyTorch is not installed ({e})", file=sys.stderr)
    sys.exit(3)
import modelspec_torch as mt  # noqa: E402
import warnings  # noqa: E402

# DDP's note on size-1 dims of a conv kernel (1 input channel) whose grads have other strides: harmless.
warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")


class DataError(Exception):
    pass


def _read(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"{path} cannot be read ({e.strerror})")
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def read_idx(path):
    """An IDX file of uint8 values as a tensor."""
    data = _read(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    n = math.prod(shape)
    body = data[4 + 4 * dims:]
    if len(body) < n:
        raise DataError(f"{path}: {len(body)} bytes of data, its header describes {n}")
    return torch.frombuffer(bytearray(body[:n]), dtype=torch.uint8).reshape(shape)


def read_cifar(paths, limit):
    """CIFAR-10 binary batches: NHWC uint8 images and labels."""
    xs, ys = [], []
    for p in paths:
        data = _read(p)
        if len(data) % 3073:
            raise DataError(f"{p}: {len(data)} bytes is not a whole number of CIFAR-10 records (3,073 bytes)")
        rec = torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(-1, 3073)
        ys.append(rec[:, 0].long())
        xs.append(rec[:, 1:].reshape(-1, 3, 32, 32).permute(0, 2, 3, 1))
        if limit and sum(len(y) for y in ys) >= limit:
            break
    return torch.cat(xs)[:limit or None], torch.cat(ys)[:limit or None]


def load_data(d, limit):
    if d["name"] == "mnist":
        f = d["files"]
        tr = read_idx(f["train_images"]).unsqueeze(-1), read_idx(f["train_labels"]).long()
        te = read_idx(f["test_images"]).unsqueeze(-1), read_idx(f["test_labels"]).long()
        tr = tr[0][:limit or None], tr[1][:limit or None]
        te = te[0][:limit or None], te[1][:limit or None]
    else:
        tr = read_cifar(d["files"]["train"], limit)
        te = read_cifar([d["files"]["test"]], limit)
    x_tr = tr[0].float() / 255.0
    x_te = te[0].float() / 255.0
    if d.get("subtract_pixel_mean"):
        mean = x_tr.mean(dim=0, keepdim=True)
        x_tr, x_te = x_tr - mean, x_te - mean
        if d.get("pixel_mean_out"):  # float32 (H, W, C), as evaluate and predict read it
            with open(d["pixel_mean_out"], "wb") as f:
                f.write(mean[0].contiguous().numpy().tobytes())
    # NHWC (Keras) -> NCHW (the exported module's layout)
    return x_tr.permute(0, 3, 1, 2).contiguous(), tr[1], x_te.permute(0, 3, 1, 2).contiguous(), te[1]


def augment(x, cfg, gen):
    """Random shifts (nearest edge fill) and horizontal flips, as the TensorFlow.js trainer does."""
    if not cfg:
        return x
    n, _, h, w = x.shape
    out = torch.empty_like(x)
    for i in range(n):
        dx = round((2 * torch.rand((), generator=gen).item() - 1) * cfg.get("width_shift", 0) * w)
        dy = round((2 * torch.rand((), generator=gen).item() - 1) * cfg.get("height_shift", 0) * h)
        flip = cfg.get("horizontal_flip") and torch.rand((), generator=gen).item() < 0.5
        rows = (torch.arange(h) - dy).clamp(0, h - 1)
        cols = (torch.arange(w) - dx).clamp(0, w - 1)
        if flip:
            cols = cols.flip(0)
        out[i] = x[i][:, rows][:, :, cols]
    return out


def piecewise(s, epoch, lr):
    if not s:
        return lr
    s = s["piecewise"]
    out = s["base"]
    for b, f in zip(s["boundaries"], s["factors"]):
        if epoch > b:
            out = s["base"] * f
    return out


def digest(model):
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            h.update(k.encode())
            h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def save_whole(obj, path):
    """torch.save to a temporary file, then renamed over path: a reader finds the old file or the new one."""
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def main(cfg_path):
    cfg = json.load(open(cfg_path))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device(cfg["device"] if cfg["device"] == "cpu" else f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    torch.set_num_threads(max(1, cfg.get("threads_per_process", 1)))
    torch.manual_seed(cfg["seed"])
    mod = mt.load_module(cfg["model_py"])
    model = mt.load_tfjs(mt.model_class(mod)(), mod, cfg["model_dir"]).to(device)
    net = DistributedDataParallel(model) if world > 1 else model
    n_inputs = cfg["inputs"]
    if rank != 0:
        cfg["dataset"].pop("pixel_mean_out", None)
    x_tr, y_tr, x_te, y_te = load_data(cfg["dataset"], cfg.get("limit"))
    classes = cfg["classes"]
    bs = cfg["batch_size"]
    if bs % world:
        raise DataError(f"batch size {bs} is not divisible by --nproc {world}")
    opt = mod.make_optimizer(model)
    base_lr = opt.param_groups[0]["lr"]
    plateau = cfg.get("reduce_lr_on_plateau")
    ck = cfg["checkpoint"]
    maximise = ck["monitor"].endswith("accuracy")
    best = -math.inf if maximise else math.inf
    p_best, p_wait, p_cool = math.inf, 0, 0
    os.makedirs(os.path.join(cfg["out"], "checkpoints"), exist_ok=True)
    log_path = os.path.join(cfg["out"], "metrics.jsonl")
    last_path = os.path.join(cfg["out"], "checkpoints", "last.pt")
    lr_now = base_lr
    start_epoch = 0
    if cfg.get("resume"):
        # Every replica starts from the same saved state: weights, optimizer, epoch, callbacks.
        state = torch.load(last_path, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, best, lr_now = state["epoch"], state["best"], state["lr"]
        p_best, p_wait, p_cool = state["plateau"]
        torch.set_rng_state(state["rng"])
        if rank == 0:
            print(f"resuming at epoch {start_epoch + 1}/{cfg['epochs']} from {last_path}", flush=True)
    if rank == 0:
        # The log keeps the epochs the state holds (a run killed after logging an epoch but before
        # saving its state logs that epoch again).
        kept = []
        if start_epoch and os.path.exists(log_path):
            kept = [l for l in open(log_path) if l.strip() and json.loads(l)["epoch"] <= start_epoch]
        with open(log_path + ".tmp", "w") as f:
            f.writelines(kept)
        os.replace(log_path + ".tmp", log_path)
    for epoch in range(start_epoch, cfg["epochs"]):
        t0 = time.time()
        lr_now = piecewise(cfg.get("lr_schedule"), epoch, lr_now if not cfg.get("lr_schedule") else base_lr)
        for g in opt.param_groups:
            g["lr"] = lr_now
        gen = torch.Generator().manual_seed(cfg["seed"] * 1000 + epoch)
        perm = torch.randperm(len(y_tr), generator=gen)  # the same on every replica
        aug_gen = torch.Generator().manual_seed(cfg["seed"] * 1000 + epoch + 7919 * (rank + 1))
        net.train()
        tot_loss = torch.zeros(2, dtype=torch.float64)
        seen = 0
        steps = (len(perm) + bs - 1) // bs
        shown = 0.0
        for start in range(0, len(perm), bs):
            idx = perm[start:start + bs]
            if len(idx) < world:  # a last batch too small to share out
                break
            share = idx[rank * len(idx) // world:(rank + 1) * len(idx) // world]
            x = augment(x_tr[share], cfg.get("augmentation"), aug_gen).to(device)
            y = torch.nn.functional.one_hot(y_tr[share], classes).float().to(device)
            out = net(*([x] * n_inputs))
            loss = mod.keras_loss(out, y) + model.regularization_loss()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(idx)
            tot_loss += torch.tensor([loss.item() * len(share), (out.argmax(1) == y.argmax(1)).sum().item()], dtype=torch.float64)
            if rank == 0 and cfg.get("progress") and (time.time() - shown >= 0.2 or start + bs >= len(perm)):
                # For modelspec's progress bar (not shown as text): rank 0's running figures.
                shown = time.time()
                done, took = start // bs + 1, max(time.time() - t0, 1e-9)
                mine = max(seen * len(share) / len(idx), 1)
                print("@@progress " + json.dumps({"epoch": epoch + 1, "done": done, "total": steps, "loss": tot_loss[0].item() / mine,
                                                  "accuracy": tot_loss[1].item() / mine, "ips": seen / took, "eta": took / done * (steps - done)}), flush=True)
        count = torch.tensor([float(max(seen, 1))], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(tot_loss)
        logs = {"epoch": epoch + 1, "loss": tot_loss[0].item() / count.item(), "accuracy": tot_loss[1].item() / count.item(), "lr": lr_now,
                "images_per_second": round(seen / max(time.time() - t0, 1e-9), 1)}
        if cfg["dataset"].get("validation", "test") == "test":
            model.eval()
            with torch.no_grad():
                vl, va = 0.0, 0
                for s in range(0, len(y_te), 256):
                    x = x_te[s:s + 256].to(device)
                    y = torch.nn.functional.one_hot(y_te[s:s + 256], classes).float().to(device)
                    o = model(*([x] * n_inputs))
                    vl += mod.keras_loss(o, y).item() * len(y)
                    va += (o.argmax(1) == y.argmax(1)).sum().item()
            logs["val_loss"], logs["val_accuracy"] = vl / len(y_te), va / len(y_te)
        logs["seconds"] = round(time.time() - t0, 3)
        if plateau:
            v = logs.get(plateau.get("monitor", "val_loss"))
            if v is not None:
                if p_cool > 0:
                    p_cool -= 1
                    p_wait = 0
                if v < p_best:
                    p_best, p_wait = v, 0
                elif p_cool <= 0:
                    p_wait += 1
                    if p_wait >= plateau.get("patience", 10):
                        lr_now = max(lr_now * plateau.get("factor", 0.1), plateau.get("min_lr", 0))
                        for g in opt.param_groups:
                            g["lr"] = lr_now
                        p_cool, p_wait = plateau.get("cooldown", 0), 0
        if rank == 0:
            with open(log_path, "a") as f:
                f.write(json.dumps(logs) + "\n")
            line = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items() if k != "epoch")
            print(f"epoch {epoch + 1}/{cfg['epochs']}: {line}", flush=True)
            m = logs.get(ck["monitor"])
            if m is not None and (not ck.get("save_best_only", True) or (m > best if maximise else m < best)):
                best = m
                path = os.path.join(cfg["out"], "checkpoints", f"epoch-{epoch + 1:03d}.pt")
                save_whole({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1, "metrics": logs}, path)
            # The state --resume continues from, after every epoch.
            save_whole({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1, "best": best, "lr": lr_now,
                        "plateau": [p_best, p_wait, p_cool], "rng": torch.get_rng_state()}, last_path)
    digests = [None] * world
    mine = digest(model)
    if world > 1:
        dist.all_gather_object(digests, mine)
    else:
        digests = [mine]
    if rank == 0:
        mt.write_tfjs(mod, model.state_dict(), cfg["model_dir"], cfg["model_dir"])
        save_whole(model.state_dict(), os.path.join(cfg["out"], "model.pt"))
        with open(os.path.join(cfg["out"], "torch-run.json"), "w") as f:
            json.dump({"world_size": world, "device": str(device), "torch": torch.__version__, "replica_digests": digests,
                       "replicas_identical": len(set(digests)) == 1}, f)
        print(f"replicas: {world}, parameters identical across replicas: {'yes' if len(set(digests)) == 1 else 'NO'}", flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (DataError, mt.ConvertError) as e:
        print(f"modelspec train --engine torch: {e}", file=sys.stderr)
        sys.exit(1)
