"""Bundles: many kernels built as one OpenCL program.

Every kernel cltensor generates is its own program (`templates/<family>.mako`, one `<%def>` rendered per op,
dtypes and layout), named `k`. On PoCL a program build costs ~0.3 s with an empty cache whatever the program
holds (PoCL links its kernel library into each program) and ~60 ms with a warm PoCL cache, so 20 kernels built
one by one took 7.1 s (empty cache) / 1.2 s (warm) and the same 20 in one program 2.0 s / 0.07 s here.
`cltensor.warmup()` therefore builds the kernels of each op family and dtype as one program:

1. `collect()`: the family's ops run once with launches stubbed out; `_kernels.get` renders the source of every
   kernel not built yet and hands back a `Pending` stand-in instead of building it.
2. `merge_sources()`: the sources become one: top-level pieces that are textually equal (the shared helpers of
   common.mako) appear once; a name defined differently by two sources (each kernel's `k`, its MAP/FIN macros,
   its helpers) is renamed in the later one.
3. `build()`: one clBuildProgram; each kernel is registered under its own key, exactly as if built alone, and
   the program's binary is stored once in cltensor's cache with a small `.ref` file per kernel pointing at it,
   so later processes load the whole bundle on their first use of any of its kernels.
"""
import hashlib
import os
import re
import time
import weakref
from contextlib import contextmanager

import pyopencl as cl

from . import _kernels as K
from . import _progress

active = None                # while collecting: {(rt, key): (Pending, source)}
_alive = weakref.WeakSet()   # every Pending not yet dropped (tests check none outlives a warmup)


def _noop(*args, **kwargs):
    return None


class Pending:
    """Stands in for a kernel while collecting: launches are stubbed then, and what callers do to a kernel
    besides launching it (set_arg, set_scalar_arg_dtypes, marking it typed) is ignored."""

    def __init__(self, key):
        self.key = key
        _alive.add(self)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _noop


@contextmanager
def collect():
    """Record, instead of building, every kernel the code inside needs; launches do nothing meanwhile (results
    are garbage). Yields the {(rt, key): (Pending, source)} dict it fills."""
    global active
    prev_obs, prev, launches = K.observer, active, K.stats["launches"]
    active = {}
    K.observer = _noop
    try:
        yield active
    finally:
        active = prev
        K.observer = prev_obs
        K.stats["launches"] = launches        # nothing was launched


def pend(rt, template, defname, params, key):
    """_kernels.get while collecting: kernels with a stored binary load now (~1 ms); others are rendered."""
    ent = active.get((rt, key))
    if ent is not None:
        return ent[0]
    path = None if K.DEBUG else K._binary_path(rt, key)
    if path is not None and (os.path.exists(path) or os.path.exists(path[:-4] + ".ref")):
        return K._build(rt, template, defname, params, key)
    src = K._source(rt, template, defname, params)
    p = Pending(key)
    active[(rt, key)] = (p, src)
    return p


# ---------------------------------------------------------------- merging sources

_ATTR = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")
_NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")
_DEFINE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)")
_WORD = re.compile(r"[A-Za-z_]\w*")


def _chunks(src):
    """The top-level pieces of generated OpenCL C (comments dropped): preprocessor lines, and declarations or
    definitions (ending at a top-level `;` or at the `}` closing a body)."""
    src = K._COMMENT.sub("", src)
    out, cur, depth, text = [], [], 0, False     # text: cur holds more than whitespace
    lines = src.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if depth == 0 and not text and line.lstrip().startswith("#"):
            while line.endswith("\\") and i < len(lines):
                line += "\n" + lines[i]
                i += 1
            out.append(line.strip())
            cur = []
            continue
        for ch in line:
            cur.append(ch)
            text = text or not ch.isspace()
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if depth == 0 and ch in "};":
                piece = "".join(cur).strip()
                if piece and piece != ";":
                    out.append(piece)
                cur, text = [], False
        cur.append("\n")
    rest = "".join(cur).strip()
    if rest:
        out.append(rest)
    return out


def _defines(piece):
    """(name the piece defines or None, whether it is a macro, whether it is an overloadable function)."""
    if piece.startswith("#"):
        m = _DEFINE.match(piece)
        return (m.group(1) if m else None), True, False
    ovl = "OVL" in piece.split("(", 1)[0] or "overloadable" in piece.split("{", 1)[0]
    m = _NAME.search(_ATTR.sub(" ", piece.split("{", 1)[0]))
    return (m.group(1) if m else None), False, ovl


