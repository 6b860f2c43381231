"""The one settings object, read from ``CELLHUB_*`` environment variables.

Precedence: an explicit argument to a function beats the environment, which beats the defaults
here. Built by the cached ``get_settings()``, never at import time.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CELLHUB_", extra="ignore")

    # Decompression-bomb cap, checked from the header before any pixel is decoded.
    # 400 Mpx is a 20,000 x 20,000 slide: ~800 MB as uint16, the most one worker should hold.
    max_image_pixels: int = Field(default=400_000_000, gt=0)
    # Largest file read at all (bytes); the hub's upload limit is separate.
    max_image_bytes: int = Field(default=2 * 1024**3, gt=0)
    # Largest file one upload may declare (200 MiB); the thumbnail handler holds a whole
    # original in memory, so this bounds its footprint.
    max_upload_bytes: int = Field(default=200 * 1024**2, gt=0)
    # The model used when none is named; None: the best model for the sample type (see
    # ``cellhub_worker.registry.default_model_for``), nuclei unless the caller says otherwise.
    default_model: str | None = None
    default_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    # Smallest object kept, in pixels; specks below this are noise at any magnification we serve.
    min_object_area_px: int = Field(default=16, ge=0)
    # Key for the HMAC on the local blob store's signed URLs (32+ bytes). Every process serving
    # one store must share it; None leaves the choice to the embedded server's start-up.
    blob_signing_secret: SecretStr | None = None
    # HS256 key for access tokens (32+ bytes). Every process that verifies tokens must share
    # it; None leaves the choice to the embedded server's start-up, as for the blob secret.
    jwt_secret: SecretStr | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
