"""Op-info part of the remaining nn functions (losses, distances, norms, activations): they have no row; each is
compared with torch in tests/test_nn_rest.py (values, gradients, every reduction/weight variant, errors)."""
ROWS = []
