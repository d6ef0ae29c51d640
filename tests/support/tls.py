"""A throw-away PKI made with the ``openssl`` command line: a CA, a server certificate for
``IP:127.0.0.1`` signed by it, and a second CA that has nothing to do with either.

Skips without ``openssl`` (fails under ``CI=true``, see :func:`require_binary`). Keys are P-256,
unencrypted, valid for two days.
"""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import require_binary

OPENSSL_HINT = "apt-get install openssl"

# Our own configuration, so the system's openssl.cnf adds nothing. The leaf has the extensions a
# strict verifier wants (SAN, AKI, serverAuth); the CAs are marked as such.
_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = kg-exporter test
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    other_ca_cert: Path
    other_ca_key: Path

    @property
    def keys(self) -> list[Path]:
        return [self.ca_key, self.server_key, self.other_ca_key]

    def client_context(self, ca: Path | None = None) -> ssl.SSLContext:
        """What a client trusting only ``ca`` (default: our CA) verifies the server with."""
        return ssl.create_default_context(cafile=str(ca or self.ca_cert))


def make_pki(directory: Path) -> Pki:
    openssl = require_binary("openssl", OPENSSL_HINT)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "openssl.cnf"
    config.write_text(_CONFIG)

    def run(*args: str) -> None:
        done = subprocess.run(
            [openssl, *args], cwd=directory, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"openssl {' '.join(args)}:\n{done.stderr}"

    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name in ("ca", "other-ca"):
        run(
            "req", "-x509", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "2", "-config", "openssl.cnf", "-extensions", "ca",
            "-subj", f"/CN=kg-exporter test {name}",
        )  # fmt: skip
    run(
        "req", "-new", *new_key, "-keyout", "server.key", "-out", "server.csr",
        "-config", "openssl.cnf", "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    run(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem",
        "-extfile", "openssl.cnf", "-extensions", "server",
    )  # fmt: skip
    return Pki(
        ca_cert=directory / "ca.pem",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        other_ca_cert=directory / "other-ca.pem",
        other_ca_key=directory / "other-ca.key",
    )


def secret_lines(path: Path) -> list[str]:
    """The base64 lines of a PEM private key: none may ever appear in a log or a document."""
    return [
        line
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("-----")
    ]
