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
