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
    // A layer of the spec itself: its pads written out (k 4, s 2 on 9x9: (1, 2); pooling 3/2: (0, 1)), never padding=1.
    const edge = run(['export', 'test/fixtures/torch-edge.yaml', '--format', 'pytorch']).stdout;
    expect(edge).toContain('c1 = torch.tanh(self.c1(F.pad(image, (1, 1, 1, 2))))');
    expect(edge).toContain('F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), (2, 2), (1, 1))');
    // A layer of a block class, built for any input size: symmetric pads as padding= where they are
    // fixed (stride 1), else pad_same computes TF's from the input in forward (the odd one after).
    const text = run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', 'n=1']).stdout;
    expect(text).toContain('nn.Conv2d(in_channels, filters, kernel_size, stride=strides, padding=same_padding(kernel_size, strides)) if conv_first else None');
    expect(text).toContain('x = self.conv2d(pad_same(x, self.conv2d))');
  });

  it('writes Keras BatchNormalization, initializers, l2 penalty, Adam and loss', () => {
    const r = run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', 'n=1']);
    expect(r.code).toBe(0);
    const t = r.stdout;
    expect(t).toContain('nn.BatchNorm2d(channels, eps=0.001, momentum=0.01)');
    // he_normal: truncated at 2 std, stddev sqrt(2 / fan_in) / 0.8796 (fan_in 27 for the 3x3x3 stem).
    const std = Math.sqrt(2 / 27) / 0.87962566103423978;
    // The stem is a call of block resnet_layer: its class draws (with the fans of the weight it
    // is built with: keras_init_) and penalises its own conv.
    const stem = t.slice(t.indexOf('class ResnetLayer(nn.Module):'), t.indexOf('class ResnetV1(nn.Module):'));
    expect(t).toContain('        self.stem = ResnetLayer(in_channels=input_shape[2])\n');
    expect(stem).toContain('keras_init_(self.conv2d.weight, "he_normal", "conv")');
    expect(t).toContain('        trunc(math.sqrt(2 / fan_in) / 0.8796256610342398)');
    // bias zeros.
    expect(stem).toContain('nn.init.zeros_(self.conv2d.bias)');
    // l2(1e-4) on each conv kernel: a penalty in the loss, not weight decay on every parameter.
    expect(stem).toContain('loss = loss + 0.0001 * self.conv2d.weight.square().sum()');
    expect(t).toContain('        loss = loss + self.stem.regularization_loss()\n        for stage in self.stage:\n            for block in stage.block:\n');
    // The Dense of the spec itself, sized by its input: drawn with the fans of the weight it is built with.
    expect(t).toContain('        keras_init_(self.dense.weight, "he_normal", "dense")\n');
    expect(t).not.toMatch(/weight_decay/);
    expect(t).toContain('torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)');
    expect(t).toContain('p = p.clamp(1e-7, 1.0 - 1e-7)');
    expect(t).toContain('F.avg_pool2d(x, (8, 8), (8, 8))');
    const mnist = run(['export', 'specs/mnist-cnn.yaml', '--format', 'pytorch']).stdout;
    expect(mnist).toContain('keras_init_(self.conv2d.weight, "glorot_uniform", "conv")');
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
  it('writes one class per block, its params and in_channels as typed constructor arguments', () => {
    const text = (n: number) => run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', `n=${n}`]).stdout;
    const t = text(3);
    const classes = (s: string) => [...s.matchAll(/^class (\w+)\(nn.Module\):/gm)].map((m) => m[1]);
    // One class per block (resnet_layer) and the spec's own, at any depth: ResNet110 has ResNet20's.
    expect(classes(t)).toEqual(['ResnetLayer', 'ResnetV1']);
    expect(classes(text(18))).toEqual(classes(t));
    expect(t).not.toContain('EXPORTED_WITH');
    // The spec's class is general too: exported at n=3 or n=18, only the defaults, the counts and the weight table differ.
    const methods = (s: string) => s.slice(s.indexOf('    def __init__(self, *, n: int'), s.indexOf('KERAS_WEIGHTS = [')).replace('n: int = 18', 'n: int = 3');
    expect(methods(text(18))).toBe(methods(t));
    expect(t).toContain('class ResnetLayer(nn.Module):\n    """Block `resnet_layer`. Conv2D (same padding');
    expect(t).toContain('    def __init__(self, *, in_channels: int, filters: int = 16, kernel_size: int = 3, strides: int = 1, activation: Optional[str] = "relu", batch_normalization: bool = True, conv_first: bool = True) -> None:');
    // when: on a param is a module or None, and a test in forward; the activation a Python choice.
    expect(t).toContain('        self.batch_normalization = nn.BatchNorm2d(channels, eps=0.001, momentum=0.01) if batch_normalization else None\n');
    expect(t).toContain('        if self.activation is not None:\n            x = keras_activation(self.activation, x, dim=1)\n');
    // Each call passes its arguments and the channels of its input; the spec's loops are ModuleLists
    // built in Python loops over its params, a when: on a loop variable a module or None.
    expect(t).toContain('        for stage in (0, 1, 2):\n            m = nn.Module()\n            filters = 16 * 2 ** stage\n            m.block = nn.ModuleList()\n');
    expect(t).toContain('            for block in range(n):\n                m2 = nn.Module()\n                down = stage > 0 and block == 0\n');
    expect(t).toContain('                m2.branch0.resnet_layer = ResnetLayer(in_channels=channels_2, filters=filters, kernel_size=1, strides=2, activation=None, batch_normalization=False) if down else None\n');
    // The flatten's size, which the Dense takes, from a forward pass of zeros through the layers before it.
    expect(t).toContain('        flatten_features = self._flatten_features(torch.zeros(1, input_shape[2], input_shape[0], input_shape[1]))\n        self.dense = nn.Linear(flatten_features, num_classes)\n');
    // The weight table: the Keras name (the graph's id) and the state_dict key (the class's attributes).
    expect(t).toContain('    ("stage1.block2.branch1.resnet_layer_1.conv2d/kernel", "stage.1.block.2.branch1.resnet_layer_1.conv2d.weight", "conv"),\n');
    expect(text(3)).toBe(t); // deterministic
    // A loop inside a block: an nn.ModuleList built in a loop over the argument.
    const y = run(['export', 'specs/y-network.yaml', '--format', 'pytorch']).stdout;
    expect(y).toContain('        self.level = nn.ModuleList()\n        channels = in_channels\n        for level in range(levels):\n            m = nn.Module()\n');
    expect(y).toContain('        for level in self.level:\n            x = F.relu(level.conv2d(pad_same(x, level.conv2d)))\n');
    expect(y).toContain('    ("branch1.right.level2.conv2d/kernel", "branch1.right.level.2.conv2d.weight", "conv"),\n');
  });

  it('writes a block that cannot be one class one class per call form, and says why', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'shapes.yaml'), `modelspec: 1
name: shapes
blocks:
  widen:
    params:
      k: {type: int, default: 2}
    layers:
      - dense: {units: "\${channels() * k}"}
inputs:
  a: {shape: [3]}
layers:
  - widen: {}
  - widen: {k: 3}
`);
    const r = run(['export', join(dir, 'shapes.yaml'), '--format', 'pytorch']);
    expect(r.stderr).toBe('');
    expect([...r.stdout.matchAll(/^class (\w+)\(nn.Module\):/gm)].map((m) => m[1])).toEqual(['Widen', 'Widen2', 'Shapes']);
    expect(r.stdout).toContain('# One class per call form of block `widen`: it cannot be one general class (channels() reads a shape at export time).\nclass Widen(nn.Module):');
    expect(r.stdout).toContain('    EXPORTED_WITH = {"k": 2}');
  });

  it('writes return_state and initial states within one module; a state passed into a block call is MS4140 at the layer that reads it (exit 1)', () => {
    const dir = tmp();
    const body = `inputs:
  source: {shape: [6, 3]}
  target: {shape: [5, 2]}
layers:
  - gru: {units: 4, return_state: true}
    from: source
    id: enc
`;
    writeFileSync(join(dir, 'flat.yaml'), `modelspec: 1\nname: flat\n${body}  - gru: {units: 4}\n    from: [target, enc.state]\n  - dense: 2\n`);
    let r = run(['export', join(dir, 'flat.yaml'), '--format', 'pytorch']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('        enc, enc_state = self.enc(source)\n        x = self.gru(target, initial_state=(enc_state,))\n');
    writeFileSync(join(dir, 'nested.yaml'), `modelspec: 1
name: nested
blocks:
  decoder:
    inputs: [seq, h]
    layers:
      - gru: {units: 4}
        from: [seq, h]
${body}  - decoder: {}
    from: [target, enc.state]
  - dense: 2
`);
    r = run(['export', join(dir, 'nested.yaml'), '--format', 'pytorch']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("nested.yaml:7:9 - error MS4140: 'decoder/gru': it reads a state of 'enc' (return_state) made outside its block; the PyTorch export passes states within one module only");
    expect(r.stderr).toMatch(/nested\.yaml:16:5: in the block called here/);
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
  it('a block class builds for arguments no call of the spec has, and sums the penalties of every layer', () => {
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
import torch
s = u.spec_from_file_location("m", "${ROOT}generated/pytorch/resnet_v1.py"); m = u.module_from_spec(s); s.loader.exec_module(m)
print(tuple(m.ResnetLayer(in_channels=3)(torch.zeros(2, 3, 32, 32)).shape))
layer = m.ResnetLayer(in_channels=8, filters=24, strides=2)
print(tuple(layer(torch.zeros(2, 8, 31, 17)).shape), layer.out_channels)
pre = m.ResnetLayer(in_channels=8, filters=24, kernel_size=5, strides=3, conv_first=False, activation="tanh")
print(tuple(pre(torch.zeros(1, 8, 10, 10)).shape), pre.conv2d is None, pre.batch_normalization.num_features)
model = m.ResnetV1()
keys = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
print(keys == {e[1] for e in m.KERAS_WEIGHTS})
flat = sum(1e-4 * p.square().sum() for k, p in model.state_dict().items() if k.endswith("conv2d.weight"))
print(abs(float(model.regularization_loss() - flat)) < 1e-6, float(flat) > 0)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    // TF 'same': ceil(31 / 2) x ceil(17 / 2); ceil(10 / 3).
    expect(r.stdout).toBe('(2, 16, 32, 32)\n(2, 24, 16, 9) 24\n(1, 24, 4, 4) True 8\nTrue\nTrue True\n');
  });

  it("pad_same pads as TF's 'same' does, for any input size (the odd row and column after)", () => {
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
import torch
from torch import nn
s = u.spec_from_file_location("m", "${ROOT}generated/pytorch/resnet_v1.py"); m = u.module_from_spec(s); s.loader.exec_module(m)
def pads(n, k, s):
    conv = nn.Conv2d(1, 1, k, stride=s, padding=m.same_padding(k, s))
    x = torch.zeros(1, 1, n, n)
    y = m.pad_same(x, conv)
    return conv.padding, tuple(y.shape[-2:])
print(pads(32, 3, 2), pads(224, 7, 2), pads(32, 1, 2), pads(33, 3, 2), pads(32, 3, 1))
def pads1d(n, k, s):
    conv = nn.Conv1d(1, 1, k, stride=s, padding=m.same_padding(k, s, dims=1))
    x = torch.arange(1.0, n + 1).reshape(1, 1, n)
    y = m.pad_same(x, conv)
    return conv.padding, y.flatten().tolist()
print(pads1d(5, 4, 1), pads1d(6, 3, 2), pads1d(5, 3, 1))`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    // (0, 1) for 32/k3/s2, (2, 3) for 224/k7/s2, none for k1, (1, 1) for 33; stride 1: padding=(1, 1) in the conv.
    expect(samePads(224, 7, 2)).toEqual([2, 3]);
    expect(samePads(5, 4, 1)).toEqual([1, 2]);
    expect(r.stdout).toBe('((0, 0), (33, 33)) ((0, 0), (229, 229)) ((0, 0), (32, 32)) ((0, 0), (35, 35)) ((1, 1), (32, 32))\n'
      // 1-D (nn.Conv1d): k4 on 5 pads (1, 2); k3/s2 on 6 pads (0, 1); k3/s1 is padding=(1,) in the conv.
      + '((0,), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0]) ((0,), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0]) ((1,), [1.0, 2.0, 3.0, 4.0, 5.0])\n');
  });

  it("the spec's class builds for other params: ResNet32 from ResNet20's module, with ResNet32's parameters, keys and outputs", () => {
    const dir = tmp();
    expect(run(['export', 'specs/resnet-v1.yaml', '--format', 'pytorch', '--set', 'n=5', '--out', join(dir, 'r32.py')]).code).toBe(0);
    const total = /Total params: ([\d,]+)/.exec(run(['summary', 'specs/resnet-v1.yaml', '--set', 'n=5']).stdout)![1]!;
    expect(total).toBe('470,218');
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
import torch
def load(path, name):
    s = u.spec_from_file_location(name, path); m = u.module_from_spec(s); s.loader.exec_module(m); return m
m20 = load("${ROOT}generated/pytorch/resnet_v1.py", "m20")
m32 = load("${dir}/r32.py", "m32")
torch.manual_seed(0)
a = m20.ResnetV1(n=5)
b = m32.ResnetV1()
# Keras' count: weights and BatchNormalization's moving statistics (not num_batches_tracked).
print(f"{sum(v.numel() for k, v in a.state_dict().items() if not k.endswith('num_batches_tracked')):,}")
sa, sb = a.state_dict(), b.state_dict()
print(list(sa) == list(sb), all(sa[k].shape == sb[k].shape for k in sa), {k for k in sa if not k.endswith("num_batches_tracked")} == {e[1] for e in m32.KERAS_WEIGHTS})
b.load_state_dict(sa)
a.eval(); b.eval()
x = torch.rand(2, 3, 32, 32)
ya, yb = a(x), b(x)
print(tuple(ya.shape), torch.equal(ya, yb), a.training, len(a.stage[2].block))
try:
    m20.ResnetV1(input_shape=(32, 32))
except Exception as e:
    print(type(e).__name__)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${total}\nTrue True True\n(2, 10) True False 5\nIndexError\n`);
  });

  it.each([
    ['transformer-classifier', 'TransformerClassifier', ['vocab_size=50', 'maxlen=7', 'embed_dim=8', 'num_heads=3', 'ff_dim=16', 'num_classes=4'], 'torch.randint(0, 50, (2, 7))'],
    ['gru-time-series', 'GruTimeSeries', ['features=3', 'filters=6', 'kernel_size=4', 'units=10', 'horizon=2'], 'torch.rand(2, 9, 3)'],
  ])("%s: the class exported with the defaults, built with other params, is the module exported with them (keys, shapes, outputs)", (spec, cls, set, input) => {
    const dir = tmp();
    expect(run(['export', `specs/${spec}.yaml`, '--format', 'pytorch', '--out', join(dir, 'a.py')]).code).toBe(0);
    expect(run(['export', `specs/${spec}.yaml`, '--format', 'pytorch', ...set.flatMap((x) => ['--set', x]), '--out', join(dir, 'b.py')]).code).toBe(0);
    const kwargs = set.join(', ');
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
import torch
def load(path, name):
    s = u.spec_from_file_location(name, path); m = u.module_from_spec(s); s.loader.exec_module(m); return m
a = load("${dir}/a.py", "a").${cls}(${kwargs})
b = load("${dir}/b.py", "b").${cls}()
sa, sb = a.state_dict(), b.state_dict()
print(list(sa) == list(sb), all(sa[k].shape == sb[k].shape for k in sa))
b.load_state_dict(sa)
a.eval(); b.eval()
x = ${input}
print(torch.equal(a(x), b(x)), tuple(a(x).shape))`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`True True\nTrue (2, ${spec === 'gru-time-series' ? 2 : 4})\n`);
  });

  it('a spec whose class cannot be general (share:) refuses a parameter it was not exported with, naming the --set to use', () => {
    const out = join(tmp(), 'siamese.py');
    const e = run(['export', 'specs/siamese.yaml', '--format', 'pytorch', '--out', out]);
    expect(e.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain("# The spec's class is written for the values it was exported with: it cannot be general in its params (a layer shared with share:).\nclass Siamese(nn.Module):");
    const r = spawnSync(PYTHON, ['-c', `import importlib.util as u
s = u.spec_from_file_location("m", "${out}"); m = u.module_from_spec(s); s.loader.exec_module(m)
m.Siamese()
try:
    m.Siamese(filters=32)
except ValueError as e:
    print(e)`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('this module was exported with filters=16; export the spec again with --set filters=32\n');
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
