"""Convolution (conv3d, transposed 1d/2d/3d, every argument, padding modes, Lazy modules), fold / unfold and
Tensor.unfold, pooling (3d, ceil_mode / dilation / indices, adaptive max / avg of every rank, unpooling, LP,
fractional), interpolate in every mode (+ antialias), pixel / channel shuffles, F.pad in every mode and the padding
modules, grid_sample / affine_grid: values and gradients against PyTorch with copied weights, module repr and
state_dict names, errors, dtypes."""
import warnings

import numpy as np
import pytest

import cltensor as ct
import cltensor.nn.functional as F
from _host import host

torch = pytest.importorskip("torch")
TF = torch.nn.functional

rng = np.random.default_rng(11)


def r(*s, dt=np.float64):
    return rng.standard_normal(s).astype(dt)


def compare(fn_t, fn_c, arrays, grad=True, rtol=1e-10, atol=1e-10):
    """fn(*tensors) on torch and cltensor: values, and with grad the gradients of every floating argument for a
    random upstream gradient."""
    fl = [a.dtype.kind == "f" for a in arrays]
    ta = [torch.tensor(a, requires_grad=grad and f) for a, f in zip(arrays, fl)]
    ca = [ct.tensor(a, requires_grad=grad and f) for a, f in zip(arrays, fl)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rt = fn_t(*ta)
    rc = fn_c(*ca)
    if isinstance(rt, tuple):
        np.testing.assert_array_equal(host(rc[1]), rt[1].numpy())
        rt, rc = rt[0], rc[0]
    assert tuple(rc.shape) == tuple(rt.shape)
    assert rc.dtype.name if hasattr(rc.dtype, "name") else True
    np.testing.assert_allclose(host(rc).astype(np.float64), rt.detach().numpy().astype(np.float64), rtol=rtol,
                               atol=atol)
    if grad:
        go = rng.standard_normal(tuple(rt.shape)).astype(arrays[0].dtype)
        it = [t for t, f in zip(ta, fl) if f]
        ic = [t for t, f in zip(ca, fl) if f]
        gt = torch.autograd.grad(rt, it, torch.tensor(go))
        gc = ct.autograd.grad(rc, ic, ct.tensor(go))
        for a, b in zip(gc, gt):
            np.testing.assert_allclose(host(a), b.numpy(), rtol=rtol, atol=atol)


def raises_like(fn_t, fn_c):
    with pytest.raises(Exception) as et:
        fn_t()
    with pytest.raises(type(et.value)) as ec:
        fn_c()
    assert str(ec.value) == str(et.value)


def copy_module(mt, mc):
    mc.load_state_dict({k: ct.tensor(v.detach().numpy()) for k, v in mt.state_dict().items()})
    assert repr(mc) == repr(mt)
    assert list(mc.state_dict()) == list(mt.state_dict())


# ---------------------------------------------------------------------------------------------- convolution

@pytest.mark.fp64
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_functional(nd):
    ft, fc = getattr(TF, f"conv_transpose{nd}d"), getattr(F, f"conv_transpose{nd}d")
    sp, k = (5, 4, 3)[:nd], (3, 2, 2)[:nd]
    kw = dict(stride=(2, 1, 3)[:nd], padding=1, output_padding=(1, 0, 2)[:nd], groups=2, dilation=(1, 2, 1)[:nd])
    compare(lambda x, w, b: ft(x, w, b, **kw), lambda x, w, b: fc(x, w, b, **kw), [r(2, 4, *sp), r(4, 3, *k), r(6)])
    # unbatched input, no bias
    compare(lambda x, w: ft(x, w, stride=2), lambda x, w: fc(x, w, stride=2), [r(4, *sp), r(4, 2, *k)])


@pytest.mark.fp64
def test_conv3d_arguments():
    kw = dict(stride=(1, 2, 1), padding=(1, 0, 2), dilation=(2, 1, 1), groups=2)
    compare(lambda x, w, b: TF.conv3d(x, w, b, **kw), lambda x, w, b: F.conv3d(x, w, b, **kw),
            [r(2, 4, 5, 6, 5), r(6, 2, 2, 3, 2), r(6)])
    compare(lambda x, w: TF.conv3d(x, w, padding="same"), lambda x, w: F.conv3d(x, w, padding="same"),
            [r(1, 2, 4, 5, 3), r(3, 2, 2, 3, 2)])
    compare(lambda x, w: TF.conv3d(x, w, padding="valid"), lambda x, w: F.conv3d(x, w, padding="valid"),
            [r(2, 4, 4, 4), r(3, 2, 2, 3, 2)])      # unbatched


def test_conv3d_float32_and_int64():
    compare(lambda x, w: TF.conv3d(x, w, padding=1), lambda x, w: F.conv3d(x, w, padding=1),
            [r(1, 3, 4, 4, 4, dt=np.float32), r(2, 3, 3, 3, 3, dt=np.float32)], rtol=1e-5, atol=1e-5)
    xi = rng.integers(-3, 4, (1, 2, 3, 4, 4)).astype(np.int64)
    wi = rng.integers(-2, 3, (2, 2, 2, 2, 2)).astype(np.int64)
    compare(lambda x, w: TF.conv3d(x, w), lambda x, w: F.conv3d(x, w), [xi, wi], grad=False)
    compare(lambda x, w: TF.conv_transpose2d(x, w, stride=2), lambda x, w: F.conv_transpose2d(x, w, stride=2),
            [xi[:, :, 0], wi[:, :, 0]], grad=False)


@pytest.mark.fp64
@pytest.mark.parametrize("nd,mode", [(1, "circular"), (2, "reflect"), (3, "replicate"), (3, "zeros")])
def test_conv_modules(nd, mode):
    Tt, Tc = getattr(torch.nn, f"Conv{nd}d"), getattr(ct.nn, f"Conv{nd}d")
    kw = dict(stride=1, padding="same", padding_mode=mode, dilation=2) if mode != "zeros" else \
        dict(stride=2, padding=1, groups=2, bias=False)
    mt = Tt(4, 6, 3, **kw).double()
    mc = Tc(4, 6, 3, **kw, dtype=ct.float64)
    copy_module(mt, mc)
    x = r(2, 4, *(6, 5, 4)[:nd])
    compare(lambda x: mt(x), lambda x: mc(x), [x])


@pytest.mark.fp64
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_modules(nd):
    Tt, Tc = getattr(torch.nn, f"ConvTranspose{nd}d"), getattr(ct.nn, f"ConvTranspose{nd}d")
    mt = Tt(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2).double()
    mc = Tc(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=ct.float64)
    copy_module(mt, mc)
    sp = (4, 3, 3)[:nd]
    compare(lambda x: mt(x), lambda x: mc(x), [r(2, 4, *sp)])
    osz = [2 * s for s in sp]        # output_size= picks the output padding
    mt2 = Tt(4, 6, 3, stride=2, padding=1).double()
    mc2 = Tc(4, 6, 3, stride=2, padding=1, dtype=ct.float64)
    copy_module(mt2, mc2)
    compare(lambda x: mt2(x, output_size=osz), lambda x: mc2(x, output_size=osz), [r(2, 4, *sp)])
    with pytest.raises(ValueError):
        mc2(ct.tensor(r(2, 4, *sp)), output_size=[s + 5 for s in osz])
    with pytest.raises(ValueError, match="Only \"zeros\" padding mode"):
        Tc(2, 2, 3, padding_mode="reflect")


@pytest.mark.parametrize("name", ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
                                  "LazyConvTranspose2d", "LazyConvTranspose3d"])
