"""``--tls-cert FILE --tls-key FILE``: the reference Metadata Service over HTTPS, with a CA the test
makes (``openssl``); a client trusting another CA fails closed; unusable files are one line and
exit 2."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kg_exporter.service.__main__ import main
from tests.sink.documents import workload_document
from tests.sink.servers import reference_service
from tests.support.processes import require_binary
from tests.support.tls import OPENSSL_HINT, Pki, make_pki, secret_lines

DOC = "/subgraph/c1:workload:deployment:default:web"
LD = {"Content-Type": "application/ld+json"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_args(cert: Path, key: Path) -> list[str]:
    return ["--tls-cert", str(cert), "--tls-key", str(key)]


def test_it_serves_https_with_the_certificate_and_a_client_of_another_ca_fails_closed(
    pki: Pki, tmp_path: Path
) -> None:
    log = tmp_path / "service.log"
    extra = tls_args(pki.server_cert, pki.server_key)
    with reference_service(tmp_path / "store", log=log, extra=extra) as server:
        assert server.url.startswith("https://127.0.0.1:"), server.url
        with httpx.Client(base_url=server.url, verify=pki.client_context(), timeout=10) as ok:
            put = ok.put(DOC, content=json.dumps(workload_document()), headers=LD)
            assert put.status_code == 201, put.text
            assert ok.get(DOC).json()["@graph"]
            assert ok.get("/healthz").json()["subgraphs"] == 1

        wrong = pki.client_context(pki.other_ca_cert)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.put(
                server.url + DOC,
                content=json.dumps(workload_document("other")),
                headers=LD,
                verify=wrong,
            )
        with pytest.raises(httpx.HTTPError):  # plain HTTP to the TLS port: no answer
            httpx.get(server.url.replace("https://", "http://") + "/healthz", timeout=5)

        with httpx.Client(base_url=server.url, verify=pki.client_context(), timeout=10) as ok:
            assert ok.get("/healthz").json()["subgraphs"] == 1, "nothing else was written"
            assert "other" not in ok.get(DOC).text
    text = log.read_text()
    assert not [line for key in pki.keys for line in secret_lines(key) if line in text]


@pytest.fixture
def encrypted_key(pki: Pki, tmp_path: Path) -> Path:
    openssl = require_binary("openssl", OPENSSL_HINT)
    path = tmp_path / "encrypted.key"
    encrypt = ["pkey", "-in", str(pki.server_key), "-aes256", "-passout", "pass:x"]
    subprocess.run(
        [openssl, *encrypt, "-out", str(path)],
        check=True,
        capture_output=True,
    )
    return path


BAD: dict[str, tuple[Callable[[Pki, Path], list[str]], str]] = {
    "missing cert": (
        lambda p, t: tls_args(t / "none.pem", p.server_key),
        "--tls-cert {t}/none.pem: cannot read it: No such file or directory",
    ),
    "missing key": (
        lambda p, t: tls_args(p.server_cert, t / "none.key"),
        "--tls-key {t}/none.key: cannot read it: No such file or directory",
    ),
    "a directory as cert": (
        lambda p, t: tls_args(t, p.server_key),
        "--tls-cert {t}: cannot read it: Is a directory",
    ),
    "not a certificate": (
        lambda p, t: tls_args(t / "garbage", p.server_key),
        "--tls-cert {t}/garbage: not a PEM certificate",
    ),
    "key given as cert": (
        lambda p, t: tls_args(p.server_key, p.server_key),
        "--tls-cert {server_key}: not a PEM certificate",
    ),
    "not a key": (
        lambda p, t: tls_args(p.server_cert, t / "garbage"),
        "--tls-key {t}/garbage: not an unencrypted PEM private key",
    ),
    "another key": (
        lambda p, t: tls_args(p.server_cert, p.other_ca_key),
        "--tls-key {other_ca_key}: is not the private key of --tls-cert {server_cert}",
    ),
    "encrypted key": (
        lambda p, t: tls_args(p.server_cert, t / "encrypted.key"),
        "--tls-key {t}/encrypted.key: not an unencrypted PEM private key",
    ),
    "cert without key": (
        lambda p, t: ["--tls-cert", str(p.server_cert)],
        "--tls-cert and --tls-key go together",
    ),
    "key without cert": (
        lambda p, t: ["--tls-key", str(p.server_key)],
        "--tls-cert and --tls-key go together",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_unusable_tls_files_are_one_line_and_exit_2(
    case: str,
    pki: Pki,
    tmp_path: Path,
    encrypted_key: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "garbage").write_text("-----BEGIN NOTHING-----\nbm90aGluZw==\n")
    args, expected = BAD[case]
    code = main(["--store", ":memory:", "--listen", "127.0.0.1:0", *args(pki, tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    want = expected.format(
        t=tmp_path,
        server_key=pki.server_key,
        server_cert=pki.server_cert,
        other_ca_key=pki.other_ca_key,
    )
    assert err == f"metadata-service: {want}\n"
    assert not [line for key in pki.keys for line in secret_lines(key) if line in err]


def test_the_help_explains_the_tls_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--tls-cert FILE" in out and "--tls-key FILE" in out
    assert "listening on https://" in out
