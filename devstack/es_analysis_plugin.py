"""English analysis for the integ-test-zip Elasticsearch: the `foi-analysis` stable plugin.

The Maven Central integ-test-zip distribution has no analysis-common module, so no `english`
analyzer, `porter_stem` or `asciifolding`. The plugin in devstack/es_plugin/ adds them through
Elasticsearch's *stable* plugin API (`org.elasticsearch.plugin.analysis`):

* analyzers `foi_english` (standard tokenizer, English possessive, lowercase, ASCII folding,
  Porter stem; no stop words) and `foi_exact` (standard tokenizer, lowercase, ASCII folding);
* token filters `foi_porter_stem`, `foi_asciifolding` and `foi_english_possessive` for custom
  analyzers. Elasticsearch 8.19 refuses stable-API filters in keyword `normalizer`s (its wrapper
  is not a NormalizingTokenFilterFactory): "Custom normalizer [..] may not use filter [..]".

It is compiled with the distribution's own jars (lib/: the plugin APIs and Lucene), so it always
matches the Lucene the server runs, and packaged with zipfile: no Gradle, Maven or `jar` tool.
A stable plugin zip holds, at its root, the jar(s), `stable-plugin-descriptor.properties` (name,
description, version, java.version, elasticsearch.version and nothing else: `classname` and
`modulename` are refused for stable plugins) and `named_components.json` (extensible interface
FQCN -> {component name -> class FQCN}).

The installed descriptor's `version` carries a hash of the sources, descriptor and target
Elasticsearch, which is how `ensure_analysis_plugin` knows there is nothing to do.
Elasticsearch reads plugins only at start-up: restart it after a (re)install.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

PLUGIN_NAME = "foi-analysis"
PLUGIN_SOURCE_DIR = Path(__file__).resolve().parent / "es_plugin"

_PLUGIN_VERSION = "1.0.0"
# Bump when the way the plugin is built or packaged changes, to force a rebuild everywhere.
_BUILD_FORMAT = "1"
_JAVA_RELEASE = "17"
_DESCRIPTOR = "stable-plugin-descriptor.properties"
_NAMED_COMPONENTS = "named_components.json"
_JAR_NAME = f"{PLUGIN_NAME}.jar"
# Everything the sources import: the stable plugin APIs and the Lucene the server ships.
_COMPILE_JARS = (
    "elasticsearch-plugin-api",
    "elasticsearch-plugin-analysis-api",
    "lucene-core",
    "lucene-analysis-common",
)
_ES_JAR = re.compile(r"^elasticsearch-(\d+\.\d+\.\d+)\.jar$")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_COMPILE_TIMEOUT_S = 300
_INSTALL_TIMEOUT_S = 300


class AnalysisPluginError(RuntimeError):
    """Building or installing the analysis plugin failed; the message carries the tool's output."""


def ensure_analysis_plugin(
    es_home: Path, build_dir: Path, java_home: Path, *, config_dir: Path | None = None
) -> None:
    """Install the current `foi-analysis` plugin into `es_home` unless it is already there.

    Idempotent: does nothing when `es_home/plugins/foi-analysis` holds a build of the same
    sources for the same Elasticsearch. Otherwise compiles with `java_home`'s javac, packages
    into `build_dir`, replaces the installed copy via `bin/elasticsearch-plugin install` and makes
    it world-readable (Elasticsearch runs as the service account, this may run as root).
    `config_dir` is the ES_PATH_CONF the plugin CLI is given (default: `es_home/config`).
    Restart Elasticsearch afterwards: it only loads plugins when it starts.
    """
    es_home = es_home.resolve()
    build_dir = build_dir.resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    with _locked(build_dir / ".lock"):
        es_version = elasticsearch_version(es_home)
        classpath = _compile_classpath(es_home)
        version = f"{_PLUGIN_VERSION}+{build_hash(es_version, classpath)[:16]}"
        installed = es_home / "plugins" / PLUGIN_NAME
        if installed_version(es_home) == version and (installed / _JAR_NAME).is_file():
            return
        archive = _build(build_dir, es_version, version, classpath, java_home)
        _replace_installed(es_home, archive, java_home, config_dir or es_home / "config", build_dir)
        if installed_version(es_home) != version:
            raise AnalysisPluginError(
                f"{PLUGIN_NAME} install reported success but {installed} does not hold "
                f"version {version}"
            )


def installed_version(es_home: Path) -> str | None:
    """The `version` of the installed plugin's descriptor, or None when it is not installed."""
    descriptor = es_home / "plugins" / PLUGIN_NAME / _DESCRIPTOR
    try:
        text = descriptor.read_text(encoding="utf-8")
    except OSError:
        return None
    return _read_properties(text).get("version")