def test_lazy_conv(name):
    nd = int(name[-2])
    m = getattr(ct.nn, name)(5, 3)
    x = ct.tensor(r(2, 4, *(5, 4, 3)[:nd], dt=np.float32))
    y = m(x)
    mt = getattr(torch.nn, name)(5, 3)
    yt = mt(torch.zeros(2, 4, *(5, 4, 3)[:nd]))
    assert type(m).__name__ == type(mt).__name__ == name.replace("Lazy", "")
    assert tuple(y.shape) == tuple(yt.shape)
    assert tuple(m.weight.shape) == tuple(mt.weight.shape)
    assert repr(m) == repr(mt)
    assert list(m.state_dict()) == list(mt.state_dict())


def test_conv_errors():
    x4, w = r(2, 3, 4, 4), r(4, 2, 3, 3)
    raises_like(lambda: TF.conv_transpose2d(torch.tensor(x4), torch.tensor(w)),
                lambda: F.conv_transpose2d(ct.tensor(x4), ct.tensor(w)))
    x = r(2, 4, 4, 4)
    raises_like(lambda: TF.conv_transpose2d(torch.tensor(x), torch.tensor(w), output_padding=2),
                lambda: F.conv_transpose2d(ct.tensor(x), ct.tensor(w), output_padding=2))
    x5, w5 = r(1, 2, 3, 3, 3), r(1, 2, 4, 4, 4)
    raises_like(lambda: TF.conv3d(torch.tensor(x5), torch.tensor(w5)), lambda: F.conv3d(ct.tensor(x5), ct.tensor(w5)))
    raises_like(lambda: TF.conv3d(torch.tensor(x4), torch.tensor(w5)), lambda: F.conv3d(ct.tensor(x4), ct.tensor(w5)))


