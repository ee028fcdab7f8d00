"""Pickling a Pulumi dynamic provider so that it runs where infra/ cannot be imported."""

import contextlib
import inspect


@contextlib.contextmanager
def stored_by_value(cls):
    """While in the block, make dill store `cls` and its methods by value, code included.

    Pulumi pickles a dynamic provider with dill, which stores classes and functions of importable
    modules by reference; Pulumi's provider host cannot import infra/ (pulumi/pulumi#7453).
    What appears to come from __main__ and cannot be found there is stored by value, with the
    module-level constants its methods use. Only for the pickling: everywhere else the class
    keeps its real module (tracebacks, tests, tools). A provider so stored imports what it uses
    inside its methods, and calls only its own methods: a helper function of the module would
    still be stored by reference.
    """
    members = [cls, *(m for m in vars(cls).values() if inspect.isfunction(m))]
    modules = [member.__module__ for member in members]
    for member in members:
        member.__module__ = "__main__"
    try:
        yield
    finally:
        for member, module in zip(members, modules):
            member.__module__ = module
