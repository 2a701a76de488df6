"""A namespace of recorded flags that refuses unknown attributes (as torch.backends' flag objects)."""


class Flags:
    def __init__(self, name, **flags):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_flags", dict(flags))

    def __getattr__(self, k):
        f = object.__getattribute__(self, "_flags")
        if k in f:
            return f[k]
        raise AttributeError(f"Unknown attribute {k}")

    def __setattr__(self, k, v):
        if k not in self._flags:
            raise AttributeError(f"Unknown attribute {k}")
        self._flags[k] = v

    def __repr__(self):
        return f"<{self._name} {self._flags}>"
