"""`make mutate`: mutation testing with mutmut of function/, infra/ and the Okta simulator.

mutmut names a mutant by the module path of its file, and stops at once when the tests import the
code under another name: the tests import `okta_hook...`, `stack_settings` and `okta_simulator...`
(pytest.ini and the stack harness put function/, infra/ and tools/ on the path) while the files
are function/okta_hook/..., infra/... and tools/okta_simulator/... . So each part is mutated in a
scratch tree of its own, build/mutate/<folder>/ (tools/ for the simulator), where the part's
folder is called src/ (a prefix mutmut strips) and the folder's own name is a link to it.
mutmut itself lives in its own venv, build/mutate/venv, next to the project's pinned packages, so
`make test`'s environment stays as requirements.txt says.

Only tests that run the code in the test process can kill a mutant (those that start a server in
a subprocess are invisible to mutmut's per-test selection). Prints, per module, the mutants
killed, survived, not reached by any in-process test, and timed out; the score (killed or timed
out, over all but the equivalent ones listed in tools/mutate-equivalent.txt); and the survivors'
names (see one with `cd build/mutate/<folder> && ../venv/bin/mutmut show NAME`).

Usage: tools/mutate.py [--resume] [function] [infra] [simulator]   (all three when none is named)
--resume goes on with the scratch trees as they are (an interrupted run keeps its results).
"""

import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "mutate"
VENV = WORK / "venv"
MUTMUT = ("mutmut==3.8.1", "pytest-timeout==2.4.0")
EQUIVALENT = REPO / "tools" / "mutate-equivalent.txt"
FOLDERS = ("function", "infra", "tools", "tests")
# Files at the root that tests read (the stack's project file, the pins, the simulator's script).
ROOT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "requirements.txt", "Makefile", "okta-sim")


@dataclass(frozen=True)
class Part:
    """One folder of the repository, what of it is mutated, and the tests that run it in process."""

    folder: str
    mutated: str  # inside the folder
    tests: tuple[str, ...]
    not_mutated: tuple[str, ...] = ()  # file globs, inside the folder
    not_run: tuple[str, ...] = ()  # tests that cannot run on mutmut's rewritten code
    # A test running longer than this counts as a hang (detected); the slowest test of function/
    # and the simulator waits about 6 s (Okta's 3 s, twice), of infra/ about 2 s under mutmut.
    # mutmut's own timeout counts CPU seconds: a mutant that leaves a test waiting forever (a
    # Pulumi output that never resolves) would hold a worker for good. pytest-timeout ends such a
    # run; its thread method, because a signal does not get the Pulumi SDK's event loop out.
    timeout_seconds: int = 20
    # Mutants tested at once. infra/'s hanging mutants sleep, so three per core keep the cores
    # busy (its slowest test, three times slower, is still well inside its timeout); the others'
    # tests time Okta's 3 s and the catch-up's waits, which a crowded machine would distort.
    children: int = 2


PARTS = {
    "function": Part("function", "okta_hook/", (
        "tests/test_receiver.py", "tests/test_receiver_parts.py", "tests/test_catch_up.py",
        "tests/test_catch_up_parts.py", "tests/test_catch_up_cursor.py")),
    # __main__.py only composes the components; every line of it runs in every stack test.
    # The provider tests hand a pickled provider to another process: under mutmut its methods
    # call mutmut's dispatcher, a function of infra's module, which that process cannot import.
    # infra/ runs a chosen part of its tests: a mutant that survives runs every test selected,
    # each a whole deployment under mocks (about 1 s under mutmut), and all ~125 took 2 minutes
    # per survivor. The plan snapshots hold every input, dependency and option of every
    # resource; the rest are what they do not show: config errors, names across stacks, the
    # key's JWK, the program's helpers. The score is a floor: the tests left out can only kill
    # more.
    "infra": Part("infra", "", (
        *(f"tests/test_stack.py::{test}" for test in (
            "test_the_plan_changes_only_on_purpose",
            "test_a_missing_hook_secret_is_a_clear_config_error",
            "test_invalid_config_fails_before_anything_is_created",
            "test_a_hook_secret_stored_in_plain_text_is_refused",
            "test_combinations_cloud_run_accepts_pass",
            "test_min_instances_may_equal_max_instances",
            "test_one_request_at_a_time_may_use_a_fraction_of_a_cpu",
            "test_two_stacks_in_one_project_claim_no_name_in_common")),
        *(f"tests/test_stack_catch_up.py::{test}" for test in (
            "test_the_jwk_is_a_valid_rsa_public_key_matching_the_pem",
            "test_catch_up_config_errors_name_the_key",
            "test_the_okta_providers_environment_variables_give_the_org_too",
            "test_the_schedule_gaps_are_measured_over_a_whole_year",
            "test_the_limits_themselves_are_accepted")),
        *(f"tests/test_stack_record.py::{test}" for test in (
            "test_a_retention_outside_them_is_refused_before_anything_is_created",
            "test_the_dashboard_is_valid_for_the_monitoring_api",
            "test_every_chart_is_of_a_metric_the_stack_creates_or_one_of_cloud_run_s",
            "test_settings_keep_their_namespace_when_pulumi_new_renames_the_project")),
        "tests/test_infra_parts.py", "tests/test_function_build.py"), timeout_seconds=10,
        children=6, not_mutated=("__main__.py",), not_run=(
            "tests/test_infra_parts.py::"
            "test_the_provider_runs_after_pulumi_serializes_it_into_another_process",
            "tests/test_function_build.py::"
            "test_the_provider_builds_after_pulumi_serializes_it_into_another_process")),
    # The script and make tests run the project's own .venv, which has no mutmut to run mutants
    # with (and which the scratch tree does not have): they test the shell around the simulator.
    # The fake org and the Cloud Storage fidelity proxy are pinned by their own tests: the
    # catch-up's tests use them too, but each of them is a whole pass (some wait seconds by
    # design), and with them a mutant of the fake that survived cost a minute; 580 of them were
    # left after 35 minutes. A floor, as for infra/.
    "simulator": Part("tools", "okta_simulator/", (
        "tests/test_simulator.py", "tests/test_fake_org.py", "tests/test_storage_fidelity.py"),
        not_run=tuple(f"tests/test_simulator.py::{test}" for test in (
            "test_the_okta_sim_script_runs_from_the_repository_root",
            "test_make_smoke_reads_url_and_secret_from_pulumi",
            "test_make_smoke_without_the_pulumi_cli_says_what_to_do",
            "test_make_smoke_runs_the_catch_up_once_and_says_what_came_of_it"))),
}

