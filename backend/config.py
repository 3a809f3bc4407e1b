"""One Settings object for the whole app; every knob is an environment variable (see README)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 — refused in production
# Tests, benchmarks and CI run as "test"; the image and compose.yaml set "production".
Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    # A refused setting's error names it without echoing the values around it (secrets among them) into a log.
    model_config = SettingsConfigDict(env_prefix="LUOSHI_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    environment: Environment = "development"
    # DATABASE_URL / REDIS_URL are read without the prefix, as every platform names them so.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    app_db_role: str = "luoshi_app"
    app_db_password: str = "luoshi_app"  # noqa: S105 — refused in production
    app_database_url: str | None = None
    data_dir: Path = Path(".luoshi-data")
    secret_key: str = DEV_SECRET
    base_url: str = "http://127.0.0.1:8000"
    default_locale: str = "zh_Hans"
    default_timezone: str = "Asia/Shanghai"

    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    cookie_secure: bool = False

    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_ip_max_failures: int = 30
    login_ip_window_minutes: int = 15
    # Addresses (or CIDR ranges, comma-separated) of reverse proxies whose X-Forwarded-For/-Proto are believed.
    # Empty: none, and the peer address is the client's (a client's own X-Forwarded-For counts for nothing).
    trusted_proxies: str = ""
    password_min_length: int = 10
    # argon2id cost (RFC 9106's second recommendation by default); tests lower it to stay fast.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    invite_valid_days: int = 7
    # An API token stops working this many days after it was made (the tokens page shows when).
    api_token_valid_days: int = 180
    # A form's or API call's once-only key is kept this long (backend.core.once); after it, the same key is a new
    # request. Purged daily by the worker.
    form_key_days: int = 2

    # Evidence and plan files: "local" (under data_dir) or "s3" (an S3-compatible store).
    storage: str = "local"
    s3_endpoint: str | None = None
    s3_bucket: str = ""
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    evidence_max_mb: int = 50
    # A task's evidence archive (台账 evidence.zip) is built only up to this many MB of files in all.
    evidence_zip_max_mb: int = 512
    # Every request body of a page or API call that takes no file (backend.core.bodies); uploads have their own.
    body_max_kb: int = 256
    # Parsing one plan document (backend.plans.service.parse_bounded) runs in a child process with this budget.
    plan_parse_seconds: int = 20
    plan_parse_memory_mb: int = 1024
    # Reading one 任务分解表 (backend.plans.responsibilities) runs in a child process with this budget.
    table_parse_seconds: int = 20
    table_parse_memory_mb: int = 1024
    # Decoding one picture for its thumbnail (backend.evidence.thumbnails) runs in a child process with this budget.
    thumbnail_seconds: int = 30
    thumbnail_memory_mb: int = 512

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_display_name: str = "统一身份认证"

    # Group-robot webhooks may only reach public addresses (no SSRF into the bureau's network) unless this is set,
    # e.g. for an on-premises robot gateway; tests and the demo's local receivers set it.
    webhook_private_networks: bool = False

    metrics_allow: str = "127.0.0.1,::1"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> "Settings":
        """Production refuses every secret and password still at the default this file publishes (a setting named
        *secret* or *password* whose default is a string), naming each one to set."""
        if self.environment != "production":
            return self
        unset = [f"LUOSHI_{name.upper()}" for name, field in type(self).model_fields.items()
                 if ("secret" in name or "password" in name) and isinstance(field.default, str)
                 and getattr(self, name) == field.default]
        if unset:
            raise ValueError(f"In production set these to random values of your own (their defaults are public): "
                             f"{', '.join(unset)}")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)


@lru_cache
def get_settings() -> Settings:
    return Settings()
