"""A mapping spec: which file holds which kind of table and which column carries which FHIR element.

Written in YAML (or JSON, which YAML reads too), checked with marshmallow; every error names the spec's
line and the field, e.g. ``korean.yaml line 31: tables[2].elements.rank.map: ...``. Every scalar is read
as text, so a department code `01` keeps its zero and `no` stays `no`.
"""

from __future__ import annotations

import codecs
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from mappers.tabular.kinds import KINDS

SPECS = Path(__file__).parent / "specs"


class SpecError(ValueError):
    """The spec cannot be used; ``problems`` holds one line per error, each with its spec line."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ElementSpec:
    line: int
    column: str | None = None
    value: str | None = None  # a constant instead of a column
    format: str | None = None  # strptime format of dates and times
    map: dict[str, str] | None = None  # source value -> FHIR code
    system: str | None = None  # code system, identifier namespace or unit system
    system_column: str | None = None  # a column naming each row's code system, read through `systems`
    systems: dict[str, str] | None = None  # that column's values -> code system URLs
    display: str | None = None  # the column holding a code's display text


@dataclass(frozen=True)
class TableSpec:
    line: int
    kind: str
    file: str
    key: tuple[str, ...]
    elements: dict[str, tuple[ElementSpec, ...]]
    encoding: str
    timezone: str
    delimiter: str | None


@dataclass(frozen=True)
class Spec:
    name: str
    source_system: str
    tables: tuple[TableSpec, ...]
    unknown_diagnosis_codes: str = "reject"
    description: str = ""
    path: Path | None = field(default=None, compare=False)


def load(path: Path) -> Spec:
    """Read and check a spec file; raise SpecError listing every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError([f"{path}: cannot read the spec: {error}"]) from None
    return parse(text, path)


def builtin(name: str) -> Path:
    """A spec shipped in ``specs/``, by name (``synthea-csv``, ``korean-hospital``)."""
    return SPECS / f"{name}.yaml"


def parse(text: str, path: Path) -> Spec:
    lines: dict[tuple, int] = {}
    try:
        document = _plain(yaml.compose(text, Loader=yaml.BaseLoader), (), lines)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError([f"{path.name}{where}: not valid YAML or JSON: {getattr(error, 'problem', error)}"]) from None
    except _DuplicateKey as error:
        raise SpecError([f"{path.name} line {error.line}: `{error.key}` appears twice"]) from None
    if not isinstance(document, dict):
        raise SpecError([f"{path.name}: a spec is a mapping with `name`, `source_system` and `tables`"])
    try:
        spec = _SpecSchema(lines=lines).load(document)
    except ValidationError as error:
        raise SpecError([_located(path.name, where, message, lines)
                         for where, message in _flatten(error.messages, ())]) from None
    return dataclasses.replace(spec, path=path)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        self.key, self.line = key, line


def _plain(node, path: tuple, lines: dict) -> object:
    """The node as str, list and dict, recording each value's line under its path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        found = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in found:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            found[key] = _plain(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1  # a nested block starts a line below its key
        return found
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, index), lines) for index, item in enumerate(node.value)]
    return node.value if node.value != "" or node.style else None  # an empty plain scalar is "not given"


def _flatten(messages, path: tuple):
    if isinstance(messages, dict):
        if len(path) >= 2 and path[-2] in ("map", "systems"):  # marshmallow's wrapper around a mapping's entry
            for part in messages.values():
                yield from _flatten(part, path)
            return
        for key, part in messages.items():
            yield from _flatten(part, path if key == "_schema" else (*path, key))
    elif isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        yield path, " ".join(messages)
    else:
        for part in messages:
            yield from _flatten(part, path)


def _located(file_name: str, where: tuple, message: str, lines: dict) -> str:
    prefix = where
    while prefix not in lines and prefix:
        prefix = prefix[:-1]
    dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in where).lstrip(".")
    return f"{file_name} line {lines.get(prefix, 1)}: {dotted or 'spec'}: {message}"


def _check_encoding(name: str) -> None:
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise ValidationError(f"`{name}` is not an encoding Python knows (utf-8, cp949, euc-kr, ...)") from None
    if "a,\n".encode(codec.name) != b"a,\n":
        raise ValidationError(f"`{name}` is not ASCII-compatible; export the file as UTF-8 or CP949")


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"`{name}` is not an IANA timezone such as Asia/Seoul or UTC") from None


class _ElementSchema(Schema):
    class Meta:
        unknown = RAISE

    column = fields.String()
    value = fields.String()
    format = fields.String(validate=validate.Regexp(r"%", error="a strptime format such as %Y%m%d"))
    map = fields.Dict(keys=fields.String(), values=fields.String())
    system = fields.String()
    system_column = fields.String()
    systems = fields.Dict(keys=fields.String(), values=fields.String())
    display = fields.String()

    @validates_schema
    def _column_or_value(self, data, **kwargs):
        if ("column" in data) == ("value" in data):
            raise ValidationError("give either `column` or `value` (a constant)")
        if ("system_column" in data) != ("systems" in data):
            raise ValidationError("`system_column` and `systems` go together: the column and what its values mean")
        if "system_column" in data and "system" in data:
            raise ValidationError("give either `system` or `system_column`")


class _Elements(fields.Field):
    """``element: COLUMN``, ``element: {column: ..., ...}`` or a list of those (several codings)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("a mapping of FHIR element -> column")
        found, errors = {}, {}
        for name, given in value.items():
            items = given if isinstance(given, list) else [given]
            for index, item in enumerate(items):
                try:
                    found.setdefault(name, []).append(_ElementSchema().load(
                        {"column": item} if isinstance(item, str) else item or {}))
                except ValidationError as error:
                    errors.setdefault(name, {}).update(
                        {index: error.messages} if isinstance(given, list) else error.messages)
        if errors:
            raise ValidationError(errors)
        return found


