"""The bench's verdicts (its ratios and "met" flags) and the targets docs/developing.md states,
which are its own."""

import importlib.util
import re
from argparse import Namespace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

ARGS = Namespace(rounds=5, seconds=5, cold_rounds=9, batch_rounds=15)


def figures(rps: float, p99: float, cpu_us: float) -> dict:
    return {"rps": rps, "p50": p99 / 2, "p99": p99, "cpu_us": cpu_us}


def measured(receiver_rps=10_000.0, receiver_p99=3.0, cold=200.0, batch_ms=16.0) -> tuple:
    load = {bench.RECEIVER: figures(receiver_rps, receiver_p99, 100),
            bench.STOCK: figures(8_000, 3.5, 130),
            bench.OWN_EMPTY: figures(22_000, 1.5, 45),
            bench.YARDSTICK: figures(14_000, 2.5, 70)}
    return load, {bench.RECEIVER: cold, bench.STOCK: 220.0}, {bench.RECEIVER: batch_ms,
                                                                bench.STOCK: 1.5}


def target_rows(table: str) -> dict:
    rows = re.findall(r"^\| (receiver / [^|]+|batch of 1,000 events, ms) \| ([\d.]+) \| "
                      r"([<>]=) ([\d.]+) \| (yes|NO) \|$", table, re.M)
    return {label: (float(value), sign, float(goal), met) for label, value, sign, goal, met in rows}


def test_the_ratios_are_the_receiver_over_its_comparison():
    table, all_met = bench.report(*measured(), ARGS)
    assert target_rows(table) == {
        "receiver / stock empty function, requests/s": (1.25, ">=", 1.25, "yes"),
        "receiver / yardstick on its stack, requests/s": (0.71, ">=", 0.67, "yes"),
        "receiver / yardstick on its stack, p99": (1.2, "<=", 1.6, "yes"),
        "receiver / stock empty function, cold start": (0.91, "<=", 1.1, "yes"),
        "batch of 1,000 events, ms": (16.0, "<=", 25.0, "yes"),
    }
    assert all_met
    assert ("Server CPU per request, receiver / empty ASGI, stock functions-framework: 0.77; "
            "receiver / read + json.loads, receiver's stack: 1.43.") in table


@pytest.mark.parametrize("change, missed", [
    ({"receiver_rps": 9_600}, "receiver / stock empty function, requests/s"),  # 1.2 < 1.25
    ({"receiver_p99": 4.5}, "receiver / yardstick on its stack, p99"),  # 1.8 > 1.6
    ({"cold": 250.0}, "receiver / stock empty function, cold start"),  # 1.14 > 1.1
    ({"batch_ms": 25.5}, "batch of 1,000 events, ms"),
])
def test_a_missed_target_says_no_and_the_run_is_not_all_met(change, missed):
    table, all_met = bench.report(*measured(**change), ARGS)
    assert not all_met
    assert [label for label, row in target_rows(table).items() if row[3] == "NO"] == [missed]


def test_a_goal_met_exactly_is_met():
    table, all_met = bench.report(*measured(batch_ms=25.0), ARGS)
    assert target_rows(table)["batch of 1,000 events, ms"][3] == "yes" and all_met


def test_the_readme_states_the_bench_s_own_goals():
    readme = (ROOT / "docs" / "developing.md").read_text()
    section = readme[readme.index("## Performance"):readme.index("**Robustness**")]
    for label, _, goal, higher_is_better in bench.GOALS:
        stated = re.search(rf"^\| {re.escape(label)}[^|]*\| [^|]+ \| "
                           rf"([<>]=) ([\d.]+)", section, re.M)
        assert stated, f"docs/developing.md has no target row for {label!r}"
        assert stated.groups() == (">=" if higher_is_better else "<=", f"{goal:g}"), label
