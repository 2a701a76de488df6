"""Slim builtin declarations for PoCL: only the OpenCL C builtins a program uses, instead of all of them.

PoCL's compiler front end parses Clang's `opencl-c.h` (~900 KB, ~18,000 lines declaring every overload of every
builtin) in front of every program it builds: ~0.1-0.15 s of each clBuildProgram on the development machine,
whatever the kernel, and most of a first run's build time. PoCL skips that header when `_OPENCL_H_` is defined
(its include guard), so cltensor builds programs on PoCL with `-D_OPENCL_H_` and puts in front of each source
the declarations, taken from that same header, of the builtin names the source mentions, under the same
`#if` conditions as in the header. A one-line kernel then builds in ~0.02 s instead of ~0.13 s.

The header is read from the files PoCL itself uses (its data directory next to libpocl, else Clang's resource
directory for the LLVM version PoCL reports), parsed once into an index of declarations per name (cached on
disk next to the kernel binaries, keyed by the header's path, size and time). Where no header is found, the
platform is not PoCL, or a slim build fails, programs are built with the full header as before
(`_kernels.build_program` retries). `CLTENSOR_SLIM_HEADER=0` turns the slim header off, `=strict` makes a
program that needs the full header an error (tests); `CLTENSOR_OPENCL_C_H=path` names the header to read.
"""
import os
import re

ENV_SWITCH = "CLTENSOR_SLIM_HEADER"
ENV_PATH = "CLTENSOR_OPENCL_C_H"
OPTION = "-D_OPENCL_H_"

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_WORD = re.compile(r"[A-Za-z_]\w*")
_COND = ("#if", "#ifdef", "#ifndef")


class Index:
    """opencl-c.h as ordered entries: (line order, condition stack, text, declared name or None). Entries with
    name None (macros, pragmas, includes) are kept in every slim header; declarations only where used."""

    def __init__(self, entries):
        self.entries = entries
        self.by_name = {}
        self.always = []
        for i, (stack, text, name) in enumerate(entries):
            if name is None:
                self.always.append(i)
            else:
                self.by_name.setdefault(name, []).append(i)

    def header(self, source):
        """The declarations `source` needs, in header order, each under its header conditions."""
        used = set(_WORD.findall(_COMMENTS.sub(" ", source))) & self.by_name.keys()
        picked = set(self.always)
        for name in used:
            picked.update(self.by_name[name])
        out = []
        open_ = []                       # the condition lines currently open in `out`
        for i in sorted(picked):
            stack, text, _ = self.entries[i]
            k = 0
            while k < len(open_) and k < len(stack) and open_[k] == stack[k]:
                k += 1
            for _ in range(len(open_) - k):
                out.append("#endif")
            del open_[k:]
            for c in stack[k:]:
                out.append(c)
                open_.append(c)
            out.append(text)
        out.extend("#endif" for _ in open_)
        return "\n".join(out) + "\n"


def parse(text):
    """Index of a declarations header written like Clang's opencl-c.h: conditional directives (#if/#ifdef/
    #ifndef/#else/#elif/#endif), macro and pragma lines, and function declarations ending in ';' that may span
    lines. Anything else (a brace, a typedef) makes it refuse (ValueError): the slim header is then not used."""
    text = _COMMENTS.sub(" ", text.replace("\\\n", " "))     # lines spliced first, as C does
    entries = []
    stack = []
    pending = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if pending:
                raise ValueError("directive inside a declaration")
            word = line.split(None, 1)[0]
            if word in _COND:
                stack.append(line)
            elif word == "#endif":
                if not stack:
                    raise ValueError("unbalanced #endif")
                stack.pop()
            elif word in ("#else", "#elif"):
                if not stack:
                    raise ValueError(f"{word} outside a conditional")
                # an #else/#elif branch is emitted as a condition level of its own after its #if: keep the whole
                # chain so far as one level (the texts joined), which closes and reopens correctly
                stack[-1] = stack[-1] + "\n" + line
            elif word in ("#define", "#undef", "#pragma", "#include"):
                entries.append((tuple(stack), line, None))
            else:
                raise ValueError(f"unexpected directive {word}")
            continue
        if "{" in line or "}" in line:
            raise ValueError("definitions are not declarations")
        pending.append(line)
        if line.endswith(";"):
            decl = " ".join(pending)
            pending = []
            names = [n for n in _CALLED.findall(decl) if not n.startswith("__attribute")]
            if not names or decl.startswith("typedef"):
                raise ValueError(f"not a function declaration: {decl[:60]}")
            entries.append((tuple(stack), decl, names[0]))
    if stack or pending:
        raise ValueError("unterminated conditional or declaration")
    # the header's own include guard: the build defines it (OPTION) so that the full header is skipped, so the
    # slim one must not carry it
    if entries and entries[0][0][:1] and entries[0][0][0].startswith("#ifndef ") and \
            all(e[0][:1] == entries[0][0][:1] for e in entries):
        guard = entries[0][0][0].split()[1]
        entries = [(st[1:], t, n) for st, t, n in entries if t.split()[:2] != ["#define", guard]]
    # includes are left out: PoCL includes the base header itself, and a relative path would not resolve
    return Index([e for e in entries if not e[1].startswith("#include")])


