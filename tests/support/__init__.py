"""Test support: builders, fake people and harnesses shared by the test modules.

Not a test package (nothing here is collected). Test modules import from here, never from
one another; fixtures built on these live in the conftest files.

- `apps`: the one way tests build the bot application (`build_app`, `START`).
- `people`: neutral-event people driving the dialog engine (`Person`, `GroupPerson`,
  `fake_classify`, `register`).
- `world`: the application with a recording sender behind the real outbox (`World`,
  `FakeSender`, the team chats and staff of the dispatch scenes, `staffed`, `report`, ...).
- `harness`: the application wired on the Bot API emulator over a real transport
  (`Harness`, `StaffedProperty`, `FloodClock`, `texts`), waiting on events, never on quiet
  periods.
- `digest_data`: the hand-computed digest dataset; `clients`: the emulator tests' token.
- `crowd`, `botprocess`, `forkserver`: many residents at once, and a real `propdesk run`
  process (started from a fork server) that the crash and shutdown tests kill and restart.
"""
