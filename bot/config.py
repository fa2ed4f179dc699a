"""Settings: environment `PROPDESK_*` over an optional TOML file named by `PROPDESK_CONFIG`."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.cron import crontab_trigger
from bot.domain.policy import DEFAULT_ROUTING
from bot.domain.vocabulary import TEAMS

Locale = Literal["zh-CN", "en"]
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
BOT_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")


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


def _parse_clock(value: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a HH:MM time") from exc


def _valid_cron(value: str) -> str:
    try:
        crontab_trigger(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a crontab expression: {exc}") from exc
    return value


class QuietHours(BaseModel):
    """No resident messages in this window (ratings, surveys wait for morning)."""

    start: str = "21:30"
    end: str = "08:30"

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _parse_clock(value)
        return value

    def contains(self, moment: time) -> bool:
        start, end = _parse_clock(self.start), _parse_clock(self.end)
        if start <= end:
            return start <= moment < end
        return moment >= start or moment < end

    @property
    def end_time(self) -> time:
        return _parse_clock(self.end)


class BusinessHours(BaseModel):
    """Non-emergency SLA clocks run only inside these hours when `enabled`; outside them
    a team with a duty rota calls its person on duty first."""

    enabled: bool = False
    start: str = "08:30"
    end: str = "18:00"
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _parse_clock(value)
        return value

    @property
    def start_time(self) -> time:
        return _parse_clock(self.start)

    @property
    def end_time(self) -> time:
        return _parse_clock(self.end)


class EscalationConfig(BaseModel):
    repeat_minutes: int = Field(default=120, gt=0)
    max_repeats: int = Field(default=3, ge=0)
    # warn the resident this long before a resolution deadline that will be missed
    resident_warning_minutes: int = Field(default=30, gt=0)


class RatingConfig(BaseModel):
    delay_minutes: int = Field(default=30, ge=0)
    reminder_hours: int = Field(default=24, gt=0)
    return_visit_hours: int = Field(default=24, gt=0)
    # a resolved ticket the resident never confirms or disputes closes by itself
    auto_close_hours: int = Field(default=72, gt=0)


class DigestConfig(BaseModel):
    daily_at: str = "08:00"
    weekly_weekday: int = Field(default=0, ge=0, le=6)  # Monday

    @field_validator("daily_at")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _parse_clock(value)
        return value


class SurveyConfig(BaseModel):
    enabled: bool = True
    cron: str = "0 10 1 * *"  # the 1st of each month, 10:00

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return _valid_cron(value)


class RetentionConfig(BaseModel):
    """How long personal data is kept; None keeps it without limit."""

    # closed and cancelled tickets' descriptions and photos (their timeline's too)
    closed_ticket_days: int | None = Field(default=None, gt=0)


class VisitorConfig(BaseModel):
    """Visitor registration (访客登记)."""

    keep_days: int = Field(default=30, gt=0)  # then the scheduler deletes the record
    max_days_ahead: int = Field(default=7, gt=0)  # a pre-registered window ends within this
    host_answer_minutes: int = Field(default=5, gt=0)  # then the guard decides alone


class IncidentConfig(BaseModel):
    """Incidents (one outage, many reports): how close in time and text a report must be."""

    enabled: bool = True
    # a report joins an open incident of its building reported within this many minutes
    window_minutes: int = Field(default=60, gt=0)
    # text similarity (0-1) from which a report joins by itself; below it, down to
    # `suggest_score`, the card asks staff [merge] / [not the same]
    join_score: float = Field(default=0.6, gt=0, le=1)
    suggest_score: float = Field(default=0.2, ge=0, le=1)


class ExportConfig(BaseModel):
    """Managers' spreadsheet exports (`/export`, `propdesk export`)."""

    # residents' phone numbers appear in full in exports only when this is true
    full_phones: bool = False


class ShiftConfig(BaseModel):
    """One weekly shift of a duty rota: who is on duty from `start` to `end` on `weekdays`
    (0 = Monday). A shift that ends before it starts runs past midnight (night shift) and
    belongs to the weekday it started on."""

    name: str = Field(default="shift", min_length=1, max_length=32)
    start: str
    end: str
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    # Telegram user ids, or a member's name or @username as /staff lists them
    staff: list[int | str] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _parse_clock(value)
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day < 0 or day > 6 for day in value):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return value

    @property
    def start_time(self) -> time:
        return _parse_clock(self.start)

    @property
    def end_time(self) -> time:
        return _parse_clock(self.end)


class DutyRotaConfig(BaseModel):
    """值班: a team's weekly duty shifts at one property (the first property when omitted)."""

    team: str
    property: str | None = None
    shifts: list[ShiftConfig] = Field(default_factory=list)

    @field_validator("team")
    @classmethod
    def _team(cls, value: str) -> str:
        if value not in TEAMS:
            raise ValueError(f"unknown team {value!r}; teams are {', '.join(TEAMS)}")
        return value


