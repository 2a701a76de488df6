"""The public API comes from one registry (cltensor/_registry.py): every public function of `cltensor` and every
public Tensor method is a registry entry (or one of the listed non-registry names), no name is declared twice,
and aliases are the very function of their target."""
import types

import numpy as np
import pytest

import cltensor as ct
from cltensor import _registry
from cltensor._tensor import Tensor

# Public callables of `cltensor` that are not registry entries, each with why.
NON_REGISTRY_FUNCTIONS = {
    # dtype and device state: layer-0 modules (_dtypes, _device) re-exported by cltensor/__init__.py
    "get_default_dtype", "set_default_dtype", "promote_types", "can_cast",
    "devices", "set_default_device", "get_default_device", "synchronize",
    # grad mode, owned by cltensor.autograd and re-exported
    "is_grad_enabled",
}
def _is_public_function(obj):
    return callable(obj) and not isinstance(obj, (type, types.ModuleType))


def test_every_public_function_is_a_registry_entry():
    entries = {e.name: e for e in _registry.entries("torch")}
    unexplained = []
    for name in dir(ct):
        if name.startswith("_"):
            continue
        obj = getattr(ct, name)
        if not _is_public_function(obj):
            continue            # dtypes, classes (Tensor, Size, Generator, no_grad ...), constants, submodules
        if name in entries:
            assert entries[name].fn is obj, name
        elif name not in NON_REGISTRY_FUNCTIONS:
            unexplained.append(name)
    assert unexplained == []


def test_every_registry_entry_is_published():
    for e in _registry.entries("torch"):
        if e.fn is not None:
            assert getattr(ct, e.name) is e.fn, e.name
        if e.method:
            assert Tensor.__dict__[e.name] is e.method, e.name
        if e.inplace:
            assert Tensor.__dict__[e.name + "_"] is e.inplace, e.name + "_"


def _class_body_names():
    """Tensor's own attributes: defined in its class body (cltensor/_tensor.py), not installed by a module."""
    out = set()
    for name, v in vars(Tensor).items():
        if isinstance(v, types.MemberDescriptorType):       # a slot (grad, grad_fn)
            out.add(name)
            continue
        f = v.fget if isinstance(v, property) else v
        if getattr(f, "__qualname__", "").startswith("Tensor.") and getattr(f, "__module__", "") == "cltensor._tensor":
            out.add(name)
    return out


def test_every_public_tensor_method_is_registered():
    methods = _registry.methods()
    own = _class_body_names()
    unexplained = []
    for name in dir(Tensor):
        if name.startswith("_") or name not in vars(Tensor):
            continue
        if name in methods:
            assert vars(Tensor)[name] is methods[name], name
        elif name not in own:
            unexplained.append(name)
    assert unexplained == []
    # the operators and the constructor are registered too (none is left from the class body)
    for dunder in ("__init__", "__repr__", "__add__", "__radd__", "__iadd__", "__eq__", "__getitem__",
                   "__setitem__", "__matmul__", "__reduce_ex__"):
        assert dunder in methods and vars(Tensor)[dunder] is methods[dunder], dunder


def test_no_name_is_registered_twice():
    # function names: one entry per (namespace, name); the registry refuses a second callable under a name
    with pytest.raises(ValueError, match="registered twice"):
        _registry.register("exp", lambda x: x)
    assert _registry.get("exp").module == "cltensor._ops"
    # Tensor methods: each name is installed by exactly one declaration (an entry's method or in-place form, or a
    # Tensor-only method), except aliases, which repeat their target's callables
    seen = {}
    for e in _registry.entries():
        for name, f in ((e.name, e.method), (e.name + "_", e.inplace)):
            if not f:
                continue
            if name in seen and e.alias_of is None:
                assert seen[name] is f, f"Tensor.{name} declared twice"
            seen[name] = f
    for name in _registry._METHODS:
        assert name not in seen, f"Tensor.{name} declared as an entry's method and as a Tensor-only method"


# PyTorch's documented aliases (alias -> target)
TORCH_ALIASES = {
    "absolute": "abs", "arccos": "acos", "arcsin": "asin", "arctan": "atan", "arctan2": "atan2",
    "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh", "negative": "neg", "multiply": "mul",
    "divide": "div", "subtract": "sub", "clip": "clamp", "fix": "trunc", "greater": "gt", "greater_equal": "ge",
    "less": "lt", "less_equal": "le", "not_equal": "ne", "swapaxes": "transpose", "swapdims": "transpose",
    "moveaxis": "movedim", "concat": "cat", "concatenate": "cat", "row_stack": "vstack", "ger": "outer",
}


@pytest.mark.parametrize("alias,target", sorted(TORCH_ALIASES.items()))
def test_alias_is_its_target(alias, target):
    e = _registry.get(alias)
    assert e.alias_of == target
    assert getattr(ct, alias) is getattr(ct, target)
    t = _registry.get(target)
    if t.method:
        assert getattr(Tensor, alias) is getattr(Tensor, target)
    if t.inplace and alias in ("absolute", "arccos", "arcsin", "arctan", "arctan2", "arccosh", "arcsinh",
                                "arctanh", "negative", "multiply", "divide", "subtract", "clip", "fix", "greater",
                                "greater_equal", "less", "less_equal", "not_equal"):
        assert getattr(Tensor, alias + "_") is getattr(Tensor, target + "_")


def test_every_alias_entry_repeats_its_target():
    for e in _registry.entries():
        if e.alias_of is None:
            continue
        t = _registry.get(e.alias_of, e.namespace)
        assert t.alias_of is None, e.name
        assert e.fn is t.fn, e.name
        if e.method:
            assert e.method is t.method, e.name
        if e.inplace:
            assert e.inplace is t.inplace, e.name


def test_table_rows_give_function_method_and_inplace_forms():
    x = ct.tensor([0.25, 0.5, 2.0])
    ref = np.exp(np.array([0.25, 0.5, 2.0], dtype=np.float32))
    assert np.allclose(ct.exp(x).cpu().numpy(), ref)
    assert np.allclose(x.exp().cpu().numpy(), ref)
    y = x.clone()
    assert y.exp_() is y and np.allclose(y.cpu().numpy(), ref)
    # predicates have no in-place form (as in PyTorch)
    assert "isnan_" not in vars(Tensor) and "isnan" in vars(Tensor)
    # a row whose `other` must be a tensor keeps PyTorch's TypeError
    with pytest.raises(TypeError, match="must be Tensor"):
        ct.maximum(x, 1.0)
