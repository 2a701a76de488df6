"""The backward engine runs nodes in PyTorch's order: a parameter's gradient is final (its hooks fire) as soon as
it is computed, later-created nodes first, so hooks on parameters (DistributedDataParallel's buckets) see the
gradients in the same order as under PyTorch."""
import numpy as np
import torch

import cltensor as ct


def _order(m, lib):
    x = lib.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))
    seen = []
    for name, p in m.named_parameters():
        p.register_hook(lambda g, name=name: seen.append(name))
    y = m(x)
    (y * y).sum().backward()
    return seen


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


def test_parameter_gradients_arrive_in_pytorchs_order():
    assert _order(_mlp(ct), ct) == _order(_mlp(torch), torch)


def test_conv_net_parameter_order():
    def net(lib):
        nn = lib.nn
        return nn.Sequential(nn.Unflatten(1, (1, 2, 3)), nn.Conv2d(1, 2, 2), nn.Flatten(), nn.Linear(4, 3))
    assert _order(net(ct), ct) == _order(net(torch), torch)


def test_nodes_carry_a_creation_order():
    a = ct.ones(2, requires_grad=True)
    b = a * 2
    c = b.exp()
    assert c.grad_fn._sequence_nr() > b.grad_fn._sequence_nr()
