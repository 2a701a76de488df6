"""The recorder behind cltensor.onnx.export: public operations are wrapped for the duration of one forward call,
the outermost call of each is translated (cltensor/onnx/_convert.py) into ONNX nodes by a GraphBuilder, and the
dispatch slot (cltensor/_dispatch.py) reports any kernel launched outside a recorded operation."""
import enum
import inspect

import numpy as np

from .. import _dispatch
from .. import _dtypes as D
from .. import _registry
from .._tensor import Tensor
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.modules.module import Module

__all__ = ["export", "UnsupportedOperatorError", "OnnxExporterError", "TrainingMode", "is_in_onnx_export",
           "GraphBuilder"]


class TrainingMode(enum.IntEnum):
    """How export sets the module's training flag: EVAL (the default), PRESERVE or TRAINING."""
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OnnxExporterError(RuntimeError):
    """The export failed."""


class UnsupportedOperatorError(OnnxExporterError):
    """An operation of the model has no ONNX translation."""


_ONNX_TYPE = {D.float32: 1, D.uint8: 2, D.int8: 3, D.int16: 5, D.int32: 6, D.int64: 7, D.bool_: 9,
              D.float16: 10, D.float64: 11}
_NP_TYPE = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.int16): 5,
            np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(np.bool_): 9, np.dtype(np.float16): 10,
            np.dtype(np.float64): 11}

_active = None


def is_in_onnx_export():
    """True while cltensor.onnx.export runs the model."""
    return _active is not None


def onnx_type(dtype):
    t = _ONNX_TYPE.get(dtype)
    if t is None:
        raise UnsupportedOperatorError(f"ONNX export: tensors of dtype {dtype} cannot be exported")
    return t


class GraphBuilder:
    """ONNX nodes, initializers and the names of the tensors seen so far (by identity; the tensors are kept alive
    until the export ends so identities stay unique)."""

    def __init__(self, opset, named):
        from onnx import helper
        self.h = helper
        self.opset = opset
        self.nodes, self.inits, self.names, self.keep = [], [], {}, []
        self.named = named                 # id(parameter or buffer) -> state_dict name
        self.storages = set()              # id(storage) of every input and recorded result
        self._n = 0

    def fresh(self, base):
        self._n += 1
        return f"{base}_{self._n}"

    def bind(self, t, name, traced=True):
        self.names[id(t)] = name
        self.keep.append(t)
        if traced:
            self.storages.add(id(t._st))

    def const(self, value, dtype=None, name=None):
        """An initializer holding a numpy value (or a Python scalar / list of the given numpy dtype)."""
        from onnx import numpy_helper
        a = np.asarray(value, dtype=dtype)
        if a.dtype not in _NP_TYPE:
            raise UnsupportedOperatorError(f"ONNX export: constants of dtype {a.dtype} cannot be exported")
        name = name or self.fresh("const")
        self.inits.append(numpy_helper.from_array(a, name))
        return name

    def name(self, t, dtype=None):
        """The graph name of a tensor (a parameter/buffer initializer, a constant tensor made before or outside
        the recorded computation, or a recorded result); Python scalars become constants of `dtype` (a cltensor
        dtype)."""
        if not isinstance(t, Tensor):
            return self.const(t, dtype.np if dtype is not None else None)
        n = self.names.get(id(t))
        if n is not None:
            return n
        if id(t._st) in self.storages:
            raise OnnxExporterError(
                f"ONNX export: a tensor of shape {tuple(t.shape)} shares memory with a traced value but was made "
                "by an operation the exporter did not record (a view such as .data or an unlisted property)")
        with no_grad():
            arr = t.detach().cpu().numpy().copy()
        n = self.const(arr, name=self.named.get(id(t)))
        self.bind(t, n, traced=False)
        return n

    def node(self, op, inputs, n_out=1, **attrs):
        outs = [self.fresh(op) for _ in range(n_out)]
        self.nodes.append(self.h.make_node(op, list(inputs), outs, name=self.fresh("n_" + op), **attrs))
        return outs[0] if n_out == 1 else outs

    def cast(self, name, from_dtype, to_dtype):
        if from_dtype is to_dtype:
            return name
        return self.node("Cast", [name], to=onnx_type(to_dtype))

    def ints(self, values):
        return self.const(np.asarray(list(values), np.int64))


class _Recorder(_dispatch.Mode):
    def __init__(self, builder):
        self.g = builder
        self.depth = 0
        self.prev = None

    def before_launch(self):
        if self.depth == 0:
            raise OnnxExporterError(
                "ONNX export: a kernel ran outside any recorded operation (the model computed a value by a "
                "route the exporter does not see: a private function, or a public one taken as an object before "
                "the export began, e.g. `act = F.relu` at module level; modules' own attributes are handled); "
                "export code that calls public cltensor operations")
        if self.prev is not None:
            return self.prev.before_launch()
        return None