class _TableSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    file = fields.String(required=True)
    key = fields.Raw(required=True)
    encoding = fields.String(validate=_check_encoding)
    timezone = fields.String(validate=_check_timezone)
    delimiter = fields.String(validate=validate.Length(equal=1, error="one character, such as `,` or a tab"))
    elements = _Elements(required=True)

    @validates_schema
    def _fits_kind(self, data, **kwargs):
        kind = KINDS.get(data.get("kind"))
        key = data.get("key")
        if not (isinstance(key, str) or (isinstance(key, list) and key and all(isinstance(k, str) for k in key))):
            raise ValidationError({"key": ["a column name or a list of column names"]})
        if kind is None or "elements" not in data:
            return
        unknown = {name: [f"not an element of a `{kind.KIND}` table; those are {', '.join(kind.ELEMENTS)}"]
                   for name in data["elements"] if name not in kind.ELEMENTS}
        if unknown:
            raise ValidationError({"elements": unknown})
        missing = [name for name in kind.REQUIRED if name not in data["elements"]]
        if missing:
            raise ValidationError({"elements": [f"a `{kind.KIND}` table needs {', '.join(f'`{m}`' for m in missing)}"]})
        if kind.KIND in ("patients", "visits") and isinstance(key, list) and len(key) != 1:
            raise ValidationError({"key": [f"other tables refer to `{kind.KIND}` rows by one column: the key is "
                                           "one column"]})
        for name, specs in data["elements"].items():
            value_type = kind.ELEMENTS[name]
            if len(specs) > 1 and not value_type.coded:
                raise ValidationError({"elements": {name: ["only coded elements take several codings"]}})
            for spec in specs:
                if spec.get("format") and value_type.name not in ("date", "dateTime"):
                    raise ValidationError({"elements": {name: ["`format` is for dates and times"]}})
                if spec.get("map") and not (value_type.allowed or value_type.coded):
                    raise ValidationError({"elements": {name: ["`map` is for codes"]}})
                if spec.get("system_column") and not value_type.coded:
                    raise ValidationError({"elements": {name: ["`system_column` is for coded elements"]}})
                if value_type.allowed and spec.get("map"):
                    wrong = sorted(set(spec["map"].values()) - set(value_type.allowed))
                    if wrong:
                        raise ValidationError({"elements": {name: [f"`map` gives {', '.join(wrong)}; `{name}` takes "
                                                      f"{', '.join(value_type.allowed)}"]}})


class _SpecSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True)
    description = fields.String(load_default="")
    source_system = fields.String(required=True, validate=validate.Regexp(
        r"^(https?://[^\s/]+\S*|urn:[a-z0-9][a-z0-9-]*:\S+)$",
        error="an absolute URL or URN naming the hospital's system, e.g. http://hospital.example.kr"))
    encoding = fields.String(load_default="utf-8", validate=_check_encoding)
    timezone = fields.String(load_default="Asia/Seoul", validate=_check_timezone)
    delimiter = fields.String(validate=validate.Length(equal=1, error="one character, such as `,` or a tab"))
    unknown_diagnosis_codes = fields.String(load_default="reject", validate=validate.OneOf(["reject", "keep"]))
    tables = fields.List(fields.Nested(_TableSchema), required=True, validate=validate.Length(min=1))

    def __init__(self, *, lines: dict, **kwargs):
        super().__init__(**kwargs)
        self.lines = lines

    @post_load
    def _build(self, data, **kwargs):
        tables = tuple(TableSpec(
            line=self.lines.get(("tables", index), 0), kind=table["kind"], file=table["file"],
            key=tuple([table["key"]] if isinstance(table["key"], str) else table["key"]),
            elements=self._elements(index, table["elements"]), encoding=table.get("encoding", data["encoding"]),
            timezone=table.get("timezone", data["timezone"]), delimiter=table.get("delimiter", data.get("delimiter")),
        ) for index, table in enumerate(data["tables"]))
        return Spec(name=data["name"], source_system=data["source_system"], tables=tables,
                    unknown_diagnosis_codes=data["unknown_diagnosis_codes"], description=data["description"])

    def _elements(self, table: int, elements: dict[str, list[dict]]) -> dict[str, tuple[ElementSpec, ...]]:
        def line(name: str, index: int) -> int:
            where = ("tables", table, "elements", name)
            return self.lines.get((*where, index)) or self.lines.get(where, 0)

        return {name: tuple(ElementSpec(line=line(name, index), **spec) for index, spec in enumerate(specs))
                for name, specs in elements.items()}
