"""Graph presets (graphs/*.json): load, validate, migrate and save.

Loading never runs code: JSON only. Every problem is reported with where and what, all at once.
A preset with unknown node types still loads (their params are kept) but is not runnable. One whose links
cannot be held (a cycle, a port that is not there) is refused like malformed JSON: the editor could neither
draw nor run them.
"""
from __future__ import annotations

import codecs
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from app.file_kind import HEAD_BYTES, media_kind, not_a_preset
from app.runtime.errors import Problem, ProblemsError
from app.runtime.graph import Endpoint, Graph, Link, NodeSpec
from app.runtime.registry import Registry
from app.runtime.validate import check_params, link_problems, missing_types, validate_graph

FORMAT = "reenact-studio/graph"
FORMAT_VERSION = 1
MAX_PRESET_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32  # a preset nests about 5 levels; the margin is for plugins' params and unknown keys
_TOP_KEYS = ("format", "format_version", "meta", "nodes", "links", "ui")
_NODE_KEYS = ("id", "type", "type_version", "params", "bypassed")
_LINK_KEYS = ("from", "to")


@dataclass
class Preset:
    """A loaded preset: the runnable graph plus what only the file and the editor care about."""

    graph: Graph
    ui: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, kept for saving
    problems: list[Problem] = field(default_factory=list)
    missing_types: list[str] = field(default_factory=list)
    migrated_from: int | None = None

    @property
    def runnable(self) -> bool:
        return not self.problems


# --------------------------------------------------------------------------- migrations
def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """v0 (the first draft) wrote links as `edges: [{"from": "node.port", "to": "node.port"}]`
    and had no per-node type_version. What does not have that shape is passed on unchanged, for the
    checks of nodes and links to report."""
    doc = dict(doc)
    edges = doc.pop("edges", [])
    doc["links"] = [_v0_link(e) for e in edges] if isinstance(edges, list) else edges
    nodes = doc.get("nodes", [])
    if isinstance(nodes, list):
        doc["nodes"] = [{**n, "type_version": n.get("type_version", 1)} if isinstance(n, dict) else n for n in nodes]
    doc["format_version"] = 1
    return doc


def _v0_link(edge: Any) -> Any:
    ends = [edge.get(k) for k in _LINK_KEYS] if isinstance(edge, dict) else []
    if len(ends) == 2 and all(isinstance(e, str) and "." in e for e in ends):
        return {"from": ends[0].rsplit(".", 1), "to": ends[1].rsplit(".", 1)}
    return edge


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Run the chain of small migrations from the document's version up to FORMAT_VERSION."""
    version = doc["format_version"]
    while version < FORMAT_VERSION:
        doc = MIGRATIONS[version](doc)
        version = doc["format_version"]
    return doc


# --------------------------------------------------------------------------- loading
def load_preset(path: str | Path, registry: Registry) -> Preset:
    """Read and check a preset file. Raises ProblemsError when it cannot be read as a graph at all;
    otherwise returns a Preset whose `problems` list what keeps it from running."""
    path = Path(path)
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProblemsError(source, [Problem("", f"cannot read the file: {exc.strerror}")]) from None
    if path.exists() and not path.is_file() and not path.is_dir():  # /dev/zero never ends, a pipe blocks
        raise ProblemsError(source, [Problem("", "not a regular file (a device, a pipe or a socket): name a "
                                                 "preset file")])
    try:
        with path.open("rb") as file:  # what it is first: phone photos and clips are over the size limit
            kind = media_kind(file.read(HEAD_BYTES))
        if kind is not None:
            raise ProblemsError(source, [Problem("", not_a_preset(kind))])
        if size > MAX_PRESET_BYTES:
            raise ProblemsError(source, [Problem("", f"the file is {size:,} bytes, over the preset limit of "
                                                     f"{MAX_PRESET_BYTES:,}; is this really a preset?")])
        data = path.read_bytes()
    except OSError as exc:
        raise ProblemsError(source, [Problem("", f"cannot read the file: {exc.strerror}")]) from None
    return parse_preset(_preset_text(data, source), registry, base_dir=path.resolve().parent, source=source)


