"""A ticket the resident says is not solved counts as reopened in every figure that counts
reopens (the export's tickets, the team figures, the hot spots), from the event Dispatch
records (resolved -> new), not only from test data written by hand."""

from __future__ import annotations

from datetime import timedelta

from storage.reports import ExportRepo, HotspotRepo, PerformanceRepo, Window
from tests.support.world import ENG_GROUP, WANG, World, accepted, complete, staffed

TIMES = 2  # "reopened more than once" is a hot spot


async def test_real_reopens_count_in_the_export_the_team_figures_and_the_hot_spots(
    world: World,
) -> None:
    await staffed(world)
    _, li, ticket_id = await accepted(world)
    wang = world.person(WANG, WANG, "王女士")
    for n in range(TIMES):
        await complete(world, li, ticket_id)
        await wang.press(f"rs:{ticket_id}:no")
        await wang.say(f"还是在漏({n + 1})")
        await world.flush()
        await li.press(f"tk:{ticket_id}:acc", await world.card_message(ticket_id, ENG_GROUP))
    now = world.app.clock.now()
    window = Window(now - timedelta(days=1), now + timedelta(days=1), None)
    async with world.app.uow_factory() as uow:
        [row] = [row async for row in ExportRepo(uow.session).tickets(window)]
        [team] = await PerformanceRepo(uow.session).figures(window, "team")
        [hot] = await HotspotRepo(uow.session).reopened(window, TIMES)
    assert row.reopened == TIMES
    assert (team.key, team.reopened) == ("engineering", 1)  # tickets reopened
    assert hot.times == TIMES
