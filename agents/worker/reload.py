"""Live dictionary reload: a Faust timer that polls the content dictionaries and swaps them in.

Every `Reloadable` detector (streams.core.detector; streams.content.detector.ContentDetector) is checked every
`[content] reload_seconds`; when its files' digest changed it compiles the new dictionaries in a
worker thread (the event loop keeps moderating with the old automaton) and swaps one reference.
A bad file is logged and the old automaton stays. `POST /content/reload` on the worker's web port
forces a rebuild (the reload command for operators who do not want to wait for the poll).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import faust

from streams.core.detector import Reloadable

log = logging.getLogger(__name__)


def reloadable(detectors: Sequence[object]) -> list[Reloadable]:
    return [d for d in detectors if isinstance(d, Reloadable)]


async def reload_all(detectors: Sequence[Reloadable], force: bool = False) -> list[bool]:
    """Reload each detector off the event loop; True for each one that swapped in new dictionaries."""
    loop = asyncio.get_running_loop()
    results = []
    for detector in detectors:
        try:
            results.append(await loop.run_in_executor(None, detector.reload, force))
        except Exception:  # a reload must never take the worker down
            log.exception("dictionary reload failed; the previous dictionaries stay in use")
            results.append(False)
    return results


def register_reload(app: faust.App, detectors: list) -> None:
    """Poll the dictionaries of every reloadable detector in `detectors` on a timer."""
    targets = reloadable(detectors)
    if not targets:
        return
    interval = min(d.reload_seconds for d in targets)

    @app.timer(max(interval, 0.5), name="qunguard.dictionary_reload")
    async def poll() -> None:
        await reload_all(targets)

    @app.page("/content/reload")
    class ReloadNow(faust.web.View):
        async def post(self, request: faust.web.Request) -> faust.web.Response:
            swapped = await reload_all(targets, force=True)
            return self.json({"reloaded": sum(swapped), "detectors": len(targets)})
