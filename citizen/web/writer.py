"""Phones' contributions stored together: one writer, one durable change for all that wait (issue 16).

Volunteers arrive together after a briefing. Stored one at a time, each contribution would be a
journal line and an fsync of its own, one after another under the study's lock, and the pages
waiting to be read would queue behind every one of them. Here a contribution a phone sends joins
those waiting; the one writer stores what is waiting as one change (one journal line, one fsync)
through ``add_contributions_each`` (the checks of ``add_contribution``, each contribution refused
alone with its own message), and each phone is answered only once its group is on disk. While a
group is being written, the next one gathers: nobody waits on purpose, a lone phone is stored at
once.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from ..services import ServiceError, Study
from ..services.bulk import NewContribution, add_contributions_each

MOST = 200  # contributions in one change at most: a group's write stays short


class ContributionWriter:
    """The one writer of the phones' contributions to one study."""

    def __init__(self, study: Study, most: int = MOST):
        self.study = study
        self.most = most
        self._waiting: list[tuple[NewContribution, asyncio.Future[str]]] = []
        self._writing: Optional[asyncio.Task[None]] = None

    @property
    def waiting(self) -> int:
        """Contributions sent and not yet being written."""
        return len(self._waiting)

    async def add(self, item: NewContribution) -> str:
        """Store one contribution with those sent at the same time; its id once it is on disk.

        Raises the refusal ``add_contribution`` would raise for it (the others are stored), or the
        store's error when the group could not be written (then none of the group is).
        """
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            try:
                results = await asyncio.to_thread(add_contributions_each, self.study, [item for item, _ in group])
            except BaseException as exc:  # not written: every phone of the group hears it, none is acknowledged
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else ServiceError("The server is stopping."))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, done), result in zip(group, results, strict=True):
                if done.done():
                    continue  # the phone went away; what it sent is stored all the same
                if isinstance(result, str):
                    done.set_result(result)
                else:
                    done.set_exception(result)

    async def finish(self) -> None:
        """Wait until every contribution sent so far is written (or refused)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.wait({self._writing})