# ---------------------------------------------------------------------------------------------- fold / unfold

@pytest.mark.fp64
def test_fold_unfold():
    kw = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    compare(lambda x: TF.unfold(x, **kw), lambda x: F.unfold(x, **kw), [r(2, 3, 5, 6)])
    compare(lambda x: TF.fold(x, (5, 6), **kw), lambda x: F.fold(x, (5, 6), **kw), [r(2, 18, 12)])
    compare(lambda x: TF.fold(x, (4, 4), 2), lambda x: F.fold(x, (4, 4), 2), [r(8, 9)])        # unbatched
    mt, mc = torch.nn.Fold((5, 6), **kw), ct.nn.Fold((5, 6), **kw)
    assert repr(mc) == repr(mt)
    assert repr(ct.nn.Unfold(2, stride=2)) == repr(torch.nn.Unfold(2, stride=2))
    raises_like(lambda: TF.fold(torch.zeros(1, 4, 5), (3, 3), 2), lambda: F.fold(ct.zeros(1, 4, 5), (3, 3), 2))
    raises_like(lambda: TF.unfold(torch.zeros(1, 1, 3, 3, dtype=torch.int64), 2),
                lambda: F.unfold(ct.zeros(1, 1, 3, 3, dtype=ct.int64), 2))
    raises_like(lambda: TF.fold(torch.zeros(1, 4, 4, dtype=torch.int64), (3, 3), 2),
                lambda: F.fold(ct.zeros(1, 4, 4, dtype=ct.int64), (3, 3), 2))
    compare(lambda x: TF.unfold(x, 2, stride=2), lambda x: F.unfold(x, 2, stride=2), [r(1, 2, 4, 6, dt=np.float32)],
            grad=False, rtol=0, atol=0)


@pytest.mark.fp64
@pytest.mark.parametrize("dim,size,step", [(1, 3, 2), (-1, 2, 1), (0, 2, 3), (1, 8, 1)])
def test_tensor_unfold(dim, size, step):
    x = r(5, 8, 3)
    compare(lambda t: t.unfold(dim, size, step), lambda t: t.unfold(dim, size, step), [x])
    a, b = ct.tensor(x).unfold(dim, size, step), torch.tensor(x).unfold(dim, size, step)
    assert tuple(a.stride()) == tuple(b.stride())
    raises_like(lambda: torch.tensor(x).unfold(1, 9, 1), lambda: ct.tensor(x).unfold(1, 9, 1))


# ---------------------------------------------------------------------------------------------- pooling

@pytest.mark.fp64
def test_pool3d():
    x = r(2, 3, 5, 6, 7)
    kw = dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), dilation=(2, 1, 1), ceil_mode=True,
              return_indices=True)
    compare(lambda x: TF.max_pool3d(x, **kw), lambda x: F.max_pool3d(x, **kw), [x])
    kw = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    compare(lambda x: TF.avg_pool3d(x, **kw), lambda x: F.avg_pool3d(x, **kw), [x])
    kw = dict(kernel_size=(2, 3, 1), stride=(1, 2, 2), padding=(1, 1, 0), divisor_override=5)
    compare(lambda x: TF.avg_pool3d(x, **kw), lambda x: F.avg_pool3d(x, **kw), [x])


