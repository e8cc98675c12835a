"""Three laptops' demo data, carried by bundle files through the real command, merged in any order."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from citizen.cli import main
from citizen.services.merge import canonical_digest

from .support.bundles import STUDY, laptop_folder, random_activity, study_of
from .support.commands import citizen_command


def citizen(env, data: Path, *args: str, stdin=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    """The real installed command, in its own process (with no terminal on standard input)."""
    return subprocess.run(
        [*citizen_command(), "--data", str(data), *args], env=env, capture_output=True, text=True, stdin=stdin, timeout=120
    )


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run(capsys):
    """The same command line in this process (quicker on a busy 2-core machine)."""

    def call(_env, data: Path, *args: str) -> Result:
        capsys.readouterr()
        code = main(["--data", str(data), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


def ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def digest(path: Path) -> str:
    (path / ".lock").unlink(missing_ok=True)
    with laptop_folder(path, json.loads((path / "laptop.json").read_text())["laptop"]) as data:
        return canonical_digest(study_of(data))


def test_three_laptops_merge_in_any_order_to_the_same_study(tmp_path, run_env, run):
    laptops = {name: tmp_path / name for name in ("library", "clinic", "stall")}
    for path, laptop_id in zip(laptops.values(), ("AC", "DE", "FG"), strict=True):
        laptop_folder(path, laptop_id).close()
    # The library laptop sets the demo study up; the others take a copy of it by bundle.
    ok(run(run_env, laptops["library"], "demo", "--participants", "12", "--contributions", "40", "--seed", "5", "--no-open"))
    base = tmp_path / "base.citizen-bundle"
    ok(run(run_env, laptops["library"], "bundle", "export", STUDY, str(base)))
    for name in ("clinic", "stall"):
        imported = citizen if name == "clinic" else run  # once through the installed command itself
        out = ok(imported(run_env, laptops[name], "bundle", "import", str(base), "--yes"))
        assert "will be created from the bundle" in out and "created" in out
    # A few days offline: each laptop enrols, collects walks, reviews, withdraws on its own.
    for seed, path in enumerate(laptops.values()):
        with laptop_folder(path, json.loads((path / "laptop.json").read_text())["laptop"]) as data:
            random_activity(study_of(data), random.Random(seed), 25, f"reviewer {seed}")
    bundles = {}
    for name, path in laptops.items():
        bundles[name] = tmp_path / f"{name}.citizen-bundle"
        ok(run(run_env, path, "bundle", "export", STUDY, str(bundles[name])))

    # Refused plainly with no terminal and no --yes; nothing changed.
    coordinator = tmp_path / "coordinator-0"
    laptop_folder(coordinator, "HJ").close()
    refused = citizen(run_env, coordinator, "bundle", "import", str(bundles["clinic"]))
    assert refused.returncode == 3 and "Add --yes" in refused.stderr  # not confirmed (README, exit codes)
    assert not (coordinator / "studies" / STUDY).exists()

    orders = [("library", "clinic", "stall"), ("stall", "clinic", "library"), ("clinic", "stall", "library")]
    digests = set()
    for i, order in enumerate(orders):
        path = tmp_path / f"coordinator-{i}"
        laptop_folder(path, "HJ").close()
        for name in order:
            out = ok(run(run_env, path, "bundle", "import", str(bundles[name]), "--yes"))
            assert f"from laptop {json.loads((laptops[name] / 'laptop.json').read_text())['laptop']}" in out
        if i == 0:
            out = ok(run(run_env, path, "bundle", "import", str(bundles[order[0]]), "--yes"))
            assert "Nothing new" in out  # the same bundle twice changes nothing
        digests.add(digest(path))
    assert len(digests) == 1
    # The report shows the news before anything is written.
    path = tmp_path / "coordinator-0"
    ok(run(run_env, path, "bundle", "export", STUDY, str(tmp_path / "all.citizen-bundle")))
    out = ok(run(run_env, laptops["library"], "bundle", "import", str(tmp_path / "all.citizen-bundle"), "--yes"))
    assert "New:" in out and "participants" in out and "merged" in out
    assert digest(laptops["library"]) in digests
    # A bundle of this study refused when another one is asked for.
    wrong = run(run_env, path, "bundle", "import", str(bundles["clinic"]), "--study", "other", "--yes")
    assert wrong.returncode == 1 and "not 'other'" in wrong.stderr


def test_bundle_import_names_the_person_given_with_as(tmp_path, run_env, run):
    library, clinic = tmp_path / "library", tmp_path / "clinic"
    laptop_folder(library, "AC").close()
    laptop_folder(clinic, "DE").close()
    ok(run(run_env, library, "demo", "--participants", "3", "--contributions", "4", "--seed", "2", "--no-open"))
    bundle = tmp_path / "library.citizen-bundle"
    ok(run(run_env, library, "bundle", "export", STUDY, str(bundle)))
    ok(run(run_env, clinic, "--as", "Li Wei", "bundle", "import", str(bundle), "--yes"))
    with laptop_folder(clinic, "DE") as data:
        actors = {e.actor for e in study_of(data).repo.audit() if "bundle" in e.action or "merge" in e.action}
    assert actors == {"Li Wei"}