def _preset_text(data: bytes, source: str) -> str:
    """The text of a preset file: UTF-8, with or without the byte-order mark some editors write."""
    if not data.strip():
        raise ProblemsError(source, [Problem("", "the file is empty: a preset is a JSON file (e.g. "
                                                 "graphs/video_to_portrait.json)")])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ProblemsError(source, [Problem("", "saved as UTF-16 text: save it as UTF-8")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProblemsError(source, [Problem("", f"not UTF-8 text (byte {exc.start})")]) from None


def parse_preset(text: str, registry: Registry, base_dir: Path | None = None,
                 source: str = "<preset>") -> Preset:
    doc = _decode_json(text, source)
    problems = _check_envelope(doc)
    if problems:
        raise ProblemsError(source, problems)
    migrated_from = doc["format_version"] if doc["format_version"] < FORMAT_VERSION else None
    doc = migrate(doc)
    graph = Graph(meta=doc.get("meta", {}), base_dir=base_dir)
    problems += _read_nodes(doc.get("nodes"), graph, registry)
    problems += _read_links(doc.get("links"), graph)
    if problems:  # structural problems: the graph is incomplete, so only report those
        raise ProblemsError(source, problems)
    problems = validate_graph(graph, registry)
    broken = link_problems(graph, registry)
    if broken:  # said first: they are why the file is refused
        raise ProblemsError(source, broken + [p for p in problems if p not in broken])
    extra = {k: v for k, v in doc.items() if k not in _TOP_KEYS}
    ui = doc.get("ui", {})
    if not isinstance(ui, dict):
        problems.append(Problem("ui", "must be an object"))
        ui = {}
    return Preset(graph, ui, extra, problems, missing_types(graph, registry), migrated_from)


def _decode_json(text: str, source: str) -> Any:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not allowed in presets (use a finite number)")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate key(s) {', '.join(repr(d) for d in dupes)} in one object")
        return dict(pairs)

    try:
        doc = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ProblemsError(source, [Problem(f"line {exc.lineno}, column {exc.colno}",
                                             f"malformed JSON: {exc.msg}")]) from None
    except RecursionError:  # Python's decoder gives up long before MAX_DEPTH's check could run
        raise ProblemsError(source, [Problem("", f"values nested more than {MAX_DEPTH} levels deep")]) from None
    except ValueError as exc:
        raise ProblemsError(source, [Problem("", f"malformed preset: {exc}")]) from None
    if _depth(doc) > MAX_DEPTH:  # copying such a graph would exhaust Python's recursion limit later
        raise ProblemsError(source, [Problem("", f"values nested more than {MAX_DEPTH} levels deep")])
    return doc


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a decoded JSON value (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _check_envelope(doc: Any) -> list[Problem]:
    if not isinstance(doc, dict):
        return [Problem("", f"a preset is a JSON object, not {type(doc).__name__}")]
    if "format" not in doc:
        return [Problem("format", f"missing: not a Reenact Studio graph (a graph says \"format\": \"{FORMAT}\")")]
    if doc.get("format") != FORMAT:
        return [Problem("format", f"is {doc.get('format')!r}, expected {FORMAT!r}: not a Reenact Studio graph")]
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        return [Problem("format_version", f"{version!r} is not a version number")]
    if version > FORMAT_VERSION:
        return [Problem("format_version", f"{version} is newer than this Reenact Studio understands "
                                          f"({FORMAT_VERSION}); upgrade Reenact Studio to open it")]
    if "meta" in doc and not isinstance(doc["meta"], dict):
        return [Problem("meta", "must be an object")]
    return []


def _read_nodes(raw: Any, graph: Graph, registry: Registry) -> list[Problem]:
    if not isinstance(raw, list):
        return [Problem("nodes", "must be a list of nodes")]
    problems: list[Problem] = []
    for i, item in enumerate(raw):
        where = f"nodes[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(where, "must be an object"))
            continue
        node_id, node_type = item.get("id"), item.get("type")
        version, params = item.get("type_version", 1), item.get("params", {})
        bypassed = item.get("bypassed", False)
        checks = [(isinstance(node_id, str) and node_id.isprintable() and node_id != "", "id",
                   "must be a non-empty string of printable characters"),
                  (isinstance(node_type, str) and node_type != "", "type", "must be a non-empty string"),
                  (isinstance(version, int) and not isinstance(version, bool) and version >= 1,
                   "type_version", "must be a whole number from 1"),
                  (isinstance(params, dict), "params", "must be an object"),
                  (isinstance(bypassed, bool), "bypassed", "must be true or false")]
        bad = [Problem(f"{where}.{key}", message) for ok, key, message in checks if not ok]
        if not bad and node_id in graph.nodes:
            bad.append(Problem(f"{where}.id", f"duplicate node id '{node_id}'"))
        if bad:
            problems += bad
            continue
        spec = NodeSpec(node_id, node_type, version, dict(params), bypassed,
                        {k: v for k, v in item.items() if k not in _NODE_KEYS})
        _upgrade_and_coerce(spec, graph, registry, where)
        graph.add(spec)
    return problems


def _upgrade_and_coerce(spec: NodeSpec, graph: Graph, registry: Registry, where: str) -> None:
    """Migrate an older node type_version's params, and store valid values in canonical form."""
    node_class = registry.get(spec.type)
    if node_class is None:
        return
    schema = node_class.schema
    if spec.type_version < schema.type_version:
        spec.params = node_class.upgrade_params(spec.type_version, spec.params)
        spec.type_version = schema.type_version
    clean, _ = check_params(schema, spec.params, where, graph, check_paths=False)
    spec.params.update(clean)


def _read_links(raw: Any, graph: Graph) -> list[Problem]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [Problem("links", "must be a list of links")]
    problems: list[Problem] = []
    for i, item in enumerate(raw):
        ends = [item.get(k) for k in _LINK_KEYS] if isinstance(item, dict) else []
        if len(ends) != 2 or not all(isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)
                                     for e in ends):
            problems.append(Problem(f"links[{i}]", 'must be {"from": [node, port], "to": [node, port]}'))
            continue
        graph.links.append(Link(Endpoint(*ends[0]), Endpoint(*ends[1]),
                                {k: v for k, v in item.items() if k not in _LINK_KEYS}))
    return problems


# --------------------------------------------------------------------------- saving
def preset_document(preset: Preset) -> dict[str, Any]:
    graph = preset.graph
    nodes = []
    for spec in graph.nodes.values():
        node: dict[str, Any] = {"id": spec.id, "type": spec.type, "type_version": spec.type_version,
                                "params": spec.params}
        if spec.bypassed:
            node["bypassed"] = True
        nodes.append({**node, **spec.extra})
    links = [{"from": [l.source.node, l.source.port], "to": [l.target.node, l.target.port], **l.extra}
             for l in graph.links]
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": graph.meta, "nodes": nodes,
            "links": links, "ui": preset.ui, **preset.extra}


def dumps_preset(preset: Preset) -> str:
    return json.dumps(preset_document(preset), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _file_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def save_preset(preset: Preset, path: str | Path) -> None:
    """Write atomically: a crash mid-save never leaves a half-written preset behind. The file keeps the mode
    it had, and a new one gets what any new file gets (0666 less the umask), not the temporary file's 0600."""
    path = Path(path)
    text = dumps_preset(preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
