"""The unit of work: one transaction per event; repositories share its session."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.duty import DutyRepo
from storage.incidents import IncidentRepo
from storage.notices import NoticeRepo
from storage.privacy import PersonalDataRepo
from storage.repositories import (
    CardRepo,
    CorrectionRepo,
    DialogRepo,
    InviteRepo,
    OutboxRepo,
    PropertyRepo,
    RatingRepo,
    ResidentRepo,
    ReturnVisitRepo,
    RunRepo,
    StaffRepo,
    SurveyRepo,
    TeamRepo,
    TicketRepo,
    UpdateLog,
)
from storage.visitors import FaqDraftRepo, FaqGapRepo, VisitorRepo


class UnitOfWork:
    """`async with uow:` opens a transaction; leaving without `commit()` rolls it back."""

    properties: PropertyRepo
    residents: ResidentRepo
    tickets: TicketRepo
    dialogs: DialogRepo
    updates: UpdateLog
    outbox: OutboxRepo
    teams: TeamRepo
    staff: StaffRepo
    invites: InviteRepo
    corrections: CorrectionRepo
    cards: CardRepo
    ratings: RatingRepo
    visits: ReturnVisitRepo
    runs: RunRepo
    surveys: SurveyRepo
    privacy: PersonalDataRepo
    duty: DutyRepo
    visitors: VisitorRepo
    faq_gaps: FaqGapRepo
    faq_drafts: FaqDraftRepo
    notices: NoticeRepo
    incidents: IncidentRepo

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        session = self._sessions()
        self._session = session
        self.properties = PropertyRepo(session)
        self.residents = ResidentRepo(session)
        self.tickets = TicketRepo(session)
        self.dialogs = DialogRepo(session)
        self.updates = UpdateLog(session)
        self.outbox = OutboxRepo(session)
        self.teams = TeamRepo(session)
        self.staff = StaffRepo(session)
        self.invites = InviteRepo(session)
        self.corrections = CorrectionRepo(session)
        self.cards = CardRepo(session)
        self.ratings = RatingRepo(session)
        self.visits = ReturnVisitRepo(session)
        self.runs = RunRepo(session)
        self.surveys = SurveyRepo(session)
        self.privacy = PersonalDataRepo(session)
        self.duty = DutyRepo(session)
        self.visitors = VisitorRepo(session)
        self.faq_gaps = FaqGapRepo(session)
        self.faq_drafts = FaqDraftRepo(session)
        self.notices = NoticeRepo(session)
        self.incidents = IncidentRepo(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back anything uncommitted without expiring what was loaded.
        await self.session.close()
        self._session = None

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class UnitOfWorkFactory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)
