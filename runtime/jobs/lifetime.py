"""Child processes that end with their parent: what `python app.py` starts must not outlive it."""

from __future__ import annotations

import contextlib
import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in a child before exec (`preexec_fn`): Linux sends it SIGTERM when its parent dies, even by SIGKILL.

    Elsewhere this does nothing; a stale embedded Redis is then stopped at the next start (`embedded.stop_stale`).
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
