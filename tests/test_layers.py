"""The core runs without a terminal or a server: domain, store, services, export and qr load no UI library.

The full layer rules (and no import cycles) are import-linter contracts in pyproject.toml, run by .ci/run.
"""

from __future__ import annotations

import subprocess
import sys

UI_LIBRARIES = ("textual", "aiohttp", "jinja2", "rich")


def test_the_core_imports_without_textual_aiohttp_or_jinja2():
    code = (
        "import sys\n"
        "import citizen.domain.models, citizen.store, citizen.services, citizen.services.merge\n"
        "import citizen.services.xlsform, citizen.services.demo, citizen.export, citizen.export.files\n"
        "import citizen.export.run, citizen.export.bundle, citizen.qr\n"
        f"print(' '.join(sorted(m for m in {UI_LIBRARIES!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the core loaded {out.stdout.strip()}"
