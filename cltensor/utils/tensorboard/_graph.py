"""The module graph of one forward call, as a TensorBoard GraphDef: a node per called leaf module (named by its
path under the root module, typed by its class, with its output shapes), input and output nodes, and edges along
the data flow. Module outputs are matched to later inputs by identity, or through the autograd graph when
functional ops ran in between."""
from ..._tensor import Tensor


def _tensors(obj, out):
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors(o, out)
    return out


def _shape_attr(tensors):
    from tensorboard.compat.proto.attr_value_pb2 import AttrValue
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    shapes = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in t.shape]) for t in tensors]
    return AttrValue(list=AttrValue.ListValue(shape=shapes))


def graph_def(model, inputs):
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.node_def_pb2 import NodeDef
    from tensorboard.compat.proto.versions_pb2 import VersionDef

    if inputs is None:
        inputs = ()
    args = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
    root = type(model).__name__
    nodes = []
    producer = {}          # id(tensor) -> node name
    by_fn = {}             # id(grad_fn) -> node name
    keep = []              # keeps the tensors alive so their ids stay unique during the call
    calls = {}             # node name -> calls so far (a module called again gets a numbered node)

    def source(t):
        name = producer.get(id(t))
        if name is not None:
            return [name]
        found, seen, stack = [], set(), [t.grad_fn] if t.grad_fn is not None else []
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in seen:
                continue
            seen.add(id(fn))
            name = by_fn.get(id(fn))
            if name is not None:
                found.append(name)
                continue
            stack.extend(nxt for nxt, _ in fn.next_functions)
        return sorted(set(found), key=found.index)

    for i, a in enumerate(_tensors(list(args), [])):
        name = f"input/input.{i}"
        nodes.append(NodeDef(name=name, op="IO Node", attr={"_output_shapes": _shape_attr([a])}))
        producer[id(a)] = name
        keep.append(a)

    handles = []
    for path, m in model.named_modules():
        if path == "" or any(True for _ in m.children()):
            continue

        def hook(mod, inp, out, path=path):
            name = f"{root}/{path.replace('.', '/')}"
            k = calls.get(name, 0)
            calls[name] = k + 1
            if k:
                name = f"{name}.{k}"
            srcs = []
            for t in _tensors(list(inp), []):
                srcs += [s for s in source(t) if s not in srcs]
            outs = _tensors(out, [])
            nodes.append(NodeDef(name=name, op=type(mod).__name__, input=srcs,
                                 attr={"_output_shapes": _shape_attr(outs)}))
            for t in outs:
                producer[id(t)] = name
                keep.append(t)
                if t.grad_fn is not None:
                    by_fn[id(t.grad_fn)] = name
        handles.append(m.register_forward_hook(hook))
    try:
        out = model(*args)
    finally:
        for h in handles:
            h.remove()
    for i, t in enumerate(_tensors(out, [])):
        nodes.append(NodeDef(name=f"output/output.{i}", op="IO Node", input=source(t),
                             attr={"_output_shapes": _shape_attr([t])}))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
