"""Recurrent layers: RNN (tanh/relu), LSTM (with proj_size), GRU and their cells, as in PyTorch.

Parameter names, shapes, gate order (LSTM i, f, g, o; GRU r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))),
initialisation and state_dicts are PyTorch's, so weights move between the two libraries both ways.

One layer and direction runs as one autograd node (`_layer`): the input projection of all time steps is one GEMM
(x as (T*B, I) @ W_ih^T + b), each step one GEMM for the hidden projection (h_prev @ W_hh^T) and one kernel for
the gate math (templates/rnn.mako: it adds the step's input projection rows, applies the gates and writes the new
states; RNN's tanh/relu is one elementwise kernel). Its backward walks the steps in reverse with one gate kernel
and one GEMM per step (dh_prev = dG @ W_hh) and computes the weight gradients once, over all steps: dW_ih = dG^T X,
dW_hh = dG^T H_prev, dX = dG W_ih, db = sum(dG). Packed sequences run the same loop with a batch that shrinks
(or, in the reverse direction, grows) with the step's batch size; a sequence's final state is its state at its
last real step. With create_graph=True (double backward) the node's gradients come from a step-by-step
recomputation on differentiable ops (_layer_tape), so they are differentiable themselves.
"""
import math
import numbers
import warnings

import numpy as np

from ... import _creation as C
from ... import _ew
from ... import _kernels as K
from ..._launch import rt_of, extent, idx_type
from ... import autograd as AG
from ..._index.ops import index_select
from ..._linalg import addmm, mm
from ..._shape import cat, stack
from ..parameter import Parameter
from .. import functional as F
from .. import init
from .module import Module
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# ================================================================================================ gate math

def _ew_into(expr, out, operands):
    """out = expr(x0, x1, ...) elementwise, one kernel (operands: same-shaped, possibly strided tensors)."""
    dt = out._dtype
    _ew.run(expr, out, operands, (dt,) * len(operands), dt)
    return out


def _new(shape, like):
    return C.empty(shape, dtype=like._dtype, device=like._device)


def _rows(t):
    """t (2-D) with unit column stride (the gate kernels index rows by their row stride)."""
    if t._strides[1] != 1 and t._shape[1] > 1:
        t = t.contiguous()
    return t


def _rs(t):
    """A gate-kernel operand passed with its row stride."""
    return (t, t._strides[0])


