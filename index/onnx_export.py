"""A BERT encoder written as an ONNX graph straight from its safetensors weights, without torch.

The default embedding model (all-MiniLM-L6-v2) is a plain BERT encoder. Writing its graph from the
weights, operator by operator, gives the same hidden states as exporting it through PyTorch
(``torch.onnx.export``; the test suite compares the two), so the default install needs no
PyTorch: that is most of its size (about 1 GB of the 1.6 GB) and of the first export's time.
Other architectures still go through PyTorch (``index.embedding``).

The graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` (batch × tokens, int64)
and returns ``hidden`` (batch × tokens × hidden size, float32), the last hidden state, as the
PyTorch export does; pooling and normalization happen in ``index.embedding``.

Each layer's self-attention is one ``Attention`` operator of ONNX Runtime (its ``com.microsoft``
domain) with the query, key and value projections packed into one matrix, rather than the
matrix products, softmax and transposes of the textbook graph: ONNX Runtime's fused kernel is
faster, and int8 quantization turns it into ``QAttention``, whose vectors are the same as the
separate int8 products' (docs/benchmarks.md, issue 20).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ConfigError

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17  # LayerNormalization is a standard operator from 17 on
RUNTIME_DOMAIN = "com.microsoft"  # ONNX Runtime's own operators (Attention)


def is_plain_bert(path: Path) -> bool:
    """Whether the model folder holds a BERT encoder this module can write: its config names
    BERT with absolute positions and GELU, and its weights are in safetensors."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        config.get("model_type") == "bert"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act") == "gelu"
        and (path / "model.safetensors").exists()
    )


