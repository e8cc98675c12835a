"""Where a phone's requests spend CPU: the phone server and N phones in one process, every thread
profiled (the store's reads and writes run in threads), each phone opening its page and sending a
contribution M times, all at once. Prints the CPU per contribution and the share of each part a
request goes through: rendering, the participant's records, the form tokens (CSRF), the form and the
answers' checks, the write (and its journal and fsync), the phones' own client.

    python bench/web_cpu.py DATA [PHONES] [EACH]    # DATA: a copy of a demo data folder (it is written to)
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import re
import sys
import time
from pathlib import Path
from typing import Any

CONSENT = {"take_part": True, "share_partners": True, "quote_words": False, "contact_later": False}
ANSWERS = {"walk_date": "2026-05-02", "route": "canal_path", "walk_minutes": "35", "breathing": "4", "traffic": "3"}
PARTS = [  # (what, file ending, function)
    ("rendering the pages", "citizen/web/server.py", "render"),
    ("  the form's questions, made once", "citizen/web/server.py", "blank_form"),
    ("the participant's records", "citizen/web/participant_pages.py", "_participant_data"),
    ("form tokens: issued", "citizen/web/security.py", "issue"),
    ("form tokens: spent", "citizen/web/security.py", "spend"),
    ("the posted form read", "citizen/web/forms.py", "posted_values"),
    ("the write (checks included)", "citizen/services/contributions.py", "add_contribution"),
    ("  the answers' checks", "citizen/domain/rules.py", "validate_values"),
    ("  journal and fsync", "citizen/store/store.py", "commit"),
    ("the phones' own client", "aiohttp/client.py", "_request"),
]
threads: list[cProfile.Profile] = []


def profile_threads() -> None:
    """Profile every function the server hands to a thread (reads and writes of the store)."""
    run_in_thread = asyncio.to_thread

    async def to_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
        def profiled() -> Any:
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            try:
                return fn(*args, **kwargs)
            finally:
                profile.disable()
                threads.append(profile)

        return await run_in_thread(profiled)

    asyncio.to_thread = to_thread  # type: ignore[assignment]


async def burst(data: Path, phones: int, each: int) -> None:
    # imported once the threads are set to be profiled (the server is started here, not at import)
    import aiohttp

    from citizen.domain.models import ConsentMethod
    from citizen.services import enrol_participant, open_study
    from citizen.store import DataFolder
    from citizen.web.security import RateLimits
    from citizen.web.server import EnrolmentServer

    with DataFolder(data) as folder:
        study = open_study(folder, "air-quality-walk")
        links = [enrol_participant(study, CONSENT, ConsentMethod.phone, "bench").link for _ in range(phones)]
        limits = RateLimits(**{name: 100_000 for name in RateLimits.__dataclass_fields__})
        server = EnrolmentServer(study, "127.0.0.1", 0, limits=limits)
        await server.start()
        base = server.base_url

        async def phone(n: int, link: str) -> None:
            async with aiohttp.ClientSession() as session:
                for i in range(each):
                    async with session.get(f"{base}/p/{link}") as r:
                        page = await r.text()
                    found = re.search(
                        r'action="/p/[^"]+/contribute"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"', page
                    )
                    assert found is not None, r.status
                    form = {**ANSWERS, "notes": f"phone {n} walk {i}", "csrf": found.group(1)}
                    async with session.post(f"{base}/p/{link}/contribute", data=form, allow_redirects=False) as r:
                        await r.read()
                        assert r.status == 303, r.status

        main = cProfile.Profile(time.thread_time)
        cpu, wall = time.process_time(), time.perf_counter()
        main.enable()
        await asyncio.gather(*(phone(n, link) for n, link in enumerate(links)))
        main.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await server.stop()
    count = phones * each
    print(f"{count} contributions in {wall:.2f} s; CPU {cpu:.2f} s, {cpu / count * 1000:.1f} ms per contribution (profiled)")
    stats = pstats.Stats(main)
    for profile in threads:
        stats.add(profile)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in table.values())
    for what, path, name in PARTS:
        spent = sum(v[3] for k, v in table.items() if k[0].endswith(path) and k[2] == name)
        print(f"  {what:36} {spent:7.3f} s  {spent / total:6.1%}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    profile_threads()
    asyncio.run(burst(Path(sys.argv[1]), *(int(a) for a in sys.argv[2:4])))
