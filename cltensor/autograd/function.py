"""torch.autograd.Function: user-defined ops with an explicit forward and backward.

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            y, = ctx.saved_tensors
            return g * y

    Exp.apply(x)   # grad_fn: ExpBackward
"""
import functools

from .._tensor import Tensor
from .. import _creation
from ._tape import record, needs_grad, no_grad, saved_output, check_inplace
from ._inplace import rebase_view


class FunctionCtx:
    """The `ctx` passed to forward/backward; user code may set any attribute on it."""

    def __init__(self):
        self.to_save = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._dirty = ()
        self._non_differentiable = ()
        self._saved = None

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self.to_save = tensors

    save_for_forward = save_for_backward

    @property
    def saved_tensors(self):
        return self._saved if self._saved is not None else self.to_save

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


BackwardCFunction = FunctionCtx


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_name = name + "Backward"


class Function(metaclass=_FunctionMeta):
    """Subclass with static `forward(ctx, *args)` (or `forward(*args)` plus `setup_context(ctx, inputs, output)`)
    and `backward(ctx, *grad_outputs)`; call with `.apply(*args)`."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use new-"
                           "style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @classmethod
    def vjp(cls, ctx, *grad_outputs):
        return cls.backward(ctx, *grad_outputs)

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args)
        if not needs_grad(*args):
            return out
        multi = isinstance(out, tuple)
        outs = list(out) if multi else [out]
        dirty = {id(t) for t in ctx._dirty}
        nondiff = {id(t) for t in ctx._non_differentiable}
        arg_ids = {id(a) for a in args if isinstance(a, Tensor)}
        rec = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                rec.append(None)
                continue
            if id(o) in dirty:
                check_inplace(o)
            elif id(o) in arg_ids or o.grad_fn is not None or o._requires_grad:
                outs[i] = o = o.detach()      # an input returned as is: the output is a new alias of it
            rec.append(None if id(o) in nondiff or id(out if not multi else out[i]) in nondiff else o)
        metas = [(o._shape, o._dtype, o._device) if isinstance(o, Tensor) else None for o in outs]
        # saved outputs are kept as weak-grad_fn aliases (no output -> node -> ctx -> output cycle)
        final = {id(o): (i, o) for i, o in enumerate(outs) if isinstance(o, Tensor)}
        orig = out if multi else (out,)
        by_orig = {id(t): final[id(outs[i])] for i, t in enumerate(orig) if isinstance(t, Tensor)}
        saved = tuple(saved_output(by_orig[id(t)][1], by_orig[id(t)][0]) if id(t) in by_orig and
                      rec[by_orig[id(t)][0]] is not None else t for t in ctx.to_save)
        ctx._saved = saved
        ctx.to_save = ()
        nargs = len(args)
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        name = cls._backward_name

        def bw(*grads):
            if ctx.materialize_grads:
                grads = tuple(g if g is not None or m is None else _creation.zeros(m[0], dtype=m[1], device=m[2])
                              for g, m in zip(grads, metas))
            r = cls.backward(ctx, *grads)
            r = r if isinstance(r, tuple) else (r,)
            if len(r) != nargs:
                if len(r) > nargs and all(x is None for x in r[nargs:]):
                    r = r[:nargs]
                else:
                    raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected "
                                       f"{nargs}, got {len(r)})")
            return tuple(r[i] for i in tensor_pos)
        record(name, [args[i] for i in tensor_pos], tuple(rec) if multi else rec[0], bw,
               saved=tuple(t for t in saved if t is not None), owns_grads=False)   # user code: may keep them
        for o in outs:
            if isinstance(o, Tensor) and id(o) in dirty:
                rebase_view(o)
        return tuple(outs) if multi else outs[0]


class InplaceFunction(Function):
    def __init__(self, inplace=False):
        self.inplace = inplace


class NestedIOFunction(Function):
    pass


def once_differentiable(fn):
    """Decorator for Function.backward: it runs without recording a graph (no double backward through it)."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
