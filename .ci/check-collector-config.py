#!/usr/bin/env python3
"""Checks an OpenTelemetry Collector configuration without a Collector binary.

This is NOT `otelcol validate`: it does not build any component, so it cannot catch what only a
component's Go `Validate()` or start-up would (a bad endpoint, a missing credential, an invalid
enum value). It checks what can be read off upstream's own files, vendored unchanged under
tests/data/collector-schema/ (see the README there for their releases and commits):

1. each component's section against its `config.schema.yaml` (JSON Schema Draft 2020-12, which
   the schemas do not declare but are written for), with their `$ref`s resolved to the vendored
   files;
2. that every key exists in the schema: upstream's schemas say nothing of `additionalProperties`,
   so they allow unknown keys, and a typo such as `endpont` would pass step 1;
3. the structure `otelcol validate` checks: every component named in a pipeline or in
   `service.extensions` is defined; each component's type (before the `/`) is one vendored here;
   each pipeline's signal is supported by each of its receivers, processors and exporters (from
   the component's vendored `metadata.yaml`, `status.stability`); each pipeline has receivers and
   exporters; an `auth.authenticator` names an extension that is defined and enabled;
4. that every `${...}` is a well-formed `${env:NAME}` (or `${env:NAME:-default}`).

How upstream's schema dialect is read (mdatagen/schemagen, cmd/schemagen/README.md, v0.159.0):
- `$ref: name` is `$defs/name` in the same file; `$ref: /pkg/path.name` is `$defs/name` of
  pkg/path/config.schema.yaml in the same repository; `$ref: ./rel.name` is relative to the
  file's folder; `$ref: go.opentelemetry.io/collector/pkg.name` and
  `github.com/open-telemetry/opentelemetry-collector-contrib/pkg.name` name the repository.
  A `$ref` is inlined (as an `allOf` member, keeping its sibling keywords).
- `x-optional: true` marks a Go `configoptional.Optional[T]`: the key may also be left empty
  (`http:` with no value turns the protocol on with its defaults), so null is accepted too.
  `x-pointer: true` likewise accepts null.
- `x-customType` names the Go type; it is informational except that a `time.Duration`'s
  `format: duration` means a Go duration ("5s", "1m30s"), not JSON Schema's ISO 8601 one, so it
  becomes a pattern. A schema with only `x-customType: any` accepts anything.
- A string that is wholly `${env:...}` is not type-checked: the Collector types it from the
  variable's value when it runs.
Known gap: configopaque's `map_list` (e.g. `headers:`) is an array in the schema though the
Collector also reads a mapping; write it as a list of name/value pairs, or extend this script.

Usage: check-collector-config.py [CONFIG]   (default: deploy/otel-collector-google.yaml)
       check-collector-config.py --self-test
Exits 1 on any problem, after printing what it checked.
"""

from __future__ import annotations

import copy
import posixpath
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "tests" / "data" / "collector-schema"
DEFAULT_CONFIG = ROOT / "deploy" / "otel-collector-google.yaml"

CORE, CONTRIB = "opentelemetry-collector", "opentelemetry-collector-contrib"
GO_MODULES = {
    "go.opentelemetry.io/collector": CORE,
    "github.com/open-telemetry/opentelemetry-collector-contrib": CONTRIB,
}

# The vendored components: (repository, package folder, root `$defs` entry or None for the file's
# top level). Type names, class and signals come from each folder's metadata.yaml.
COMPONENTS = [
    (CORE, "receiver/otlpreceiver", None),
    (CORE, "processor/batchprocessor", None),
    (CORE, "exporter/otlphttpexporter", None),
    (CONTRIB, "processor/resourceprocessor", None),
    # The extension's own Config type; see the README for why not its top-level schema file.
    (CONTRIB, "extension/googleclientauthextension", "./internal/clientauth.config"),
]

SECTIONS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter",
            "extensions": "extension", "connectors": "connector"}
