"""`propdesk check`: the start-up checks of `propdesk run` without starting the bot, and
what the operator wants to see before going live: groups bound per team and property,
admins, the SLA table. A failure is one line and exit status 2 (raised as SettingsError)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import make_transport, open_engine, reach_database, telegram_checked
from bot.config import Settings, SettingsError
from bot.domain.vocabulary import CATEGORIES, URGENCIES
from bot.handlers.digests import plain_text
from bot.i18n import Translator
from bot.messages import Incoming, Reply
from bot.services.setup_report import SetupReport, setup_report
from bot.services.sla import SlaPolicy
from storage.db import session_factory
from storage.migrate import current_revision, head_revision
from storage.uow import UnitOfWorkFactory


class _NoCore:
    """getMe needs a transport, not the dialog engine: nothing is handled here."""

    async def handle(self, inc: Incoming) -> Reply:
        raise RuntimeError("propdesk check handles no updates")

    async def mark_unreachable(self, chat_id: int) -> None:
        raise RuntimeError("propdesk check sends nothing")

    def bot_commands(self, locale: str, groups: bool = False) -> list[tuple[str, str]]:
        return []


async def run_check(settings: Settings) -> list[str]:
    """The report's lines; raises SettingsError (one line) at the first failed check."""
    if settings.telegram_token is None:
        raise SettingsError(
            "setting PROPDESK_TELEGRAM_TOKEN: required by `propdesk run` "
            "(the token from @BotFather)"
        )
    t = Translator(settings.locale)
    engine = open_engine(settings)
    try:
        current = await reach_database(engine, settings, lambda: current_revision(engine))
        username = await _telegram(settings)
        lines = [t("check.ok_settings"), t("check.ok_token", username=username)]
        lines.append(t("check.ok_database", revision=current or "-"))
        if current != head_revision():
            lines.append(t("check.schema_behind", head=head_revision()))
            report = SetupReport([], [])
        else:
            report = await _report(engine, settings)
        lines += _bindings(t, settings, report) + _admins(t, settings, report)
        lines += _sla_table(t, settings)
        return [plain_text(line) for line in lines]
    finally:
        await engine.dispose()


async def _telegram(settings: Settings) -> str:
    transport = make_transport(settings, _NoCore())
    try:
        return await telegram_checked(transport.identify(), settings)
    finally:
        await transport.close()


async def _report(engine: AsyncEngine, settings: Settings) -> SetupReport:
    async with UnitOfWorkFactory(session_factory(engine))() as uow:
        return await setup_report(uow, [p.code for p in settings.properties])


def _bindings(t: Translator, settings: Settings, report: SetupReport) -> list[str]:
    lines = [t("check.groups")]
    for binding in report.bindings:
        team = t(f"team.{binding.team}")
        if binding.chat_id is None:
            lines.append(t("check.group_unbound", property=binding.property_code, team=team))
        else:
            lines.append(
                t(
                    "check.group_bound",
                    property=binding.property_code,
                    team=team,
                    chat=binding.chat_id,
                )
            )
    return lines


def _admins(t: Translator, settings: Settings, report: SetupReport) -> list[str]:
    ids = ", ".join(str(i) for i in settings.admin_ids) or "-"
    lines = [t("check.admins_settings", ids=ids)]
    for admin in report.admins:
        lines.append(
            t(
                "check.admin",
                property=admin.property_code,
                id=admin.telegram_id,
                name=admin.name,
                role=t(f"role.{admin.role}"),
            )
        )
    return lines


def _sla_table(t: Translator, settings: Settings) -> list[str]:
    """Minutes to respond and to resolve, per urgency, then each category that differs."""
    overrides = {k: (v.response_minutes, v.resolution_minutes) for k, v in settings.sla.items()}
    policy = SlaPolicy(overrides)
    lines = [t("check.sla")]
    for urgency in URGENCIES:
        response, resolution = policy.minutes("", urgency)
        label = t(f"urgency.{urgency}")
        lines.append(t("check.sla_row", what=label, response=response, resolution=resolution))
        for category in CATEGORIES:
            if policy.minutes(category, urgency) != (response, resolution):
                cat_response, cat_resolution = policy.minutes(category, urgency)
                what = f"{label} / {t(f'category.{category}')}"
                lines.append(
                    t(
                        "check.sla_row",
                        what=what,
                        response=cat_response,
                        resolution=cat_resolution,
                    )
                )
    return lines
