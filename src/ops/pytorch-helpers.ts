/**
 * Python definitions that exported modules include when an op needs more than one expression:
 * Keras' recurrent layers (SimpleRNN, LSTM, GRU with either reset_after, masks, go_backwards),
 * Bidirectional, and MultiHeadAttention with its EinsumDense kernels. Their weights keep Keras'
 * layout, so that the weight table converts them as they are (`same`). An op names the ones it
 * needs in `pytorch.helpers`; the exporter writes each once, after the imports, in the order of
 * HELPER_ORDER (a helper after those it uses).
 */
import { ACTIVATION } from './pytorch.js';

/** Keras' truncated-normal correction: the stddev of a unit normal truncated at +-2. */
const TRUNC = 0.87962566103423978;

/** `keras_activation(name, x, dim)`: the activations of src/ops/pytorch.ts by name (softmax over `dim`). */
function activationHelper(): string {
  const rows = Object.entries(ACTIVATION).map(([name, f]) => `    ${JSON.stringify(name)}: lambda x, dim: ${f('x', 'dim' as unknown as number)},`);
  return [
    '_KERAS_ACTIVATIONS = {',
    ...rows,
    '}',
    '',
    '',
    'def keras_activation(name: Optional[str], x: torch.Tensor, dim: int = -1) -> torch.Tensor:',
    '    """A Keras activation by name (None is linear; hard_sigmoid is clip(0.2 x + 0.5, 0, 1), as in tfjs and',
    '    Keras 2; softmax over `dim`: the last axis, or 1, the channels of an image held channels-first)."""',
    '    return x if name is None else _KERAS_ACTIVATIONS[name](x, dim)',
  ].join('\n');
}

const RECURRENT = `class KerasRNN(nn.Module):
    """Keras' SimpleRNN, LSTM or GRU over (batch, steps, features), with Keras' weights: kernel
    (features, gates * units), recurrent_kernel (units, gates * units) and bias (gates * units;
    GRU with reset_after: (2, 3 * units), the input's bias then the recurrent one), the gates in
    Keras' order (LSTM i, f, c, o as torch's i, f, g, o; GRU z, r, h where torch has r, z, n).
    GRU with reset_after=False applies the reset gate before the recurrent product (r * h) U_h,
    as TensorFlow.js builds it; with True after it, r * (h U_h + b_h), as Keras 2 and torch do.
    At a masked step (mask False) the state is kept and the previous output repeated, as Keras
    does; go_backwards reads the steps last to first, and returns the sequence in that order.
    initial_state is Keras' (h, or h and c for an LSTM; zeros without it); with return_state the
    output is followed by the final states, as Keras returns [output, state_h, state_c]."""

    GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}

    def __init__(self, cell: str, features: int, units: int, *, activation: Optional[str] = "tanh",
                 recurrent_activation: Optional[str] = "sigmoid", use_bias: bool = True, reset_after: bool = False,
                 return_sequences: bool = False, go_backwards: bool = False, return_state: bool = False) -> None:
        super().__init__()
        gates = self.GATES[cell]
        self.cell, self.units = cell, units
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.reset_after = cell == "gru" and reset_after
        self.return_sequences, self.go_backwards, self.return_state = return_sequences, go_backwards, return_state
        self.kernel = nn.Parameter(torch.empty(features, gates * units))
        self.recurrent_kernel = nn.Parameter(torch.empty(units, gates * units))
        bias_shape = (2, gates * units) if self.reset_after else (gates * units,)
        self.bias = nn.Parameter(torch.empty(bias_shape)) if use_bias else None

    def step(self, xw: torch.Tensor, h: torch.Tensor, c: Optional[torch.Tensor]) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """One step: xw is the input's product with the kernel (its bias added)."""
        u, uk = self.units, self.recurrent_kernel
        act = lambda v: keras_activation(self.activation, v)  # noqa: E731
        rec = lambda v: keras_activation(self.recurrent_activation, v)  # noqa: E731
        if self.cell == "simple_rnn":
            return act(xw + h @ uk), c
        if self.cell == "lstm":
            z = xw + h @ uk
            i, f, o = rec(z[:, :u]), rec(z[:, u:2 * u]), rec(z[:, 3 * u:])
            c = f * c + i * act(z[:, 2 * u:3 * u])
            return o * act(c), c
        if self.reset_after:
            hu = h @ uk
            if self.bias is not None:
                hu = hu + self.bias[1]
            z, r = rec(xw[:, :u] + hu[:, :u]), rec(xw[:, u:2 * u] + hu[:, u:2 * u])
            hh = act(xw[:, 2 * u:] + r * hu[:, 2 * u:])
        else:
            hu = h @ uk[:, :2 * u]
            z, r = rec(xw[:, :u] + hu[:, :u]), rec(xw[:, u:2 * u] + hu[:, u:])
            hh = act(xw[:, 2 * u:] + (r * h) @ uk[:, 2 * u:])
        return z * h + (1 - z) * hh, c

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                initial_state: Optional[tuple[torch.Tensor, ...]] = None):
        xw = x @ self.kernel
        if self.bias is not None:
            xw = xw + (self.bias[0] if self.reset_after else self.bias)
        if initial_state is not None:
            h, c = initial_state[0], (initial_state[1] if self.cell == "lstm" else None)
        else:
            h = x.new_zeros(x.shape[0], self.units)
            c = x.new_zeros(x.shape[0], self.units) if self.cell == "lstm" else None
        outputs = []
        steps = range(x.shape[1] - 1, -1, -1) if self.go_backwards else range(x.shape[1])
        for t in steps:
            h_t, c_t = self.step(xw[:, t], h, c)
            if mask is not None:
                keep = mask[:, t, None]
                h_t = torch.where(keep, h_t, h)
                c_t = None if c is None else torch.where(keep, c_t, c)
            h, c = h_t, c_t
            outputs.append(h)
        y = torch.stack(outputs, 1) if self.return_sequences else h
        if self.return_state:
            return (y, h, c) if self.cell == "lstm" else (y, h)
        return y`;