@pytest.mark.parametrize("dt", [np.uint8, np.int8, np.int32, np.int64, np.float32])
def test_max_pool3d_dtypes(dt):
    x = rng.integers(0, 100, (1, 2, 4, 5, 4)).astype(dt)
    compare(lambda x: TF.max_pool3d(x, 2, return_indices=True), lambda x: F.max_pool3d(x, 2, return_indices=True),
            [x], grad=False)


def test_pool_dtype_errors():
    xi = np.ones((1, 1, 4, 4, 4), np.int32)
    raises_like(lambda: TF.avg_pool3d(torch.tensor(xi), 2), lambda: F.avg_pool3d(ct.tensor(xi), 2))
    raises_like(lambda: TF.adaptive_max_pool3d(torch.tensor(xi), 2), lambda: F.adaptive_max_pool3d(ct.tensor(xi), 2))
    xb = np.ones((1, 4, 4, 4), bool)
    raises_like(lambda: TF.max_pool3d(torch.tensor(xb), 2), lambda: F.max_pool3d(ct.tensor(xb), 2))


@pytest.mark.fp64
def test_adaptive_pools():
    x = r(2, 3, 5, 6, 7)
    compare(lambda x: TF.adaptive_avg_pool3d(x, (3, 4, None)), lambda x: F.adaptive_avg_pool3d(x, (3, 4, None)), [x])
    compare(lambda x: TF.adaptive_max_pool3d(x, (3, 4, 5), True), lambda x: F.adaptive_max_pool3d(x, (3, 4, 5), True),
            [x])
    compare(lambda x: TF.adaptive_max_pool2d(x, (4, 5), True), lambda x: F.adaptive_max_pool2d(x, (4, 5), True),
            [r(3, 7, 9)])
    compare(lambda x: TF.adaptive_max_pool1d(x, 4, True), lambda x: F.adaptive_max_pool1d(x, 4, True), [r(2, 3, 9)])
    x = np.array([[[1.0, np.nan, 0.0, 2.0, 3.0]]])
    compare(lambda x: TF.adaptive_max_pool1d(x, 2, True), lambda x: F.adaptive_max_pool1d(x, 2, True), [x],
            grad=False)


@pytest.mark.fp64
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool(nd):
    xt = torch.tensor(r(2, 3, *(8, 6, 4)[:nd]))
    o, i = getattr(TF, f"max_pool{nd}d")(xt, 2, return_indices=True)
    ft, fc = getattr(TF, f"max_unpool{nd}d"), getattr(F, f"max_unpool{nd}d")
    osz = [s + 1 for s in xt.shape[2:]]
    compare(lambda v, i: ft(v, i, 2, output_size=osz), lambda v, i: fc(v, i, 2, output_size=osz),
            [o.numpy(), i.numpy()])
    mt, mc = getattr(torch.nn, f"MaxUnpool{nd}d")(2), getattr(ct.nn, f"MaxUnpool{nd}d")(2)
    assert repr(mc) == repr(mt)
    compare(lambda v, i: mt(v, i), lambda v, i: mc(v, i), [o.numpy(), i.numpy()])


@pytest.mark.fp64
def test_lp_pool():
    compare(lambda x: TF.lp_pool2d(x, 2, 3, 2), lambda x: F.lp_pool2d(x, 2, 3, 2), [r(2, 3, 7, 8)])
    compare(lambda x: TF.lp_pool3d(x, 3, 2), lambda x: F.lp_pool3d(x, 3, 2), [np.abs(r(2, 3, 4, 5, 6))])
    compare(lambda x: TF.lp_pool1d(x, 1.5, 2), lambda x: F.lp_pool1d(x, 1.5, 2), [np.abs(r(2, 3, 7))])
    for nd in (1, 2, 3):
        mt, mc = getattr(torch.nn, f"LPPool{nd}d")(2, 3), getattr(ct.nn, f"LPPool{nd}d")(2, 3)
        assert repr(mc) == repr(mt)


