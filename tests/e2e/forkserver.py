"""Starts `propdesk run` quickly, many times: this parent imports the product and loads the
classifier's data once, then forks a child per start that runs exactly `propdesk run -v`
(`bot.cli.main`), with the parent's environment. Commands on stdin, one a line:

    start LOGFILE   -> "started PID"
    wait PID        -> "exited STATUS" (the child's exit status, -9 after kill -9)

Used by tests that kill the bot over and over; Linux only (fork)."""

from __future__ import annotations

import os
import sys


def _child(log_path: str) -> None:
    from bot.cli import main

    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        status = main(["run", "-v"])
    except BaseException:  # report like the interpreter would, then leave at once
        import traceback

        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def serve() -> None:
    import bot.app
    import bot.cli
    import bot.transports.aiogram_transport
    import bot.transports.ptb_transport  # noqa: F401
    from bot import nlp

    nlp.warm_up()
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "start":
            pid = os.fork()
            if pid == 0:
                _child(argument)
            print(f"started {pid}", flush=True)
        elif command == "wait":
            _, status = os.waitpid(int(argument), 0)
            print(f"exited {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    serve()