const BIDIRECTIONAL = `class KerasBidirectional(nn.Module):
    """Keras' Bidirectional: a recurrent layer forwards and a copy with go_backwards, the backward
    sequence reversed back to the input's order, merged (concat on the last axis, sum, mul, ave)."""

    def __init__(self, forward_layer: nn.Module, backward_layer: nn.Module, merge_mode: str = "concat") -> None:
        super().__init__()
        self.forward_layer, self.backward_layer, self.merge_mode = forward_layer, backward_layer, merge_mode

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y, y_rev = self.forward_layer(x, mask), self.backward_layer(x, mask)
        if self.backward_layer.return_sequences:
            y_rev = torch.flip(y_rev, [1])
        if self.merge_mode == "concat":
            return torch.cat([y, y_rev], dim=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "mul":
            return y * y_rev
        return 0.5 * (y + y_rev)`;

const ATTENTION = `class KerasEinsumDense(nn.Module):
    """A projection with Keras' EinsumDense weights: kernel (*in, *out), its first \`inputs\` axes
    contracted with the input's last ones, and bias (*out)."""

    def __init__(self, kernel_shape: tuple[int, ...], use_bias: bool, inputs: int = 1) -> None:
        super().__init__()
        self.inputs = inputs
        self.kernel = nn.Parameter(torch.empty(kernel_shape))
        self.bias = nn.Parameter(torch.empty(kernel_shape[inputs:])) if use_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, n = self.kernel, self.inputs
        fan_in = math.prod(k.shape[:n])
        y = (x.reshape(-1, fan_in) @ k.reshape(fan_in, -1)).reshape(*x.shape[:-n], *k.shape[n:])
        return y if self.bias is None else y + self.bias


class KerasMultiHeadAttention(nn.Module):
    """Keras' MultiHeadAttention over (batch, length, features) inputs: query, key and value
    projections with kernels (features, heads, key_dim or value_dim), the query scaled by
    1/sqrt(key_dim), softmax over the keys, dropout on the probabilities, and the output
    projection with kernel (heads, value_dim, output features). An attention_mask (batch, T, S),
    1 attends and 0 masks, and the causal mask (query t sees keys s <= t; use_causal_mask) are
    combined by a logical and, and the masked scores get (1 - mask) * -1e9 before the softmax, as
    Keras computes them (_compute_attention_mask, _masked_softmax)."""

    def __init__(self, query_dim: int, value_dim_in: int, key_dim_in: int, num_heads: int, key_dim: int, value_dim: int,
                 output_dim: int, use_bias: bool = True, dropout: float = 0.0, use_causal_mask: bool = False) -> None:
        super().__init__()
        self.key_dim, self.use_causal_mask = key_dim, use_causal_mask
        self.query = KerasEinsumDense((query_dim, num_heads, key_dim), use_bias)
        self.key = KerasEinsumDense((key_dim_in, num_heads, key_dim), use_bias)
        self.value = KerasEinsumDense((value_dim_in, num_heads, value_dim), use_bias)
        self.attention_output = KerasEinsumDense((num_heads, value_dim, output_dim), use_bias, inputs=2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, value: torch.Tensor, key: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        key = value if key is None else key
        q = self.query(query).transpose(1, 2) * (1.0 / math.sqrt(self.key_dim))  # (batch, heads, T, key_dim)
        k = self.key(key).transpose(1, 2)
        v = self.value(value).transpose(1, 2)
        logits = q @ k.transpose(-1, -2)  # (batch, heads, T, S)
        mask = None if attention_mask is None else attention_mask.to(logits.dtype)
        if self.use_causal_mask:
            causal = torch.ones(logits.shape[-2:], dtype=logits.dtype, device=logits.device).tril()
            mask = causal if mask is None else (mask != 0).to(logits.dtype) * causal
        if mask is not None:
            logits = logits + (1.0 - (mask[:, None] if mask.dim() == 3 else mask)) * -1e9
        scores = self.dropout(torch.softmax(logits, dim=-1))
        o = (scores @ v).transpose(1, 2)  # (batch, T, heads, value_dim)
        return self.attention_output(o)`;

