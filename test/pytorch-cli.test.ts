/**
 * `modelspec export --format pytorch` and `modelspec train --engine torch` on the command line:
 * Keras semantics in the text of the module, refusals and exit codes, no TensorFlow.js loaded by
 * export, a 2-process DDP run on CPU, and what happens without PyTorch (exit 2).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { samePads } from '../src/ops/pytorch.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const PYTHON = process.env.MODELSPEC_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`PyTorch tests of pytorch-cli skipped: ${PYTHON} cannot import torch (apt-get install python3-torch)`);
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-torch-cli-'));

describe('modelspec export --format pytorch', () => {
  it("pads as TF's 'same' does: the odd row and column after, explicitly", () => {
    expect(samePads(32, 3, 2)).toEqual([0, 1]);
    expect(samePads(224, 7, 2)).toEqual([2, 3]);
    expect(samePads(32, 1, 2)).toEqual([0, 0]);
    expect(samePads(33, 3, 2)).toEqual([1, 1]);
    expect(samePads(32, 3, 1)).toEqual([1, 1]);
    const text = run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', 'n=1']).stdout;
    // Stride 2 on 32x32: F.pad (0, 1, 0, 1) and no padding in the conv, never padding=1.
    expect(text).toContain('x = self.conv2d(F.pad(x, (0, 1, 0, 1)))');
    expect(text).toContain('nn.Conv2d(16, 32, (3, 3), stride=(2, 2))\n');
    expect(text).toContain('nn.Conv2d(3, 16, (3, 3), stride=(1, 1), padding=(1, 1))');
  });

  it('writes Keras BatchNormalization, initializers, l2 penalty, Adam and loss', () => {
    const r = run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', 'n=1']);
    expect(r.code).toBe(0);
    const t = r.stdout;
    expect(t).toContain('nn.BatchNorm2d(16, eps=0.001, momentum=0.01)');
    // he_normal: truncated at 2 std, stddev sqrt(2 / fan_in) / 0.8796 (fan_in 27 for the 3x3x3 stem).
    const std = Math.sqrt(2 / 27) / 0.87962566103423978;
    // The stem is a call of block resnet_layer: its class draws and penalises its own conv.
    const stem = t.slice(t.indexOf('class ResnetLayer(nn.Module):'), t.indexOf('class ResnetLayer2(nn.Module):'));
    expect(t).toContain('        self.stem = ResnetLayer()\n');
    expect(stem).toContain(`nn.init.trunc_normal_(self.conv2d.weight, std=${Number(std.toPrecision(12))}, a=${Number((-2 * std).toPrecision(12))}`);
    // glorot_uniform (the Dense's default is not used here: he_normal given), bias zeros.
    expect(stem).toContain('nn.init.zeros_(self.conv2d.bias)');
    // l2(1e-4) on each conv kernel: a penalty in the loss, not weight decay on every parameter.
    expect(stem).toContain('0.0001 * self.conv2d.weight.square().sum()');
    expect(t).toContain('            self.stem.regularization_loss()\n            + sum(stage.regularization_loss() for stage in self.stage)\n');
    expect(t).not.toMatch(/weight_decay/);
    expect(t).toContain('torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)');
    expect(t).toContain('p = p.clamp(1e-7, 1.0 - 1e-7)');
    expect(t).toContain('F.avg_pool2d(x, (8, 8), (8, 8))');
    const mnist = run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch']).stdout;
    expect(mnist).toContain('nn.init.uniform_(self.conv2d.weight, -0.101273936708, 0.101273936708)'); // sqrt(6 / (9 + 576))
    expect(mnist).toContain('("dense/kernel", "dense.weight", "flat_dense", (3, 3, 64))');
    const y = run(['export', 'specs/y-network.yaml', '--format', 'pytorch']).stdout;
    expect(y).toMatch(/torch\.cat\(\[\w+, \w+\], dim=1\)/); // Keras axis -1 of an image: the channels
  });

  it('writes --out, replaces its own file, refuses a foreign one (2), reports spec errors (1)', () => {
    const dir = tmp();
    const out = join(dir, 'model.py');
    let r = run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch', '--out', out]);
    expect([r.code, r.stdout]).toEqual([0, `wrote ${out} (class MnistCnn)\n`]);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(ROOT, 'generated/pytorch/mnist_cnn.py'), 'utf8'));
    expect(run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch', '--out', out]).code).toBe(0);
    writeFileSync(out, 'my own code\n');
    r = run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/was not written by modelspec; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('my own code\n');
    r = run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch', '--set', 'filters=0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/filters/);
    expect(run(['export', 'specs/mnist-cnn.yaml']).code).toBe(2); // --format is required
    expect(run(['export', 'specs/blocks/resnet.yaml', '--format', 'pytorch']).code).toBe(1);
  });

  it('exports every spec in specs/ (exit 0); an op it cannot write is MS4140 at its item, naming the op (exit 1)', () => {
    for (const spec of ['densenet-bc', 'unet', 'siamese', 'lstm-text-classifier', 'gru-time-series', 'transformer-classifier']) {
      const r = run(['export', `specs/${spec}.yaml`, '--format', 'pytorch']);
      expect([spec, r.code, r.stderr]).toEqual([spec, 0, '']);
    }
    const r = run(['export', 'test/baselines/cases/not-exportable-to-pytorch.yaml', '--format', 'pytorch']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("not-exportable-to-pytorch.yaml:10:9 - error MS4140: 'feature/conv3d': op 'conv3d' has no PyTorch mapping");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('loads no TensorFlow.js', () => {
    const file = join(tmp(), 'loads.txt');
    writeFileSync(file, '');
    const r = spawnSync(process.execPath, ['--import', `${ROOT}test/fixtures/trace-loads.mjs`, CLI, 'export', 'specs/resnet-v1.yaml', '--format', 'pytorch'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, MODELSPEC_TRACE_LOADS: file },
    });
    expect(r.status).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toMatch(/@tensorflow/);
  });
});

describe('without PyTorch', () => {
  it('train --engine torch says what is missing (exit 2); export and check still work', () => {
    for (const python of ['/nonexistent/python3', '/bin/false']) {
      const r = run(['train', 'specs/mnist-cnn.yaml', '--engine', 'torch', '--out', join(tmp(), 'run')], { MODELSPEC_PYTHON: python });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--engine torch needs PyTorch: ${python} cannot`);
      expect(r.stderr).toContain('apt-get install -y python3-torch');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch'], { MODELSPEC_PYTHON: '/bin/false' }).code).toBe(0);
    expect(run(['check', 'specs/mnist-cnn.yaml'], { MODELSPEC_PYTHON: '/bin/false' }).code).toBe(0);
  });
});

describe('modelspec export --format pytorch: module structure', () => {
  it('writes a class per block call and loop iteration, grouped by form, nn.ModuleList for loops', () => {
    const text = (n: number) => run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', `n=${n}`]).stdout;
    const t = text(3);
    // The block's params as typed constructor arguments, with the values of this form as defaults.
    expect(t).toContain('class ResnetLayer(nn.Module):\n    """Block `resnet_layer`. Conv2D (same padding');
    expect(t).toContain('    def __init__(self, *, filters: int = 16, kernel_size: int = 3, strides: int = 1, activation: Optional[str] = "relu", batch_normalization: bool = True, conv_first: bool = True) -> None:');
    // The spec's module: its stem, the stages as a ModuleList and a loop in forward.
    expect(t).toContain('        self.stem = ResnetLayer()\n        self.stage = nn.ModuleList([Stage(), Stage2(), Stage3()])\n        self.dense = nn.Linear(64, 10)\n');
    expect(t).toContain('        x = self.stem(image)\n        for stage in self.stage:\n            x = stage(x)\n');
    // A stage's blocks: the first (projection shortcut) is its own form, the others share one.
    expect(t).toContain('        self.block = nn.ModuleList([Block2(), Block3(), Block3()])\n');
    expect(t).toContain('        self.branch0.resnet_layer = ResnetLayer4(filters=32, kernel_size=1, strides=2, activation=None, batch_normalization=False)\n');
    expect(t).toContain('        x = x + branch1_resnet_layer_1\n        activation = F.relu(x)\n        return activation\n');
    // The weight table: the Keras name (the graph's id) and the nested state_dict key.
    expect(t).toContain('    ("stage1.block2.branch1.resnet_layer_1.conv2d/kernel", "stage.1.block.2.branch1.resnet_layer_1.conv2d.weight", "conv"),\n');
    // Forms do not grow with the depth: ResNet110 has the classes of ResNet20.
    const classes = (s: string) => [...s.matchAll(/^class (\w+)\(nn.Module\):/gm)].map((m) => m[1]);
    expect(classes(text(18))).toEqual(classes(t));
    expect(classes(t)).toHaveLength(20);
    expect(text(3)).toBe(t); // deterministic
  });

  it("calls a loop's iterations by index when they do not chain (U-Net's skips), each output named", () => {
    const r = run(['export', 'specs/unet.yaml', '--format', 'pytorch', '--set', 'levels=2', '--set', 'base=4', '--set', 'input_shape=[16,16,1]']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('        self.level = nn.ModuleList([Level(), Level2()])\n');
    expect(r.stdout).toContain([
      '        level0_skip, level0_max_pooling2d = self.level[0](image)',
      '        level1_skip, level1_max_pooling2d = self.level[1](level0_max_pooling2d)',
      '        x = F.relu(self.bottom1(level1_max_pooling2d))',
      '        bottom2 = F.relu(self.bottom2(x))',
      '        up1 = self.up[0](bottom2, level1_skip)',
      '        x = self.up[1](up1, level0_skip)',
    ].join('\n'));
  });

  it('inlines a block whose layers are shared with share: (one module holds a shared layer and its users)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'twin.yaml'), `modelspec: 1
name: twin
blocks:
  tower:
    params:
      units: {type: int, default: 4}
    layers:
      - dense: {units: $units, activation: relu}
  head:
    layers:
      - dense: {units: 2, activation: softmax}
inputs:
  a: {shape: [3]}
layers:
  - tower: {units: 3}
    id: left
  - share: left
    id: right
  - head: {}
`);
    const r = run(['export', join(dir, 'twin.yaml'), '--format', 'pytorch']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // head is a class; the tower called twice with one set of weights is inlined in the spec's module.
    expect([...r.stdout.matchAll(/^class (\w+)\(nn.Module\):/gm)].map((m) => m[1])).toEqual(['Head', 'Twin']);
    expect(r.stdout).toContain('        self.left = nn.Module()\n        self.left.dense = nn.Linear(3, 3)\n');
    expect(r.stdout).toContain('x = F.relu(self.left.dense(x))');
  });
});

describe.skipIf(!hasTorch)('PyTorch engine', () => {
  it('block modules build alone, refuse other forms, and sum the penalties of every layer', () => {
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
import torch
s = u.spec_from_file_location("m", "${ROOT}generated/pytorch/resnet_v1.py"); m = u.module_from_spec(s); s.loader.exec_module(m)
layer = m.ResnetLayer()
print(tuple(layer(torch.zeros(2, 3, 32, 32)).shape))
try:
    m.ResnetLayer(filters=32)
except ValueError as e:
    print(e)
model = m.ResnetV1()
keys = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
print(keys == {e[1] for e in m.KERAS_WEIGHTS})
flat = sum(1e-4 * p.square().sum() for k, p in model.state_dict().items() if k.endswith("conv2d.weight"))
print(abs(float(model.regularization_loss() - flat)) < 1e-6, float(flat) > 0)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('(2, 16, 32, 32)\nthis module was exported with filters=16; a form of block `resnet_layer`: change the call in the spec and export again\nTrue\nTrue True\n');
  });


  it('the exported module refuses a parameter it was not exported with, naming the --set to use', () => {
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
s = u.spec_from_file_location("m", "${ROOT}generated/pytorch/mnist_cnn.py"); m = u.module_from_spec(s); s.loader.exec_module(m)
m.MnistCnn()
try:
    m.MnistCnn(filters=32)
except ValueError as e:
    print(e)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('this module was exported with filters=64; export the spec again with --set filters=32\n');
  });

  it('train --engine torch leaves a tfjs run alone unless --force, and waits for no live run in its folder (exit 2 / 1)', () => {
    const out = join(tmp(), 'run');
    mkdirSync(out);
    writeFileSync(join(out, 'last.json'), '{"checkpoint":"checkpoints/epoch-001"}\n');
    const r = run(['train', 'specs/mnist-cnn.yaml', '--engine', 'torch', '--max-examples', '32', '--epochs', '1', '--out', out]);
    expect([r.code, r.stderr]).toEqual([2, `modelspec: ${out} already holds a run; pass --force to start over\n`]);
    // A lock held by a live process (this test's own pid and start time are those of a live run).
    const other = join(tmp(), 'run');
    mkdirSync(other);
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    writeFileSync(join(other, '.lock'), JSON.stringify({ pid: process.pid, host: hostname(), startTicks, started: 'now', command: 'train' }));
    const l = run(['train', 'specs/mnist-cnn.yaml', '--engine', 'torch', '--max-examples', '32', '--epochs', '1', '--out', other]);
    expect(l.code, l.stderr).toBe(1);
    expect(l.stderr).toMatch(/is in use by another run \(pid \d+/);
  });

  it('train --engine torch: a progress bar; --resume continues from the last epoch to the same weights as a run never stopped', () => {
    const args = ['train', 'specs/mnist-cnn.yaml', '--engine', 'torch', '--max-examples', '64', '--batch-size', '32'];
    const whole = join(tmp(), 'whole'), split = join(tmp(), 'split');
    const first = run([...args, '--epochs', '3', '--out', whole]);
    expect(first.code).toBe(0);
    // The progress bar of the tfjs engine, fed by rank 0 (on stderr; the epoch lines on stdout).
    expect(first.stderr).toMatch(/epoch 3\/3 \[=+\] 2\/2 batches \| ETA 0s \| loss \d\.\d{4} accuracy \d\.\d{4} \| \d+ img\/s/);
    expect(first.stdout).not.toContain('@@progress');
    // The chart of the metrics log, as the tfjs engine draws it.
    expect(readFileSync(join(whole, 'curves.svg'), 'utf8')).toMatch(/^<svg[^>]*>[\s\S]*mnist_cnn on mnist \(PyTorch\)[\s\S]*<\/svg>\s*$/);
    const quiet = run([...args, '--epochs', '2', '--no-progress', '--out', split]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('batches');
    // Nothing to resume, or both --resume and --force: usage errors (2).
    const none = run([...args, '--resume', '--out', join(tmp(), 'none')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('holds no PyTorch run to continue');
    expect(run([...args, '--resume', '--force', '--out', split]).code).toBe(2);
    const r = run(['train', 'specs/mnist-cnn.yaml', '--engine', 'torch', '--resume', '--epochs', '3', '--out', split]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('resuming at epoch 3/3');
    const log = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; loss: number });
    expect(log(split).map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(log(split)[2]!.loss).toBeCloseTo(log(whole)[2]!.loss, 6);
    const digest = (dir: string) => (JSON.parse(readFileSync(join(dir, 'torch-run.json'), 'utf8')) as { replica_digests: string[] }).replica_digests[0];
    expect(digest(split)).toBe(digest(whole));
  }, 180_000);

  it('train --engine torch --nproc 2: DDP on CPU, replicas identical, loss falls, the model converts back for evaluate', () => {
    const out = join(tmp(), 'run');
    const r = run(['train', 'specs/mnist-cnn.yaml', '--engine', 'torch', '--nproc', '2', '--max-examples', '128', '--epochs', '3', '--batch-size', '32', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 processes on cpu under torchrun (DDP, gloo');
    expect(r.stdout).toContain('parameters identical across replicas: yes');
    const info = JSON.parse(readFileSync(join(out, 'torch-run.json'), 'utf8')) as { world_size: number; replica_digests: string[] };
    expect(info.world_size).toBe(2);
    expect(info.replica_digests[0]).toBe(info.replica_digests[1]);
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; val_loss: number; val_accuracy: number });
    expect(epochs).toHaveLength(3);
    expect(epochs[2]!.loss).toBeLessThan(epochs[0]!.loss);
    // The model folder holds PyTorch's trained weights: tfjs evaluates them to PyTorch's figures.
    const ev = run(['evaluate', out, '--max-examples', '128', '--backend', 'cpu', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout) as { loss: number; accuracy: number };
    expect(Math.abs(e.loss - epochs[2]!.val_loss)).toBeLessThan(1e-4);
    expect(e.accuracy).toBe(epochs[2]!.val_accuracy);
  }, 180_000);
});
