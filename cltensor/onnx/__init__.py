"""`cltensor.onnx`: export a module or function to an ONNX file (`onnx` package; opset 17 by default).

    cltensor.onnx.export(model, (x,), "model.onnx", input_names=["x"], output_names=["y"])

The model runs once on the example inputs while every public operation it calls (cltensor.*, Tensor methods and
operators, nn.functional) is recorded and translated into ONNX nodes; parameters and buffers become initializers
named by their state_dict keys. The graph has the example inputs' shapes. An operation without a translation
raises `UnsupportedOperatorError` naming it, and any computation that ran outside a recorded operation (a kernel
launched by code the recorder did not see) raises too, so an exported graph never silently misses a step.
docs/interop.md lists the translated operations.
"""
from ._export import (export, UnsupportedOperatorError, OnnxExporterError, TrainingMode, SUPPORTED,  # noqa: F401
                      is_in_onnx_export)

__all__ = ["export", "UnsupportedOperatorError", "OnnxExporterError", "TrainingMode", "is_in_onnx_export"]
