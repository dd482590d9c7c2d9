"""The production compose file matches the dev stack's pins and keeps every secret out of itself.

These checks read docker-compose.yml and the Dockerfile with PyYAML and plain text, and need no
tools. Validation by the Docker Compose CLI itself is a deployment check
(tests/deploy/test_compose_cli.py, `make compose-check`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement

from devstack.versions import ELASTICSEARCH_VERSION, TIKA_VERSION
from foi_core.settings import ENVIRONMENT_VARIABLES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"

DATA_SERVICES = ("elasticsearch", "tika", "redis", "postgres")
APP_SERVICES = ("web", "worker", "beat")
REQUIRED_SERVICES = {*DATA_SERVICES, "migrate", *APP_SERVICES}

# Variables the compose file sets that foi_core.settings does not read yet: SMB credentials for
# production shares (the settings only know the demo share's FOI_SAMBA_*). Remove a name here
# once Settings reads it.
SETTINGS_PENDING = {"FOI_SMB_USERNAME", "FOI_SMB_PASSWORD_FILE"}

EXPECTED_APP_ENV = {
    "FOI_DATABASE_URL": (
        "postgresql+psycopg://foi:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/foi"
    ),
    "FOI_ES_URL": "http://elastic:${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD}@elasticsearch:9200",
    "FOI_TIKA_URL": "http://tika:9998",
    "FOI_BROKER_URL": "redis://redis:6379/0",
    "FOI_REDIS_URL": "redis://redis:6379/1",
    "FOI_SECRET_KEY": "${FOI_SECRET_KEY:?set FOI_SECRET_KEY}",
    "FOI_STATE_DIR": "/var/lib/foi",
    "FOI_SECURE_COOKIES": "true",
}

# A value that is nothing but one compose interpolation, e.g. ${X}, ${X:?msg}, ${X:-default}.
_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[?-][^}]*)?\}$")
# The same inside a longer string, with `$$` (compose's escape, left for the container shell).
_EMBEDDED_REFERENCE = re.compile(r"\$?\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[?-][^}]*)?\}")
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|(?:^|_)KEY$", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s]+)@", re.IGNORECASE)
_CURL_CREDENTIALS = re.compile(r"(?:-u|--user)\s+[\"']?[^:\s\"']+:([^\s\"']+)")


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def load_pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _strings(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string scalar in a parsed YAML tree (mapping keys included) with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}"
            if isinstance(key, str):
                yield child, key
            yield from _strings(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {name: value for name, value in pairs}
    return {str(name): str(value) for name, value in env.items()}


def _literal_secret_variables(document: dict[str, Any]) -> Iterator[str]:
    """Secret-named environment variables set to a literal rather than a ${VAR} reference or a
    file under /run/secrets."""
    for name, service in document.get("services", {}).items():
        for var, value in _environment(service).items():
            if not _SECRET_NAME.search(var):
                continue
            if var.endswith("_FILE"):
                if not value.startswith("/run/secrets/"):
                    yield f"{name}.environment.{var} points outside /run/secrets"
            elif not _REFERENCE.match(value):
                yield f"{name}.environment.{var} is not a ${{VAR}} reference"


def _embedded_credentials(document: dict[str, Any]) -> Iterator[str]:
    """Strings anywhere in the file (URLs, curl commands) that carry a literal password."""
    for path, text in _strings(document):
        for pattern in (_URL_CREDENTIALS, _CURL_CREDENTIALS):
            for match in pattern.finditer(text):
                if _EMBEDDED_REFERENCE.fullmatch(match.group(1)) is None:
                    yield f"{path} embeds a literal credential"


def plaintext_secrets(document: dict[str, Any]) -> list[str]:
    """Places where a password or key is written into the file rather than referenced."""
    found = [*_literal_secret_variables(document), *_embedded_credentials(document)]
    for name, secret in (document.get("secrets") or {}).items():
        if set(secret) != {"file"}:
            found.append(f"secrets.{name} must come from a file and nothing else")
    return found


def unhealthchecked(document: dict[str, Any]) -> list[str]:
    """Long-running services (every one not marked restart: "no") with no working healthcheck."""
    missing = []
    for name, service in document["services"].items():
        if service.get("restart") == "no":
            continue
        check = service.get("healthcheck") or {}
        if check.get("disable") or not check.get("test") or check["test"] == ["NONE"]:
            missing.append(name)
    return missing


def published_ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, published port) for each port a service publishes; "" means all."""
    result = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            result.append((str(port.get("host_ip", "")), str(port.get("published", ""))))
        else:
            parts = str(port).rsplit(":", 2)
            host = parts[0] if len(parts) == 3 else ""
            result.append((host, parts[-2] if len(parts) > 1 else ""))
    return result


