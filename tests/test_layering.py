"""The import layering of docs/architecture.md: every module of cltensor imports (at top level or inside a
function) only modules of its own or lower layers, except the imports listed in that document with a reason."""
import ast
import fnmatch
import os
import re

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = os.path.join(ROOT, "cltensor")
DOC = os.path.join(ROOT, "docs", "architecture.md")


def _block(name):
    text = open(DOC, encoding="utf-8").read()
    m = re.search(r"```" + name + r"\n(.*?)```", text, re.S)
    assert m, f"docs/architecture.md has no ```{name} block"
    return [ln for ln in m.group(1).splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def layers():
    """[(layer number, layer name, [module patterns])] from the ```layers block: 'N name: mod mod.* ...'."""
    out = []
    for ln in _block("layers"):
        head, mods = ln.split(":", 1)
        num, name = head.split(None, 1)
        out.append((int(num), name.strip(), mods.split()))
    return out


def exceptions():
    """{(importer, imported): reason} from the ```exceptions block: 'a -> b: reason'."""
    out = {}
    for ln in _block("exceptions"):
        pair, reason = ln.split(":", 1)
        a, b = (x.strip() for x in pair.split("->"))
        assert reason.strip(), f"exception {pair} has no reason"
        out[(a, b)] = reason.strip()
    return out


def modules():
    """{dotted name relative to cltensor ('' for the package itself): (path, is_package)}"""
    out = {}
    for dp, dn, fn in os.walk(PKG):
        dn[:] = [d for d in dn if d != "__pycache__"]
        for f in fn:
            if not f.endswith(".py"):
                continue
            p = os.path.join(dp, f)
            rel = os.path.relpath(p, PKG)[:-3].replace(os.sep, ".")
            pkg = rel.endswith("__init__")
            if pkg:
                rel = rel[:-len("__init__")].rstrip(".")
            out[rel] = (p, pkg)
    return out


def _layer_of(mod, table):
    name = mod or "cltensor"
    best = None
    for num, _, pats in table:
        for pat in pats:
            if fnmatch.fnmatchcase(name, pat):
                # the most specific pattern wins (an exact name over a wildcard)
                score = (0 if "*" in pat else 1, len(pat))
                if best is None or score > best[0]:
                    best = (score, num)
    return None if best is None else best[1]


def imports(mod, path, is_pkg, mods):
    """The cltensor modules `mod` imports: [(target, line)], relative imports resolved."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    base = mod.split(".") if mod else []
    if not is_pkg:
        base = base[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                b = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(b + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "cltensor":
                target = ".".join(node.module.split(".")[1:])
            else:
                continue
            for a in node.names:
                sub = (target + "." + a.name) if target else a.name
                out.append((sub if sub in mods else target, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "cltensor":
                    out.append((".".join(a.name.split(".")[1:]), node.lineno))
    return out


def test_every_module_has_a_layer():
    table = layers()
    missing = [m or "cltensor" for m in modules() if _layer_of(m, table) is None]
    assert not missing, f"modules without a layer in docs/architecture.md: {missing}"


def test_imports_flow_downward():
    table, allowed, mods = layers(), exceptions(), modules()
    bad = []
    used = set()
    for mod, (path, pkg) in sorted(mods.items()):
        lm = _layer_of(mod, table)
        for target, line in imports(mod, path, pkg, mods):
            lt = _layer_of(target, table)
            if lt is None or lm is None or lt <= lm:
                continue
            key = (mod or "cltensor", target or "cltensor")
            if key in allowed:
                used.add(key)
                continue
            bad.append(f"{os.path.relpath(path, ROOT)}:{line}: {key[0]} (layer {lm}) imports {key[1]} (layer {lt})")
    assert not bad, "imports pointing to a higher layer (docs/architecture.md):\n" + "\n".join(bad)
    stale = sorted(set(allowed) - used)
    assert not stale, f"exceptions listed in docs/architecture.md that no longer occur: {stale}"


def test_layering_check_catches_an_upward_import(tmp_path):
    """The checker itself: a low module importing a high one is found."""
    table = [(0, "low", ["low"]), (1, "high", ["high"])]
    p = tmp_path / "low.py"
    p.write_text("def f():\n    from . import high\n")
    mods = {"low": (str(p), False), "high": (str(p), False)}
    found = [(t, _layer_of(t, table)) for t, _ in imports("low", str(p), False, mods)]
    assert found == [("high", 1)] and _layer_of("low", table) == 0
