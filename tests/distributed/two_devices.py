"""DataParallel and transfers between two OpenCL devices (contexts) of one process. Needs two devices:
    POCL_DEVICES="pthread pthread" python -m pytest -q tests/distributed/two_devices.py
(tests/test_distributed.py runs it so); PoCL then exposes the CPU twice, as `cpu` and `cl:1`."""
import numpy as np
import pytest

import cltensor as ct
from cltensor import nn

DEVS = [d for d, _ in ct.devices()]
if len(DEVS) < 2:
    pytest.exit("two_devices.py needs two OpenCL devices (POCL_DEVICES='pthread pthread')", returncode=3)
D0, D1 = DEVS[0], DEVS[1]


@pytest.mark.parametrize("dtype", [ct.bool, ct.int8, ct.int64, ct.float16, ct.float32, ct.float64, ct.complex64])
def test_to_between_devices_roundtrip(dtype):
    a = ct.tensor((np.arange(24).reshape(4, 6) % 5).astype(dtype.np), device=D0)
    v = a.t()[1:, ::2]                          # non-contiguous view
    b = v.to(D1)
    assert b.device == D1 and b.dtype == dtype
    np.testing.assert_array_equal(b.cpu().numpy(), v.numpy())
    c = (b + b).to(D0) if dtype is not ct.bool else b.to(D0)
    ref = v.numpy() + v.numpy() if dtype is not ct.bool else v.numpy()
    np.testing.assert_array_equal(c.numpy(), ref)


def test_to_between_devices_carries_gradients():
    x = ct.randn(3, 4, device=D0, requires_grad=True)
    y = (x.to(D1) * 2).sum()
    y.backward()
    assert x.grad.device == D0
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2, np.float32))


def test_data_parallel_matches_one_device():
    ct.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    ref = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    ref.load_state_dict(model.state_dict())
    dp = nn.DataParallel(model, device_ids=[0, 1])
    assert dp.device_ids == [D0, D1] and dp.output_device == D0
    x = ct.randn(9, 5)
    out = dp(x)
    assert out.device == D0 and out.shape == (9, 3)
    r = ref(x)
    np.testing.assert_allclose(out.detach().numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out ** 2).sum().backward()
    (r ** 2).sum().backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        assert p.grad.device == D0
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert set(dp.state_dict()) == {"module." + k for k in model.state_dict()}


def test_data_parallel_training_steps_and_small_batch():
    ct.manual_seed(1)
    model = nn.Linear(4, 2)
    dp = nn.DataParallel(model, device_ids=["cpu", str(D1)])
    opt = ct.optim.SGD(dp.parameters(), lr=0.1)
    x, y = ct.randn(8, 4), ct.randn(8, 2)
    first = None
    for _ in range(5):
        opt.zero_grad()
        loss = ((dp(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    assert dp(ct.randn(1, 4)).shape == (1, 2)     # one row: only the first device runs
    with pytest.raises(RuntimeError, match="device_ids\\[0\\]"):
        nn.DataParallel(model.to(D1), device_ids=[0, 1])
