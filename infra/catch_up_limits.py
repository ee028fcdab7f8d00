"""The catch-up's own limits (function/okta_hook/catch_up/limits.py), loaded by path: the stack
checks its config against the very numbers the deployed function enforces."""

import importlib.util

from function_source import FUNCTION_DIR

_spec = importlib.util.spec_from_file_location(
    "okta_catch_up_limits", FUNCTION_DIR / "okta_hook" / "catch_up" / "limits.py")
limits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(limits)
