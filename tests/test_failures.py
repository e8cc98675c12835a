"""A failure anywhere leaves a plain message, a log in the data folder, a non-zero exit and a usable terminal.

Also: a second copy of the app on the same data folder is refused, in a real terminal too.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from citizen.cli import main
from citizen.store import DataFolder
from citizen.tui.app import make_app

from .support.commands import citizen_command
from .support.factories import STUDY
from .support.terminal import Terminal


def boom(*args, **kwargs):
    raise RuntimeError("the figures could not be counted")


async def test_a_failing_worker_is_logged_and_stops_the_app_with_code_1(demo_data_path, monkeypatch):
    monkeypatch.setattr("citizen.tui.screens.overview.figures", boom)
    app = make_app(demo_data_path, study_id=STUDY)
    with pytest.raises(Exception, match="could not be counted"):
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
    app.data.close()
    assert app.return_code == 1
    assert app.crash_message.startswith("citizen: something went wrong (RuntimeError: the figures could not be counted)")
    log = demo_data_path / "logs" / "citizen.log"
    assert f"Details: {log}" in app.crash_message
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: the figures could not be counted" in text
    DataFolder(demo_data_path).close()  # the lock was released


def test_an_unexpected_error_in_a_command_is_one_line_and_a_log(data_path, monkeypatch, capsys):
    monkeypatch.setattr("citizen.services.listing.list_studies", boom)
    assert main(["--data", str(data_path), "study", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "something went wrong (RuntimeError" in err and "Traceback" not in err
    assert "RuntimeError: the figures could not be counted" in (data_path / "logs" / "citizen.log").read_text()


def test_a_second_copy_is_refused_on_the_command_line(data_path, demo_file, run_env):
    with DataFolder(data_path):
        for args in (["study", "import", str(demo_file)], ["demo", "--no-open"], []):
            out = subprocess.run(
                [*citizen_command(), "--data", str(data_path), *args],
                capture_output=True,
                text=True,
                env=run_env,
                stdin=subprocess.DEVNULL,
                timeout=60,
            )
            assert out.returncode == 1, args
            assert out.stderr.startswith("citizen: Another copy of citizen is already using"), out.stderr
            assert out.stderr.count("\n") == 1
        # Reading is still allowed while another copy writes.
        out = subprocess.run(
            [*citizen_command(), "--data", str(data_path), "study", "list"],
            capture_output=True,
            text=True,
            env=run_env,
            timeout=60,
        )
        assert out.returncode == 0
    assert not (data_path / "studies").exists()  # the refused copies wrote nothing


tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def alternate_screen(t: Terminal) -> str:
    return subprocess.run(
        ["tmux", "display-message", "-p", "-t", t.name, "#{alternate_on}"], capture_output=True, text=True
    ).stdout.strip()


@tmux
@pytest.mark.slow
def test_a_second_copy_in_a_real_terminal_is_refused_and_the_terminal_restored(demo_data_path, run_env):
    command = " ".join(shlex.quote(c) for c in citizen_command()) + f" --data {shlex.quote(str(demo_data_path))}"
    first = Terminal(command, run_env)
    second = None
    try:
        first.wait_for("Enter opens the highlighted study")
        second = Terminal(command, run_env)
        screen = second.wait_for("EXITED 1")
        assert "citizen: Another copy of citizen is already using" in screen
        assert "Traceback" not in screen
        assert alternate_screen(second) == "0"  # back to the normal screen, the shell usable
        first.keys("q")
        first.wait_for("EXITED 0")
    finally:
        first.close()
        if second is not None:
            second.close()


@tmux
@pytest.mark.slow
def test_a_crash_in_a_real_terminal_leaves_a_plain_line_a_log_and_the_terminal_restored(demo_data_path, run_env, tmp_path):
    script = tmp_path / "crashing.py"
    script.write_text(
        "import sys\n"
        "import citizen.tui.screens.overview as overview\n"
        "def boom(study):\n"
        "    raise RuntimeError('the figures could not be counted')\n"
        "overview.figures = boom\n"
        "from citizen.cli import main\n"
        f"sys.exit(main(['--data', {str(demo_data_path)!r}]))\n"
    )
    t = Terminal(f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", run_env)
    try:
        t.wait_for("Enter opens the highlighted study")
        t.keys("Enter")
        screen = t.wait_for("EXITED 1")
        assert "citizen: something went wrong (RuntimeError: the figures could not be counted)" in screen
        assert "Traceback" not in screen
        assert alternate_screen(t) == "0"
    finally:
        t.close()
    log = demo_data_path / "logs" / "citizen.log"
    assert "RuntimeError: the figures could not be counted" in log.read_text()
    DataFolder(demo_data_path).close()  # the lock was released when the app stopped
