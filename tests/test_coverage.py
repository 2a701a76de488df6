"""API coverage against PyTorch: the public functions of torch, torch.Tensor, torch.linalg, torch.fft and
torch.special that cltensor has, per namespace, minus the documented omissions below. Prints the numbers and
the missing names (`pytest -s tests/test_coverage.py`); fails when coverage drops below the floor.

Counted: public (no leading underscore) callables that are not classes or modules. Omitted, each group with its
reason (OMIT_PATTERNS / OMIT_NAMES):
  * sparse layouts (COO, CSR, CSC, BSR, BSC tensors and their products): cltensor has strided tensors only;
  * quantization (quantized tensors, fake quantization, fbgemm kernels): no quantized dtypes;
  * named tensors (names, rename, align_to ...): a prototype PyTorch feature;
  * CUDA / cuDNN / MIOpen / MKL-DNN / MPS / XPU / IPU / HPU / MTIA / XLA / Vulkan internals, autocast state and
    the SyncBatchNorm CUDA kernels (batch_norm_stats ...): another vendor's back ends;
  * TorchScript, FX and symbolic-shape internals (parse_ir, fork/wait, sym_* ...) and tracing control flow;
  * ATen entry points that are not documented API (native_*, *_backward*, thread_safe_generator ...);
  * removed or deprecated functions (torch.lstsq, torch.eig, torch.symeig, torch.matrix_rank, torch.solve raise
    in PyTorch itself; set_default_tensor_type, Tensor.reinforce ...);
  * dtypes cltensor does not have (bfloat16, chalf) and storage / stream / memory-sharing internals.
"""
import inspect
import re

import pytest

import cltensor as ct

torch = pytest.importorskip("torch")

# the coverage each namespace reaches (a floor: raise it as names are added; never lower it)
FLOOR = {"torch": 0.995, "Tensor": 0.995, "linalg": 1.0, "fft": 1.0, "special": 1.0, "all": 0.995}

OMIT_PATTERNS = [
    # sparse layouts
    r"sparse", r"(^|_)(csr|csc|bsr|bsc|coo)(_|$)", r"^(s|h|d|ss|sa)?spmm$", r"^(smm|dsmm|hsmm|hspmm|sspaddmm|saddmm)$",
    r"(crow|col|ccol|row)_indices", r"^(indices|values)(_copy)?$", r"coalesce", r"^(dense_dim|sparse_dim|to_dense)$",
    r"^to_padded_tensor$",
    # quantization
    r"quantiz", r"^q_", r"qscheme", r"int_repr", r"fake_quant", r"qparams", r"fbgemm", r"^is_quantized$",
    # named tensors
    r"^(rename_?|refine_names|align_to|align_as|names)$",
    # other vendors' back ends and their internals
    r"cudnn", r"miopen", r"mkldnn", r"vulkan", r"(^|_)(cuda|xpu|ipu|hpu|mtia|xla|mps)(_|$)", r"autocast",
    r"^batch_norm_(stats|elemt|gather_stats|gather_stats_with_counts|update_stats|backward_elemt|backward_reduce)$",
    r"cudagraph", r"^record_stream$",
    # TorchScript / FX / symbolic shapes / tracing
    r"^sym_", r"^(parse_ir|parse_schema|parse_type_comment|merge_type_from_type_comment|unify_type_list)$",
    r"^import_ir_module", r"^(fork|wait|cond|while_loop|vmap|classproperty|compiled_with_cxx11_abi)$",
    r"^(get_file_path|prepare_multiprocessing_environment|thread_safe_generator|from_file)$",
    # undocumented ATen entry points
    r"^native_", r"_backward", r"^(norm_except_dim|frobenius_norm|nuclear_norm|native_norm|conv_tbc|convolution)$",
    r"^(constant_pad_nd|grid_sampler(_2d|_3d)?|affine_grid_generator|embedding_renorm_|is_distributed)$",
    r"^(rnn_tanh|rnn_relu|lstm|gru)(_cell)?$", r"^(feature_dropout|feature_alpha_dropout)_?$", r"^slice_inverse$",
    r"^(hash_tensor|get_device_module|is_set_to|module_load|as_subclass|dim_order|const_data_ptr)$",
    # removed / deprecated
    r"^(lstsq|eig|symeig|matrix_rank|solve|set_default_tensor_type|reinforce|range)$",
    # dtypes cltensor has not; storage internals
    r"^(bfloat16|chalf)$", r"^(storage|storage_type|untyped_storage|share_memory_|is_shared|set_|map_|map2_|apply_)$",
]
# names listed one by one (a pattern would catch more than meant)
OMIT_NAMES = {
    "torch": {"empty_quantized", "resize_as_sparse_"},
    "Tensor": {"resize_as_sparse_", "sparse_resize_", "sparse_resize_and_clear_", "to_mkldnn"},
    "linalg": set(), "fft": set(), "special": set(),
}
_OMIT = [re.compile(p) for p in OMIT_PATTERNS]


