"""`loadtest mock` refuses bad input with one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import CUSTOMER, ROOT, running_mock
from tests.local_http import local_client


def _mock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loadtest.cli", "mock", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_a_bad_survey_file_exits_2_with_one_line_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(CUSTOMER.read_text().replace('type = "grid"', 'type = "matrix"'))
    out = _mock("--survey", str(bad), "--port", "0")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{bad}: pages[1].questions[2].type: expected one of single, multi")
    assert out.stdout == ""


def test_a_port_already_served_exits_2(tmp_path: Path) -> None:
    with running_mock(CUSTOMER, db=tmp_path / "a.db") as first:
        out = _mock("--survey", str(CUSTOMER), "--port", str(first.port), "--db", str(tmp_path / "b.db"))
    assert out.returncode == 2
    assert "--port" in out.stderr and "cannot bind" in out.stderr


def test_two_surveys_with_one_id_are_refused(tmp_path: Path) -> None:
    out = _mock("--survey", str(CUSTOMER), "--survey", str(CUSTOMER), "--port", "0")
    assert out.returncode == 2 and "distinct survey ids" in out.stderr


def test_the_api_key_comes_from_the_named_environment_variable(tmp_path: Path) -> None:

    with running_mock(CUSTOMER, db=tmp_path / "k.db", env={"MY_SURVEY_KEY": "s3cr3t-value-for-test"},
                      extra=("--api-key-env", "MY_SURVEY_KEY")) as srv:
        with local_client(base_url=srv.url) as c:
            url = "/a/api/v2/surveys/100001/take"
            assert c.get(url, headers={"api-key": "loadtest-local-key"}).status_code == 401
            assert c.get(url, headers={"api-key": "s3cr3t-value-for-test"}).status_code == 200
        assert "s3cr3t" not in srv.stderr()
        assert "$MY_SURVEY_KEY" in srv.stderr()
