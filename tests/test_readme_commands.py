"""The README's two commands exist, and CI runs the test command verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_starts_with_app_and_test_commands():
    app, tests = readme_commands()
    assert app.endswith("streamlit run app.py")
    assert "requirements.txt" in app
    assert "requirements-test.txt" in tests and tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    _, tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines, "'.ci/run' must run the README's test command unchanged"


def test_ci_runs_the_linter_before_the_tests():
    _, tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    lint = [i for i, line in enumerate(ci_lines) if line.endswith("ruff check .")]
    assert lint and lint[0] < ci_lines.index(tests), "'.ci/run' must run `ruff check .` before the tests"


def test_pyproject_holds_the_metadata_and_the_tool_configs():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] == "rnn-explorer"
    assert project["project"]["requires-python"] == ">=3.11"
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]
    assert {"E", "F", "W", "I", "B", "UP", "SIM"} <= set(project["tool"]["ruff"]["lint"]["select"])
    assert project["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]
    assert not (ROOT / "pytest.ini").exists(), "pytest's settings live in pyproject.toml only"


def test_readme_is_short_and_links_to_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).exists(), link
