"""int8 quantisation of an exported float graph, for the ONNX Runtime backend.

Every MatMul against a weight (the two heads excepted) becomes an integer MatMul:

- Activations are quantised at run time with one scale per token (the row's largest magnitude),
  not one per model call. A comment's score therefore does not depend on what shares its call
  (another request in the service's micro-batch, a neighbour in a file), and one loud token
  does not coarsen every other token of the batch.
- Before that, each input channel is divided by a smoothing factor that the weights take back
  (SmoothQuant, Xiao et al. 2023): a few channels of a transformer's activations run far larger
  than the rest and would set every token's scale. The factors come from the float graph's own
  activations on random token ids, so no data is needed and the result is deterministic.
- Weights are symmetric int8 per output channel, in 7 bits: on CPUs without VNNI, ONNX Runtime's
  uint8 x int8 kernel adds pairs of products in 16 bits, which full 8-bit weights can overflow;
  with 7 bits every x86 CPU computes the same scores.
- The heads stay in float: they are a negligible share of the compute and the scores are most
  sensitive to them.

Against ONNX Runtime's stock dynamic quantisation (one activation scale per call, 8-bit
weights) this brought the drift from the float reference on real comments to under half at the
mean and at the 99th percentile and to under a third at the maximum (bench/README.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

# Activations use int8's symmetric range, held as uint8 around 128 (the fast kernels take uint8
# activations); weights use 7 bits (see above).
ACTIVATION_MAX = 127.0
ZERO_POINT = 128
WEIGHT_MAX = 63.0
# How the smoothing splits each channel's range between activation and weight (SmoothQuant's
# alpha): 0.5 measured best of 0.3, 0.5 and 0.7.
SMOOTHING = 0.5
CALIBRATION_BATCHES = 16
CALIBRATION_SHAPE = (8, 64)  # windows x tokens per batch


def quantise(source: Path, target: Path) -> None:
    """Write the int8 graph of the float graph ``source`` to ``target``."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    targets = {index for index, node in enumerate(graph.node) if node.op_type == "MatMul"
               and node.input[1] in weights and "_head" not in node.name}
    inputs: dict[str, list[str]] = {}  # activation -> the weights it meets
    for index in sorted(targets):
        inputs.setdefault(graph.node[index].input[0], []).append(graph.node[index].input[1])
    factors = _smoothing_factors(model, inputs, weights)

    constants: dict[str, np.ndarray] = {
        "q8/eps": np.array(1e-8, np.float32),  # a row of zeros keeps a finite scale
        "q8/inv_max": np.array(1 / ACTIVATION_MAX, np.float32),
        "q8/zero": np.array([ZERO_POINT], np.uint8),
        "q8/zero_scalar": np.array(ZERO_POINT, np.uint8),
        "q8/rows": np.array([-1], np.int64),
    }
    graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())
    nodes: list[onnx.NodeProto] = []
    quantised: dict[str, tuple[str, str]] = {}  # activation -> (uint8 tensor, per-token scale)
    for index, node in enumerate(graph.node):
        if index not in targets:
            nodes.append(node)
            continue
        x, name = node.input[0], node.input[1]
        if x not in quantised:  # query, key and value share their input's quantisation
            prefix = f"q8/{len(quantised)}/"
            graph.initializer.append(numpy_helper.from_array(1 / factors[x], f"{prefix}smoothing"))
            nodes.extend(_quantise_per_token(x, prefix))
            quantised[x] = (f"{prefix}q", f"{prefix}scale")
        q, scale = quantised[x]
        w = weights[name].astype(np.float32) * factors[x][:, None]
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / WEIGHT_MAX
        graph.initializer.extend([
            numpy_helper.from_array(np.round(w / w_scale).astype(np.int8), f"{name}/int8"),
            numpy_helper.from_array(w_scale.astype(np.float32), f"{name}/scale"),
        ])
        # ONNX Runtime's integer MatMul that scales its int32 result back to float in one pass,
        # by the token's scale (broadcast over the row) and the weight's (per column). Its bias
        # input is left out: with a scale per row it added the bias wrongly (onnxruntime 1.32).
        nodes.append(helper.make_node(
            "MatMulIntegerToFloat", [q, f"{name}/int8", scale, f"{name}/scale", "q8/zero_scalar"],
            node.output[:1], domain="com.microsoft"))
    del graph.node[:]
    graph.node.extend(nodes)
    if not any(entry.domain == "com.microsoft" for entry in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]  # the float weights go
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(target))


