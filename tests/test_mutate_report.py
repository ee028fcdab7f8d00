"""make mutate's report: the score per module from mutmut's statuses."""

from mutate import report


def test_the_score_counts_what_is_not_killed_against_the_code_and_sets_equivalents_aside():
    statuses = {
        "okta_hook.auth.x_is_authorized__mutmut_1": "killed",
        "okta_hook.auth.x_is_authorized__mutmut_2": "survived",
        "okta_hook.auth.x_is_authorized__mutmut_3": "survived",
        "okta_hook.logs.x_log__mutmut_1": "killed",
        "okta_hook.logs.x_log__mutmut_2": "no tests",
        "okta_hook.logs.x_log__mutmut_3": "timeout",
    }
    table = report(statuses, equivalent={"okta_hook.auth.x_is_authorized__mutmut_3"}).splitlines()
    assert table[2] == "| okta_hook.auth | 1 | 1 | 0 | 0 | 1 | 50.0% |"
    assert table[3] == "| okta_hook.logs | 1 | 0 | 1 | 1 | 0 | 66.7% |"  # a hang is detected
    assert table[4] == "| **all** | 2 | 1 | 1 | 1 | 1 | 60.0% |"


def test_every_test_a_part_selects_exists():
    """A renamed test must not drop out of a mutation run unnoticed."""
    from mutate import PARTS, REPO

    for part in PARTS.values():
        for selected in (*part.tests, *part.not_run):
            path, _, test = selected.partition("::")
            assert (REPO / path).is_file(), selected
            assert not test or f"def {test}(" in (REPO / path).read_text(), selected


def test_every_test_that_runs_the_project_s_venv_is_left_out_of_mutation_runs():
    """`make ...` and ./okta-sim run the project's own .venv, which the scratch tree lacks and
    which has no mutmut: such a test fails mutmut's first run of the whole selection, and with it
    the part's run (make smoke's catch-up test did)."""
    import ast

    from mutate import PARTS, REPO

    for part in PARTS.values():
        for selected in part.tests:
            path, _, only = selected.partition("::")
            tree = ast.parse((REPO / path).read_text())
            for test in (node for node in tree.body if isinstance(node, ast.FunctionDef)
                         and node.name.startswith(only or "test_")):
                commands = [call.args[0].elts[0].value for call in ast.walk(test)
                            if isinstance(call, ast.Call) and call.args
                            and isinstance(call.args[0], ast.List) and call.args[0].elts
                            and isinstance(call.args[0].elts[0], ast.Constant)]
                if {"make", "./okta-sim"} & set(commands):
                    assert f"{path}::{test.name}" in part.not_run, test.name
