"""`make mutate`: mutation testing of the function's code with mutmut, score per module.

mutmut names a mutant by the module path of its file, and stops at once when the tests import the
code under another name: here the tests import `okta_hook...` (pytest.ini puts function/ on the
path) while the file is function/okta_hook/... . So the run happens in a scratch tree,
build/mutate/tree, where the function's folder is called src/ (which mutmut strips) and function/
is a link to it. mutmut itself lives in its own venv, build/mutate/venv, next to the project's
pinned packages, so `make test`'s environment stays as requirements.txt says.

Only the tests that run the code in the test process can kill a mutant (those that start a server
in a subprocess are invisible to mutmut's per-test selection). Prints, per module, the mutants
killed, survived, not reached by any in-process test, and timed out; the score (killed or timed
out, over all but the equivalent ones listed in tools/mutate-equivalent.txt); and the survivors'
names (see one with `cd build/mutate/tree && ../venv/bin/mutmut show NAME`).
"""

import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "mutate"
VENV, TREE = WORK / "venv", WORK / "tree"
MUTMUT = "mutmut==3.8.1"
EQUIVALENT = REPO / "tools" / "mutate-equivalent.txt"
# The in-process tests of the function's code.
TESTS = ["tests/test_receiver.py", "tests/test_receiver_parts.py", "tests/test_catch_up.py",
         "tests/test_catch_up_parts.py"]
SETUP_CFG = """[mutmut]
source_paths=src/okta_hook/
also_copy=
    tools/
    tests/
    infra/
    pytest.ini
    function
    src/main.py
    src/requirements.txt
pytest_add_cli_args_test_selection=
{tests}
"""


def venv() -> Path:
    """The mutation tool's venv: the project's pinned packages and mutmut (made once)."""
    python, stamp = VENV / "bin" / "python", VENV / ".installed"
    wanted = (REPO / "requirements.txt").read_text() + MUTMUT
    if not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r", str(REPO / "requirements.txt"),
                        MUTMUT], check=True)
        stamp.write_text(wanted)
    return VENV / "bin" / "mutmut"


def scratch_tree() -> None:
    """The repository's code and tests, with function/ renamed src/ (see the docstring)."""
    shutil.rmtree(TREE, ignore_errors=True)
    TREE.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv*")
    shutil.copytree(REPO / "function", TREE / "src", ignore=ignore)
    for folder in ("tools", "tests", "infra"):
        shutil.copytree(REPO / folder, TREE / folder, ignore=ignore)
    (TREE / "function").symlink_to("src")
    ini = (REPO / "pytest.ini").read_text()
    (TREE / "pytest.ini").write_text(ini.replace("pythonpath = function tools",
                                                 "pythonpath = src tools"))
    (TREE / "setup.cfg").write_text(SETUP_CFG.format(
        tests="\n".join(f"    {test}" for test in TESTS)))


def results(mutmut: Path) -> dict:
    """Mutant name -> status (killed, survived, no tests, timeout...)."""
    done = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=TREE,
                          capture_output=True, text=True, check=True)
    found = {}
    for line in done.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status
    return found


def report(statuses: dict, equivalent: set) -> str:
    by_module = defaultdict(Counter)
    for name, status in statuses.items():
        module = name.split(".x")[0]
        by_module[module]["equivalent" if name in equivalent else status] += 1
    lines = ["| module | killed | survived | not reached | timeout | equivalent | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total = Counter()
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        lines.append(row(module, counts))
    lines.append(row("**all**", total))
    return "\n".join(lines)


def row(label: str, counts: Counter) -> str:
    considered = sum(counts.values()) - counts["equivalent"]
    # A mutant that makes the tests hang is detected too: only survivors and unreached ones count
    # against the score.
    detected = counts["killed"] + counts["timeout"]
    score = detected / considered if considered else 1.0
    return (f"| {label} | {counts['killed']} | {counts['survived']} | {counts['no tests']} | "
            f"{counts['timeout']} | {counts['equivalent']} | {score:.1%} |")


def main() -> int:
    mutmut = venv()
    scratch_tree()
    subprocess.run([str(mutmut), "run", "--max-children", "2"], cwd=TREE, check=True,
                   stdout=subprocess.DEVNULL)
    statuses = results(mutmut)
    equivalent = {line.split("#")[0].strip() for line in EQUIVALENT.read_text().splitlines()
                  if line.split("#")[0].strip()}
    print(report(statuses, equivalent))
    survivors = sorted(n for n, s in statuses.items()
                       if s not in ("killed", "timeout") and n not in equivalent)
    print(f"\n{len(survivors)} mutant(s) not killed:")
    for name in survivors:
        print(f"  {name}: {statuses[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