# The scratch tree's own conftest: mutmut runs a mutant's tests in no set order and stops at the
# first failure, so the quick tests that catch most mutants go first: the stack's plan snapshots
# for infra/, the fake org's own tests for the simulator.
CONFTEST = """def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: ("test_the_plan_changes_only_on_purpose" not in item.nodeid,
                                 "test_fake_org.py" not in item.nodeid))
"""

SETUP_CFG = """[mutmut]
source_paths=src/{mutated}
{not_mutated}also_copy=
{also_copy}
    pytest.ini
    conftest.py
pytest_add_cli_args_test_selection=
{tests}
pytest_add_cli_args=
{pytest_args}
"""


def venv() -> Path:
    """The mutation tool's venv: the project's pinned packages and mutmut (made once, brought
    up to date when requirements.txt changes)."""
    python, stamp = VENV / "bin" / "python", VENV / ".installed"
    wanted = (REPO / "requirements.txt").read_text() + "\n".join(MUTMUT)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r", str(REPO / "requirements.txt"),
                        *MUTMUT], check=True)
        stamp.write_text(wanted)
    return VENV / "bin" / "mutmut"


def scratch_tree(part: Part) -> Path:
    """The repository's code and tests, with the part's folder renamed src/ (see the docstring)."""
    tree = WORK / part.folder
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv*")
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, tree / ("src" if folder == part.folder else folder),
                        ignore=ignore)
    (tree / part.folder).symlink_to("src")
    # mutmut copies what it is told to also copy as real folders: the part's own name must stay
    # a link to the mutated copy (the stack harness reads infra/ by path), so it is made here.
    (tree / "mutants").mkdir()
    (tree / "mutants" / part.folder).symlink_to("src")
    for name in ROOT_FILES:
        shutil.copy2(REPO / name, tree / name)
    (tree / "conftest.py").write_text(CONFTEST)
    ini = (REPO / "pytest.ini").read_text()
    on_path = " ".join("src" if f == part.folder else f for f in ("function", "tools"))
    (tree / "pytest.ini").write_text(ini.replace("pythonpath = function tools",
                                                 f"pythonpath = {on_path}"))

    def listed(lines) -> str:
        return "\n".join(f"    {line}" for line in lines)

    (tree / "setup.cfg").write_text(SETUP_CFG.format(
        mutated=part.mutated,
        not_mutated=("do_not_mutate=\n" + listed(f"src/{glob}" for glob in part.not_mutated)
                     + "\n") if part.not_mutated else "",
        also_copy=listed((["src/main.py", "src/requirements.txt"] if part.folder == "function"
                          else []) + [f for f in FOLDERS if f != part.folder]
                         + list(ROOT_FILES)),
        tests=listed(part.tests),
        pytest_args=listed([f"--timeout={part.timeout_seconds}", "--timeout-method=thread", *(
            arg for test in part.not_run for arg in ("--deselect", test))])))
    return tree


def results(mutmut: Path, tree: Path) -> dict:
    """Mutant name -> status (killed, survived, no tests, timeout...)."""
    done = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=tree,
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


def equivalent_mutants() -> set:
    names = (line.split("#")[0].strip() for line in EQUIVALENT.read_text().splitlines())
    return {name for name in names if name}


def mutate(name: str, mutmut: Path, resume: bool = False) -> None:
    tree = WORK / PARTS[name].folder if resume else scratch_tree(PARTS[name])
    # Bytecode cached: the stack harness imports infra/ afresh for each deployment, and a
    # mutated module (every mutant of every function in one file) took 0.9 s to compile each time.
    # mutmut switches mutants by an environment variable, so the files never change in a run.
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print(f"Mutating {name}/ in {tree.relative_to(REPO)}: mutmut's own progress line follows "
          "(mutants done, killed, survived); a whole part takes from minutes to hours.",
          flush=True)
    subprocess.run([str(mutmut), "run", "--max-children", str(PARTS[name].children)], cwd=tree,
                   check=True, env=environment)
    statuses = results(mutmut, tree)
    equivalent = equivalent_mutants()
    print(f"\n## {name}/\n\n" + report(statuses, equivalent))
    survivors = sorted(n for n, s in statuses.items()
                       if s not in ("killed", "timeout") and n not in equivalent)
    print(f"\n{len(survivors)} mutant(s) of {name} not killed:")
    for mutant in survivors:
        print(f"  {mutant}: {statuses[mutant]}")


def main(args: list[str]) -> int:
    resume = "--resume" in args
    names = [arg for arg in args if arg != "--resume"]
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        print(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}",
              file=sys.stderr)
        return 2
    mutmut = venv()
    for name in names or PARTS:
        try:
            mutate(name, mutmut, resume)
        except KeyboardInterrupt:
            print(f"\nStopped. What ran is kept: `tools/mutate.py --resume {name}` goes on.",
                  file=sys.stderr)
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
