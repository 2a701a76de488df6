"""`cltensor.graphs`: captured graphs under a device-neutral name (the same objects as cltensor.cuda.CUDAGraph,
cltensor.cuda.graph and cltensor.cuda.make_graphed_callables; they work on every OpenCL device, CPUs included).
How capture works and what it cannot capture: docs/graphs.md."""
from ._graphs import Graph, graph, make_graphed_callables, is_current_stream_capturing, graph_pool_handle  # noqa

CUDAGraph = Graph

__all__ = ["Graph", "CUDAGraph", "graph", "make_graphed_callables", "is_current_stream_capturing",
           "graph_pool_handle"]
