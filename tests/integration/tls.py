"""Keys and certificates for the secured-broker tests, made with openssl into a test folder.

A CA, a broker certificate it signs (for 127.0.0.1, as a SAN IP), the broker's PKCS12
keystore, and a second CA that signed nothing, to play the untrusted one.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    other_ca_cert: Path
    keystore: Path
    keystore_password: str


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


def _ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(cert), cwd=folder)
    return key, cert


def make_pki(folder: Path, keystore_password: str = "keystore-pass") -> Pki:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca(folder, "logiflow-test-ca")
    _other_key, other_cert = _ca(folder, "some-other-ca")
    key, csr, cert = folder / "broker.key", folder / "broker.csr", folder / "broker.pem"
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(key), "-out", str(csr), cwd=folder)
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert), cwd=folder)
    keystore = folder / "broker.p12"
    _openssl("pkcs12", "-export", "-in", str(cert), "-inkey", str(key), "-certfile", str(ca_cert),
             "-name", "broker", "-out", str(keystore), "-passout", f"pass:{keystore_password}", cwd=folder)
    return Pki(ca_cert, other_cert, keystore, keystore_password)