@pytest.mark.fp64
@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool(nd):
    x = r(2, 3, *(9, 10, 7)[:nd])
    u = rng.uniform(0, 1, (2, 3, nd))
    ft, fc = getattr(TF, f"fractional_max_pool{nd}d"), getattr(F, f"fractional_max_pool{nd}d")
    k = (2, 3, 2)[:nd]
    for kw in (dict(output_size=(4, 5, 3)[:nd]), dict(output_ratio=(0.5,) * nd)):
        compare(lambda x, u: ft(x, k, return_indices=True, _random_samples=u, **kw),
                lambda x, u: fc(x, k, return_indices=True, _random_samples=u, **kw), [x, u], grad=False)
        compare(lambda x: ft(x, k, _random_samples=torch.tensor(u), **kw),
                lambda x: fc(x, k, _random_samples=ct.tensor(u), **kw), [x])
    m = getattr(ct.nn, f"FractionalMaxPool{nd}d")(2, output_ratio=0.5)
    assert repr(m) == repr(getattr(torch.nn, f"FractionalMaxPool{nd}d")(2, output_ratio=0.5))
    assert tuple(m(ct.tensor(x)).shape) == (2, 3) + tuple(s // 2 for s in x.shape[2:])


def test_pool_modules_repr():
    pairs = [("MaxPool3d", (2,), {}), ("AvgPool3d", (2,), {}), ("AdaptiveAvgPool3d", (2,), {}),
             ("AdaptiveMaxPool1d", (3,), {}), ("AdaptiveMaxPool3d", ((2, 3, 4),), {})]
    for name, a, k in pairs:
        assert repr(getattr(ct.nn, name)(*a, **k)) == repr(getattr(torch.nn, name)(*a, **k))


# ---------------------------------------------------------------------------------------------- resampling

_MODES = [("nearest", 1), ("nearest", 3), ("nearest-exact", 2), ("linear", 1), ("bilinear", 2), ("bicubic", 2),
          ("trilinear", 3), ("area", 2)]


@pytest.mark.fp64
@pytest.mark.parametrize("mode,nd", _MODES)
def test_interpolate(mode, nd):
    x = r(2, 2, *(5, 6, 4)[:nd])
    sizes = [dict(scale_factor=2), dict(scale_factor=0.6), dict(size=(7, 9, 3)[:nd]),
             dict(scale_factor=1.7, recompute_scale_factor=True)]
    for kw in sizes:
        kws = [kw]
        if mode in ("linear", "bilinear", "bicubic", "trilinear"):
            kws = [dict(kw, align_corners=True), dict(kw, align_corners=False)]
            if mode in ("bilinear", "bicubic"):
                kws.append(dict(kw, antialias=True))
        for k in kws:
            compare(lambda x: TF.interpolate(x, mode=mode, **k), lambda x: F.interpolate(x, mode=mode, **k), [x])


def test_interpolate_dtypes_and_errors():
    xu = rng.integers(0, 255, (2, 3, 5, 6)).astype(np.uint8)
    compare(lambda x: TF.interpolate(x, scale_factor=1.5), lambda x: F.interpolate(x, scale_factor=1.5), [xu],
            grad=False)
    x32 = r(2, 3, 5, 6, dt=np.float32)
    compare(lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear"),
            lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), [x32], rtol=1e-5, atol=1e-6)
    x = torch.zeros(1, 1, 4, 4)
    c = ct.zeros(1, 1, 4, 4)
    raises_like(lambda: TF.interpolate(x, size=3, scale_factor=2), lambda: F.interpolate(c, size=3, scale_factor=2))
    raises_like(lambda: TF.interpolate(x, size=3, align_corners=True), lambda: F.interpolate(c, size=3,
                                                                                             align_corners=True))
    raises_like(lambda: TF.interpolate(x[0], size=3, mode="bilinear", antialias=True),
                lambda: F.interpolate(c[0], size=3, mode="bilinear", antialias=True))
    xi = torch.zeros(1, 2, 4, 4, 4, dtype=torch.int32)
    raises_like(lambda: TF.interpolate(xi, size=3),
                lambda: F.interpolate(ct.zeros(1, 2, 4, 4, 4, dtype=ct.int32), size=3))


