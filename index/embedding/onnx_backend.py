"""The fast embedder: the sentence-transformers model exported to ONNX, fused, run by onnxruntime.

The sentence-transformers model stays the source of truth. `export_onnx` traces it
once (pooling and normalisation inside the graph), fuses attention, GELU and layer
norms with onnxruntime's transformer optimiser, optionally quantises the weights to
int8, and caches the result beside the converted model, keyed by the source
weights' hash. Serving then needs neither torch nor sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Literal

import numpy as np

from index.embedding.base import ONNX_PRECISION, Purpose, embedding_id
from index.embedding.bundled import BUNDLED_MODEL_NAME, ensure_bundled_model

Precision = Literal["fp32", "int8"]
EXPORT_VERSION = 2
OPSET = 17
MAX_TOKENS = 512
# Texts per forward pass when embedding many: sorted by length first, so a batch pads little.
BATCH = 32


def _weights_digest(source: Path) -> str:
    """Names, sizes and modification times of the source model's files: cheap, and changes when they do."""
    stats = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in source.iterdir() if p.is_file())
    return hashlib.sha256(repr(stats).encode()).hexdigest()[:16]


def source_model_dir(model: str, models_dir: Path) -> Path:
    """The sentence-transformers directory a model name stands for (the bundled one converted on first use)."""
    if model == BUNDLED_MODEL_NAME:
        return ensure_bundled_model(models_dir)
    path = Path(model)
    if not path.is_dir():
        raise ValueError(
            f"the onnx embedding backend needs a local sentence-transformers directory, not {model!r}; "
            "set CONCORD_EMBEDDING_BACKEND=torch for a model by name"
        )
    return path


def export_onnx(source: Path, target: Path) -> Path:
    """Write `target/model.onnx` (fp32, fused) with its tokenizer and settings, from the sentence-transformers
    model at `source`."""
    import torch
    from onnxruntime.transformers import optimizer
    from sentence_transformers import SentenceTransformer

    # Eager attention traces to the plain MatMul/Softmax pattern the optimiser fuses into one Attention op.
    model = SentenceTransformer(str(source), device="cpu", model_kwargs={"attn_implementation": "eager"})
    transformer = model[0].auto_model.eval()
    config = transformer.config
    kinds = [type(module).__name__ for module in model]
    pooling = model[1] if len(model) > 1 else None
    if (
        kinds[1:] != ["Pooling", "Normalize"]
        or getattr(pooling, "pooling_mode", None) != "mean"
        or not getattr(pooling, "include_prompt", True)
    ):
        raise ValueError(
            f"the onnx backend exports transformer + mean pooling + normalise; this model is {kinds}: "
            "set CONCORD_EMBEDDING_BACKEND=torch"
        )

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.transformer(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    staging = _staging(target)
    raw = staging / "raw.onnx"
    example = (torch.tensor([[0, 100, 200, 2], [0, 300, 2, 1]]), torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]))
    with torch.no_grad():
        torch.onnx.export(
            Pooled(),
            example,
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    fused = optimizer.optimize_model(
        str(raw),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=1,
    )
    fused.save_model_to_file(str(staging / "model.onnx"))
    raw.unlink()
    shutil.copy(source / "tokenizer.json", staging / "tokenizer.json")
    (staging / "export.json").write_text(
        json.dumps(
            {
                "version": EXPORT_VERSION,
                "source": str(source),
                "source_digest": _weights_digest(source),
                "precision": "fp32",
                "prompts": model.prompts or {},
                "pad_token_id": config.pad_token_id,
                "max_tokens": min(MAX_TOKENS, model.max_seq_length or MAX_TOKENS),
                "dimension": int(model.get_embedding_dimension()),
            },
            indent=1,
        )
    )
    return _publish(staging, target)


def quantize_export(fp32: Path, target: Path) -> Path:
    """Write an int8 copy of the fp32 export at `fp32` to `target`: weights per channel, activations
    quantised per pass."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    staging = _staging(target)
    # Per channel: per-tensor int8 falls below cosine 0.99 against the source model. The
    # projections that read a GELU's output stay fp32: their inputs carry the outliers that
    # dynamic quantisation handles worst (measured on our questions: lowest cosine 0.994 with
    # them quantised, 0.998 without, for 3.6 ms against 3.1 and fp32's 5.8).
    quantize_dynamic(
        str(fp32 / "model.onnx"),
        str(staging / "model.onnx"),
        per_channel=True,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=_reads_gelu(onnx.load(str(fp32 / "model.onnx"), load_external_data=False)),
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    shutil.copy(fp32 / "tokenizer.json", staging / "tokenizer.json")
    export = json.loads((fp32 / "export.json").read_text())
    (staging / "export.json").write_text(json.dumps(export | {"precision": "int8"}, indent=1))
    return _publish(staging, target)


def _staging(target: Path) -> Path:
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def _publish(staging: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _reads_gelu(model) -> list[str]:
    """Names of the MatMul nodes whose input is a GELU's output (the feed-forward down-projections)."""
    produced_by = {output: node.op_type for node in model.graph.node for output in node.output}
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "MatMul" and "Gelu" in produced_by.get(node.input[0], "")
    ]


def ensure_onnx_model(model: str, models_dir: Path, precision: Precision = "fp32") -> Path:
    """The exported model's directory, exported again when missing or when the source weights changed."""
    source = source_model_dir(model, models_dir)
    target = models_dir / f"{source.name}-onnx-{precision}"
    manifest = target / "export.json"
    if manifest.exists():
        recorded = json.loads(manifest.read_text())
        if recorded.get("version") == EXPORT_VERSION and recorded.get("source_digest") == _weights_digest(
            source
        ):
            return target
    if precision == "int8":
        return quantize_export(ensure_onnx_model(model, models_dir, "fp32"), target)
    return export_onnx(source, target)


class OnnxEmbedder:
    """An `Embedder` over an exported model; thread-safe (onnxruntime sessions may run concurrently)."""

    def __init__(
        self, model: str, models_dir: Path, precision: Precision = "fp32", threads: int | None = None
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        directory = ensure_onnx_model(model, models_dir, precision)
        export = json.loads((directory / "export.json").read_text())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(export["max_tokens"])
        self._tokenizer.no_padding()
        self._pad = export["pad_token_id"]
        prompts = export["prompts"]
        self._prompts = {
            "query": prompts.get("query", ""),
            "document": prompts.get("document", prompts.get("passage", "")),
        }
        backend = next(name for name, kind in ONNX_PRECISION.items() if kind == precision)
        self.model_id = embedding_id(backend, model)
        self.dimension = int(export["dimension"])

    def embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        prompt = self._prompts[purpose]
        encodings = self._tokenizer.encode_batch([prompt + text for text in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start : start + BATCH]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.full((len(chosen), width), self._pad, np.int64)
            mask = np.zeros((len(chosen), width), np.int64)
            for row, i in enumerate(chosen):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            (embedded,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            vectors[chosen] = embedded
        return vectors
