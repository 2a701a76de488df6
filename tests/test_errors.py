"""Bad input: every case raises PyTorch's exception type with a message naming the problem, and index values out of
range are caught on the device (never read or written outside a buffer). Each case is written against the library
module `L`, so the optional last test runs the same table against PyTorch and checks the exception types agree."""
import math

import numpy as np
import pytest

import cltensor as ct

F = lambda L: L.nn.functional  # noqa: E731

# name: (call on the library module L, exception type, regex the message must match)
CASES = {
    # sizes of creation functions
    "empty negative": (lambda L: L.empty(-1), RuntimeError, "negative dimension -1"),
    "zeros negative in tuple": (lambda L: L.zeros((2, -3)), RuntimeError, "negative dimension -3"),
    "ones negative huge": (lambda L: L.ones(-2 ** 70), TypeError, "Overflow"),
    "full negative": (lambda L: L.full((-1,), 1.0), RuntimeError, "negative dimension"),
    "rand negative": (lambda L: L.rand(-2), RuntimeError, "negative dimension"),
    "randn negative": (lambda L: L.randn(3, -2), RuntimeError, "negative dimension"),
    "randint negative": (lambda L: L.randint(0, 5, (-1,)), RuntimeError, "negative dimension"),
    "empty float size": (lambda L: L.empty(2.0), TypeError, "float"),
    "zeros float in tuple": (lambda L: L.zeros((2, 3.5)), TypeError, "float"),
    "zeros float in list": (lambda L: L.zeros([2, 2.0]), TypeError, "float"),
    "ones str size": (lambda L: L.ones("3"), TypeError, "str"),
    "empty None size": (lambda L: L.empty(None), TypeError, ""),
    "zeros nan size": (lambda L: L.zeros(float("nan")), TypeError, "float"),
    "full nan size": (lambda L: L.full((math.nan,), 1.0), TypeError, "float"),
    "empty inf size": (lambda L: L.empty(math.inf), TypeError, "float"),
    "empty numpy float size": (lambda L: L.empty(np.float64(2)), TypeError, "float"),
    "zeros float tensor size": (lambda L: L.zeros(L.tensor(3.0)), TypeError, "Tensor"),
    "randn float size": (lambda L: L.randn(2.0), TypeError, "float"),
    "empty 2**63": (lambda L: L.empty(2 ** 63), TypeError, "Overflow"),
    "ones 2**70": (lambda L: L.ones(2 ** 70), TypeError, "Overflow"),
    "empty numel overflows int64": (lambda L: L.empty(2 ** 32, 2 ** 32), RuntimeError, ""),
    "randn numel overflows int64": (lambda L: L.randn(2 ** 62, 2 ** 62), RuntimeError, ""),
    "full numel overflows int64": (lambda L: L.full((2 ** 31, 2 ** 31, 4), 1.0), RuntimeError, ""),
    "eye negative": (lambda L: L.eye(-1), RuntimeError, "n must be greater or equal to 0"),
    "eye float": (lambda L: L.eye(2.5), TypeError, ""),
    "arange nan": (lambda L: L.arange(float("nan")), RuntimeError, "unsupported range"),
    "arange inf": (lambda L: L.arange(0, float("inf")), RuntimeError, "unsupported range"),
    "arange zero step": (lambda L: L.arange(0, 5, 0), RuntimeError, "step must be nonzero"),
    "arange wrong sign": (lambda L: L.arange(0, 5, -1), RuntimeError, "consistent"),
    "linspace negative steps": (lambda L: L.linspace(0, 1, -1), RuntimeError, "non-negative"),
    "linspace float steps": (lambda L: L.linspace(0, 1, 2.5), TypeError, "steps"),
    "randint empty range": (lambda L: L.randint(5, 0, (2,)), RuntimeError, "from"),
    "new_zeros negative": (lambda L: L.zeros(3).new_zeros(-1), RuntimeError, "negative dimension"),
    "new_empty float": (lambda L: L.zeros(3).new_empty(2.5), TypeError, "float"),
    "Linear negative features": (lambda L: L.nn.Linear(-1, 2), RuntimeError, "negative dimension"),
    # shapes of views
    "reshape negative": (lambda L: L.zeros(6).reshape(-2, 3), RuntimeError, "invalid shape dimension -2"),
    "reshape float": (lambda L: L.zeros(6).reshape(2.0, 3), TypeError, "float"),
    "reshape wrong numel": (lambda L: L.zeros(6).reshape(4, 2), RuntimeError, "invalid for input of size 6"),
    "view two -1": (lambda L: L.zeros(6).view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    "reshape huge": (lambda L: L.zeros(4).reshape(2 ** 62, 4), RuntimeError, "invalid for input of size 4"),
    "expand mismatch": (lambda L: L.zeros(2, 3).expand(3, 3), RuntimeError, "must match the existing size"),
    "expand negative": (lambda L: L.zeros(2, 3).expand(-2, 3), RuntimeError, ""),
    "expand float": (lambda L: L.zeros(1).expand(2.0), TypeError, "float"),
    "expand 2**63": (lambda L: L.zeros(1).expand(2 ** 63), TypeError, "Overflow"),
    "repeat too few": (lambda L: L.zeros(2, 3).repeat(2), RuntimeError, "Number of dimensions of repeat dims"),
    "repeat negative": (lambda L: L.zeros(2, 3).repeat(2, -1), RuntimeError, "negative"),
    "narrow out of range": (lambda L: L.zeros(4).narrow(0, 3, 2), RuntimeError, "exceeds dimension size"),
    "split size 0": (lambda L: L.zeros(4).split(0), RuntimeError, "split_size"),
    "chunk 0": (lambda L: L.zeros(4).chunk(0), RuntimeError, "chunk"),
    "cat of nothing": (lambda L: L.cat([]), ValueError, "non-empty"),
    "cat shape mismatch": (lambda L: L.cat([L.zeros(2, 3), L.zeros(3, 2)]), RuntimeError, "Sizes of tensors"),
    "stack shape mismatch": (lambda L: L.stack([L.zeros(2), L.zeros(3)]), RuntimeError, "stack expects each"),
    # dims
    "sum dim out of range": (lambda L: L.zeros(2, 3).sum(2), IndexError, "Dimension out of range"),
    "sum repeated dim": (lambda L: L.zeros(2, 3).sum((0, 0)), RuntimeError, "appears multiple times"),
    "sum float dim": (lambda L: L.zeros(2, 3).sum(1.0), TypeError, ""),
    "softmax dim out of range": (lambda L: L.zeros(2, 3).softmax(-3), IndexError, "Dimension out of range"),
    "transpose dim out of range": (lambda L: L.zeros(2, 3).transpose(0, 2), IndexError, "Dimension out of range"),
    "permute repeated dim": (lambda L: L.zeros(2, 3).permute(0, 0), RuntimeError, "duplicate dims"),
    "permute too few dims": (lambda L: L.zeros(2, 3).permute(0), RuntimeError, "does not match the length"),
    "squeeze dim out of range": (lambda L: L.zeros(2, 3).squeeze(5), IndexError, "Dimension out of range"),
    "unsqueeze dim out of range": (lambda L: L.zeros(2, 3).unsqueeze(4), IndexError, "Dimension out of range"),
    "flatten start > end": (lambda L: L.zeros(2, 3).flatten(1, 0), RuntimeError, "flatten"),
    "cat dim out of range": (lambda L: L.cat([L.zeros(2, 3), L.zeros(2, 3)], 2), IndexError, "Dimension out"),
    "argmax of empty": (lambda L: L.zeros(0).argmax(), IndexError, r"numel\(\) == 0"),
    "max of empty": (lambda L: L.zeros(0).max(), RuntimeError, r"numel\(\) == 0"),
    "amax over empty dim": (lambda L: L.zeros(0, 3).amax(0), IndexError, "non-zero size"),
    "topk k too big": (lambda L: L.zeros(3).topk(4), RuntimeError, "out of range"),
    # dtypes
    "dtype not a dtype": (lambda L: L.empty(2, dtype=5), TypeError, ""),
    "to unknown dtype": (lambda L: L.zeros(2).to("float99"), RuntimeError, ""),
    "sum dtype garbage": (lambda L: L.zeros(3).sum(dtype="x"), TypeError, ""),
    "dtype as a string": (lambda L: L.zeros(3, dtype="float32"), TypeError, "must be torch.dtype, not str"),
    "dtype as a numpy type": (lambda L: L.ones(2, dtype=np.float32), TypeError, "must be torch.dtype, not type"),
    "tensor dtype numpy dtype": (lambda L: L.tensor([1.0], dtype=np.dtype("float64")), TypeError, "must be torch.dtype"),
    "sum dtype numpy": (lambda L: L.zeros(3).sum(dtype=np.int64), TypeError, "must be torch.dtype"),
    "arange dtype string": (lambda L: L.arange(3, dtype="int64"), TypeError, "must be torch.dtype, not str"),
    "set_default_dtype int": (lambda L: L.set_default_dtype(L.int64), TypeError, "floating"),
    "tensor ragged": (lambda L: L.tensor([[1, 2], [3]]), ValueError, "expected sequence of length 2"),
    "tensor of strings": (lambda L: L.tensor(["a"]), ValueError, "too many dimensions 'str'"),
    "tensor of None": (lambda L: L.tensor(None), RuntimeError, "Could not infer dtype of NoneType"),
    "tensor overflow int8": (lambda L: L.tensor([300], dtype=L.int8), RuntimeError, "overflow"),
    "mean of int": (lambda L: L.zeros(2, dtype=L.int64).mean(), RuntimeError, "mean"),
    "bitwise on float": (lambda L: L.zeros(2) & L.zeros(2), RuntimeError, "not implemented for 'Float'"),
    "neg of bool": (lambda L: -L.zeros(2, dtype=L.bool), RuntimeError, "Negation"),
    "sub of bools": (lambda L: L.zeros(2, dtype=L.bool) - L.zeros(2, dtype=L.bool), RuntimeError, "Subtraction"),
    "in-place float into int": (lambda L: L.zeros(2, dtype=L.int64).add_(L.ones(2)), RuntimeError,
                                "can't be cast to the desired output type"),
    "softmax of int": (lambda L: L.zeros(3, dtype=L.int64).softmax(0), RuntimeError, "not implemented for 'Long'"),
    "where with float condition": (lambda L: L.where(L.zeros(3), L.zeros(3), L.zeros(3)), RuntimeError,
                                   "condition"),
    "masked_fill with float mask": (lambda L: L.zeros(3).masked_fill(L.zeros(3), 1.0), RuntimeError, "boolean"),
    "matmul mixed dtypes": (lambda L: L.zeros(2, 3) @ L.zeros(3, 2, dtype=L.int64), RuntimeError, "dtype"),
    "add a string": (lambda L: L.zeros(2, 3) + "a", TypeError, ""),
    "add None": (lambda L: L.zeros(2, 3) + None, TypeError, ""),
    "integer division by zero": (lambda L: L.tensor([1]) // L.tensor([0]), RuntimeError, "ZeroDivisionError"),
    "integer remainder by zero": (lambda L: L.tensor([1]) % 0, RuntimeError, "ZeroDivisionError"),
    "int to a negative int power": (lambda L: L.tensor([2]) ** -1, RuntimeError,
                                    "negative integer powers"),
    "item of many": (lambda L: L.zeros(2).item(), RuntimeError, "cannot be converted to Scalar"),
    "bool of many": (lambda L: bool(L.zeros(2)), RuntimeError, "ambiguous"),
    "int of many": (lambda L: int(L.zeros(2)), ValueError, "only one element tensors"),
    "float of many": (lambda L: float(L.zeros(2)), ValueError, "only one element tensors"),
    # shapes of operands
    "matmul shapes": (lambda L: L.zeros(2, 3) @ L.zeros(2, 3), RuntimeError, "cannot be multiplied"),
    "matmul 0-d": (lambda L: L.matmul(L.tensor(1.0), L.zeros(2)), RuntimeError, "at least 1D"),
    "add broadcast mismatch": (lambda L: L.zeros(2, 3) + L.zeros(4), RuntimeError, "must match the size"),
    "linear shapes": (lambda L: F(L).linear(L.zeros(2, 3), L.zeros(4, 2)), RuntimeError, "cannot be multiplied"),
    "conv2d channels": (lambda L: F(L).conv2d(L.zeros(1, 3, 5, 5), L.zeros(4, 2, 3, 3)), RuntimeError,
                        "channels"),
    "cross_entropy float target shape": (lambda L: F(L).cross_entropy(L.zeros(2, 3), L.zeros(2)), RuntimeError,
                                         ""),
    # devices
    "unknown device type": (lambda L: L.zeros(2, device="tpu"), RuntimeError, "device type"),
    "negative device index": (lambda L: L.zeros(2, device="cuda:-1"), RuntimeError, "Invalid device string"),
    "device not a string": (lambda L: L.zeros(2, device=3.5), TypeError, ""),
    # index values: checked before any kernel reads or writes through them
    "getitem int out of range": (lambda L: L.zeros(2, 3)[2], IndexError, "index 2 is out of bounds for dimension 0"),
    "getitem negative out of range": (lambda L: L.zeros(2, 3)[:, -4], IndexError, "out of bounds"),
    "getitem tensor out of range": (lambda L: L.zeros(2, 3)[L.tensor([0, 2])], IndexError,
                                    "index 2 is out of bounds for dimension 0 with size 2"),
    "getitem tensor negative out of range": (lambda L: L.zeros(2, 3)[L.tensor([-3])], IndexError, "out of bounds"),
    "getitem 2-D tensor out of range": (lambda L: L.zeros(4, 3)[:, L.tensor([[0, 1], [2, 3]])], IndexError,
                                        "index 3 is out of bounds for dimension 0 with size 3"),
    "getitem float tensor": (lambda L: L.zeros(2, 3)[L.tensor([0.0])], IndexError, "tensors used as indices"),
    "getitem float": (lambda L: L.zeros(2, 3)[1.0], IndexError, "only integers"),
    "getitem string": (lambda L: L.zeros(2, 3)["a"], TypeError, ""),
    "getitem mask shape": (lambda L: L.zeros(2, 3)[L.tensor([True, False, True])], IndexError,
                           "does not match the shape of the indexed tensor"),
    "getitem too many indices": (lambda L: L.zeros(2, 3)[0, 0, 0], IndexError, "too many indices"),
    "setitem tensor out of range": (lambda L: L.zeros(2, 3).__setitem__(L.tensor([5]), 1.0), IndexError,
                                    "index 5 is out of bounds"),
    "setitem int out of range": (lambda L: L.zeros(2, 3).__setitem__(7, 1.0), IndexError, "out of bounds"),
    "gather out of range": (lambda L: L.gather(L.zeros(2, 3), 1, L.tensor([[0, 3]])), RuntimeError,
                            "index 3 is out of bounds for dimension 1 with size 3"),
    "gather negative": (lambda L: L.gather(L.zeros(2, 3), 1, L.tensor([[-1]])), RuntimeError, "out of bounds"),
    "gather float index": (lambda L: L.gather(L.zeros(2, 3), 1, L.tensor([[0.0]])), RuntimeError,
                           "Expected dtype int"),
    "gather dim out of range": (lambda L: L.gather(L.zeros(2, 3), 2, L.tensor([[0]])), IndexError,
                                "Dimension out of range"),
    "gather index ndim": (lambda L: L.gather(L.zeros(2, 3), 1, L.tensor([0])), RuntimeError,
                          "same number of dimensions"),
    "scatter out of range": (lambda L: L.zeros(2, 3).scatter(1, L.tensor([[3]]), 1.0), RuntimeError,
                             "index 3 is out of bounds for dimension 1 with size 3"),
    "scatter negative": (lambda L: L.zeros(2, 3).scatter(1, L.tensor([[-1]]), 1.0), RuntimeError, "out of bounds"),
    "scatter_add out of range": (lambda L: L.zeros(2, 3).scatter_add(1, L.tensor([[3]]), L.ones(1, 1)),
                                 RuntimeError, "out of bounds"),
    "scatter src dtype": (lambda L: L.zeros(2, 3).scatter(1, L.tensor([[0]]), L.ones(1, 1, dtype=L.int64)),
                          RuntimeError, "Expected self.dtype to be equal to src.dtype"),
    "index_select out of range": (lambda L: L.index_select(L.zeros(2, 3), 0, L.tensor([2])), IndexError,
                                  "out of range"),
    "index_select negative": (lambda L: L.index_select(L.zeros(2, 3), 0, L.tensor([-1])), IndexError,
                              "out of range"),
    "index_select float index": (lambda L: L.index_select(L.zeros(2, 3), 0, L.tensor([0.0])), RuntimeError,
                                 "int64"),
    "index_add out of range": (lambda L: L.zeros(2, 3).index_add(0, L.tensor([2]), L.ones(1, 3)), RuntimeError,
                               "index 2 is out of bounds for dimension 0 with size 2"),
    "take out of range": (lambda L: L.take(L.zeros(2, 3), L.tensor([6])), IndexError, "out of range"),
    "embedding out of range": (lambda L: F(L).embedding(L.tensor([5]), L.zeros(5, 2)), IndexError,
                               "index out of range in self"),
    "embedding negative": (lambda L: F(L).embedding(L.tensor([-1]), L.zeros(5, 2)), IndexError,
                           "index out of range in self"),
    "embedding float index": (lambda L: F(L).embedding(L.tensor([1.0]), L.zeros(5, 2)), RuntimeError, "Long"),
    "Embedding module out of range": (lambda L: L.nn.Embedding(5, 2)(L.tensor([[1, 9]])), IndexError,
                                      "index out of range in self"),
    "cross_entropy target out of range": (lambda L: F(L).cross_entropy(L.zeros(2, 3), L.tensor([0, 3])),
                                          IndexError, "Target 3 is out of bounds"),
    "cross_entropy negative target": (lambda L: F(L).cross_entropy(L.zeros(2, 3), L.tensor([0, -5])),
                                      IndexError, "Target -5 is out of bounds"),
    "cross_entropy int32 target": (lambda L: F(L).cross_entropy(L.zeros(2, 3), L.tensor([0, 1], dtype=L.int32)),
                                   RuntimeError, "Int"),
    "nll_loss target out of range": (lambda L: F(L).nll_loss(L.zeros(2, 3), L.tensor([0, 3])), IndexError,
                                     "Target 3 is out of bounds"),
    "one_hot out of range": (lambda L: F(L).one_hot(L.tensor([3]), 3), RuntimeError, "Class values must be smaller"),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises(name):
    fn, exc, match = CASES[name]
    with pytest.raises(exc, match=match) as info:
        fn(ct)
    assert str(info.value), f"{name}: empty message"


def test_state_after_errors_is_clean():
    """After the device-side checks fire, the error flag is cleared and the same ops work with valid input."""
    w = ct.arange(10.0).reshape(5, 2)
    for _ in range(2):
        with pytest.raises(IndexError):
            ct.nn.functional.embedding(ct.tensor([7]), w)
        with pytest.raises(IndexError):
            ct.nn.functional.cross_entropy(ct.zeros(2, 3), ct.tensor([0, 9]))
        with pytest.raises(RuntimeError):
            ct.gather(w, 1, ct.tensor([[2]]))
    assert ct.nn.functional.embedding(ct.tensor([4, 0]), w).tolist() == [[8.0, 9.0], [0.0, 1.0]]
    assert ct.gather(w, 1, ct.tensor([[1], [0]])).tolist() == [[1.0], [2.0]]
    assert abs(ct.nn.functional.cross_entropy(ct.zeros(2, 3), ct.tensor([0, 2])).item() - math.log(3)) < 1e-6
    assert ct.zeros(2, 3)[ct.tensor([-1, 1])].shape == (2, 3)


def test_bad_index_in_a_large_batch_is_caught_anywhere():
    """The device check sees every element, not only the first few: one bad index among many."""
    w = ct.zeros(100, 4)
    for pos in (0, 4097, 99999):
        idx = np.random.default_rng(pos).integers(0, 100, 100000)
        idx[pos] = 100
        with pytest.raises(IndexError, match="index out of range in self"):
            ct.nn.functional.embedding(ct.tensor(idx), w)
        with pytest.raises(IndexError, match="out of bounds"):
            ct.zeros(100)[ct.tensor(idx)]
        t = ct.tensor(idx.reshape(1000, 100) % 100)
        t[pos // 100, pos % 100] = 100
        with pytest.raises(RuntimeError, match="out of bounds"):
            ct.gather(ct.zeros(1000, 100), 1, t)


@pytest.mark.parametrize("dev, match", [
    ("gpu:7", "gpu:7 is not available"), ("cuda:3", "gpu:3 is not available"), ("cl:99", "cl:99 does not exist"),
    ("cpu:1", "cpu device index must be 0"), ("cl", "'cl' needs an index"), ("foo:1", "device type"),
    ("", "device type"), ("cpu:x", "Invalid device string")])
def test_devices_that_do_not_exist(dev, match):
    """Device strings naming no OpenCL device raise RuntimeError (as PyTorch does for a missing CUDA ordinal) for
    creation and for moves; nothing is allocated."""
    if dev.startswith(("gpu", "cuda")) and ct.cuda.device_count() > int(dev.split(":")[1]):
        pytest.skip("this machine has that GPU")
    with pytest.raises(RuntimeError, match=match):
        ct.zeros(2, device=dev)
    with pytest.raises(RuntimeError, match=match):
        ct.ones(2).to(dev)


# Cases where cltensor intentionally differs from PyTorch's exception type (PyTorch's type is an accident of a
# build without CUDA, or of argument parsing we do not share)
_TORCH_DIFFERS = {
    "negative device index",          # torch parses "cuda:-1" ... both RuntimeError, but torch is not built for CUDA
    "unknown device type",
}


@pytest.mark.filterwarnings("ignore")
def test_exception_types_match_pytorch():
    import torch
    diffs = []
    for name, (fn, exc, _) in sorted(CASES.items()):
        if name in _TORCH_DIFFERS:
            continue
        try:
            fn(torch)
            got = None
        except Exception as e:      # noqa: BLE001 - we compare the type
            got = type(e)
        if got is None or not issubclass(got, exc):
            diffs.append(f"{name}: torch raised {got.__name__ if got else 'nothing'}, cltensor expects "
                         f"{exc.__name__}")
    assert not diffs, "\n".join(diffs)
