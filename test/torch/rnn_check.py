#!/usr/bin/python3
"""Test helper (test/pytorch-export.test.ts): the exported KerasRNN against torch's own layers.

    rnn_check.py MODEL.py

MODEL.py is test/fixtures/torch-rnn.yaml exported: a GRU with reset_after=True (torch's form) and
an LSTM. Their weights (biases too, drawn non-zero) are copied into nn.GRU and nn.LSTM with the
gates reordered as the export's docs say: Keras' GRU z, r, h is torch's r, z, n; Keras' LSTM
i, f, c, o is torch's i, f, g, o (and torch's second LSTM bias is zero). Prints the largest
differences of the outputs as JSON.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import torch  # noqa: E402
import modelspec_torch as mt  # noqa: E402


def main(model_py):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    mod = mt.load_module(model_py)
    model = mt.model_class(mod)()
    gru, lstm = model.gru, model.lstm
    x = torch.randn(2, 6, 3)
    u, v = gru.units, lstm.units

    def torch_gates(w):  # Keras z, r, h along the last axis -> torch r, z, n
        return torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], -1)

    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
        ref_gru = torch.nn.GRU(3, u, batch_first=True)
        ref_gru.weight_ih_l0.copy_(torch_gates(gru.kernel).t())
        ref_gru.weight_hh_l0.copy_(torch_gates(gru.recurrent_kernel).t())
        ref_gru.bias_ih_l0.copy_(torch_gates(gru.bias[0]))
        ref_gru.bias_hh_l0.copy_(torch_gates(gru.bias[1]))
        seq = gru(x)
        ref_lstm = torch.nn.LSTM(u, v, batch_first=True)
        ref_lstm.weight_ih_l0.copy_(lstm.kernel.t())
        ref_lstm.weight_hh_l0.copy_(lstm.recurrent_kernel.t())
        ref_lstm.bias_ih_l0.copy_(lstm.bias)
        ref_lstm.bias_hh_l0.zero_()
        out = {
            "gru": (ref_gru(x)[0] - seq).abs().max().item(),
            "lstm": (ref_lstm(seq)[0][:, -1] - lstm(seq)).abs().max().item(),
            "model": (model(x) - lstm(seq)).abs().max().item(),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