def _public(ns):
    out = set()
    for n in dir(ns):
        if n.startswith("_"):
            continue
        o = getattr(ns, n, None)
        if o is None or not callable(o) or inspect.isclass(o) or inspect.ismodule(o):
            continue
        out.add(n)
    return out


def omitted(ns_name, name):
    return name in OMIT_NAMES[ns_name] or any(p.search(name) for p in _OMIT)


def coverage():
    """{namespace: (covered names, counted names, missing names)} against the installed PyTorch."""
    spaces = {"torch": (torch, ct), "Tensor": (torch.Tensor, ct.Tensor), "linalg": (torch.linalg, ct.linalg),
              "fft": (torch.fft, ct.fft), "special": (torch.special, ct.special)}
    res = {}
    for key, (tns, cns) in spaces.items():
        counted = {n for n in _public(tns) if not omitted(key, n)}
        have = {n for n in counted if callable(getattr(cns, n, None))}
        res[key] = (have, counted, sorted(counted - have))
    return res


def test_coverage_floor():
    res = coverage()
    tot_have = sum(len(h) for h, _, _ in res.values())
    tot = sum(len(c) for _, c, _ in res.values())
    lines = []
    for key, (have, counted, missing) in res.items():
        lines.append(f"{key:8s} {len(have):4d} / {len(counted):4d} = {len(have) / max(len(counted), 1):6.1%}")
    lines.append(f"{'all':8s} {tot_have:4d} / {tot:4d} = {tot_have / max(tot, 1):6.1%}")
    for key, (_, _, missing) in res.items():
        if missing:
            lines.append(f"missing in {key} ({len(missing)}): " + " ".join(missing))
    print("\nPyTorch API coverage (torch " + torch.__version__ + ")\n" + "\n".join(lines))
    low = []
    for key, (have, counted, _) in res.items():
        if counted and len(have) / len(counted) < FLOOR[key]:
            low.append(key)
    if tot and tot_have / tot < FLOOR["all"]:
        low.append("all")
    assert low == [], f"coverage below the floor in {low}"


def test_omissions_match_something():
    """Every explicitly omitted name exists in PyTorch (a stale omission would hide nothing but mislead)."""
    spaces = {"torch": torch, "Tensor": torch.Tensor, "linalg": torch.linalg, "fft": torch.fft,
              "special": torch.special}
    stale = [f"{k}.{n}" for k, names in OMIT_NAMES.items() for n in names if not hasattr(spaces[k], n)]
    assert stale == []


def test_counted_names_are_not_omitted_by_accident():
    """Ordinary ops are counted: the omission patterns leave them in (guards against a too-broad pattern)."""
    for ns, name in [("torch", "searchsorted"), ("torch", "cumsum"), ("Tensor", "cuda"), ("Tensor", "index_add_"),
                     ("torch", "values"), ("Tensor", "scatter_reduce"), ("linalg", "solve"), ("torch", "histc")]:
        want = {"values": True, "cuda": True, "solve": True}.get(name, False)
        assert omitted(ns, name) == want, (ns, name)
