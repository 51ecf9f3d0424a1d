"""Run a command pinned to CPUs: ``python -m asgibench.launch.pinned 0,1 -- COMMAND...``.

The launcher starts servers through this trampoline instead of a
``preexec_fn``: forking with a Python callback is unsafe while other threads
run (the sampler, Rich's live display), and the server must be pinned before
its first instruction so every worker it forks inherits the CPUs.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    cpus, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m asgibench.launch.pinned CPU[,CPU...] -- COMMAND...")
    os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
