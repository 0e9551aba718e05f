"""The README's two quick-start commands: CI (.ci/run) runs the second one verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readmes_test_command_verbatim():
    block = (ROOT / "README.md").read_text().split("## Quick start")[1].split("```bash\n")[1].split("```")[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2 and commands[0].startswith("python -m pip install -e . && ")
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == commands[1]
    assert "ruff check" in commands[1] and "ruff format --check" in commands[1] and "pytest -q" in commands[1]
