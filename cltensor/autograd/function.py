"""torch.autograd.Function: user-defined ops with explicit forward/backward."""
from .._tensor import Tensor
from . import record, needs_grad, no_grad


class FunctionCtx:
    def __init__(self):
        self.saved_tensors = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *args):
        pass


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call with `.apply(*args)`."""

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args)
        if needs_grad(*args):
            tens = tuple(a for a in args if isinstance(a, Tensor))
            idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

            def bw(*gs):
                r = cls.backward(ctx, *gs)
                r = r if isinstance(r, tuple) else (r,)
                return tuple(r[i] if i < len(r) else None for i in idx)
            outs = out if isinstance(out, tuple) else (out,)
            outs = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
            record(cls.__name__ + "Backward", tens, outs if isinstance(out, tuple) else outs[0], bw,
                   saved=ctx.saved_tensors)
            return outs if isinstance(out, tuple) else outs[0]
        return out