def test_upsample_modules():
    for mt, mc in [(torch.nn.Upsample(scale_factor=2, mode="bilinear"),
                    ct.nn.Upsample(scale_factor=2, mode="bilinear")),
                   (torch.nn.Upsample(size=(3, 5)), ct.nn.Upsample(size=(3, 5))),
                   (torch.nn.UpsamplingNearest2d(scale_factor=2), ct.nn.UpsamplingNearest2d(scale_factor=2)),
                   (torch.nn.UpsamplingBilinear2d(size=(3, 7)), ct.nn.UpsamplingBilinear2d(size=(3, 7)))]:
        assert repr(mc) == repr(mt)
        compare(lambda x: mt(x), lambda x: mc(x), [r(1, 2, 4, 5, dt=np.float32)], grad=False, rtol=1e-5, atol=1e-6)


@pytest.mark.fp64
def test_shuffles():
    compare(lambda x: TF.pixel_shuffle(x, 2), lambda x: F.pixel_shuffle(x, 2), [r(2, 8, 3, 4)])
    compare(lambda x: TF.pixel_unshuffle(x, 2), lambda x: F.pixel_unshuffle(x, 2), [r(3, 4, 6)])
    compare(lambda x: TF.channel_shuffle(x, 3), lambda x: F.channel_shuffle(x, 3), [r(2, 6, 4, 2)])
    for a, b in [(torch.nn.PixelShuffle(2), ct.nn.PixelShuffle(2)),
                 (torch.nn.PixelUnshuffle(3), ct.nn.PixelUnshuffle(3)),
                 (torch.nn.ChannelShuffle(2), ct.nn.ChannelShuffle(2))]:
        assert repr(b) == repr(a)
    raises_like(lambda: TF.pixel_shuffle(torch.zeros(1, 3, 2, 2), 2), lambda: F.pixel_shuffle(ct.zeros(1, 3, 2, 2), 2))


# ---------------------------------------------------------------------------------------------- padding

@pytest.mark.fp64
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes(mode):
    for shape, p in [((2, 5), (1, 2)), ((2, 3, 5), (2, 1)), ((2, 4, 5), (1, 2, 2, 1)),
                     ((1, 2, 3, 4, 5), (2, 1, 0, 2, 1, 1)),
                     ((2, 3, 4, 5), (-1, 2, 1, -2))]:
        if mode == "reflect" and min(p) < 0:
            continue
        compare(lambda x: TF.pad(x, p, mode=mode), lambda x: F.pad(x, p, mode=mode), [r(*shape)])
    raises_like(lambda: TF.pad(torch.zeros(1, 1, 2, 2, 2), (1, 1), mode="reflect"),
                lambda: F.pad(ct.zeros(1, 1, 2, 2, 2), (1, 1), mode="reflect"))
    raises_like(lambda: TF.pad(torch.zeros(1, 2, 3), (4, 1), mode="circular"),
                lambda: F.pad(ct.zeros(1, 2, 3), (4, 1), mode="circular"))
    raises_like(lambda: TF.pad(torch.zeros(2, 3), (1, 1), mode="foo"),
                lambda: F.pad(ct.zeros(2, 3), (1, 1), mode="foo"))


def test_padding_modules():
    x = r(1, 2, 3, 4, 5, dt=np.float32)
    for name, args in [("ReflectionPad1d", (2,)), ("ReflectionPad2d", ((1, 2, 0, 1),)), ("ReflectionPad3d", (1,)),
                       ("ReplicationPad1d", ((1, 3),)), ("ReplicationPad2d", (2,)), ("ReplicationPad3d", (1,)),
                       ("CircularPad1d", (1,)), ("CircularPad2d", (1,)), ("CircularPad3d", ((1, 0, 1, 0, 1, 0),)),
                       ("ConstantPad1d", (2, 3.5)), ("ConstantPad3d", (1, -1.0)), ("ZeroPad1d", (1,)),
                       ("ZeroPad3d", ((1, 0, 0, 1, 2, 0),))]:
        mt, mc = getattr(torch.nn, name)(*args), getattr(ct.nn, name)(*args)
        assert repr(mc) == repr(mt)
        nd = int(name[-2])
        xx = x[0, 0] if nd == 1 else (x[0] if nd == 2 else x)
        compare(lambda t: mt(t), lambda t: mc(t), [np.ascontiguousarray(xx)], grad=False)