def _wrap(rec, qualname, fn, convert):
    def wrapper(*args, **kwargs):
        if rec.depth:
            return fn(*args, **kwargs)
        rec.depth += 1
        try:
            out = fn(*args, **kwargs)
            if convert is None:
                raise UnsupportedOperatorError(f"Exporting the operator '{qualname}' to ONNX opset version "
                                               f"{rec.g.opset} is not supported")
            convert(rec.g, args, kwargs, out)     # (inside: the converter's own tensor calls are not recorded)
        finally:
            rec.depth -= 1
        return out
    wrapper.__wrapped__ = fn
    wrapper.__name__ = getattr(fn, "__name__", qualname)
    return wrapper


class _Patches:
    """Wraps every public function, Tensor method/operator and nn.functional function for one export."""

    def __init__(self, rec):
        from . import _convert as C
        self.saved = []
        self.wrapped = {}             # id(original function) -> its wrapper
        top = _registry.published("torch")          # cltensor's namespace
        for e in _registry.entries("torch"):
            if e.fn is not None and top.get(e.name) is e.fn:
                conv = C.const_result if e.kind == "factory" else C.CONVERTERS.get(e.name)
                if e.kind == "util" and conv is None:
                    continue
                self._set(_Namespace(top), e.name, _wrap(rec, "cltensor." + e.name, e.fn, conv))
        for name, fn in _registry.methods().items():
            if name in _NOT_OPS or not callable(fn) or name not in Tensor.__dict__:
                continue
            self._set(Tensor, name, _wrap(rec, "Tensor." + name, fn, C.CONVERTERS.get(name)))
        for name, v in list(vars(Tensor).items()):        # properties that compute (T, mT, H, real ...)
            if isinstance(v, property) and name in C.PROPERTIES:
                self._set(Tensor, name, property(_wrap(rec, "Tensor." + name, v.fget, C.PROPERTIES[name])))
        call = Module.__call__

        def module_call(m, *args, **kwargs):
            conv = C.MODULE_CONVERTERS.get(type(m).__name__) if rec.depth == 0 else None
            if conv is None:
                return call(m, *args, **kwargs)
            rec.depth += 1
            try:
                out = call(m, *args, **kwargs)
                conv(rec.g, m, args, kwargs, out)
            finally:
                rec.depth -= 1
            return out
        self._set(Module, "__call__", module_call)
        for name, fn in list(vars(F).items()):
            if name.startswith("_") or not inspect.isfunction(fn) or getattr(fn, "__module__", "").split(".")[0] \
                    != "cltensor":
                continue
            self._set(F, name, _wrap(rec, "nn.functional." + name, fn, C.F_CONVERTERS.get(name)))

    def _set(self, obj, name, value):
        old = obj.__dict__[name] if name in obj.__dict__ else None
        self.saved.append((obj, name, old))
        setattr(obj, name, value)
        if old is not None and getattr(value, "__wrapped__", None) is old:
            self.wrapped[id(old)] = value

    def modules(self, model):
        """Functions a module keeps as attributes (e.g. a transformer layer's `activation = F.relu`) are the
        originals: point them at the wrappers too."""
        if not isinstance(model, Module):
            return
        for m in model.modules():
            for name, v in list(vars(m).items()):
                w = self.wrapped.get(id(v)) if callable(v) else None
                if w is not None:
                    self._set(m, name, w)

    def restore(self):
        for obj, name, old in reversed(self.saved):
            if old is None:
                delattr(obj, name)
            else:
                setattr(obj, name, old)


class _Namespace:
    """A module's globals() seen through getattr/setattr and __dict__ (what _Patches._set needs)."""
    __slots__ = ("__dict__",)

    def __init__(self, d):
        object.__setattr__(self, "__dict__", d)


# Tensor methods that are not computations on values: run unrecorded (shape queries, host reads are refused by
# the graph being static anyway, autograd state ...)
_NOT_OPS = {"__init__", "__repr__", "__str__", "__format__", "__len__", "__iter__", "__hash__", "__bool__",
            "__index__", "__int__", "__float__", "__complex__", "__reduce_ex__", "__setstate__", "__getstate__",
            "__array__", "__array_interface__", "__dlpack__", "__dlpack_device__", "__deepcopy__", "__copy__",
            "__setitem__", "__contains__", "size", "dim", "ndimension", "numel", "nelement", "element_size",
            "stride", "storage_offset", "is_contiguous", "data_ptr", "tolist", "item", "numpy",
            "requires_grad_", "retain_grad", "register_hook", "backward", "is_floating_point", "is_complex",
            "get_device", "untyped_storage", "is_shared", "share_memory_", "is_pinned", "pin_memory",
            "is_set_to", "is_signed", "type", "new_tensor", "new_empty", "new_zeros", "new_ones", "new_full"}


