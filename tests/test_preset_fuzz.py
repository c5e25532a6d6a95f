"""Property-based fuzzing of preset loading: whatever the file holds, the answer is a preset or a list
of located problems, never a crash."""
from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from app.presets import dumps_preset, parse_preset
from app.runtime.errors import ProblemsError
from nodes import default_registry
from tests.conftest import REPO

REGISTRY = default_registry(plugins=False)
SHIPPED = [json.loads(p.read_text()) for p in sorted((REPO / "graphs").glob("*.json"))]

scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | \
    st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4) |
                           st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)


def load_or_problems(text: str) -> None:
    try:
        preset = parse_preset(text, REGISTRY, base_dir=REPO / "graphs")
    except ProblemsError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)
        return
    for problem in preset.problems:
        assert problem.what
    if not preset.missing_types:
        parse_preset(dumps_preset(preset), REGISTRY, base_dir=REPO / "graphs")  # what loads, saves


def paths(doc, prefix=()):
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, prefix + (index,))


@st.composite
def mutated_presets(draw):
    doc = copy.deepcopy(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(1, 4))):
        targets = [p for p in paths(doc) if p]
        path = draw(st.sampled_from(targets))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return json.dumps(doc, allow_nan=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values.map(lambda v: json.dumps(v, allow_nan=True)))
def test_any_json_document_loads_or_reports_problems(text):
    load_or_problems(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_presets())
def test_mutated_shipped_presets_load_or_report_problems(text):
    load_or_problems(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_cleanly(data):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # load_preset refuses non-UTF-8 before parsing (tested in test_presets)
    load_or_problems(text)
