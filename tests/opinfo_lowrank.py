"""svd_lowrank / pca_lowrank / lobpcg draw a random test matrix (their values are a truncated SVD, not PyTorch's bits):
tested by their properties in tests/test_api_more.py."""
ROWS = []
EXEMPT = {"svd_lowrank", "pca_lowrank", "lobpcg"}