def _flat(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _flat(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flat(o, out)
    return out


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None, output_names=None,
           operator_export_type=None, opset_version=None, do_constant_folding=True, dynamic_axes=None,
           keep_initializers_as_inputs=None, custom_opsets=None, export_modules_as_functions=False,
           autograd_inlining=True, dynamo=False, **kwargs):
    """Export `model` (a Module or a function) called on `args` (a tensor or a tuple; a trailing dict gives keyword
    arguments) to the ONNX file `f` (a path or a binary file object). Returns None (PyTorch's TorchScript-based
    exporter's behaviour). opset_version defaults to 17 (supported: 17-21)."""
    global _active
    import onnx
    from onnx import helper
    opset = 17 if opset_version is None else int(opset_version)
    if not 17 <= opset <= 21:
        raise ValueError(f"cltensor.onnx.export supports opset versions 17 to 21, got {opset}")
    if dynamic_axes:
        raise OnnxExporterError("ONNX export: dynamic_axes is not supported; the graph has the example inputs' "
                                "static shapes (export once per input shape)")
    if not isinstance(args, tuple):
        args = (args,)
    call_kwargs = {}
    if args and isinstance(args[-1], dict):
        call_kwargs, args = args[-1], args[:-1]
    named = {}
    was_training = None
    if isinstance(model, Module):
        for n, p in model.named_parameters():
            named[id(p)] = n
        for n, b in model.named_buffers():
            named[id(b)] = n
        was_training = model.training
        if training is None or training == TrainingMode.EVAL:
            model.train(False)
        elif training == TrainingMode.TRAINING:
            model.train(True)
    g = GraphBuilder(opset, named)
    inputs = _flat(list(args) + list(call_kwargs.values()), [])
    if input_names is None:
        fwd = model.forward if isinstance(model, Module) else model
        try:
            params = [p for p in inspect.signature(fwd).parameters if p not in ("self",)]
        except (TypeError, ValueError):
            params = []
        input_names = params[:len(inputs)] if len(params) >= len(inputs) else []
    in_names = [input_names[i] if i < len(input_names) else f"input.{i}" for i in range(len(inputs))]
    graph_inputs = []
    for t, n in zip(inputs, in_names):
        g.bind(t, n)
        graph_inputs.append(helper.make_tensor_value_info(n, onnx_type(t.dtype), list(t.shape)))
    rec = _Recorder(g)
    patches = _Patches(rec)
    patches.modules(model)
    rec.prev = _dispatch.push(rec)
    _active = rec
    try:
        with no_grad():
            out = model(*args, **call_kwargs)
    finally:
        _dispatch.pop(rec.prev)
        _active = None
        patches.restore()
        if was_training is not None:
            model.train(was_training)
    outs = _flat(out, [])
    if not outs:
        raise OnnxExporterError("ONNX export: the model returned no tensor")
    out_names = [output_names[i] if output_names and i < len(output_names) else
                 ("output" if len(outs) == 1 else f"output.{i}") for i in range(len(outs))]
    graph_outputs = []
    for t, n in zip(outs, out_names):
        src = g.name(t)
        if src in in_names or src in {i.name for i in g.inits}:
            g.nodes.append(helper.make_node("Identity", [src], [n], name=g.fresh("n_Identity")))
        else:
            for node in g.nodes:                    # rename the producing node's output to the output name
                node.output[:] = [n if o == src else o for o in node.output]
                node.input[:] = [n if i == src else i for i in node.input]
            g.names = {k: (n if v == src else v) for k, v in g.names.items()}
        graph_outputs.append(helper.make_tensor_value_info(n, onnx_type(t.dtype), list(t.shape)))
    used = {i for node in g.nodes for i in node.input}
    inits = [i for i in g.inits if i.name in used]
    if not export_params:
        raise OnnxExporterError("ONNX export: export_params=False is not supported (parameters are initializers)")
    graph = helper.make_graph(g.nodes, type(model).__name__ if isinstance(model, Module) else "main",
                              graph_inputs, graph_outputs, initializer=inits)
    if keep_initializers_as_inputs:
        graph.input.extend(helper.make_tensor_value_info(i.name, i.data_type, list(i.dims)) for i in inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="cltensor")
    m.ir_version = min(m.ir_version, 8 if opset <= 18 else 9)
    onnx.checker.check_model(m)
    if verbose:
        print(helper.printable_graph(m.graph))
    if hasattr(f, "write"):
        f.write(m.SerializeToString())
    else:
        onnx.save(m, f)
    return None


def SUPPORTED():
    """The names with an ONNX translation: (torch functions and Tensor methods, nn.functional functions)."""
    from . import _convert as C
    return sorted(C.CONVERTERS), sorted(C.F_CONVERTERS)
