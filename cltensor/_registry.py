"""The one registry of cltensor's public API.

Every public function, Tensor method, in-place variant and alias is declared once, in the module that implements
it, and `install()` (called once by cltensor/__init__.py) builds the namespaces and the Tensor methods from it:

    @register("sum", method=True)                    # cltensor.sum and Tensor.sum
    def sum_(input, dim=None, keepdim=False, *, dtype=None): ...

    @register("exp", method=True, inplace=exp_)      # + Tensor.exp_ (an in-place form given explicitly)
    @register("absolute", alias_of="abs")            # an alias: the same entry under another name
    register("swapaxes", transpose, method=True)      # non-decorator form
    register_method("__add__", _add)                 # a Tensor-only method (operators, .view, .item ...)
    @register("inv", namespace="linalg")             # cltensor.linalg.inv

This module sits at the bottom of the import graph (it imports nothing of cltensor's): any module may register.
The op-info test table (tests/opinfo.py) reads `entries()` so that a registered op without a test row fails a test.
"""

__all__ = ["Entry", "register", "register_method", "entries", "methods", "get", "install", "install_namespace",
           "published", "NAMESPACES"]

# namespace key -> the module path install() fills (relative to the cltensor package; "" is cltensor itself)
NAMESPACES = {"torch": "", "linalg": "linalg", "fft": "fft", "special": "special", "nn.functional": "nn.functional"}


class Entry:
    """One public name: `fn` is published as `namespace.name`; with `method`, also as Tensor.<name> (`method` may
    be a different callable for the method form, e.g. one taking `*dims`); `inplace` is the Tensor.<name>_ form;
    `alias_of` names the entry this one repeats; `kind` groups entries for the op-info test ('op' for a
    computation; 'factory', 'util', 'dtype' ... for names that are not ops over tensors)."""
    __slots__ = ("name", "fn", "namespace", "method", "inplace", "alias_of", "kind", "module")

    def __init__(self, name, fn, namespace, method, inplace, alias_of, kind, module):
        self.name, self.fn, self.namespace, self.method, self.inplace = name, fn, namespace, method, inplace
        self.alias_of, self.kind, self.module = alias_of, kind, module

    @property
    def qualname(self):
        return self.name if self.namespace == "torch" else f"{self.namespace}.{self.name}"

    def __repr__(self):
        return f"Entry({self.qualname!r}, module={self.module!r}, method={bool(self.method)}, kind={self.kind!r})"


_ENTRIES = {}          # (namespace, name) -> Entry
_METHODS = {}          # Tensor-only method name -> (callable, module)
_installed = []        # (namespace dict, Tensor class) once install() ran: later registrations apply at once


def _module_of(fn):
    return getattr(fn, "__module__", None) or "?"


def register(name, fn=None, *, namespace="torch", method=False, inplace=None, alias_of=None, function=True,
             kind="op"):
    """Declare a public name. As a decorator (`@register("name", ...)`) or with the callable as second argument.
    function=False publishes only the method (and in-place) forms. Returns the callable unchanged."""
    if namespace not in NAMESPACES:
        raise ValueError(f"unknown namespace {namespace!r}")

    def add(f):
        key = (namespace, name)
        if alias_of is not None and f is None:
            raise ValueError(f"alias {name!r} needs a callable")
        prev = _ENTRIES.get(key)
        if prev is not None and prev.fn is not f and function:
            raise ValueError(f"{namespace}.{name} is registered twice ({prev.module} and {_module_of(f)})")
        m = f if method is True else (method or None)
        e = Entry(name, f if function else None, namespace, m, inplace, alias_of, kind, _module_of(f))
        _ENTRIES[key] = e
        for ns, T in _installed:
            _publish(e, ns, T)
        return f

    if fn is not None:
        return add(fn)
    return add


def register_method(name, fn):
    """A Tensor method that has no function form (operators, .view, .item, .size ...)."""
    _METHODS[name] = (fn, _module_of(fn))
    for _, T in _installed:
        setattr(T, name, fn)
    return fn


def entries(namespace=None):
    """All entries (of one namespace if given), in registration order."""
    return [e for (ns, _), e in _ENTRIES.items() if namespace is None or ns == namespace]


def methods():
    """Tensor method name -> callable: the methods of entries plus the Tensor-only ones."""
    out = {}
    for e in _ENTRIES.values():
        if e.method:
            out[e.name] = e.method
        if e.inplace:
            out[e.name + "_"] = e.inplace
    out.update((k, v[0]) for k, v in _METHODS.items())
    return out


def get(name, namespace="torch"):
    return _ENTRIES[(namespace, name)]


def _publish(e, namespaces, T):
    if e.fn is not None:
        ns = namespaces.get(e.namespace)
        if ns is not None:
            ns[e.name] = e.fn
    if e.method:
        setattr(T, e.name, e.method)
    if e.inplace:
        setattr(T, e.name + "_", e.inplace)


def install(namespaces, Tensor):
    """Publish every entry: `namespaces` maps a namespace key to the dict to fill (a module's globals())."""
    for e in _ENTRIES.values():
        _publish(e, namespaces, Tensor)
    for name, (fn, _) in _METHODS.items():
        setattr(Tensor, name, fn)
    _installed.append((namespaces, Tensor))


def published(key="torch"):
    """The dict a namespace was published into (e.g. cltensor's globals() for "torch"), or None before install."""
    for ns, _ in _installed:
        if key in ns:
            return ns[key]
    return None


def install_namespace(key, d):
    """Publish a namespace whose module is created after install() (e.g. cltensor.linalg's globals())."""
    for ns, T in _installed:
        ns[key] = d
        for e in _ENTRIES.values():
            if e.namespace == key and e.fn is not None:
                d[e.name] = e.fn