class PlanConfig(BaseModel):
    """A preventive maintenance or inspection plan (巡检, 保养) that opens tickets."""

    code: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    title: str = Field(min_length=1, max_length=200)
    team: str
    cron: str
    category: str = "repair"
    urgency: str = "normal"
    property: str | None = None

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return _valid_cron(value)

    @field_validator("team")
    @classmethod
    def _team(cls, value: str) -> str:
        if value not in TEAMS:
            raise ValueError(f"unknown team {value!r}; teams are {', '.join(TEAMS)}")
        return value


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
    # An unsure emergency (the classifier's model alone, or a typo) first asks the resident
    # "is anyone in danger right now?"; left unanswered this long, it pages as an emergency.
    danger_answer_minutes: float = Field(default=2.0, gt=0)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    rating: RatingConfig = Field(default_factory=RatingConfig)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    survey: SurveyConfig = Field(default_factory=SurveyConfig)
    plans: list[PlanConfig] = Field(default_factory=list)
    # duty rotas (值班), one per team and property; none: every card goes to the groups only
    duty: list[DutyRotaConfig] = Field(default_factory=list)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    # SIGTERM / SIGINT: stop taking updates, finish and send within this many seconds, exit 0.
    shutdown_seconds: float = Field(default=8.0, gt=0)
    # Telegram's flood limits kept by the outbox; off only against a server without them
    # (the emulator with its limits off, in tests and benchmarks).
    flood_limits: bool = True
    # Database connections kept open (opened as needed), and extra ones allowed under load.
    # No extra ones by default: an extra connection is closed as soon as it is handed back,
    # so under a burst every use opened one and prepared each statement again (bench/e2e.py
    # on PostgreSQL: 5 + 10 extra ran 152-170 updates/s, a fixed 10 ran 205).
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    # How long a request waits for a free connection before it is answered "busy, retry".
    db_pool_timeout: float = Field(default=30.0, gt=0)
    # How long a request waits for a lock (SQLite's write lock, a PostgreSQL row or table lock).
    db_lock_timeout: float = Field(default=30.0, gt=0)
    # PostgreSQL: a pooled connection idle longer than this (seconds) is checked before use;
    # 0 checks at every use.
    db_ping_after_idle: float = Field(default=1.0, ge=0)
    export: ExportConfig = Field(default_factory=ExportConfig)
    visitors: VisitorConfig = Field(default_factory=VisitorConfig)
    incidents: IncidentConfig = Field(default_factory=IncidentConfig)
    # The property's own questions and answers (TOML), validated at start; None: no FAQ.
    faq_file: str | None = None
    # How long start-up keeps trying a database that does not answer (retry with backoff),
    # e.g. a PostgreSQL server still starting after a reboot; 0: one try.
    db_connect_seconds: float = Field(default=30.0, ge=0)
    # Webhook mode (unset: long polling): the public HTTPS address Telegram posts to; the bot
    # serves its path on webhook_listen:webhook_port, usually behind a reverse proxy.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token; required in webhook mode.
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_max_connections: int = Field(default=40, ge=1, le=100)

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

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        """Empty is unset; a token of the wrong shape is refused here, never printed."""
        if value is None or not value.get_secret_value().strip():
            return None
        if not BOT_TOKEN.fullmatch(value.get_secret_value().strip()):
            raise ValueError("not a bot token (digits, a colon, then letters: from @BotFather)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (Telegram posts to HTTPS only)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            if info.data.get("webhook_url"):
                raise ValueError("required with a webhook (1-256 of A-Z a-z 0-9 _ -)")
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

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

    @field_validator("duty")
    @classmethod
    def _duty_properties(
        cls, value: list[DutyRotaConfig], info: ValidationInfo
    ) -> list[DutyRotaConfig]:
        """A rota names a listed property, and a team has one rota per property."""
        properties = info.data.get("properties") or [PropertyConfig()]
        codes = [p.code for p in properties]
        seen: set[tuple[str, str]] = set()
        for rota in value:
            code = rota.property or codes[0]
            if code not in codes:
                raise ValueError(f"unknown property {code!r}; properties are {', '.join(codes)}")
            if (code, rota.team) in seen:
                raise ValueError(f"two rotas for team {rota.team!r} at property {code!r}")
            seen.add((code, rota.team))
        return value

    @field_validator("faq_file")
    @classmethod
    def _valid_faq(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A bad FAQ file stops start-up with the file and the entry named."""
        if value:
            from bot.nlp.faq import FaqError, load_faq  # parses TOML or YAML only; no jieba here

            properties = info.data.get("properties") or []
            try:
                load_faq(value, {p.code for p in properties})
            except FaqError as exc:
                raise ValueError(str(exc)) from exc
        return value

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
        data = load_toml(Path(path))
        unknown = unknown_keys(data, Settings)
        if unknown:
            raise SettingsError(f"PROPDESK_CONFIG: {path}: {unknown[0]}")
        return data


def unknown_keys(data: dict[str, Any], model: type[BaseModel], prefix: str = "") -> list[str]:
    """Keys the settings do not know, each with the nearest known one: a misspelt key
    (`timezon`) must stop start-up, not be ignored silently."""
    found: list[str] = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            near = difflib.get_close_matches(key, list(model.model_fields), n=1)
            hint = f" (did you mean {prefix}{near[0]}?)" if near else ""
            found.append(f"unknown setting {prefix}{key}{hint}")
            continue
        inner = _model_of(field.annotation)
        if inner is None:
            continue
        if typing.get_origin(field.annotation) is dict and isinstance(value, dict):
            items = [(f"{prefix}{key}.{name}.", item) for name, item in value.items()]
        else:
            listed = value if isinstance(value, list) else [value]
            items = [(f"{prefix}{key}.", item) for item in listed]
        for where, item in items:
            if isinstance(item, dict):
                found += unknown_keys(item, inner, where)
    return found


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds, directly or in a list or an optional."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _model_of(arg)
        if inner is not None:
            return inner
    return None


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
