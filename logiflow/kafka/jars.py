"""The official Apache Kafka jars, fetched from Maven Central by the pom beside this module.

``mvn dependency:copy-dependencies`` copies them into a cache outside git
(``LOGIFLOW_KAFKA_CACHE``/<version>/libs), once; later calls return the cached folder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

from logiflow.errors import BrokerError

POM = "pom.xml"


def kafka_version() -> str:
    """The Kafka version pinned in ``logiflow/kafka/pom.xml``."""
    pom = files("logiflow.kafka").joinpath(POM).read_text(encoding="utf-8")
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.fromstring(pom).find("m:properties/m:kafka.version", ns)
    if node is None or not node.text:
        raise BrokerError("logiflow/kafka/pom.xml does not pin kafka.version")
    return node.text.strip()


def fetch(libs: Path) -> Path:
    """Fetch the broker jars into ``libs`` once; later calls return it as is."""
    marker = libs / ".complete"
    if marker.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    pom = files("logiflow.kafka").joinpath(POM)
    with tempfile.TemporaryDirectory() as work:
        pom_copy = Path(work) / POM
        pom_copy.write_text(pom.read_text(encoding="utf-8"), encoding="utf-8")
        cmd = [mvn, "-q", "-B", "-f", str(pom_copy), "dependency:copy-dependencies",
               f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        tail = (result.stdout + result.stderr)[-2000:]
        raise BrokerError(f"Maven could not fetch Kafka {kafka_version()}:\n{tail}")
    (staging / ".complete").write_text(kafka_version())
    if libs.exists():  # a concurrent fetch won; keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    else:
        staging.rename(libs)
    return libs


def java_command(libs: Path, heap: str, log4j: Path, main: str, *args: str) -> list[str]:
    """The command line that runs ``main`` from the Kafka jars."""
    java = shutil.which("java")
    if java is None:
        raise BrokerError("java is not on PATH; Kafka needs Java 17 or newer")
    return [java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}", "-cp", str(libs / "*"), main, *args]
