"""F.affine_grid and F.grid_sample (bilinear / nearest / bicubic; zeros / border / reflection padding;
align_corners), composed of differentiable tensor ops: the sample coordinates follow PyTorch's GridSampler.h
(unnormalize, clip / reflect), the corner values are gathers of the flattened input and the interpolation weights
carry the gradient to the grid (floor and round are constants there, as in PyTorch's backward)."""
import warnings

from .. import _creation as C
from .._shape import stack as _stack


def _linspace(n, align_corners, like):
    if n <= 1:
        return C.zeros(max(n, 0), dtype=like._dtype, device=like._device)
    r = C.linspace(-1.0, 1.0, n, dtype=like._dtype, device=like._device)
    return r if align_corners else r * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.")
        align_corners = False
    if not theta._dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta._dtype}")
    given = size
    size = list(size)
    if len(size) == 4:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {given}. Got "
                             f"torch.Size({list(theta.shape)}).")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {given}. Got "
                             f"torch.Size({list(theta.shape)}).")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    N = size[0]
    if len(size) == 4:
        H, W = spatial
        xs = _linspace(W, align_corners, theta).view(1, W).expand(H, W)
        ys = _linspace(H, align_corners, theta).view(H, 1).expand(H, W)
        base = _stack([xs, ys, C.ones((H, W), dtype=theta._dtype, device=theta._device)], -1)
        grid = base.reshape(1, H * W, 3).matmul(theta.transpose(1, 2))
        return grid.reshape(N, H, W, 2)
    Dd, H, W = spatial
    xs = _linspace(W, align_corners, theta).view(1, 1, W).expand(Dd, H, W)
    ys = _linspace(H, align_corners, theta).view(1, H, 1).expand(Dd, H, W)
    zs = _linspace(Dd, align_corners, theta).view(Dd, 1, 1).expand(Dd, H, W)
    base = _stack([xs, ys, zs, C.ones((Dd, H, W), dtype=theta._dtype, device=theta._device)], -1)
    grid = base.reshape(1, Dd * H * W, 4).matmul(theta.transpose(1, 2))
    return grid.reshape(N, Dd, H, W, 3)


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    if twice_low == twice_high:
        return coord * 0
    mn = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (coord - mn).abs()
    extra = c.fmod(span)
    flips = (c / span).floor().detach()
    even = (flips.fmod(2) == 0).to(coord.dtype)
    return even * (extra + mn) + (1 - even) * (span - extra + mn)


def _compute(coord, size, padding_mode, align_corners):
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return coord.clamp(0, size - 1)
    return coord


def _gather(flat, idxs, sizes, valid, P):
    """values of flat (N, C, prod(sizes)) at integer coordinates idxs (list of (N, P) float tensors, last dim
    fastest) masked by valid (N, P bool) -> (N, C, P)."""
    N, Cc = flat.shape[0], flat.shape[1]
    lin = None
    for ix, s in zip(idxs, sizes):
        ic = ix.clamp(0, s - 1)
        lin = ic if lin is None else lin * s + ic
    lin = lin.long().view(N, 1, P).expand(N, Cc, P)
    v = flat.gather(2, lin)
    return v * valid.view(N, 1, P).to(flat.dtype)


def _inb(ix, s):
    return (ix >= 0) & (ix <= s - 1)


def _cubic_coeffs(t):
    A = -0.75

    def c1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def c2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.")
        align_corners = False
    if input.dim() not in (4, 5):
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    nd = input.dim() - 2
    if grid.dim() != input.dim() or grid.shape[-1] != nd or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, but got grid with "
                           f"sizes {list(grid.shape)}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    N, Cc = input.shape[0], input.shape[1]
    sizes = list(input.shape[2:])                 # (D,) H, W
    osp = list(grid.shape[1:-1])
    P = 1
    for v in osp:
        P *= v
    flat = input.reshape(N, Cc, -1)
    g = grid.reshape(N, P, nd)
    # coordinates in input order (d, h, w): the grid's last dim lists x (w) first
    coords = [_unnormalize(g[:, :, nd - 1 - i], sizes[i], align_corners) for i in range(nd)]
    if mode == "bicubic":
        H, W = sizes
        iy, ix = coords
        fy, fx = iy.floor().detach(), ix.floor().detach()
        ty, tx = iy - fy, ix - fx
        cy, cx = _cubic_coeffs(ty), _cubic_coeffs(tx)
        out = None
        for a in range(4):
            yy = fy + (a - 1)
            for b in range(4):
                xx = fx + (b - 1)
                yc = _compute(yy, H, padding_mode, align_corners).detach()
                xc = _compute(xx, W, padding_mode, align_corners).detach()
                valid = _inb(yc, H) & _inb(xc, W)
                v = _gather(flat, [yc, xc], sizes, valid, P)
                term = v * (cy[a] * cx[b]).view(N, 1, P)
                out = term if out is None else out + term
        return out.reshape([N, Cc] + osp)
    coords = [_compute(c, s, padding_mode, align_corners) for c, s in zip(coords, sizes)]
    if mode == "nearest":
        rs = [c.round().detach() for c in coords]
        valid = None
        for r, s in zip(rs, sizes):
            m = _inb(r, s)
            valid = m if valid is None else valid & m
        # the grid gets a zero gradient (PyTorch's nearest backward), so it stays part of the graph
        z = 0 * (coords[0] - coords[0].detach())
        return (_gather(flat, rs, sizes, valid, P) + z.view(N, 1, P)).reshape([N, Cc] + osp)
    fl = [c.floor().detach() for c in coords]
    out = None
    for corner in range(1 << nd):
        idxs, w, valid = [], None, None
        for i in range(nd):
            hi = (corner >> (nd - 1 - i)) & 1
            ii = fl[i] + hi
            wi = (coords[i] - fl[i]) if hi else (fl[i] + 1 - coords[i])
            idxs.append(ii)
            w = wi if w is None else w * wi
            m = _inb(ii, sizes[i])
            valid = m if valid is None else valid & m
        term = _gather(flat, idxs, sizes, valid, P) * w.view(N, 1, P)
        out = term if out is None else out + term
    return out.reshape([N, Cc] + osp)
