"""Settings: environment `PROPDESK_*` over an optional TOML file named by `PROPDESK_CONFIG`."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Locale = Literal["zh-CN", "en"]
TEAMS: tuple[str, ...] = (
    "engineering",
    "environment",
    "security",
    "finance",
    "service",
    "managers",
)

DEFAULT_ROUTING: dict[str, str] = {
    "repair": "engineering",
    "cleaning": "environment",
    "security": "security",
    "parking": "security",
    "billing": "finance",
    "complaint": "service",
    "inquiry": "service",
    "suggestion": "service",
    "other": "service",
}


class BuildingConfig(BaseModel):
    name: str = Field(min_length=1, max_length=32)
    units: list[str] = Field(default_factory=list)


class PropertyConfig(BaseModel):
    code: str = Field(default="default", pattern=r"^[a-z0-9_-]{1,32}$")
    name: str = Field(default="PropDesk", min_length=1, max_length=64)
    buildings: list[BuildingConfig] = Field(default_factory=list)
    # hazard or service kind -> phone number, e.g. gas = "96777", fire = "119", property = "..."
    hotlines: dict[str, str] = Field(default_factory=dict)


class SlaTimes(BaseModel):
    response_minutes: int = Field(gt=0)
    resolution_minutes: int = Field(gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROPDESK_", extra="ignore")

    telegram_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    transport: Literal["aiogram", "ptb"] = "aiogram"
    database_url: str = "sqlite+aiosqlite:///./data/propdesk.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"
    locale: Locale = "zh-CN"
    properties: list[PropertyConfig] = Field(default_factory=lambda: [PropertyConfig()])
    routing: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ROUTING))
    # keys: an urgency ("high") or "category.urgency" ("repair.high")
    sla: dict[str, SlaTimes] = Field(default_factory=dict)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("properties")
    @classmethod
    def _unique_codes(cls, value: list[PropertyConfig]) -> list[PropertyConfig]:
        if not value:
            raise ValueError("list at least one property")
        codes = [p.code for p in value]
        if len(set(codes)) != len(codes):
            raise ValueError("property codes must be unique")
        return value

    @field_validator("routing")
    @classmethod
    def _known_teams(cls, value: dict[str, str]) -> dict[str, str]:
        merged = {**DEFAULT_ROUTING, **value}
        unknown = sorted(t for t in merged.values() if t not in TEAMS)
        if unknown:
            raise ValueError(f"unknown team {unknown[0]!r}; teams are {', '.join(TEAMS)}")
        return merged

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def property_by_code(self, code: str) -> PropertyConfig | None:
        return next((p for p in self.properties if p.code == code), None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlFileSource(settings_cls))


class TomlFileSource(PydanticBaseSettingsSource):
    """Reads the TOML file named by PROPDESK_CONFIG; environment variables win over it."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("PROPDESK_CONFIG")
        if not path:
            return {}
        return load_toml(Path(path))


class SettingsError(Exception):
    """One line naming the setting that stops start-up."""


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise SettingsError(f"PROPDESK_CONFIG: file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"PROPDESK_CONFIG: {path} is not valid TOML: {exc}") from exc


def load_settings(**overrides: Any) -> Settings:
    """Build settings or raise SettingsError with one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from exc


def describe_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = [str(part) for part in first["loc"]]
    top = location[0] if location else "?"
    name = f"PROPDESK_{top.upper()}" if top in Settings.model_fields else top
    detail = ".".join(location[1:])
    where = f"{name} ({detail})" if detail else name
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"setting {where}: {message}"
