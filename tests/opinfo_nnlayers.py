"""Op-info rows of the convolution / pooling / resampling / padding family (cltensor/nn/_convfn.py, _poolfn.py,
_resample.py, _grid.py, cltensor/_unfold.py). Their nn.functional forms are compared with PyTorch (values,
gradients, errors, dtypes) by tests/test_nn_layers.py."""
ROWS = []

EXEMPT = {
    # Tensor.unfold(dimension, size, step): a strided view; values, strides, gradients (overlapping and gapped
    # windows) and errors are compared with PyTorch by tests/test_nn_layers.py
    "unfold",
}
