"""The torch.* forms of nn functions (cltensor/nn/_toplevel.py): each is the nn.functional implementation behind
PyTorch's native signature, compared with torch's own top-level function in tests/test_torch_nn_forms.py (the
functional forms have their rows and tests in the nn test files)."""
from cltensor.nn._toplevel import NAMES

ROWS = []
EXEMPT = set(NAMES)