def _gate_kernel(name, dt, operands, bt, H, **params):
    """Launch templates/rnn.mako's `name` over the bt x H block (a chunk of _CH units per work-item).
    operands: per pointer argument, (tensor,) or (tensor, row stride) -> buffer, element offset[, row stride]."""
    rt = rt_of(operands[0][0])
    n = bt * ((H + _CH - 1) // _CH)
    idx, inp = idx_type(n, *[extent(op[0]) for op in operands])
    args, shared = [], False
    for op in operands:
        t = op[0]
        args += [t._st.buf, inp(t._offset)]
        if len(op) > 1:
            args.append(inp(op[1]))
        shared = shared or t._st.shared
    args += [np.int32(bt), np.int32(H)]
    k = K.get(rt, "rnn", name, t=dt, idx=idx, ch=_CH, **params)
    if id(k) not in _typed:
        k.set_scalar_arg_dtypes([type(a) if isinstance(a, np.generic) else None for a in args])
        _typed.add(id(k))
    if n:
        ls = rt.local_size
        K.launch(rt, k, (K.round_up(n, ls),), (ls,), args)
        if shared:
            rt.queue.finish()


_typed = set()
_CH = 32      # hidden units per work-item of the gate kernels


class _Layer:
    """One layer and direction over a packed batch; forward() without autograd, backward() its gradients."""

    def __init__(self, mode, x, bs, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse, save):
        self.mode, self.bs, self.reverse, self.save = mode, bs, reverse, save
        self.x, self.h0, self.c0 = x, h0, c0
        self.w_ih, self.w_hh, self.b_ih, self.b_hh, self.w_hr = w_ih, w_hh, b_ih, b_hh, w_hr
        off, o = [], 0
        for b in bs:
            off.append(o)
            o += b
        self.off = off
        self.H = w_hh.shape[0] // {"LSTM": 4, "GRU": 3}.get(mode, 1)
        self.Hr = w_hh.shape[1]

    def forward(self):
        mode, bs, H, Hr = self.mode, self.bs, self.H, self.Hr
        x = self.x
        h0 = _rows(self.h0)
        c0 = None if self.c0 is None else _rows(self.c0)
        dt = x._dtype
        N, B = x.shape[0], h0.shape[0]
        lstm, gru = mode == "LSTM", mode == "GRU"
        if gru:
            bx, bh = self.b_ih, self.b_hh
        else:
            bx = None if self.b_ih is None else self.b_ih + self.b_hh
            bh = None
        w_hh_t = self.w_hh.t().contiguous()      # a unit-stride B operand: the per-step GEMMs read it as is
        w_hr_t = None if self.w_hr is None else self.w_hr.t().contiguous()
        xp = addmm(bx, x, self.w_ih.t()) if bx is not None else mm(x, self.w_ih.t())   # all steps: one GEMM
        G = xp.shape[1]
        out = _new((N, Hr), x)
        hN = _new((B, Hr), x)
        cN = _new((B, H), x) if lstm else None
        order = range(len(bs) - 1, -1, -1) if self.reverse else range(len(bs))
        h = c = None
        cur = 0
        save = self.save
        self.steps = steps = {}
        for t in order:
            bt, o = bs[t], self.off[t]
            before = cur
            if bt > cur:              # sequences starting at this step (the first step; growing when reversed)
                h = h0 if cur == 0 and bt == B else (h0[:bt] if cur == 0 else cat([h, h0[cur:bt]], 0))
                if lstm:
                    c = c0 if cur == 0 and bt == B else (c0[:bt] if cur == 0 else cat([c, c0[cur:bt]], 0))
            elif bt < cur:            # sequences that ended: their final state is the current one
                _ew_into("x0", hN[bt:cur], [h[bt:cur]])
                h = h[:bt]
                if lstm:
                    _ew_into("x0", cN[bt:cur], [c[bt:cur]])
                    c = c[:bt]
            cur = bt
            ht = out[o:o + bt]
            hh = addmm(bh, h, w_hh_t) if bh is not None else mm(h, w_hh_t)     # the step's one GEMM
            if lstm:
                cn = _new((bt, H), x)
                r = _new((bt, H), x) if w_hr_t is not None else ht
                # hh becomes the activated gates i, f, g, o
                _gate_kernel("lstm_fwd", dt, [(xp[o:o + bt], G), (hh,), _rs(c), (cn,), _rs(r)],
                             bt, H)
                if w_hr_t is not None:
                    _ew_into("x0", ht, [mm(r, w_hr_t)])
                if save:
                    steps[t] = (before, h, c, hh, cn, r if w_hr_t is not None else None)
                c = cn
            elif gru:
                a = _new((bt, 4 * H), x)
                _gate_kernel("gru_fwd", dt, [(xp[o:o + bt], G), (hh,), _rs(h), (ht, Hr), (a,)], bt, H)
                if save:
                    steps[t] = (before, h, a)
            else:
                act = "py_tanh(x0 + x1)" if mode == "RNN_TANH" else "(x0 + x1 > 0 ? x0 + x1 : 0)"
                _ew_into(act, ht, [xp[o:o + bt], hh])
                if save:
                    steps[t] = (before, h, ht)
            h = ht
        self.cur_end = cur
        if cur:
            _ew_into("x0", hN[:cur] if cur < B else hN, [h])
            if lstm:
                _ew_into("x0", cN[:cur] if cur < B else cN, [c])
        if save:
            self.out = out
        return out, hN, cN

    def backward(self, g_out, g_hN, g_cN):
        mode, bs, H, Hr = self.mode, self.bs, self.H, self.Hr
        x, h0 = self.x, self.h0
        dt = x._dtype
        N, B = x.shape[0], h0.shape[0]
        lstm, gru = mode == "LSTM", mode == "GRU"
        if g_hN is None:
            g_hN = C.zeros((B, Hr), dtype=dt, device=x._device)
        if lstm and g_cN is None:
            g_cN = C.zeros((B, H), dtype=dt, device=x._device)
        g_hN = _rows(g_hN)
        if lstm:
            g_cN = _rows(g_cN)
        if g_out is not None:
            g_out = _rows(g_out)
        G = self.w_ih.shape[0]
        dG = _new((N, G), x)                       # gradient of the input projection (all steps)
        dGh = _new((N, G), x) if gru else dG       # gradient of the hidden projection
        proj = lstm and self.w_hr is not None
        dHt = _new((N, Hr), x) if proj else None
        w_hh = self.w_hh
        order = range(len(bs)) if self.reverse else range(len(bs) - 1, -1, -1)   # the forward order, reversed
        cur = self.cur_end
        dh = g_hN if cur == B else g_hN[:cur]
        dc = (g_cN if cur == B else g_cN[:cur]) if lstm else None
        dh0, dc0 = [], []
        for t in order:
            bt, o = bs[t], self.off[t]
            st = self.steps[t]
            before = st[0]
            gout = g_out[o:o + bt] if g_out is not None else None
            if lstm:
                _, hp, cp, a, cn, r = st
                if proj:
                    dtot = dHt[o:o + bt]
                    if gout is not None:
                        _ew_into("x0 + x1", dtot, [dh, gout])
                    else:
                        _ew_into("x0", dtot, [dh])
                    dr, gout = mm(dtot, self.w_hr), None
                else:
                    dr = dh
                dcp = _new((bt, H), x)
                ops = [(a,), _rs(cp), (cn,), _rs(dr), _rs(gout if gout is not None else dr), _rs(dc),
                       (dG[o:o + bt], G), (dcp,)]
                _gate_kernel("lstm_bwd", dt, ops, bt, H, has_dout=gout is not None)
                dc = dcp
                dhp = mm(dG[o:o + bt], w_hh)
            elif gru:
                _, hp, a = st
                dhz = _new((bt, H), x)
                ops = [(a,), _rs(hp), _rs(dh), _rs(gout if gout is not None else dh), (dG[o:o + bt], G),
                       (dGh[o:o + bt], G), (dhz,)]
                _gate_kernel("gru_bwd", dt, ops, bt, H, has_dout=gout is not None)
                dhp = addmm(dhz, dGh[o:o + bt], w_hh)
            else:
                _, hp, ht = st
                dgt = dG[o:o + bt]
                if mode == "RNN_TANH":
                    dact = "(x0 + x2) * (1 - x1 * x1)" if gout is not None else "x0 * (1 - x1 * x1)"
                else:
                    dact = "(x1 > 0 ? x0 + x2 : 0)" if gout is not None else "(x1 > 0 ? x0 : 0)"
                _ew_into(dact, dgt, [dh, ht] + ([gout] if gout is not None else []))
                dhp = mm(dgt, w_hh)
            # undo the resize made before this step
            if bt > before:
                dh0.append(dhp if before == 0 else dhp[before:])
                dh = dhp[:before]
                if lstm:
                    dc0.append(dc if before == 0 else dc[before:])
                    dc = dc[:before]
            elif bt < before:
                dh = cat([dhp, g_hN[bt:before]], 0)
                if lstm:
                    dc = cat([dc, g_cN[bt:before]], 0)
            else:
                dh = dhp
        gh0 = dh0[0] if len(dh0) == 1 else cat(dh0[::-1], 0)
        gc0 = (dc0[0] if len(dc0) == 1 else cat(dc0[::-1], 0)) if lstm else None
        # weight gradients over all steps at once (transposed operands made contiguous: the GEMM's fast path)
        gx = mm(dG, self.w_ih)
        dGt = dG.t().contiguous()
        gw_ih = mm(dGt, x)
        gw_hh = mm(dGh.t().contiguous() if gru else dGt, self._hprev())
        gb_ih = gb_hh = None
        if self.b_ih is not None:
            gb_ih = dG.sum(0)
            gb_hh = dGh.sum(0) if gru else gb_ih
        gw_hr = None
        if proj:
            rs = [self.steps[t][5] for t in range(len(bs))]
            gw_hr = mm(dHt.t().contiguous(), rs[0] if len(rs) == 1 else cat(rs, 0))
        return gx, gh0, gc0, gw_ih, gw_hh, gb_ih, gb_hh, gw_hr

    def _hprev(self):
        """(N, Hr): each step's h_prev in the rows of its step."""
        bs, out, h0 = self.bs, self.out, self.h0
        T, N, B = len(bs), out.shape[0], h0.shape[0]
        if T == 1:
            return self.steps[0][1]
        if all(b == B for b in bs):         # padded batch: the previous step's output rows, h0 at the start
            return cat([h0, out[:N - B]], 0) if not self.reverse else cat([out[B:], h0], 0)
        return cat([self.steps[t][1] for t in range(T)], 0)


def _layer(mode, x, bs, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """(out (N, Hr), h_n (B, Hr), c_n (B, H) or None) of one layer and direction, as one autograd node."""
    inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    need = AG.needs_grad(*[t for t in inputs if t is not None])
    L = _Layer(mode, x.detach(), bs, h0.detach(), None if c0 is None else c0.detach(), w_ih.detach(),
               w_hh.detach(), None if b_ih is None else b_ih.detach(), None if b_hh is None else b_hh.detach(),
               None if w_hr is None else w_hr.detach(), reverse, need)
    with AG.no_grad():
        out, hN, cN = L.forward()
    if need:
        want = [t is not None and t.requires_grad for t in inputs]

        def bw(g_out, g_hN, g_cN=None):
            if AG.is_grad_enabled():      # create_graph: gradients that are differentiable themselves
                return _tape_grads(mode, inputs, want, bs, reverse, (g_out, g_hN, g_cN))
            with AG.no_grad():
                gs = L.backward(g_out, g_hN, g_cN)
            return tuple(g if w else None for g, w in zip(gs, want))
        outs = (out, hN, cN) if cN is not None else (out, hN)
        AG.record("RnnLayerBackward0", inputs, outs, bw, saved=tuple(t for t in inputs if t is not None))
    return out, hN, cN


def _layer_tape(mode, x, bs, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """The same layer written with differentiable ops step by step (autograd records every op): the
    create_graph (double backward) path of _layer."""
    H = w_hh.shape[0] // {"LSTM": 4, "GRU": 3}.get(mode, 1)
    lstm, gru = mode == "LSTM", mode == "GRU"
    xp = mm(x, w_ih.t())
    if b_ih is not None:
        xp = xp + (b_ih if gru else b_ih + b_hh)
    off, o = [], 0
    for b in bs:
        off.append(o)
        o += b
    outs, pieces_h, pieces_c = {}, [], []
    h = c = None
    cur = 0
    for t in (range(len(bs) - 1, -1, -1) if reverse else range(len(bs))):
        bt = bs[t]
        if bt > cur:
            h = h0[:bt] if cur == 0 else cat([h, h0[cur:bt]], 0)
            c = (c0[:bt] if cur == 0 else cat([c, c0[cur:bt]], 0)) if lstm else None
        elif bt < cur:
            pieces_h.append((bt, h[bt:cur]))
            h = h[:bt]
            if lstm:
                pieces_c.append((bt, c[bt:cur]))
                c = c[:bt]
        cur = bt
        xt = xp[off[t]:off[t] + bt]
        hh = mm(h, w_hh.t())
        if gru and b_hh is not None:
            hh = hh + b_hh
        if lstm:
            gs = xt + hh
            i, f = gs[:, :H].sigmoid(), gs[:, H:2 * H].sigmoid()
            g, og = gs[:, 2 * H:3 * H].tanh(), gs[:, 3 * H:].sigmoid()
            c = f * c + i * g
            h = og * c.tanh()
            if w_hr is not None:
                h = mm(h, w_hr.t())
        elif gru:
            r = (xt[:, :H] + hh[:, :H]).sigmoid()
            z = (xt[:, H:2 * H] + hh[:, H:2 * H]).sigmoid()
            n = (xt[:, 2 * H:] + r * hh[:, 2 * H:]).tanh()
            h = (1 - z) * n + z * h
        else:
            h = (xt + hh).tanh() if mode == "RNN_TANH" else (xt + hh).relu()
        outs[t] = h
    pieces_h.append((0, h))
    pieces_c.append((0, c))

    def join(pieces):
        ts = [p for _, p in sorted(pieces, key=lambda q: q[0])]
        return ts[0] if len(ts) == 1 else cat(ts, 0)
    out = cat([outs[t] for t in range(len(bs))], 0)
    return out, join(pieces_h), join(pieces_c) if lstm else None


def _tape_grads(mode, inputs, want, bs, reverse, gouts):
    """Gradients of _layer's inputs, recorded for double backward: a recomputation on differentiable ops."""
    with AG.enable_grad():
        outs = _layer_tape(mode, inputs[0], bs, *inputs[1:], reverse=reverse)
    pairs = [(o, g) for o, g in zip(outs, gouts) if o is not None and g is not None]
    wanted = [t for t, w in zip(inputs, want) if w]
    gs = iter(AG.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True, allow_unused=True))
    return tuple(next(gs) if w else None for w in want)


# ================================================================================================ modules

def _apply_permutation(tensor, permutation, dim=1):
    return index_select(tensor, dim, permutation)


class RNNBase(Module):
    """Base class of RNN, LSTM and GRU: parameters, checks and the layer loop."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                             "being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode == "LSTM":
            gate_size = 4 * hidden_size
        elif mode == "GRU":
            gate_size = 3 * hidden_size
        elif mode in ("RNN_TANH", "RNN_RELU"):
            gate_size = hidden_size
        else:
            raise ValueError("Unrecognized RNN mode: " + mode)
        fk = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                real_hidden_size = proj_size if proj_size > 0 else hidden_size
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                params = [Parameter(C.empty((gate_size, layer_input_size), **fk)),
                          Parameter(C.empty((gate_size, real_hidden_size), **fk))]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [Parameter(C.empty(gate_size, **fk)), Parameter(C.empty(gate_size, **fk))]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    params.append(Parameter(C.empty((proj_size, hidden_size), **fk)))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, p in zip(names, params):
                    setattr(self, name, p)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, w) for w in ws] for ws in self._all_weights]

    def flatten_parameters(self):
        """Accepted for PyTorch compatibility: parameters are always used in place (a no-op)."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _layer_weights(self, layer, direction):
        suffix = "_reverse" if direction == 1 else ""
        g = lambda n: getattr(self, f"{n}_l{layer}{suffix}", None)   # noqa: E731
        return (g("weight_ih"), g("weight_hh"), g("bias_ih") if self.bias else None,
                g("bias_hh") if self.bias else None, g("weight_hr") if self.proj_size > 0 else None)

    # ---------------------------------------------------------------- checks (PyTorch's messages)
    def check_input(self, input, batch_sizes):
        w0 = self._flat_weights[0]
        if input.dtype != w0.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({w0.dtype}). "
                             f"Convert input: input.to({w0.dtype}), or convert model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        h = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, h)

    def check_hidden_size(self, hx, expected_hidden_size, msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(input_size=self.input_size, hidden_size=self.hidden_size, proj_size=self.proj_size,
                        num_layers=self.num_layers, bias=self.bias, batch_first=self.batch_first,
                        dropout=self.dropout, bidirectional=self.bidirectional)

    # ---------------------------------------------------------------- the layer loop
    def _run(self, x, bs, hx, cx):
        """x: (N, I) packed rows (time-major), bs: batch size per step; hx (L*D, B, Hr), cx (L*D, B, H) or None.
        -> (output rows (N, D*Hr), h_n, c_n or None)."""
        D = 2 if self.bidirectional else 1
        mode = self.mode
        hs, cs = [], []
        inp = x
        hxs = hx.unbind(0)
        cxs = cx.unbind(0) if cx is not None else None
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                o, h, c = _layer(mode, inp, bs, hxs[k], None if cxs is None else cxs[k],
                                 *self._layer_weights(layer, d), reverse=d == 1)
                outs.append(o)
                hs.append(h)
                cs.append(c)
            inp = outs[0] if D == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                inp = F.dropout(inp, self.dropout, True)
        return inp, stack(hs, 0), (stack(cs, 0) if cx is not None else None)

    def _zeros(self, n, B, H, like):
        return C.zeros((n, B, H), dtype=like.dtype, device=like.device)

    def _forward_impl(self, input, hx, lstm):
        num_directions = 2 if self.bidirectional else 1
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        n = self.num_layers * num_directions
        orig_input = input
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        if isinstance(orig_input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            bs = [int(b) for b in batch_sizes.tolist()]
            max_batch_size = bs[0]
            if hx is None:
                hx = (self._zeros(n, max_batch_size, real_hidden_size, input),
                      self._zeros(n, max_batch_size, self.hidden_size, input)) if lstm else \
                    self._zeros(n, max_batch_size, self.hidden_size, input)
            else:
                hx = self.permute_hidden(hx, sorted_indices)
            self.check_forward_args(input, hx, batch_sizes)
            is_batched = True
        else:
            batch_sizes = None
            if input.dim() not in (2, 3):
                if lstm or self.mode == "GRU":
                    raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
                raise ValueError(f"RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
            is_batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = input.unsqueeze(batch_dim)
            if lstm:
                if hx is not None:
                    if is_batched:
                        if hx[0].dim() != 3 or hx[1].dim() != 3:
                            raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                               f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                    else:
                        if hx[0].dim() != 2 or hx[1].dim() != 2:
                            raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but got "
                                               f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                        hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
            elif hx is not None:
                if not is_batched:
                    if hx.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D "
                                           "tensor")
                    hx = hx.unsqueeze(1)
                elif hx.dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
            max_batch_size = input.size(0) if self.batch_first else input.size(1)
            sorted_indices = unsorted_indices = None
            if hx is None:
                hx = (self._zeros(n, max_batch_size, real_hidden_size, input),
                      self._zeros(n, max_batch_size, self.hidden_size, input)) if lstm else \
                    self._zeros(n, max_batch_size, self.hidden_size, input)
            self.check_forward_args(input, hx, batch_sizes)
        h0, c0 = hx if lstm else (hx, None)
        if batch_sizes is not None:
            out, hN, cN = self._run(input, bs, h0, c0)
            output = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
            T, B = x.shape[0], x.shape[1]
            out, hN, cN = self._run(x.reshape(T * B, x.shape[2]), [B] * T, h0, c0)
            output = out.reshape(T, B, out.shape[1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if not is_batched:
                output = output.squeeze(batch_dim)
                hN = hN.squeeze(1)
                if cN is not None:
                    cN = cN.squeeze(1)
        hidden = (hN, cN) if lstm else hN
        return output, self.permute_hidden(hidden, unsorted_indices)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_impl(input, hx, False)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o), with an optional projection of h (proj_size)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return _apply_permutation(hx[0], permutation), _apply_permutation(hx[1], permutation)

    def forward(self, input, hx=None):
        return self._forward_impl(input, hx, True)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)))."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward_impl(input, hx, False)


# ================================================================================================ cells

class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        fk = {"device": device, "dtype": dtype}
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(C.empty((num_chunks * hidden_size, input_size), **fk))
        self.weight_hh = Parameter(C.empty((num_chunks * hidden_size, hidden_size), **fk))
        if bias:
            self.bias_ih = Parameter(C.empty(num_chunks * hidden_size, **fk))
            self.bias_hh = Parameter(C.empty(num_chunks * hidden_size, **fk))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nl = getattr(self, "nonlinearity", "tanh")
        if nl != "tanh":
            s += f", nonlinearity={nl}"
        return s

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check(self, input, hxs):
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} expected {self.input_size}")
        for i, h in enumerate(hxs):
            if h.size(0) != input.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} batch size "
                                   f"{h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.size(1)}, expected "
                                   f"{self.hidden_size}")

    def _step(self, mode, input, h, c):
        _, hN, cN = _layer(mode, input, [input.size(0)], h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                           self.bias_hh, None, False)
        return hN, cN

    def _zeros(self, input):
        return C.zeros((input.size(0), self.hidden_size), dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"RNNCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        hx = self._zeros(input) if hx is None else (hx.unsqueeze(0) if not is_batched else hx)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check(input, [hx])
        ret, _ = self._step("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, hx, None)
        return ret.squeeze(0) if not is_batched else ret


class LSTMCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = self._zeros(input)
            hx = (zeros, zeros)
        else:
            if len(hx) != 2:
                raise RuntimeError("lstm_cell expects two hidden states")
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0)) if not is_batched else hx
        self._check(input, hx)
        h, c = self._step("LSTM", input, hx[0], hx[1])
        if not is_batched:
            return h.squeeze(0), c.squeeze(0)
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"GRUCell: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        hx = self._zeros(input) if hx is None else (hx.unsqueeze(0) if not is_batched else hx)
        self._check(input, [hx])
        ret, _ = self._step("GRU", input, hx, None)
        return ret.squeeze(0) if not is_batched else ret