def _candidates(platform_version):
    """Where the opencl-c.h PoCL compiles against may be: PoCL's data directory next to the loaded libpocl (a
    relocatable PoCL uses its own copy), then Clang's resource directory for PoCL's LLVM version."""
    out = []
    try:
        with open("/proc/self/maps") as f:
            libs = {ln.split()[-1] for ln in f if "libpocl" in ln and ln.rstrip().endswith(tuple("0123456789o"))}
    except OSError:
        libs = set()
    for lib in sorted(libs):
        d = os.path.dirname(lib)
        for up in (1, 2, 3):
            prefix = d
            for _ in range(up):
                prefix = os.path.dirname(prefix)
            out.append(os.path.join(prefix, "share", "pocl", "include", "opencl-c.h"))
    m = re.search(r"LLVM (\d+)\.(\d+)\.(\d+)", platform_version or "")
    if m:
        major, full = m.group(1), ".".join(m.groups())
        for base in (f"/usr/lib/llvm-{major}/lib/clang", f"/usr/lib/llvm{major}/lib/clang", "/usr/lib/clang",
                     "/usr/lib64/clang", f"/usr/lib64/llvm{major}/lib/clang", "/usr/local/lib/clang"):
            for v in (full, major):
                out.append(os.path.join(base, v, "include", "opencl-c.h"))
    for p in ("/usr/share/pocl/include/opencl-c.h", "/usr/local/share/pocl/include/opencl-c.h"):
        out.append(p)
    return out


def find(platform_version):
    """Path of the opencl-c.h to take declarations from, or None."""
    env = os.environ.get(ENV_PATH)
    if env:
        return env if os.path.isfile(env) else None
    seen = set()
    for p in _candidates(platform_version):
        if p not in seen and os.path.isfile(p):
            return p
        seen.add(p)
    return None


def enabled():
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off", "")


def strict():
    """CLTENSOR_SLIM_HEADER=strict: a program that builds only with the full header is an error (for tests)."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() == "strict"


_indexes = {}


def load(path, cache_dir=None):
    """The Index of the header at `path` (parsed once per process; kept as a pickle in cache_dir), or None when
    the file cannot be read or parsed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_size, st.st_mtime_ns)
    idx = _indexes.get(key)
    if idx is not None or key in _indexes:
        return idx
    import hashlib
    import pickle
    pk = None
    if cache_dir is not None:
        h = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        pk = os.path.join(cache_dir, "clheader", h + ".pkl")
        try:
            with open(pk, "rb") as f:
                idx = Index(pickle.load(f))
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            idx = None
    if idx is None:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                idx = parse(f.read())
        except (OSError, ValueError):
            idx = None
        if idx is not None and pk is not None:
            try:
                os.makedirs(os.path.dirname(pk), exist_ok=True)
                tmp = f"{pk}.{os.getpid()}.tmp"
                with open(tmp, "wb") as f:
                    pickle.dump(idx.entries, f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, pk)
            except OSError:
                pass
    _indexes[key] = idx
    return idx