/** Keras' initializers drawn with the fans of a weight's Keras shape, read from the PyTorch tensor (general block classes). */
const KERAS_INIT = `def keras_init_(w: torch.Tensor, initializer: str, layout: str = "same", groups: int = 1) -> None:
    """Draw w in place as the Keras initializer of that name does, with the fans of its Keras shape
    (layout: how the PyTorch tensor holds it, as in KERAS_WEIGHTS): he_normal, glorot_normal and
    lecun_normal are truncated at two standard deviations, glorot_* use fan_avg."""
    s = tuple(w.shape)
    if layout in ("conv", "conv_transpose"):  # (O, I, *k) and (I, O, *k): Keras' (*k, I, O) and (*k, O, I)
        rf = math.prod(s[2:])
        fan_in, fan_out = s[1] * rf, s[0] * rf
    elif layout == "depthwise":  # (C * M, 1, *k): Keras' (*k, C, M), C = groups
        rf = math.prod(s[2:])
        fan_in, fan_out = groups * rf, s[0] // groups * rf
    elif layout in ("dense", "flat_dense"):  # (out, in): Keras' (in, out)
        fan_in, fan_out = s[1], s[0]
    elif len(s) == 1:
        fan_in = fan_out = s[0]
    else:
        rf = math.prod(s[:-2])
        fan_in, fan_out = s[-2] * rf, s[-1] * rf

    def trunc(std: float) -> None:
        nn.init.trunc_normal_(w, std=std, a=-2 * std, b=2 * std)

    if initializer == "zeros":
        nn.init.zeros_(w)
    elif initializer == "ones":
        nn.init.ones_(w)
    elif initializer == "glorot_uniform":
        limit = math.sqrt(6 / (fan_in + fan_out))
        nn.init.uniform_(w, -limit, limit)
    elif initializer == "glorot_normal":
        trunc(math.sqrt(2 / (fan_in + fan_out)) / ${TRUNC})
    elif initializer == "he_uniform":
        limit = math.sqrt(6 / fan_in)
        nn.init.uniform_(w, -limit, limit)
    elif initializer == "he_normal":
        trunc(math.sqrt(2 / fan_in) / ${TRUNC})
    elif initializer == "lecun_uniform":
        limit = math.sqrt(3 / fan_in)
        nn.init.uniform_(w, -limit, limit)
    elif initializer in ("lecun_normal", "variance_scaling"):
        trunc(math.sqrt(1 / fan_in) / ${TRUNC})
    elif initializer == "random_uniform":
        nn.init.uniform_(w, -0.05, 0.05)
    elif initializer == "random_normal":
        nn.init.normal_(w, 0.0, 0.05)
    elif initializer == "truncated_normal":
        trunc(0.05)
    elif initializer == "orthogonal":
        nn.init.orthogonal_(w)
    elif initializer == "identity":
        nn.init.eye_(w)
    else:
        raise ValueError(f"initializer {initializer!r} has no PyTorch mapping")`;