def write_bert_onnx(path: Path, target: Path) -> None:
    """Write the ONNX graph of the BERT encoder in ``path`` to ``target``."""
    import onnx

    config = json.loads((path / "config.json").read_text())
    weights = _weights(path / "model.safetensors")
    model = _Graph(config, weights).build()
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _weights(file: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    loaded = load_file(str(file))
    # checkpoints saved from BertModel have no "bert." prefix; those saved from a task head do
    return {name.removeprefix("bert."): value for name, value in loaded.items()}


class _Graph:
    """Builds the graph node by node; ``add`` names every intermediate output uniquely."""

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        self.config = config
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.named: set[str] = set()
        self.count = 0
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))

    def build(self) -> Any:
        from onnx import TensorProto, helper

        x = self.embeddings()
        mask = self.attention_mask()
        for layer in range(int(self.config["num_hidden_layers"])):
            x = self.layer(x, mask, f"encoder.layer.{layer}")
        self.nodes.append(helper.make_node("Identity", [x], ["hidden"]))
        dims = ["batch", "tokens"]
        graph = helper.make_graph(
            self.nodes,
            "bert",
            [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in INPUTS],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [*dims, self.hidden])],
            self.initializers,
        )
        opset = [helper.make_opsetid("", OPSET), helper.make_opsetid(RUNTIME_DOMAIN, 1)]
        return helper.make_model(graph, opset_imports=opset, producer_name="newsbot")

    # -- building blocks ------------------------------------------------------------------

    def add(self, op: str, inputs: list[str], **attributes: Any) -> str:
        from onnx import helper

        self.count += 1
        output = f"{op.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, name: str, value: np.ndarray) -> str:
        """An initializer; the small shared ones (shapes, scalars) are stored once by name."""
        from onnx import numpy_helper

        if name not in self.named:
            self.named.add(name)
            self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str) -> str:
        if name not in self.weights:
            raise ConfigError(f"The embedding model's weights have no {name!r}: not a BERT model.")
        return self.constant(name, np.ascontiguousarray(self.weights[name], dtype=np.float32))

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T + b, as MatMul and Add (what int8 quantization looks for)."""
        matrix = np.ascontiguousarray(self.weights[f"{prefix}.weight"].T, dtype=np.float32)
        product = self.add("MatMul", [x, self.constant(f"{prefix}.weight_t", matrix)])
        return self.add("Add", [product, self.weight(f"{prefix}.bias")])

    def layer_norm(self, x: str, prefix: str) -> str:
        scale, shift = self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")
        return self.add("LayerNormalization", [x, scale, shift], axis=-1, epsilon=self.eps)

    def ints(self, name: str, values: list[int]) -> str:
        return self.constant(name, np.asarray(values, dtype=np.int64))

    def scalar(self, name: str, value: float) -> str:
        return self.constant(name, np.asarray(value, dtype=np.float32))

    # -- the model ------------------------------------------------------------------------

    def embeddings(self) -> str:
        words = self.add("Gather", [self.weight("embeddings.word_embeddings.weight"), INPUTS[0]])
        types = self.add(
            "Gather", [self.weight("embeddings.token_type_embeddings.weight"), INPUTS[2]]
        )
        # positions 0..tokens-1
        shape = self.add("Shape", [INPUTS[0]])
        tokens = self.add("Gather", [shape, self.ints("one_index", [1])], axis=0)
        length = self.add("Squeeze", [tokens, self.ints("axis_zero", [0])])
        start = self.constant("zero_i64", np.asarray(0, dtype=np.int64))
        step = self.constant("one_i64", np.asarray(1, dtype=np.int64))
        positions = self.add("Range", [start, length, step])
        table = self.weight("embeddings.position_embeddings.weight")
        placed = self.add("Gather", [table, positions])
        summed = self.add("Add", [self.add("Add", [words, types]), placed])
        return self.layer_norm(summed, "embeddings.LayerNorm")

    def attention_mask(self) -> str:
        """The mask as the ``Attention`` operator takes it: int32, batch × tokens (1 = a token,
        0 = padding, whose scores get the lowest float as BERT's do)."""
        from onnx import TensorProto

        return self.add("Cast", [INPUTS[1]], to=TensorProto.INT32)

    def self_attention(self, x: str, mask: str, prefix: str) -> str:
        """Softmax(QKᵀ/√d)V over the heads, the projections packed as [query | key | value]."""
        from onnx import helper

        parts = ("query", "key", "value")
        packed = np.concatenate([self.weights[f"{prefix}.{p}.weight"].T for p in parts], axis=1)
        bias = np.concatenate([self.weights[f"{prefix}.{p}.bias"] for p in parts])
        weight = self.constant(f"{prefix}.qkv_weight", np.ascontiguousarray(packed, np.float32))
        shift = self.constant(f"{prefix}.qkv_bias", np.ascontiguousarray(bias, np.float32))
        self.count += 1
        output = f"attention_{self.count}"
        self.nodes.append(
            helper.make_node(
                "Attention",
                [x, weight, shift, mask],
                [output],
                domain=RUNTIME_DOMAIN,
                num_heads=self.heads,
            )
        )
        return output

    def layer(self, x: str, mask: str, prefix: str) -> str:
        attention = f"{prefix}.attention"
        attended = self.linear(
            self.self_attention(x, mask, f"{attention}.self"), f"{attention}.output.dense"
        )
        x = self.layer_norm(self.add("Add", [attended, x]), f"{attention}.output.LayerNorm")
        inner = self.gelu(self.linear(x, f"{prefix}.intermediate.dense"))
        out = self.linear(inner, f"{prefix}.output.dense")
        return self.layer_norm(self.add("Add", [out, x]), f"{prefix}.output.LayerNorm")

    def gelu(self, x: str) -> str:
        """The exact GELU BERT uses: x · ½ · (1 + erf(x / √2))."""
        root = self.add("Div", [x, self.scalar("sqrt_two", math.sqrt(2.0))])
        one_plus = self.add("Add", [self.add("Erf", [root]), self.scalar("one_f32b", 1.0)])
        return self.add("Mul", [self.add("Mul", [x, one_plus]), self.scalar("half_f32", 0.5)])
