"""Run ``hashmatch`` and kill it with SIGKILL at a chosen point: the crash tests' subprocess.

    python -m tests.crashing MODULE.FUNCTION before|after ARGS...

replaces MODULE.FUNCTION by a wrapper that sends SIGKILL to this process before (or right after)
calling it, then runs ``hashmatch ARGS``. Nothing is cleaned up: it is a real ``kill -9``.
"""

import importlib
import os
import signal
import sys
from typing import Any

from cli.main import main


def arm(target: str, when: str) -> None:
    module_name, _, name = target.rpartition(".")
    module = importlib.import_module(module_name)
    original = getattr(module, name)

    def killed(*args: Any, **kwargs: Any) -> Any:
        if when == "after":
            original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(module, name, killed)


if __name__ == "__main__":
    arm(sys.argv[1], sys.argv[2])
    sys.exit(main(sys.argv[3:]))