/** TF's 'same' padding for a general block class: nn.Conv2d's (nn.Conv1d's) padding= where it is symmetric and fixed. */
const SAME_PADDING = `def _tuple(v, n: int) -> tuple[int, ...]:
    return (v,) * n if isinstance(v, int) else tuple(int(x) for x in v)


def same_padding(kernel_size, stride=1, dilation=1, dims: int = 2) -> tuple[int, ...]:
    """TF's 'same' padding as the padding= of nn.Conv2d (dims=2) or nn.Conv1d (dims=1), where it
    does not depend on the input size (stride 1 and an odd effective kernel: the same pad on both
    sides); else zeros, and pad_same pads in forward."""
    pads = []
    for k, s, d in zip(_tuple(kernel_size, dims), _tuple(stride, dims), _tuple(dilation, dims)):
        total = (k - 1) * d
        if s != 1 or total % 2:
            return (0,) * dims
        pads.append(total // 2)
    return tuple(pads)`;

/** ... and pad_same, in forward, where the pads depend on the input size (stride > 1). */
const PAD_SAME = `def pad_same(x: torch.Tensor, conv: nn.Module) -> torch.Tensor:
    """x (N, C, H, W) or (N, C, L) padded for conv (nn.Conv2d, nn.Conv1d) as TF's 'same' padding
    does it, from x's size: the odd row and column after (as timm's pad_same); x itself where conv
    pads (padding=) or there is nothing to pad."""
    if any(conv.padding):
        return x
    pads: list[int] = []
    for n, k, s, d in zip(x.shape[2:], conv.kernel_size, conv.stride, conv.dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads = [total // 2, total - total // 2] + pads  # F.pad takes the last dimension first
    return F.pad(x, pads) if any(pads) else x`;

/** The helpers by name: the Python text, and the helpers it uses. */
export const PY_HELPERS: Record<string, { text: () => string; uses: readonly string[]; imports?: readonly string[] }> = {
  keras_activation: { text: activationHelper, uses: [] },
  KerasRNN: { text: () => RECURRENT, uses: ['keras_activation'] },
  KerasBidirectional: { text: () => BIDIRECTIONAL, uses: [] },
  KerasMultiHeadAttention: { text: () => ATTENTION, uses: [], imports: ['math'] },
  keras_init_: { text: () => KERAS_INIT, uses: [], imports: ['math'] },
  same_padding: { text: () => SAME_PADDING, uses: [] },
  pad_same: { text: () => PAD_SAME, uses: ['same_padding'] },
};

const HELPER_ORDER = Object.keys(PY_HELPERS);

/** The helpers `names` need (with those they use), in HELPER_ORDER: their text, and the modules they import. */
export function helperDefinitions(names: Iterable<string>): { text: string[]; imports: string[] } {
  const want = new Set<string>();
  const add = (n: string) => {
    if (want.has(n)) return;
    const h = PY_HELPERS[n];
    if (!h) throw new Error(`no Python helper '${n}'`);
    want.add(n);
    h.uses.forEach(add);
  };
  for (const n of names) add(n);
  const order = HELPER_ORDER.filter((n) => want.has(n));
  return { text: order.map((n) => PY_HELPERS[n]!.text()), imports: [...new Set(order.flatMap((n) => PY_HELPERS[n]!.imports ?? []))].sort() };
}
