"""The code stays easy to pick up: short modules, short functions, few parameters.

Limits (issue 23): no module over 500 lines; no function over 40 lines (``__init__`` aside);
no function in ``search/`` over 5 parameters (``self``/``cls`` not counted, ``*args`` and
``**kwargs`` counted once each). One case per module, so a failure names the file.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(p for package in ("search", "estimators") for p in (REPO / package).rglob("*.py"))
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_PARAMETERS = 500, 40, 5


def functions(tree):
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def parameters(function):
    args = function.args
    named = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs if a.arg not in ("self", "cls")]
    return named + [a.arg for a in (args.vararg, args.kwarg) if a is not None]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_module_is_short_with_short_functions_of_few_parameters(path):
    text = path.read_text()
    problems = []
    if len(text.splitlines()) > MAX_MODULE_LINES:
        problems.append(f"{len(text.splitlines())} lines (at most {MAX_MODULE_LINES})")
    for function in functions(ast.parse(text)):
        length = function.end_lineno - function.lineno + 1
        if length > MAX_FUNCTION_LINES and function.name != "__init__":
            problems.append(f"{function.name} (line {function.lineno}) is {length} lines")
        if path.parts[len(REPO.parts)] == "search" and len(parameters(function)) > MAX_PARAMETERS:
            problems.append(f"{function.name} (line {function.lineno}) takes {len(parameters(function))} parameters")
    assert not problems, "; ".join(problems)


def test_the_checks_can_fail():
    tree = ast.parse("def f(a, b, c, d, e, *f, **g):\n" + "    x = 1\n" * 45)
    (function,) = functions(tree)
    assert len(parameters(function)) == 7 and function.end_lineno - function.lineno + 1 == 46
