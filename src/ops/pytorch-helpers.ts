/**
 * Python definitions that exported modules include when an op needs more than one expression:
 * Keras' recurrent layers (SimpleRNN, LSTM, GRU with either reset_after, masks, go_backwards),
 * Bidirectional, and MultiHeadAttention with its EinsumDense kernels. Their weights keep Keras'
 * layout, so that the weight table converts them as they are (`same`). An op names the ones it
 * needs in `pytorch.helpers`; the exporter writes each once, after the imports, in the order of
 * HELPER_ORDER (a helper after those it uses).
 */
import { ACTIVATION } from './pytorch.js';

/** `keras_activation(name, x)`: the activations of src/ops/pytorch.ts by name (softmax over the last axis). */
function activationHelper(): string {
  const rows = Object.entries(ACTIVATION).map(([name, f]) => `    ${JSON.stringify(name)}: lambda x: ${f('x', -1)},`);
  return [
    '_KERAS_ACTIVATIONS = {',
    ...rows,
    '}',
    '',
    '',
    'def keras_activation(name: Optional[str], x: torch.Tensor) -> torch.Tensor:',
    '    """A Keras activation by name (None is linear; hard_sigmoid is clip(0.2 x + 0.5, 0, 1), as in tfjs and Keras 2)."""',
    '    return x if name is None else _KERAS_ACTIVATIONS[name](x)',
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
    does; go_backwards reads the steps last to first, and returns the sequence in that order."""

    GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}

    def __init__(self, cell: str, features: int, units: int, *, activation: Optional[str] = "tanh",
                 recurrent_activation: Optional[str] = "sigmoid", use_bias: bool = True, reset_after: bool = False,
                 return_sequences: bool = False, go_backwards: bool = False) -> None:
        super().__init__()
        gates = self.GATES[cell]
        self.cell, self.units = cell, units
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.reset_after = cell == "gru" and reset_after
        self.return_sequences, self.go_backwards = return_sequences, go_backwards
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

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        xw = x @ self.kernel
        if self.bias is not None:
            xw = xw + (self.bias[0] if self.reset_after else self.bias)
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
        return torch.stack(outputs, 1) if self.return_sequences else h`;

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
    projection with kernel (heads, value_dim, output features)."""

    def __init__(self, query_dim: int, value_dim_in: int, key_dim_in: int, num_heads: int, key_dim: int, value_dim: int,
                 output_dim: int, use_bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.key_dim = key_dim
        self.query = KerasEinsumDense((query_dim, num_heads, key_dim), use_bias)
        self.key = KerasEinsumDense((key_dim_in, num_heads, key_dim), use_bias)
        self.value = KerasEinsumDense((value_dim_in, num_heads, value_dim), use_bias)
        self.attention_output = KerasEinsumDense((num_heads, value_dim, output_dim), use_bias, inputs=2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, value: torch.Tensor, key: Optional[torch.Tensor] = None) -> torch.Tensor:
        key = value if key is None else key
        q = self.query(query).transpose(1, 2) * (1.0 / math.sqrt(self.key_dim))  # (batch, heads, T, key_dim)
        k = self.key(key).transpose(1, 2)
        v = self.value(value).transpose(1, 2)
        scores = self.dropout(torch.softmax(q @ k.transpose(-1, -2), dim=-1))  # (batch, heads, T, S)
        o = (scores @ v).transpose(1, 2)  # (batch, T, heads, value_dim)
        return self.attention_output(o)`;

/** The helpers by name: the Python text, and the helpers it uses. */
export const PY_HELPERS: Record<string, { text: () => string; uses: readonly string[]; imports?: readonly string[] }> = {
  keras_activation: { text: activationHelper, uses: [] },
  KerasRNN: { text: () => RECURRENT, uses: ['keras_activation'] },
  KerasBidirectional: { text: () => BIDIRECTIONAL, uses: [] },
  KerasMultiHeadAttention: { text: () => ATTENTION, uses: [], imports: ['math'] },
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
