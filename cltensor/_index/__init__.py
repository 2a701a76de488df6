"""Indexing: t[index] and the index-driven ops (index_select, gather / scatter, take / put, masked ops,
nonzero...), by role:

    parse.py      Python index expressions -> views (basic indexing) or an `Adv` and its iteration plan
    engine.py     the kernel launchers of templates/index.mako (gather / put through index tensors, grouped writes
                  for duplicate indices, nonzero) and the helpers they share
    subscript.py  Tensor.__getitem__ / __setitem__, index_put
    ops.py        the public functions, with their checks and backward rules
"""
from . import engine, parse, subscript, ops  # noqa: F401  (importing registers the public names)
