"""nn.utils.rnn: PackedSequence and the pack / pad helpers, as in PyTorch.

A packed sequence stores the time steps of a batch of sequences sorted by decreasing length, one after the other:
`data` holds, for each step t, the rows of the `batch_sizes[t]` sequences still running. Packing and padding are
each one gather (index_select) over the rows, so their gradients are one index_add.
"""
from collections.abc import Iterable
from typing import NamedTuple, Optional

from ... import _creation as C
from ... import _dtypes as D
from ..._index.ops import index_select
from ..._shape import cat
from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


def bind(optional, fn):
    if optional is None:
        return None
    return fn(optional)


class PackedSequence(PackedSequence_):
    """Holds the data and list of batch_sizes of a packed sequence (made by pack_padded_sequence/pack_sequence)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, *_packed_sequence_init_args(data, batch_sizes, sorted_indices,
                                                                unsorted_indices))

    def pin_memory(self):
        return self

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices = bind(self.sorted_indices, lambda t: t.to(data.device))
        unsorted_indices = bind(self.unsorted_indices, lambda t: t.to(data.device))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs):
        kwargs.setdefault("device", "cuda")
        return self.to(*args, **kwargs)

    def cpu(self, *args, **kwargs):
        kwargs["device"] = "cpu"
        return self.to(*args, **kwargs)

    def double(self):
        return self.to(dtype=D.float64)

    def float(self):
        return self.to(dtype=D.float32)

    def half(self):
        return self.to(dtype=D.float16)

    def long(self):
        return self.to(dtype=D.int64)

    def int(self):
        return self.to(dtype=D.int32)

    def short(self):
        return self.to(dtype=D.int16)

    def char(self):
        return self.to(dtype=D.int8)

    def byte(self):
        return self.to(dtype=D.uint8)

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _packed_sequence_init_args(data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
    if unsorted_indices is None:
        unsorted_indices = invert_permutation(sorted_indices)
    if batch_sizes is not None:
        if batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. "
                "Instances of PackedSequence should never be created manually. "
                "They should be instantiated by functions like pack_sequence "
                "and pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return data, batch_sizes, sorted_indices, unsorted_indices
    if not (isinstance(data, (list, tuple)) and len(data) == 2):
        raise AssertionError("Expected data to be a list or tuple of length 2")
    return data[0], data[1], sorted_indices, unsorted_indices


def _packed_sequence_init(data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
    data, batch_sizes, sorted_indices, unsorted_indices = _packed_sequence_init_args(
        data, batch_sizes, sorted_indices, unsorted_indices)
    return PackedSequence(data, batch_sizes, sorted_indices, unsorted_indices)


def _ints(v):
    """A list of Python ints from a list, tuple or (CPU) tensor of lengths."""
    if isinstance(v, Tensor):
        return [int(x) for x in v.reshape(-1).tolist()]
    if hasattr(v, "tolist"):          # numpy arrays
        return [int(x) for x in v.tolist()]
    return [int(x) for x in v]


def _long(values, device=None):
    return C.tensor(list(values), dtype=D.int64, device=device)


def invert_permutation(permutation):
    if permutation is None:
        return None
    p = _ints(permutation)
    inv = [0] * len(p)
    for i, v in enumerate(p):
        inv[v] = i
    return _long(inv, permutation.device)


def _batch_sizes(lengths):
    """lengths sorted decreasingly -> [number of sequences longer than t for t < max length]."""
    out, n = [], len(lengths)
    for t in range(lengths[0] if lengths else 0):
        while n and lengths[n - 1] <= t:
            n -= 1
        out.append(n)
    return out


def _pack_rows(batch_sizes, T, B, batch_first):
    """Row index (into the input viewed as (rows, *)) of each packed element, step by step."""
    if batch_first:
        return [b * T + t for t, bt in enumerate(batch_sizes) for b in range(bt)]
    return [t * B + b for t, bt in enumerate(batch_sizes) for b in range(bt)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Packs a Tensor containing padded sequences of variable length (T x B x * or, batch_first, B x T x *)."""
    lengths = _ints(lengths)
    if enforce_sorted:
        sorted_indices = None
    else:
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])   # stable, as torch for small batches
        lengths = [lengths[i] for i in order]
        sorted_indices = _long(order, input.device)
        input = index_select(input, 0 if batch_first else 1, sorted_indices)
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if len(lengths) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} "
                           f"(batch_size={B})")
    if lengths and lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    for i in range(1, len(lengths)):
        if lengths[i - 1] < lengths[i]:
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
    if lengths and lengths[0] > T:
        raise RuntimeError(f"Expected sequence length to be at most {T}, but got {lengths[0]}")
    bs = _batch_sizes(lengths)
    rows = input.reshape((T * B,) + tuple(input.shape[2:]))
    data = index_select(rows, 0, _long(_pack_rows(bs, T, B, batch_first), input.device))
    return _packed_sequence_init(data, _long(bs, "cpu"), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Pads a packed batch of variable length sequences (the inverse of pack_padded_sequence).
    Returns (padded, lengths), lengths an int64 CPU tensor."""
    bs = _ints(sequence.batch_sizes)
    max_seq_length = len(bs)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length "
                             "of the longest sequence in input, but got "
                             f"total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    B = bs[0] if bs else 0
    T = max_seq_length
    N = data.shape[0]
    feat = tuple(data.shape[1:])
    # gather from the packed rows plus one row of padding_value (row N)
    src = [N] * (T * B)
    r = 0
    for t, bt in enumerate(bs):
        for b in range(bt):
            src[(b * T + t) if batch_first else (t * B + b)] = r
            r += 1
    pad = C.full((1,) + feat, padding_value, dtype=data.dtype, device=data.device)
    padded = index_select(cat([data, pad], 0), 0, _long(src, data.device))
    padded = padded.reshape(((B, T) if batch_first else (T, B)) + feat)
    lengths = [0] * B
    for bt in bs:
        for b in range(bt):
            lengths[b] += 1
    unsorted_indices = sequence.unsorted_indices
    if unsorted_indices is not None:
        batch_dim = 0 if batch_first else 1
        u = _ints(unsorted_indices)
        return index_select(padded, batch_dim, unsorted_indices), _long([lengths[i] for i in u], "cpu")
    return padded, _long(lengths, "cpu")


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Pads a list of variable length tensors (L_i x *) with padding_value into T x B x * (B x T x * if
    batch_first); padding_side "left" puts the padding first."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    feat = tuple(first.shape[1:])
    lens = [s.shape[0] for s in sequences]
    B, T = len(sequences), max(lens)
    N = sum(lens)
    src = [N] * (B * T)
    r = 0
    for b, L in enumerate(lens):
        start = T - L if padding_side == "left" else 0
        for t in range(start, start + L):
            src[(b * T + t) if batch_first else (t * B + b)] = r
            r += 1
    pad = C.full((1,) + feat, padding_value, dtype=first.dtype, device=first.device)
    padded = index_select(cat(list(sequences) + [pad], 0), 0, _long(src, first.device))
    return padded.reshape(((B, T) if batch_first else (T, B)) + feat)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Unpads a padded tensor into a list of variable length tensors (the inverse of pad_sequence)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :L] for i, L in enumerate(_ints(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """Packs a list of variable length tensors (L_i x *)."""
    lengths = _long([v.size(0) for v in sequences], "cpu")
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Unpacks a PackedSequence into a list of variable length tensors."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)

