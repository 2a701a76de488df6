"""Optimizer base class (PyTorch's API: param_groups, state, zero_grad, step(closure), add_param_group,
state_dict/load_state_dict). The fused per-parameter update kernels they launch are in optim/_kernels.py."""
from collections import OrderedDict, defaultdict
from copy import deepcopy
from functools import wraps
import itertools

from .. import _dispatch
from ..autograd import _tape as AG
from .._tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()
_HOOK_DICTS = ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
               "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
               "_optimizer_load_state_dict_post_hooks")


def _handle(hooks, hook, prepend=False):
    from ..nn.modules.module import RemovableHandle
    h = RemovableHandle(hooks)
    hooks[h.id] = hook
    if prepend:
        hooks.move_to_end(h.id, last=False)
    return h


def register_optimizer_step_pre_hook(hook):
    """A hook run before every optimizer's step: hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)."""
    return _handle(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """A hook run after every optimizer's step: hook(optimizer, args, kwargs) -> None."""
    return _handle(_global_optimizer_post_hooks, hook)


def _hooked_step(func):
    """Wrap a step function with the step hooks (PyTorch wraps the step of each optimizer class the same way)."""
    @wraps(func)
    def step(*args, **kwargs):
        self = args[0]
        pre = self.__dict__.get("_optimizer_step_pre_hooks")
        post = self.__dict__.get("_optimizer_step_post_hooks")
        if not (pre or post or _global_optimizer_pre_hooks or _global_optimizer_post_hooks):
            return func(*args, **kwargs)
        # like PyTorch, hooks see args with the optimizer first
        for hook in itertools.chain(_global_optimizer_pre_hooks.values(), (pre or {}).values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{func} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
        out = func(*args, **kwargs)
        for hook in itertools.chain((post or {}).values(), _global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    step.hooked = True
    return step


_batching = {}


def _batches(cls):
    """Whether step() updates cls's parameters through _update_many: defined, and _update not overridden below
    the class that defines it."""
    r = _batching.get(cls)
    if r is None:
        r = False
        for c in cls.__mro__:
            if "_update" in c.__dict__ or "_update_many" in c.__dict__:
                r = c.__dict__.get("_update_many") is not None
                break
        _batching[cls] = r
    return r


class Optimizer:
    """Base class: subclasses define step() using the fused kernels below.

    Per-parameter scalars of the state (the names in `_scalar_state`, e.g. "step") live on the host as Python
    floats, so bias corrections and step-dependent factors need no device read; state_dict() hands them out as
    0-d float32 tensors like PyTorch's, and load_state_dict() takes them back from tensors or numbers."""

    _scalar_state = ("step",)

    def __init__(self, params, defaults):
        for name in _HOOK_DICTS:
            setattr(self, name, OrderedDict())
        cls = self.__class__
        if not getattr(cls.step, "hooked", False):
            cls.step = _hooked_step(cls.step)
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, but "
                            "got " + type(params).__name__)
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for g in param_groups:
            self.add_param_group(g)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in _HOOK_DICTS:
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())

    def register_step_pre_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), run before step()."""
        return _handle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """hook(optimizer, args, kwargs) -> None, run after step()."""
        return _handle(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """hook(optimizer) -> None, run before state_dict() builds its result."""
        return _handle(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """hook(optimizer, state_dict) -> state_dict or None, run on state_dict()'s result."""
        return _handle(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """hook(optimizer, state_dict) -> state_dict or None, run before load_state_dict() loads it."""
        return _handle(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """hook(optimizer) -> None, run after load_state_dict()."""
        return _handle(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += "\n"
            s += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        s += ")"
        return s

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        for p in param_group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is " + type(p).__name__)
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p._retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len(set(id(p) for p in params)):
            import warnings
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
        if not seen.isdisjoint(id(p) for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        if p.grad.grad_fn is not None:
                            p.grad = p.grad.detach()
                        else:
                            p.grad.requires_grad_(False)
                        p.grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient: _update(group, _group_values(group), p, state)."""
        cap = _dispatch.capture
        if cap is not None and not cap.in_dynamic:   # captured graph: replays refresh the step count, lr ...
            return cap.dynamic(self.step, closure)
        loss = self._closure(closure)
        state = self.state
        with AG.no_grad():
            for group in self.param_groups:
                values = self._group_values(group)
                if _batches(type(self)):
                    self._step_many(group, values)
                    continue
                for p in group["params"]:
                    if p.grad is not None:
                        st = state.get(p)
                        if st is None:      # like PyTorch, no state entry for a parameter that keeps no state
                            st = {}
                            self._update(group, values, p, st)
                            if st:
                                state[p] = st
                        else:
                            self._update(group, values, p, st)
        return loss

    def _group_values(self, group):
        """The group's hyper-parameters as this optimizer's update reads them (once per group and step)."""
        return None

    # _update_many(group, values, [(p, state)]): optimizers whose kernels update several parameters per launch
    # define it; step() calls it instead of _update per parameter (unless a subclass overrides _update alone)
    _update_many = None

    def _step_many(self, group, values):
        state = self.state
        items, fresh = [], []
        for p in group["params"]:
            if p.grad is not None:
                st = state.get(p)
                if st is None:      # like PyTorch, no state entry for a parameter that keeps no state
                    st = {}
                    fresh.append((p, st))
                items.append((p, st))
        if items:
            self._update_many(group, values, items)
        for p, st in fresh:
            if st:
                state[p] = st

    def _update(self, group, values, p, st):
        raise NotImplementedError

    def _closure(self, closure):
        if closure is None:
            return None
        with AG.enable_grad():
            return closure()

    # ------------------------------------------------------------------ state dict
    def state_dict(self):
        for hook in self.__dict__.get("_optimizer_state_dict_pre_hooks", {}).values():
            hook(self)
        index = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                if id(p) not in index:
                    index[id(p)] = i
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {index[id(k)]: self._pack_state(v) for k, v in self.state.items() if id(k) in index}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for hook in self.__dict__.get("_optimizer_state_dict_post_hooks", {}).values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def _pack_state(self, st):
        if not any(k in st and not isinstance(st[k], Tensor) for k in self._scalar_state):
            return st
        from .. import _creation as C
        from .. import _dtypes as D
        return {k: C.tensor(float(v), dtype=D.float32) if k in self._scalar_state and not isinstance(v, Tensor)
                else v for k, v in st.items()}

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        for hook in self.__dict__.get("_optimizer_load_state_dict_pre_hooks", {}).values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        param_lens = (len(g["params"]) for g in groups)
        saved_lens = (len(g["params"]) for g in saved_groups)
        if any(p_len != s_len for p_len, s_len in zip(param_lens, saved_lens)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                             "group")
        id_map = dict(zip(itertools.chain.from_iterable(g["params"] for g in saved_groups),
                          itertools.chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if key in self._scalar_state and not isinstance(value, dict):
                return float(value.item()) if hasattr(value, "item") else float(value)
            if isinstance(value, Tensor):
                if value.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device).clone()
                return value.to(device=param.device).clone()
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            k = int(k) if isinstance(k, str) and k.isdigit() else k
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            return new_group

        self.__setstate__({"state": state,
                           "param_groups": [update_group(g, ng) for g, ng in zip(groups, saved_groups)]})
        for hook in self.__dict__.get("_optimizer_load_state_dict_post_hooks", {}).values():
            hook(self)
