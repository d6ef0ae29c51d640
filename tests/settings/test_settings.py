"""Settings: file, environment (which wins), and one clear error naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg_exporter.errors import SettingsError
from kg_exporter.settings import Settings, load_settings


def test_defaults_document_every_field() -> None:
    def walk(model: type) -> list[str]:
        missing = []
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            if not field.description:
                missing.append(name)
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                missing += [f"{name}.{sub}" for sub in walk(annotation)]
        return missing

    assert walk(Settings) == []


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("cluster_id: from-file\nlabels: {pod: pod_name}\nnamespaces: [a, b]\n")
    settings = load_settings(config)
    assert (settings.cluster_id, settings.labels.pod, settings.namespaces) == (
        "from-file",
        "pod_name",
        ("a", "b"),
    )
    monkeypatch.setenv("KG_EXPORTER_CLUSTER_ID", "from-env")
    monkeypatch.setenv("KG_EXPORTER_LABELS__NAMESPACE", "exported_namespace")
    settings = load_settings(config)
    assert settings.cluster_id == "from-env"
    assert settings.labels.namespace == "exported_namespace"
    assert settings.labels.pod == "pod_name"  # the file's nested value survives a sibling override


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("labels: {pod: 'a b'}", "labels.pod"),
        ("prometheus_url: not-a-url", "prometheus_url"),
        ("cluster_id: 'has/slash'", "cluster_id"),
        ("iri_base: 'https://x.example/no-slash'", "iri_base"),
        ("rate_window: 5 minutes", "rate_window"),
        ("sink: {kind: ftp}", "sink.kind"),
        ("sink: {timeout_seconds: -1}", "sink.timeout_seconds"),
        ("daemon: {rejected_retry_max_seconds: 0}", "daemon.rejected_retry_max_seconds"),
        ("template_dir: /does/not/exist", "template_dir"),
        ("no_such_setting: 1", "no_such_setting"),
    ],
)
def test_wrong_values_name_the_field(tmp_path: Path, yaml_text: str, field: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text + "\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert message.startswith(f"setting '{field}' (from {config})"), message
    assert "Traceback" not in message


def test_environment_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_EXPORTER_SINK__TIMEOUT_SECONDS", "soon")
    with pytest.raises(
        SettingsError, match=r"environment variable KG_EXPORTER_SINK__TIMEOUT_SECONDS"
    ):
        load_settings()


@pytest.mark.parametrize(
    ("content", "expected"),
    [("a: [unclosed\n", "is not valid YAML"), ("- just\n- a list\n", "must hold a mapping")],
)
def test_unreadable_config_files(tmp_path: Path, content: str, expected: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=expected):
        load_settings(config)
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(tmp_path / "missing.yaml")
