"""``joinedup new-adapter``: generate an adapter package that passes the conformance kit.

The package is written from the templates beside this module (``string.Template``
files, ``${name}`` placeholders): ``common/`` for every kind, then the kind's
folder. What it contains - the adapter, a fixture server or database to develop
against, its tests (the conformance kit) and the agency's policy field
catalogue - is described in ``docs/adapters.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from resolvers.sections import section_type_name

TEMPLATES = Path(__file__).resolve().parent
KINDS = ("rest", "fhir", "sql", "soap", "graphql")
AGENCY_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class ScaffoldError(ValueError):
    """The adapter cannot be generated as asked; the message says why."""


@dataclass(frozen=True)
class Scaffold:
    """The names one generated package uses, derived from the agency name."""

    agency: str
    kind: str

    @property
    def package(self) -> str:
        return f"{self.agency}_adapter"

    @property
    def type_prefix(self) -> str:
        return section_type_name(self.agency).removesuffix("Section")

    @property
    def substitutions(self) -> dict[str, str]:
        words = self.agency.split("_")
        initials = "".join(w[0] for w in words).upper()
        return {
            "agency": self.agency,
            "package": self.package,
            "distribution": f"joinedup-{self.agency.replace('_', '-')}-adapter",
            "class_name": f"{self.type_prefix}Adapter",
            "type_prefix": self.type_prefix,
            "title": " ".join(words).capitalize() + " service",
            "scheme": f"{self.agency.upper()}_REF",
            "ref_prefix": (initials + "X")[:2] if len(initials) < 2 else initials[:3],
        }


def generate(agency: str, kind: str, out: Path) -> Path:
    """Write the package for ``agency`` into ``out/<agency>_adapter``; return that folder."""
    if not AGENCY_NAME.match(agency):
        raise ScaffoldError(
            f"agency name {agency!r} must be lower_snake_case, e.g. youth_justice "
            "(it becomes the GraphQL field Person.<name> and the policy folder name)"
        )
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    scaffold = Scaffold(agency, kind)
    target = out / scaffold.package
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another --out or remove it")
    values = scaffold.substitutions
    rendered: dict[Path, str] = {}  # all of it first: a template error writes nothing
    for source in (TEMPLATES / "common", TEMPLATES / kind):
        for template in sorted(source.rglob("*.tmpl")):
            relative = template.relative_to(source).with_suffix("")  # drop .tmpl
            parts = [scaffold.package if part == "package" else part for part in relative.parts]
            rendered[target.joinpath(*parts)] = Template(template.read_text()).substitute(values)
    for destination, text in rendered.items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text)
    return target


_DISPLAY = {
    "rest": "REST/JSON",
    "sql": "SQL",
    "graphql": "GraphQL",
    "fhir": "FHIR R4",
    "soap": "SOAP 1.1",
}


def next_steps(agency: str, kind: str, target: Path) -> str:
    """What to do after generating: printed by ``joinedup new-adapter``."""
    package = Scaffold(agency, kind).package
    if kind == "sql":
        develop = "the fixture database (fixture.py)"
        run = f"python -m {package}.fixture {agency}.sqlite   (or the real database)"
        endpoint = f"/path/to/{agency}.sqlite"
    else:
        develop = "the fixture server (simulator.py)"
        run = f"python -m {package}.simulator --port 9100 &   (or the real system)"
        endpoint = "http://127.0.0.1:9100"
    upstream = f"""{run} and add to
     gateway.toml:
       [agencies.{agency}]
       endpoint = {json.dumps(endpoint)}"""
    return f"""Created {target} (a {_DISPLAY[kind]} adapter for agency '{agency}').

Next steps:
  1. cd {target} && pip install -e .
       registers the adapter as the '{agency}' entry point of joinedup.adapters
  2. pytest
       the conformance kit and the adapter's own tests, against {develop}
  3. Edit {package}/adapter.py (SECTION and how it reads the upstream) and
     {develop} until they match the real system; keep pytest green.
  4. cp policy/data.json <joinedup>/policies/agencies/{agency}/data.json
       then grant its fields to roles and purposes (the 'agreements'); fields with no
       catalogue entry are always denied. Check with: joinedup policy check --config gateway.toml
  5. {upstream}
  6. joinedup serve --config gateway.toml, then query:
       {{ person(reference: {{scheme: "NI_NUMBER", value: "..."}}) {{
           {agency} {{ name orders {{ orderType }} }} }} }}

See docs/adapters.md for the whole tutorial."""