def elasticsearch_version(es_home: Path) -> str:
    """The server version, from the name of the distribution's `lib/elasticsearch-X.Y.Z.jar`."""
    lib = es_home / "lib"
    versions = sorted(
        match.group(1)
        for match in (_ES_JAR.match(jar.name) for jar in _glob(lib, "elasticsearch-*.jar"))
        if match
    )
    if len(versions) != 1:
        raise AnalysisPluginError(
            f"cannot tell the Elasticsearch version from {lib}: expected one "
            f"elasticsearch-X.Y.Z.jar, found {versions or 'none'}"
        )
    return versions[0]


def build_hash(es_version: str, classpath: list[Path]) -> str:
    """SHA-256 over the plugin sources, its metadata and what it is compiled against."""
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("format", _BUILD_FORMAT.encode())
    add("release", _JAVA_RELEASE.encode())
    add("elasticsearch", es_version.encode())
    for jar in classpath:
        add("classpath", jar.name.encode())
    for path in _plugin_inputs():
        add(path.relative_to(PLUGIN_SOURCE_DIR).as_posix(), path.read_bytes())
    return digest.hexdigest()


def _plugin_inputs() -> list[Path]:
    sources = sorted((PLUGIN_SOURCE_DIR / "src").rglob("*.java"))
    if not sources:
        raise AnalysisPluginError(f"no Java sources under {PLUGIN_SOURCE_DIR / 'src'}")
    metadata = [PLUGIN_SOURCE_DIR / _DESCRIPTOR, PLUGIN_SOURCE_DIR / _NAMED_COMPONENTS]
    for path in metadata:
        if not path.is_file():
            raise AnalysisPluginError(f"plugin file missing: {path}")
    return [*sources, *metadata]


def _glob(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern)) if folder.is_dir() else []


def _compile_classpath(es_home: Path) -> list[Path]:
    lib = es_home / "lib"
    jars: list[Path] = []
    for stem in _COMPILE_JARS:
        found = [
            jar
            for jar in _glob(lib, f"{stem}-*.jar")
            if re.fullmatch(re.escape(stem) + r"-\d[\w.\-]*\.jar", jar.name)
        ]
        if len(found) != 1:
            raise AnalysisPluginError(
                f"expected one {stem}-<version>.jar in {lib}, found {[j.name for j in found]}"
            )
        jars.append(found[0])
    return jars


def _read_properties(text: str) -> dict[str, str]:
    """Enough of java.util.Properties for our descriptor: `key=value` lines and comments."""
    props: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if sep:
            props[key.strip()] = value.strip()
    return props


def _descriptor(es_version: str, version: str) -> bytes:
    template = (PLUGIN_SOURCE_DIR / _DESCRIPTOR).read_text(encoding="utf-8")
    values = {
        "name": PLUGIN_NAME,
        "version": version,
        "javaVersion": _JAVA_RELEASE,
        "elasticsearchVersion": es_version,
    }
    text = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    leftover = re.findall(r"\$\{\w+\}", text)
    if leftover:
        raise AnalysisPluginError(f"unknown placeholders in {_DESCRIPTOR}: {leftover}")
    props = _read_properties(text)
    required = {"name", "description", "version", "java.version", "elasticsearch.version"}
    missing = sorted(required - props.keys())
    if missing:
        raise AnalysisPluginError(f"{_DESCRIPTOR} lacks {missing}")
    return text.encode("utf-8")


def _named_components(classes: Path) -> bytes:
    """named_components.json, checked against the compiled classes before it is packaged."""
    path = PLUGIN_SOURCE_DIR / _NAMED_COMPONENTS
    raw = path.read_bytes()
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AnalysisPluginError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not mapping:
        raise AnalysisPluginError(f"{path} must map interface names to components")
    for interface, components in mapping.items():
        if not isinstance(components, dict) or not components:
            raise AnalysisPluginError(f"{path}: {interface} must map names to classes")
        for name, class_name in components.items():
            class_file = classes / (str(class_name).replace(".", "/") + ".class")
            if not class_file.is_file():
                raise AnalysisPluginError(
                    f"{path}: component {name!r} names class {class_name}, which was not compiled"
                )
    return raw