# ---------------------------------------------------------------------------------------------- grid_sample

@pytest.mark.fp64
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample(mode, padding_mode):
    for ac in (False, True):
        g = rng.uniform(-1.3, 1.3, (2, 3, 4, 2))
        compare(lambda x, g: TF.grid_sample(x, g, mode, padding_mode, ac),
                lambda x, g: F.grid_sample(x, g, mode, padding_mode, ac), [r(2, 3, 5, 6), g])
        if mode != "bicubic":
            g = rng.uniform(-1.3, 1.3, (2, 3, 4, 2, 3))
            compare(lambda x, g: TF.grid_sample(x, g, mode, padding_mode, ac),
                    lambda x, g: F.grid_sample(x, g, mode, padding_mode, ac), [r(2, 3, 4, 5, 3), g])


@pytest.mark.fp64
def test_affine_grid():
    for ac in (False, True):
        compare(lambda t: TF.affine_grid(t, (2, 3, 4, 5), ac), lambda t: F.affine_grid(t, (2, 3, 4, 5), ac),
                [r(2, 2, 3)])
        compare(lambda t: TF.affine_grid(t, (2, 3, 4, 5, 3), ac), lambda t: F.affine_grid(t, (2, 3, 4, 5, 3), ac),
                [r(2, 3, 4)])
    raises_like(lambda: TF.affine_grid(torch.zeros(2, 3, 3), (2, 3, 4, 5), False),
                lambda: F.affine_grid(ct.zeros(2, 3, 3), (2, 3, 4, 5), False))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ct.zeros(1, 2, 3), (1, 1, 2, 2))


@pytest.mark.fp64
def test_gradcheck_conv_transpose_and_pool():
    x = ct.tensor(r(1, 2, 3, 3, 2), requires_grad=True)
    w = ct.tensor(r(2, 2, 2, 2, 2), requires_grad=True)
    assert ct.autograd.gradcheck(lambda x, w: F.conv_transpose3d(x, w, stride=2), (x, w))
    y = ct.tensor(r(1, 2, 4, 5, 3), requires_grad=True)
    assert ct.autograd.gradcheck(lambda y: F.avg_pool3d(y, 2, 1, 1, count_include_pad=False), (y,))
    assert ct.autograd.gradcheck(lambda y: F.interpolate(y, scale_factor=1.5, mode="trilinear"), (y,))


# ---------------------------------------------------------------------------------------------- example

def test_digits_autoencoder_example(tmp_path):
    """examples/digits_autoencoder.py for 2 short epochs: the test reconstruction loss falls, the image grid is
    written when matplotlib is installed."""
    import os
    import subprocess
    import sys
    pytest.importorskip("sklearn")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    outdir = tmp_path / "ae"
    p = subprocess.run([sys.executable, os.path.join(root, "examples", "digits_autoencoder.py"), "--device",
                        str(ct.get_default_device()), "--epochs", "2", "--steps", "4", "--out", str(outdir)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    losses = [float(line.split("test loss")[1].split()[0]) for line in p.stdout.splitlines() if "test loss" in line]
    assert len(losses) == 2 and losses[1] < losses[0]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (outdir / "digits_autoencoder.png").exists()


@pytest.mark.fp64
def test_conv_rank3_chunked_over_images(monkeypatch):
    """The rank-3 paths run over chunks of images when the patches would be large: one image per chunk here."""
    from cltensor.nn import _conv
    monkeypatch.setattr(_conv, "COL3_BYTES", 1000)
    compare(lambda x, w: TF.conv_transpose3d(x, w, stride=2, groups=2),
            lambda x, w: F.conv_transpose3d(x, w, stride=2, groups=2), [r(3, 4, 3, 2, 3), r(4, 3, 2, 2, 2)])
    compare(lambda x, w, b: TF.conv3d(x, w, b, padding=1, groups=2),
            lambda x, w, b: F.conv3d(x, w, b, padding=1, groups=2), [r(3, 4, 3, 2, 3), r(6, 2, 2, 2, 2), r(6)])