def _rename(text, ren):
    return _WORD.sub(lambda m: ren.get(m.group(0), m.group(0)), text)


def merge_sources(srcs):
    """One program source for kernel sources `srcs` (each with its kernel `k`). Returns (source, names, left)
    where names[i] is source i's kernel name in the result (None for a source left out) and left the indices
    of sources that could not join (an identifier of theirs is a macro an earlier source defined)."""
    seen = {}                  # piece text (after its source's renames) -> the name it defines in the result
    used, macros = set(), set()
    parts, names, left = [], [], []
    for i, src in enumerate(srcs):
        pieces = _chunks(src)
        own = set()
        for p in pieces:
            n, is_macro, _ = _defines(p)
            if is_macro and n:
                own.add(n)
        words = set(_WORD.findall("\n".join(pieces)))
        if (macros - own) & words:      # a word of this source would be expanded by another source's macro
            names.append(None)
            left.append(i)
            continue
        ren, kname, mine = {}, None, []
        for p in pieces:
            if ren:
                p = _rename(p, ren)
            n, is_macro, ovl = _defines(p)
            if p in seen:
                e = seen[p]
                if n is not None and e != n:
                    ren[n] = e
            elif n is None or ovl or n not in used:
                mine.append(p)
                seen[p] = e = n
                if n is not None and not ovl:
                    used.add(n)
            else:
                e = f"{n}_b{i}"
                ren[n] = e
                p = _rename(p, {n: e})
                mine.append(p)
                seen[p] = e
                used.add(e)
            if is_macro and e:
                macros.add(e)
            if n == "k" and not is_macro:
                kname = e
        parts += mine
        names.append(kname)
    return "\n".join(parts) + "\n", names, left


# ---------------------------------------------------------------- building

def build(rt, items, save=True):
    """Build [(key, source)] as one program and register each kernel under its key in rt.kernels. Returns the
    keys built, [] when the program did not build (the caller's normal path then builds them one by one)."""
    if len(items) < 2:
        return []
    src, names, left = merge_sources([s for _, s in items])
    if len(left) == len(items):
        return []
    t0 = time.perf_counter()
    try:
        prg = K.build_program(rt, src)[0]
    except cl.Error:
        return []
    K.stats["builds"] += 1
    K.stats["source_builds"] += 1
    K.stats["bundles"] += 1
    _progress.built(len(items), time.perf_counter() - t0)
    built = []
    for (key, _), name in zip(items, names):
        if name is not None:
            K._register(rt, key, cl.Kernel(prg, name))
            built.append((key, name))
    K.stats["build_seconds"] += time.perf_counter() - t0
    if save and K.cache_dir() is not None and not K.DEBUG:
        _store(rt, prg, built)
    return [k for k, _ in built]


def _store(rt, prg, built):
    """The bundle's binary once, and a `.ref` per kernel (where its binary would be) naming bundle and kernel."""
    h = hashlib.sha256("\0".join(K._binary_path(rt, key) for key, _ in built).encode()).hexdigest()
    rel = os.path.join("bundles", h[:40] + ".bin")
    if not K._save_binary(prg, os.path.join(K.cache_dir(), rel)):
        return
    for key, name in built:
        ref = K._binary_path(rt, key)[:-4] + ".ref"
        try:
            os.makedirs(os.path.dirname(ref), exist_ok=True)
            tmp = f"{ref}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{rel}\n{name}\n")
            os.replace(tmp, ref)
        except OSError:
            pass


def load_ref(rt, path, key):
    """The kernel `key` from a stored bundle (path: where its own binary would be), or None."""
    try:
        with open(path[:-4] + ".ref") as f:
            rel, name = f.read().split()
    except (OSError, ValueError):
        return None
    progs = rt.__dict__.setdefault("_bundle_programs", {})
    prg = progs.get(rel)
    if prg is None:
        t0 = time.perf_counter()
        prg = K._load_binary(rt, os.path.join(K.cache_dir(), rel))
        if prg is None:
            return None
        progs[rel] = prg
        K.stats["builds"] += 1
        K.stats["build_seconds"] += time.perf_counter() - t0
    try:
        k = cl.Kernel(prg, name)
    except cl.Error:
        return None
    return K._register(rt, key, k)