def _smoothing_factors(model: onnx.ModelProto, inputs: dict[str, list[str]],
                       weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per input channel of each quantised activation: max|x|^a / max|w|^(1-a), where max|x| is
    the channel's largest magnitude over calibration windows of random token ids and max|w| its
    largest weight over the MatMuls it feeds."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    names = sorted(inputs)
    probe.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    vocabulary = _vocabulary_size(model, weights)
    largest = {name: np.zeros(weights[inputs[name][0]].shape[0], np.float32) for name in names}
    for _ in range(CALIBRATION_BATCHES):
        ids = rng.integers(0, vocabulary, size=CALIBRATION_SHAPE, dtype=np.int64)
        mask = np.ones(CALIBRATION_SHAPE, dtype=np.int64)
        values = session.run(names, {"input_ids": ids, "attention_mask": mask})
        for name, value in zip(names, values, strict=True):
            channel_max = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            np.maximum(largest[name], channel_max, out=largest[name])
    factors = {}
    for name in names:
        w_max = np.max([np.abs(weights[w]).max(axis=1) for w in inputs[name]], axis=0)
        factors[name] = (np.maximum(largest[name], 1e-5) ** SMOOTHING
                         / np.maximum(w_max, 1e-5) ** (1 - SMOOTHING)).astype(np.float32)
    return factors


def _vocabulary_size(model: onnx.ModelProto, weights: dict[str, np.ndarray]) -> int:
    """Rows of the embedding table that the token ids index."""
    for node in model.graph.node:
        if node.op_type == "Gather" and node.input[1] == "input_ids" and node.input[0] in weights:
            return int(weights[node.input[0]].shape[0])
    raise ValueError("the graph has no embedding lookup of input_ids")


def _quantise_per_token(x: str, p: str) -> list[onnx.NodeProto]:
    """Nodes smoothing ``x`` (..., features) by ``{p}smoothing`` and quantising it to uint8 with
    a scale per row: ``{p}q`` (same shape) and ``{p}scale`` (..., 1)."""
    from onnx import helper

    return [
        helper.make_node("Mul", [x, f"{p}smoothing"], [f"{p}smooth"]),
        helper.make_node("Abs", [f"{p}smooth"], [f"{p}abs"]),
        helper.make_node("ReduceMax", [f"{p}abs"], [f"{p}max"], axes=[-1], keepdims=1),
        helper.make_node("Max", [f"{p}max", "q8/eps"], [f"{p}max_safe"]),
        helper.make_node("Mul", [f"{p}max_safe", "q8/inv_max"], [f"{p}scale"]),
        # QuantizeLinear takes one scale per row of a 2-D tensor (axis 0): flatten the tokens,
        # quantise, restore the shape.
        helper.make_node("Shape", [f"{p}smooth"], [f"{p}shape"]),
        helper.make_node("Reshape", [f"{p}scale", "q8/rows"], [f"{p}row_scale"]),
        helper.make_node("Shape", [f"{p}row_scale"], [f"{p}row_count"]),
        helper.make_node("Expand", ["q8/zero", f"{p}row_count"], [f"{p}row_zero"]),
        helper.make_node("Flatten", [f"{p}smooth"], [f"{p}flat"], axis=-1),
        helper.make_node("QuantizeLinear", [f"{p}flat", f"{p}row_scale", f"{p}row_zero"],
                         [f"{p}flat_q"], axis=0),
        helper.make_node("Reshape", [f"{p}flat_q", f"{p}shape"], [f"{p}q"]),
    ]