def _run(command: list[str], env: Mapping[str, str], cwd: Path, timeout_s: int, what: str) -> str:
    try:
        result = subprocess.run(
            command,
            env=dict(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise AnalysisPluginError(f"{what}: cannot run {command[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise AnalysisPluginError(f"{what} timed out after {timeout_s}s") from exc
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise AnalysisPluginError(
            f"{what} failed (exit {result.returncode}):\n{output or '(no output)'}"
        )
    return output


def _java_env(java_home: Path, home: Path, config_dir: Path | None = None) -> dict[str, str]:
    env = {
        "PATH": f"{java_home / 'bin'}:/usr/bin:/bin",
        # ES_JAVA_HOME only: with JAVA_HOME set as well the ES scripts print a warning.
        "ES_JAVA_HOME": str(java_home),
        "HOME": os.environ.get("HOME", str(home)),
        "LANG": "C.UTF-8",
    }
    if config_dir is not None:
        env["ES_PATH_CONF"] = str(config_dir)
    return env


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    archive.writestr(info, data)


def _build(
    build_dir: Path, es_version: str, version: str, classpath: list[Path], java_home: Path
) -> Path:
    javac = java_home / "bin" / "javac"
    if not javac.is_file():
        raise AnalysisPluginError(
            f"no javac in {java_home}: the plugin is compiled at install time, install the JDK "
            f"(`apt-get install -y openjdk-{_JAVA_RELEASE}-jdk-headless`), not only the JRE"
        )
    classes = build_dir / "classes"
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    sources = sorted((PLUGIN_SOURCE_DIR / "src").rglob("*.java"))
    _run(
        [
            str(javac),
            "--release",
            _JAVA_RELEASE,
            "-encoding",
            "UTF-8",
            "-Xlint:all",
            "-cp",
            os.pathsep.join(str(jar) for jar in classpath),
            "-d",
            str(classes),
            *(str(source) for source in sources),
        ],
        _java_env(java_home, build_dir),
        build_dir,
        _COMPILE_TIMEOUT_S,
        f"compiling {PLUGIN_NAME} (javac)",
    )
    named_components = _named_components(classes)
    descriptor = _descriptor(es_version, version)

    jar = build_dir / _JAR_NAME
    with zipfile.ZipFile(jar, "w") as out:
        manifest = f"Manifest-Version: 1.0\r\nImplementation-Version: {version}\r\n\r\n"
        _zip_entry(out, "META-INF/MANIFEST.MF", manifest.encode())
        for class_file in sorted(classes.rglob("*.class")):
            _zip_entry(out, class_file.relative_to(classes).as_posix(), class_file.read_bytes())

    for stale in build_dir.glob(f"{PLUGIN_NAME}-*.zip"):
        stale.unlink()
    archive = build_dir / f"{PLUGIN_NAME}-{version.replace('+', '-')}.zip"
    with zipfile.ZipFile(archive, "w") as out:
        _zip_entry(out, _JAR_NAME, jar.read_bytes())
        _zip_entry(out, _DESCRIPTOR, descriptor)
        _zip_entry(out, _NAMED_COMPONENTS, named_components)
    return archive


def _replace_installed(
    es_home: Path, archive: Path, java_home: Path, config_dir: Path, build_dir: Path
) -> None:
    plugins = es_home / "plugins"
    plugins.mkdir(exist_ok=True)
    installed = plugins / PLUGIN_NAME
    # A half-finished `elasticsearch-plugin remove` leaves this marker; ES then refuses to start.
    shutil.rmtree(plugins / f".removing-{PLUGIN_NAME}", ignore_errors=True)
    previous = build_dir / "previous-install"
    shutil.rmtree(previous, ignore_errors=True)
    if installed.exists():
        shutil.move(installed, previous)
    try:
        _run(
            [str(es_home / "bin" / "elasticsearch-plugin"), "install", "--batch", archive.as_uri()],
            _java_env(java_home, build_dir, config_dir),
            build_dir,
            _INSTALL_TIMEOUT_S,
            f"installing {PLUGIN_NAME} (elasticsearch-plugin install)",
        )
    except AnalysisPluginError:
        # Leave Elasticsearch as it was rather than without the plugin.
        shutil.rmtree(installed, ignore_errors=True)
        if previous.exists():
            shutil.move(previous, installed)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    _make_world_readable(installed)
    plugins.chmod(plugins.stat().st_mode | 0o755)


def _make_world_readable(root: Path) -> None:
    """0755 folders, 0644 files: Elasticsearch runs as the service account, not the installer."""
    root.chmod(0o755)
    for folder, dirnames, filenames in os.walk(root):
        for name in dirnames:
            (Path(folder) / name).chmod(0o755)
        for name in filenames:
            (Path(folder) / name).chmod(0o644)


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """One build/install at a time per build folder (two `foi stack up`s may race)."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