def major_versions_admitted(specifier: str, around: int) -> set[int]:
    """Which majors near `around` a requirement admits, probing each major's lowest and
    highest plausible releases."""
    spec = Requirement(specifier).specifier
    return {
        major
        for major in range(around - 2, around + 3)
        for probe in (f"{major}.0.0", f"{major}.19.0", f"{major}.999.999")
        if spec.contains(probe)
    }


def test_required_services_are_present() -> None:
    assert REQUIRED_SERVICES - set(load_compose()["services"]) == set()


def test_every_long_running_service_has_a_healthcheck() -> None:
    document = load_compose()
    assert unhealthchecked(document) == []
    assert document["services"]["migrate"]["restart"] == "no"


def test_healthcheck_detector_catches_a_missing_check() -> None:
    document = {"services": {"a": {"image": "x"}, "b": {"healthcheck": {"disable": True}}}}
    assert unhealthchecked(document) == ["a", "b"]


def test_elasticsearch_image_matches_dev_stack_pin() -> None:
    service = load_compose()["services"]["elasticsearch"]
    assert service["image"] == f"foi-discovery/elasticsearch:{ELASTICSEARCH_VERSION}"
    assert service["build"]["args"]["ES_VERSION"] == ELASTICSEARCH_VERSION
    dockerfile = (REPO / service["build"]["dockerfile"]).read_text()
    # Built FROM the official image at the same version, with our analysis plugin installed.
    assert f"ARG ES_VERSION={ELASTICSEARCH_VERSION}" in dockerfile
    assert "FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION}" in dockerfile
    assert "elasticsearch-plugin install" in dockerfile


def test_tika_image_matches_dev_stack_pin_and_has_ocr() -> None:
    image = load_compose()["services"]["tika"]["image"]
    # apache/tika tags are <tika version>.<image build>, and the -full flavour has Tesseract.
    match = re.fullmatch(r"apache/tika:(\d+\.\d+\.\d+)\.\d+-full", image)
    assert match is not None, image
    assert match.group(1) == TIKA_VERSION


def test_elasticsearch_client_major_equals_server_major() -> None:
    specs = [
        dep
        for dep in load_pyproject()["project"]["dependencies"]
        if Requirement(dep).name == "elasticsearch"
    ]
    assert len(specs) == 1, specs
    server_major = int(ELASTICSEARCH_VERSION.split(".")[0])
    assert major_versions_admitted(specs[0], server_major) == {server_major}


def test_client_major_check_rejects_an_unbounded_pin() -> None:
    assert major_versions_admitted("elasticsearch>=8.19", 8) == {8, 9, 10}
    assert major_versions_admitted("elasticsearch>=8.19,<9", 8) == {8}


def test_no_plaintext_secret_in_compose_file() -> None:
    assert plaintext_secrets(load_compose()) == []


def test_plaintext_detector_catches_literal_secrets() -> None:
    document = {
        "services": {
            "db": {"environment": {"POSTGRES_PASSWORD": "hunter2"}},
            "app": {
                "environment": ["FOI_DATABASE_URL=postgresql://foi:hunter2@db/foi"],
                "healthcheck": {"test": ["CMD-SHELL", "curl -u elastic:hunter2 http://es"]},
            },
        },
        "secrets": {"share": {"environment": "SHARE_PASSWORD"}},
    }
    assert len(plaintext_secrets(document)) == 4


def test_secrets_stay_out_of_the_build_context() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", "secrets/", ".foi/", ".git/"} <= set(ignored)


def test_only_web_publishes_a_port_and_only_on_loopback() -> None:
    services = load_compose()["services"]
    for name, service in services.items():
        if name != "web":
            assert published_ports(service) == [], name
    ports = published_ports(services["web"])
    assert ports
    assert all(host == "127.0.0.1" for host, _ in ports), ports


def test_port_parser_reads_short_syntax() -> None:
    assert published_ports({"ports": ["127.0.0.1:5000:5000", "8080:80", "9000"]}) == [
        ("127.0.0.1", "5000"),
        ("", "8080"),
        ("", ""),
    ]


def test_app_services_share_the_settings_and_wait_for_their_dependencies() -> None:
    services = load_compose()["services"]
    for name in ("migrate", *APP_SERVICES):
        env = _environment(services[name])
        assert {var: env.get(var) for var in EXPECTED_APP_ENV} == EXPECTED_APP_ENV, name
        unknown = {var for var in env if var.startswith("FOI_")} - set(ENVIRONMENT_VARIABLES)
        assert unknown <= SETTINGS_PENDING, name
    assert services["migrate"]["command"] == ["foi", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        for dependency in ("elasticsearch", "tika", "redis"):
            assert depends[dependency]["condition"] == "service_healthy", (name, dependency)


def test_dockerfile_copies_every_packaged_package() -> None:
    include = load_pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", dockerfile, re.MULTILINE))
    assert copied == packages
