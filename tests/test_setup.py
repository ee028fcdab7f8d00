"""What a new user meets before anything runs: `make` alone, the Python check, the venv's rules,
the light set of pins, and a busy port."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from okta_simulator.local_receiver import REPO, free_port
from okta_simulator.transport import exchange


def pins(path: Path) -> dict:
    """{normalized name: version} of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_plain_make_lists_every_target_with_what_it_does():
    done = subprocess.run(["make", "--no-print-directory"], cwd=REPO, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0 and done.stderr == ""
    listed = dict(re.findall(r"^  ([a-z-]+) +(.+)$", done.stdout, re.M))
    phony = re.search(r"^\.PHONY: (.+)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    assert sorted(listed) == sorted(phony)
    assert all(words and not words.isspace() for words in listed.values())
    assert listed["demo"].startswith("the whole flow locally")


def test_the_light_set_is_the_runtime_and_the_simulator_pinned_as_everything_else():
    light, everything = pins(REPO / "requirements-demo.txt"), pins(REPO / "requirements.txt")
    assert {name: everything.get(name) for name in light} == light  # the same pins
    runtime = pins(REPO / "function" / "requirements.txt")
    assert runtime.items() <= light.items()
    left_out = set(everything) - set(light)
    assert {"pulumi", "pulumi-gcp", "pulumi-okta", "pytest", "grpcio"} <= left_out
    assert len(light) < len(everything) * 0.6


@pytest.fixture
def old_python(tmp_path) -> Path:
    """A `python` that says it is 3.10.12."""
    stub = tmp_path / "python3.10"
    stub.write_text("#!/bin/sh\ncase \"$*\" in *print*) echo 3.10.12;; "
                    "*) exit 1;; esac\n")
    stub.chmod(0o755)
    return stub


def test_an_old_python_is_one_line_naming_the_version_found(old_python, tmp_path):
    done = subprocess.run(["make", "--no-print-directory", "setup-demo", f"PYTHON={old_python}",
                           f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        f"okta-event-hook needs Python 3.11 or newer; {old_python} is 3.10.12. Run make with "
        "PYTHON=python3.11 (or newer).")
    assert not (tmp_path / "venv").exists()


def setup(tmp_path, wanted: str, python: str = "python3") -> subprocess.CompletedProcess:
    """tools/setup-venv on a copy of the repository's pins in `tmp_path` (a venv of its own)."""
    return subprocess.run([str(tmp_path / "tools" / "setup-venv"), wanted], cwd=tmp_path,
                          env={**os.environ, "PYTHON": python}, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def scratch(tmp_path) -> Path:
    """The setup script and two tiny pin files: one package each, from the machine's cache."""
    (tmp_path / "tools").mkdir()
    script = (REPO / "tools" / "setup-venv").read_text()
    (tmp_path / "tools" / "setup-venv").write_text(script)
    (tmp_path / "tools" / "setup-venv").chmod(0o755)
    (tmp_path / "requirements-demo.txt").write_text("iniconfig==2.3.1\n")
    (tmp_path / "requirements.txt").write_text("iniconfig==2.3.1\npluggy==1.7.0\n")
    return tmp_path


def test_the_venv_is_made_once_then_left_alone(scratch):
    first = setup(scratch, "requirements-demo.txt")
    assert first.returncode == 0, first.stderr
    assert "Installing requirements-demo.txt" in first.stderr
    marker = scratch / ".venv" / "kept"
    marker.touch()
    again = setup(scratch, "requirements-demo.txt")
    assert (again.returncode, again.stderr) == (0, "") and marker.exists()


def test_everything_serves_the_demo_too(scratch):
    assert setup(scratch, "requirements.txt").returncode == 0
    again = setup(scratch, "requirements-demo.txt")
    assert (again.returncode, again.stderr) == (0, "")


def test_changed_pins_make_the_venv_anew(scratch):
    assert setup(scratch, "requirements.txt").returncode == 0
    (scratch / ".venv" / "kept").touch()
    (scratch / "requirements.txt").write_text("iniconfig==2.3.1\n")  # pluggy dropped
    again = setup(scratch, "requirements.txt")
    assert again.returncode == 0
    assert again.stderr.splitlines()[0] == "Making .venv anew (requirements.txt changed)."
    assert not (scratch / ".venv" / "kept").exists()
    assert not list((scratch / ".venv").glob("lib/python*/site-packages/pluggy"))


def test_another_interpreter_makes_the_venv_anew(scratch, tmp_path_factory):
    assert setup(scratch, "requirements-demo.txt").returncode == 0
    other = tmp_path_factory.mktemp("other") / "python3"
    other.symlink_to(Path(os.path.realpath(REPO / ".venv" / "bin" / "python")))
    again = setup(scratch, "requirements-demo.txt", python=str(other))
    assert again.stderr.splitlines()[0] == "Making .venv anew (interpreter changed)."


def foreign_venv(scratch: Path, python: str = "python3") -> Path:
    """A venv as `pulumi new` makes one: `python -m venv .venv`, then pip install, no marker of
    ours; `iniconfig` stands for what Pulumi installed."""
    venv = scratch / ".venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", "iniconfig==2.3.1"], check=True, timeout=300)
    return venv


def test_a_venv_that_pulumi_made_is_used_and_never_deleted(scratch):
    """The `pulumi new` route: Pulumi installs requirements.txt into .venv; `make smoke` (the
    demo set) and `make test` (everything) then install into that venv, deleting nothing."""
    venv = foreign_venv(scratch)
    (venv / "kept").touch()
    for wanted in ("requirements-demo.txt", "requirements.txt"):
        done = setup(scratch, wanted)
        assert done.returncode == 0, done.stderr
        assert "anew" not in done.stderr
    (scratch / "requirements.txt").write_text("iniconfig==2.3.1\npluggy==1.6.0\n")
    done = setup(scratch, "requirements.txt")
    assert done.returncode == 0 and "Installing requirements.txt" in done.stderr
    assert (venv / "kept").exists()
    assert list(venv.glob("lib/python*/site-packages/pluggy-1.6.0.dist-info"))


def test_a_venv_of_another_python_that_make_did_not_make_is_one_line(scratch):
    # setup() runs the script with the machine's python3, whatever Python runs these tests.
    wanted = subprocess.check_output(
        ["python3", "-c", "import sys; print(sys.version_info.minor)"], text=True).strip()
    versions = Path(subprocess.check_output(["pyenv", "root"], text=True).strip()) / "versions"
    minor = next(m for m in (12, 13, 11) if str(m) != wanted)  # pyenv has these
    [other] = sorted(versions.glob(f"3.{minor}.*/bin/python3.{minor}"))[-1:]
    venv = foreign_venv(scratch, str(other))
    done = setup(scratch, "requirements-demo.txt")
    assert (done.returncode, done.stderr) == (2, (
        f".venv was not made by make (Pulumi or you made it) and its Python is 3.{minor}, not "
        f"3.{wanted}: remove it (rm -rf .venv) or run make with VENV=<another folder>.\n"))
    assert (venv / "bin" / "python").exists()


def test_a_busy_port_is_one_clear_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = subprocess.run(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"Port {port} is in use: choose another, e.g. make run PORT=8090" in \
        done.stderr.splitlines()
    assert "Receiver (functions-framework" not in done.stdout  # no banner, no server errors


# --- the documents ------------------------------------------------------------------------------

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: Path) -> set:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {anchor(match) for match in re.findall(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_between_the_documents_leads_somewhere(document):
    links = re.findall(r"\]\(([^)\s]+)\)", document.read_text())
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert local, "a document that links nowhere"
    for link in local:
        path, _, fragment = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        assert target.exists(), f"{document.name}: {link} leads to no file"
        if fragment and target.suffix == ".md":
            assert fragment in headings(target), f"{document.name}: no heading #{fragment}"


def test_the_readme_is_a_front_door():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make demo" in readme and "make test" in readme and "pulumi up" in readme
    assert readme.splitlines().index("## Deploy") < 80  # a reader reaches it early


@contextlib.contextmanager
def make_run(*settings: str):
    """`make run` with `settings` on a free port: (port, the banner's three lines), the receiver
    answering; stopped on leaving."""
    port = free_port()
    process = subprocess.Popen(["make", "--no-print-directory", "run", f"PORT={port}", *settings],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        banner = [process.stdout.readline() for _ in range(3)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, banner
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)


def test_make_run_serves_your_own_secret_without_showing_it():
    secret = "Basic it's \"quoted\" b3duOnMzY3JldC12YWx1ZQ=="  # quotes reach it unharmed
    with make_run(f"HOOK_SECRET={secret}") as (port, banner):
        reply = exchange(f"http://127.0.0.1:{port}/", "GET",
                         {"Authorization": secret, "X-Okta-Verification-Challenge": "c"})
    assert (reply.status, json.loads(reply.body)) == (200, {"verification": "c"})
    assert banner[1] == "Secret: yours (HOOK_SECRET, not shown)\n"
    assert not any(secret.split()[-1] in line for line in banner)


def test_the_readme_s_curl_commands_answer_as_it_says():
    readme = (REPO / "README.md").read_text()
    block = readme.split("To try things yourself")[1].split("```sh\n")[1].split("```")[0]
    commands = block.replace("\\\n", " ").splitlines()
    assert len(commands) == 2 and all(c.startswith("curl ") for c in commands)
    with make_run() as (port, _):
        outputs = [subprocess.run(["bash", "-c", command.replace(":8080/", f":{port}/")],
                                  cwd=REPO, capture_output=True, text=True, timeout=30).stdout
                   for command in commands]
    assert outputs == ['{"verification":"hello"}', "200\n"]
    assert 'The first prints `{"verification":"hello"}`, the second `200`' in readme


def test_the_template_s_quickstart_and_the_readme_give_the_same_commands():
    """`pulumi new` shows Pulumi.yaml's quickstart; the README's route must say the same."""
    import yaml

    quickstart = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["template"]["quickstart"]
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"`([^`]*(?:pulumi up|make smoke|deactivationLogCommand)[^`]*)`",
                          quickstart)
    assert {"pulumi up", "make smoke"} <= set(commands)
    assert all(command in readme for command in commands)
    assert "make setup" not in quickstart  # pulumi new installs requirements.txt itself