SIGNALS = ("traces", "metrics", "logs", "profiles")
# component.Type and component.ID's name, as in go.opentelemetry.io/collector/component (a name
# may hold `/`: Google's docs use `transform/otlp_grpc/preserve_...`; no spaces, controls, symbols).
TYPE_RE = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$")
NAME_RE = re.compile(r"^[^\s\x00-\x1f\x7f$+<=>^`|~]{1,1024}$")
GO_DURATION = r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$"
ENV_WHOLE = re.compile(r"^\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")


class Problems(list):
    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


# ---------------------------------------------------------------- schemas


class Schemas:
    """Loads the vendored files and inlines their `$ref`s into plain Draft 2020-12 schemas."""

    def __init__(self, base: Path = SCHEMAS):
        self.base = base
        self.files: dict[tuple[str, str], dict] = {}

    def file(self, repo: str, folder: str, name: str = "config.schema.yaml") -> dict:
        key = (repo, posixpath.join(folder, name))
        if key not in self.files:
            path = self.base / repo / folder / name
            if not path.is_file():
                raise LookupError(f"not vendored: {repo}/{folder}/{name}")
            self.files[key] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return self.files[key]

    def locate(self, ref: str, repo: str, folder: str) -> tuple[str, str, str]:
        """(repository, package folder, $defs name) that a `$ref` names, seen from a file."""
        if "/" not in ref:
            return repo, folder, ref
        package, _, name = ref.rpartition(".")
        for module, module_repo in GO_MODULES.items():
            if package.startswith(module + "/"):
                return module_repo, package[len(module) + 1:], name
        if package.startswith("./") or package.startswith("../"):
            return repo, posixpath.normpath(posixpath.join(folder, package)), name
        if package.startswith("/"):
            return repo, package[1:], name
        raise LookupError(f"unknown $ref form: {ref}")

    def compile(self, repo: str, folder: str, root_def: str | None) -> dict:
        if root_def is None:
            schema = self.file(repo, folder)
        else:
            repo, folder, name = self.locate(root_def, repo, folder)
            schema = self._def(repo, folder, name)
        return self._inline(schema, repo, folder, ())

    def _def(self, repo: str, folder: str, name: str) -> dict:
        defs = self.file(repo, folder).get("$defs", {})
        if name not in defs:
            raise LookupError(f"no $defs/{name} in {repo}/{folder}/config.schema.yaml")
        return defs[name]

    def _inline(self, node, repo: str, folder: str, stack: tuple):
        if isinstance(node, list):
            return [self._inline(item, repo, folder, stack) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$defs":
                continue  # everything used is inlined
            if key == "properties":
                out[key] = {k: self._inline(v, repo, folder, stack) for k, v in value.items()}
            elif key == "$ref":
                target = self.locate(value, repo, folder)
                if target in stack:  # a recursive type: stop, accept anything below
                    continue
                resolved = self._inline(self._def(*target), target[0], target[1],
                                        stack + (target,))
                out.setdefault("allOf", []).append(resolved)
            elif key == "allOf":
                out.setdefault("allOf", []).extend(self._inline(value, repo, folder, stack))
            else:
                out[key] = self._inline(value, repo, folder, stack)
        if out.get("x-customType") == "time.Duration" and out.get("format") == "duration":
            del out["format"]
            out["pattern"] = GO_DURATION
        if out.get("x-optional") is True or out.get("x-pointer") is True:
            out = {"anyOf": [{"type": "null"}, out]}
        return out


def object_keys(schema: dict) -> set[str] | None:
    """The keys an object schema knows, through allOf/anyOf; None when it takes any key."""
    if not isinstance(schema, dict):
        return None
    if "additionalProperties" in schema and schema["additionalProperties"] is not False:
        return None
    keys: set[str] = set(schema.get("properties", {}))
    parts = [p for p in schema.get("allOf", []) + schema.get("anyOf", [])
             if not (isinstance(p, dict) and p.get("type") == "null")]
    if not keys and not parts:
        return None  # no properties at all (e.g. `x-customType: any`): open
    for part in parts:
        more = object_keys(part)
        if more is None:
            return None
        keys |= more
    return keys


def subschemas(schema: dict, key: str) -> list[dict]:
    found = []
    if key in schema.get("properties", {}):
        found.append(schema["properties"][key])
    for part in schema.get("allOf", []) + schema.get("anyOf", []):
        if isinstance(part, dict):
            found.extend(subschemas(part, key))
    return found


def item_schemas(schema: dict) -> list[dict]:
    found = [schema["items"]] if isinstance(schema.get("items"), dict) else []
    for part in schema.get("allOf", []) + schema.get("anyOf", []):
        if isinstance(part, dict):
            found.extend(item_schemas(part))
    return found


def unknown_keys(value, schema: dict, where: str, problems: Problems) -> None:
    if isinstance(value, dict):
        known = object_keys(schema)
        for key, child in value.items():
            if known is not None and key not in known:
                hint = f" (known: {', '.join(sorted(known))})" if known else ""
                problems.add(where, f"unknown key {key!r}{hint}")
                continue
            for sub in subschemas(schema, key):
                unknown_keys(child, sub, f"{where}.{key}", problems)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for sub in item_schemas(schema):
                unknown_keys(child, sub, f"{where}[{index}]", problems)


# ---------------------------------------------------------------- components


def load_components(schemas: Schemas) -> dict[tuple[str, str], dict]:
    """(class, type) -> {signals, schema, source, deprecated}, from the vendored files."""
    table = {}
    for repo, folder, root_def in COMPONENTS:
        meta = schemas.file(repo, folder, "metadata.yaml")
        status = meta["status"]
        signals = sorted({s for group in status.get("stability", {}).values() for s in group})
        entry = {"signals": signals, "schema": schemas.compile(repo, folder, root_def),
                 "source": f"{repo}/{folder}"}
        table[(status["class"], meta["type"])] = dict(entry, deprecated=False)
        if meta.get("deprecated_type"):
            table[(status["class"], meta["deprecated_type"])] = dict(
                entry, deprecated=meta["type"])
    return table


def split_id(text, where: str, problems: Problems) -> tuple[str, str] | None:
    if not isinstance(text, str):
        problems.add(where, f"{text!r} is not a component id")
        return None
    kind, _, name = text.partition("/")
    if not TYPE_RE.match(kind):
        problems.add(where, f"{text!r}: {kind!r} is not a valid component type")
        return None
    if "/" in text and not NAME_RE.match(name):
        problems.add(where, f"{text!r}: {name!r} is not a valid component name")
        return None
    return kind, name


def check_env(node, where: str, problems: Problems, seen: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            check_env(value, f"{where}.{key}", problems, seen)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            check_env(value, f"{where}[{index}]", problems, seen)
    elif isinstance(node, str) and "$" in node:
        rest = node.replace("$$", "")  # `$$` is a literal dollar
        for match in re.finditer(r"\$\{([^}]*)\}", rest):
            body = match.group(1)
            env = re.fullmatch(r"env:([A-Za-z_][A-Za-z0-9_]*)(:-.*)?", body)
            if env:
                seen.add(env.group(1))
            else:
                problems.add(where, f"${{{body}}} is not ${{env:NAME}} (NAME: letters, digits, _)")
        leftover = re.sub(r"\$\{[^}]*\}", "", rest)
        if "$" in leftover:
            problems.add(where, f"{node!r}: a `$` that is neither ${{env:NAME}} nor `$$`")


def type_errors(value, schema: dict, where: str, problems: Problems) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(value):
        # A wholly `${env:...}` value is typed by the Collector from the variable at run time.
        if isinstance(error.instance, str) and ENV_WHOLE.match(error.instance):
            continue
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.add(where + path, error.message)


def check(config, components, log=print) -> Problems:
    problems = Problems()
    if not isinstance(config, dict):
        problems.add("config", "is not a mapping")
        return problems
    for key in config:
        if key not in SECTIONS and key != "service":
            problems.add(key, "unknown top-level section")

    env_seen: set[str] = set()
    check_env(config, "config", problems, env_seen)
    log(f"  ${{env:...}} references: {', '.join(sorted(env_seen)) or 'none'}")

    defined: dict[str, dict[str, tuple]] = {}
    for section, cls in SECTIONS.items():
        entries = config.get(section) or {}
        if not isinstance(entries, dict):
            problems.add(section, "is not a mapping")
            continue
        defined[section] = {}
        for cid, body in entries.items():
            where = f"{section}.{cid}"
            parts = split_id(cid, where, problems)
            if parts is None:
                continue
            found = components.get((cls, parts[0]))
            if found is None:
                known = sorted(t for c, t in components if c == cls)
                problems.add(where, f"unknown {cls} type {parts[0]!r} "
                             f"(vendored: {', '.join(known)})")
                continue
            defined[section][cid] = (parts[0], found)
            body = {} if body is None else body  # `batch:` alone means its defaults
            note = f", deprecated alias of {found['deprecated']}" if found["deprecated"] else ""
            log(f"  {where}: schema of {found['source']}{note}")
            before = len(problems)
            type_errors(body, found["schema"], where, problems)
            unknown_keys(body, found["schema"], where, problems)
            if len(problems) == before:
                log("    ok: types and keys")

    service = config.get("service") or {}
    if not isinstance(service, dict):
        problems.add("service", "is not a mapping")
        return problems
    for key in service:
        if key not in ("extensions", "pipelines", "telemetry"):
            problems.add(f"service.{key}", "unknown key")
    enabled = service.get("extensions") or []
    for cid in enabled:
        if cid not in defined.get("extensions", {}):
            problems.add("service.extensions", f"{cid!r} is not defined under extensions")
    if len(set(enabled)) != len(enabled):
        problems.add("service.extensions", "lists an extension twice")

    # An exporter's or receiver's authenticator must be an extension that runs.
    for section in ("receivers", "exporters"):
        for cid in defined.get(section, {}):
            body = (config[section] or {}).get(cid) or {}
            for path, auth in find_authenticators(body):
                where = f"{section}.{cid}{path}"
                if auth not in defined.get("extensions", {}):
                    problems.add(where, f"authenticator {auth!r} is not defined under extensions")
                elif auth not in enabled:
                    problems.add(where, f"authenticator {auth!r} is not in service.extensions")

    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.add("service.pipelines", "no pipeline")
    for pid, pipeline in pipelines.items():
        where = f"service.pipelines.{pid}"
        signal = pid.partition("/")[0]
        if signal not in SIGNALS:
            problems.add(where, f"unknown signal {signal!r} (one of {', '.join(SIGNALS[:3])})")
            continue
        if signal == "profiles":
            log(f"  note: {where}: profiles pipelines need the service.profilesSupport gate")
        pipeline = pipeline or {}
        for key in pipeline:
            if key not in ("receivers", "processors", "exporters"):
                problems.add(f"{where}.{key}", "unknown key")
        for role in ("receivers", "exporters"):
            if not pipeline.get(role):
                problems.add(where, f"has no {role}")
        for role in ("receivers", "processors", "exporters"):
            names = pipeline.get(role) or []
            if len(set(names)) != len(names):
                problems.add(f"{where}.{role}", "names a component twice")
            for cid in names:
                if cid not in defined.get(role, {}):
                    problems.add(f"{where}.{role}", f"{cid!r} is not defined under {role}")
                    continue
                found = defined[role][cid][1]
                if signal not in found["signals"]:
                    problems.add(f"{where}.{role}", f"{cid!r} does not support {signal} "
                                 f"(its metadata.yaml: {', '.join(found['signals'])})")
        roles = ("receivers", "processors", "exporters")
        chain = (", ".join(pipeline.get(role) or ["-"]) for role in roles)
        log(f"  {where}: {' -> '.join(chain)}")
    for section in ("receivers", "processors", "exporters"):
        used = {c for p in pipelines.values() for c in ((p or {}).get(section) or [])}
        for cid in defined.get(section, {}):
            if cid not in used:
                log(f"  note: {section}.{cid} is defined but in no pipeline (otelcol ignores it)")
    return problems


def find_authenticators(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "auth" and isinstance(value, dict) and "authenticator" in value:
                yield f"{path}.auth.authenticator", value["authenticator"]
            else:
                yield from find_authenticators(value, f"{path}.{key}")


# ---------------------------------------------------------------- entry points


def run(path: Path, components) -> int:
    print(f"Checking {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
          "(schemas: tests/data/collector-schema; this is not otelcol validate)")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        print(f"FAIL: not YAML: {error}")
        return 1
    problems = check(config, components)
    for problem in problems:
        print(f"FAIL: {problem}")
    print(f"{path.name}: {len(problems)} problem(s)")
    return 1 if problems else 0


def self_test(components) -> int:
    """The real file passes, and each broken variant of it is refused for the expected reason."""
    real = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))

    def variant(change):
        config = copy.deepcopy(real)
        change(config)
        return config

    def rename(mapping, old, new):
        mapping[new] = mapping.pop(old)

    cases = [
        ("misspelled key `endpont`", "unknown key 'endpont'",
         lambda c: rename(c["receivers"]["otlp"]["protocols"]["http"], "endpoint", "endpont")),
        ("misspelled exporter key `encodng`", "unknown key 'encodng'",
         lambda c: rename(c["exporters"]["otlp_http/google"], "encoding", "encodng")),
        ("pipeline names an undefined exporter", "'otlp_http/gogle' is not defined",
         lambda c: c["service"]["pipelines"]["metrics"].update(exporters=["otlp_http/gogle"])),
        ("unknown component type", "unknown processor type 'memory_limiter'",
         lambda c: c["processors"].update({"memory_limiter": {"check_interval": "1s"}})),
        # No vendored component is traces-only; batch and resource have no profiles support.
        ("profiles pipeline through batch", "'batch' does not support profiles",
         lambda c: c["service"]["pipelines"].update(
             {"profiles": {"receivers": ["otlp"], "processors": ["batch"],
                           "exporters": ["otlp_http/google"]}})),
        ("wrong type (a list for encoding)", "is not of type 'string'",
         lambda c: c["exporters"]["otlp_http/google"].update(encoding=["proto"])),
        ("Go duration that is not one", "does not match",
         lambda c: c["processors"].update(batch={"timeout": "5 seconds"})),
        ("unclosed ${env:", "a `$` that is neither",
         lambda c: c["processors"]["resource/gcp_project_id"]["attributes"][0].update(
             value="${env:GOOGLE_CLOUD_PROJECT")),
        ("${env} with a bad name", "is not ${env:NAME}",
         lambda c: c["processors"]["resource/gcp_project_id"]["attributes"][0].update(
             value="${env:GOOGLE-CLOUD-PROJECT}")),
        ("authenticator extension not enabled", "is not in service.extensions",
         lambda c: c["service"].update(extensions=[])),
        ("undefined extension enabled", "'health_check' is not defined",
         lambda c: c["service"]["extensions"].append("health_check")),
        ("pipeline without exporters", "has no exporters",
         lambda c: c["service"]["pipelines"]["logs"].update(exporters=[])),
    ]
    failures = 0
    quiet = lambda *_: None  # noqa: E731
    problems = check(real, components, log=quiet)
    print(f"{'ok  ' if not problems else 'FAIL'} the real file passes"
          + ("" if not problems else f": {problems}"))
    failures += bool(problems)
    for title, expected, change in cases:
        problems = check(variant(change), components, log=quiet)
        hit = [p for p in problems if expected in p]
        print(f"{'ok  ' if hit else 'FAIL'} refused: {title}"
              + (f" -> {hit[0]}" if hit else f": expected {expected!r}, got {list(problems)}"))
        failures += not hit
    print(f"self-test: {len(cases) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    components = load_components(Schemas())
    if argv == ["--self-test"]:
        return self_test(components)
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(__doc__.rsplit("Usage:", 1)[1].split("\n\n")[0], file=sys.stderr)
        return 2
    return run(Path(argv[0]).resolve() if argv else DEFAULT_CONFIG, components)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
