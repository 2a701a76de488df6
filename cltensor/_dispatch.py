"""The one dispatch point: a mode slot that the generic op paths consult (as PyTorch's dispatch modes /
`__torch_function__`).

`mode` is None in eager execution. A mode object (cltensor.compile's tracer, cltensor/_fusion.py) is installed
with `push(mode)` / `pop(prev)`; while it is set, the generic paths offer each call to it first:

    _ops.apply / apply_ / where / to_copy    mode.ew(name, args, out, expr) / mode.inplace(t) / mode.where(...)
                                             / mode.cast(t, dtype)
    reductions (sum / mean)                  mode.reduce(kind, x, dims, keepdim, odt, acc, n)
    matrix products (mm / addmm / linear)    mode.mm(inp, a, b, beta, alpha)
    every kernel launch                      mode.before_launch()

A hook returns a result to use instead of running eagerly, or None to let the eager code run.

`capture` is None except while a captured graph records (cltensor/_graphs.py): then code whose effect a replay
must repeat or refresh offers it there: `capture.rng(generator, offset)` (a Philox draw),
`capture.upload(rt, buf, host_array)` (a host-to-device copy), `capture.dynamic(fn, *args)` (host-side state
that changes per call, e.g. an optimizer step: replays run fn again to refresh its kernels' scalar arguments). This module
imports nothing of cltensor's, so any layer may consult it; no module below the mode's own imports the mode.
"""

__all__ = ["mode", "push", "pop", "Mode", "capture"]

mode = None
capture = None


class Mode:
    """The protocol (and a do-nothing base): every hook declines."""

    def ew(self, name, args, out, expr):
        return None

    def inplace(self, t):
        return None

    def where(self, cond, a, b, rt, out):
        return None

    def cast(self, t, dtype):
        return None

    def reduce(self, kind, x, dims, keepdim, odt, acc, n):
        return None

    def mm(self, inp, a, b, beta, alpha):
        return None

    def before_launch(self):
        return None


def push(m):
    """Install mode m; returns the previous mode (give it to pop)."""
    global mode
    prev, mode = mode, m
    return prev


def pop(prev):
    global mode
    mode = prev
