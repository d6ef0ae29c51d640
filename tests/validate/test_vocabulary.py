"""Every term the rendered documents use is declared: kgx: terms in ontology/kgx.ttl (with a label
and a comment), glc:/k8s: terms in the GLACIATION reference model, and all of them in the docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from kg_exporter.kinds.registry import BUNDLED
from kg_exporter.render.renderer import Renderer
from kg_exporter.resources import context, ontology_dir, templates_dir
from kg_exporter.validate import to_graph
from tests.validate.objects import render_all

ROOT = Path(__file__).resolve().parents[2]
KGX = "https://w3id.org/kg-exporter/vocab#"
GLC = "https://glaciation-project.eu/MetadataReferenceModel#"
K8S = "https://glaciation-project.eu/MetadataReferenceModel/kubernetes#"
DCAT = "http://www.w3.org/ns/dcat#"
QUDT = "http://qudt.org/schema/qudt/"

#: Every term the GLACIATION Metadata Reference Model 1.1.0 (glc-mrm-1.1.0.ttl) declares, as read
#: from the reference files; the project may not read them at test time.
REFERENCE_GLC = frozenset(
    """
    AggregatedMeasurement Aspect AssignedTask Class Constraint ElectricalGrid
    EnergyPowerGenerationResource EnergyResource HardConstraint Measurement MeasurementProperty
    MeasurementUnit MeasuringResource Monitor NonWorkProducingResource Resource Scheduler Site
    SoftConstraint SoftConstraintComposition Status SubmittedTask Task WorkProducingResource
    assigns composedBy consumes consumesEnergyFrom endTime endingInterval hasAggregatedFuntion
    hasAspect hasComposition hasConfiguration hasConstraint hasDescription hasID
    hasResourceMeasurement hasStatus hasSubResource hasTaskMeasurement hasTaskPredictedMeasurement
    hasTaskRealizedMeasurement hasTimestamp hasValue isLocatedIn makesMeasurement manages measuredIn
    monitors produces relatesToConstraint relatesToMeasurementProperty reschedules scheduledBy
    startTime startingInterval statusCode timeStepResolution triggersReschedule
    """.split()
)
#: Every term of its Kubernetes extension (glc-mrm-kubernetes.ttl).
REFERENCE_K8S = frozenset(
    """
    CPU Cluster Container DaemonSetWorkload DeploymentWorkload GPU JobWorkload Network Node POD RAM
    StatefulSetWorkload Storage Workload
    hasArchitecture hasContainerImage hasHostName hasNetworkIP hasPort hasSoftwareVersion
    """.split()
)
#: The DCAT 3 and QUDT terms we rely on (checked by hand against the W3C and QUDT vocabularies).
KNOWN_DCAT = frozenset(
    "Catalog Dataset DataService dataset endpointURL landingPage servesDataset".split()
)
KNOWN_QUDT = frozenset("QuantityValue numericValue unit".split())


@pytest.fixture(scope="module")
def vocabulary() -> rdflib.Graph:
    return rdflib.Graph().parse(ontology_dir() / "kgx.ttl", format="turtle")


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(ontology_dir() / "shapes.ttl", format="turtle")


@pytest.fixture
def used(renderer: Renderer) -> set[str]:
    """Predicates and classes of every document rendered from the representative objects."""
    terms: set[str] = set()
    for subgraph in render_all(renderer):
        graph = to_graph(subgraph.document)
        terms |= {str(p) for p in graph.predicates()}
        terms |= {str(o) for o in graph.objects(None, RDF.type)}
    return terms


def _local(terms: set[str], namespace: str) -> set[str]:
    return {t[len(namespace) :] for t in terms if t.startswith(namespace) and t != namespace}


def test_every_kgx_term_used_is_declared_with_label_and_comment(
    used: set[str], vocabulary: rdflib.Graph
) -> None:
    kgx = _local(used, KGX)
    declared = _local({str(s) for s in vocabulary.subjects(RDF.type, None)}, KGX)
    assert kgx == declared, "the representative objects exercise the whole vocabulary"
    for name in sorted(kgx):
        term = rdflib.URIRef(KGX + name)
        assert (term, RDF.type, None) in vocabulary, f"kgx:{name} is not declared"
        assert vocabulary.value(term, RDFS.label), f"kgx:{name} has no rdfs:label"
        assert vocabulary.value(term, RDFS.comment), f"kgx:{name} has no rdfs:comment"


def test_every_glaciation_term_used_exists_in_the_reference_model(used: set[str]) -> None:
    assert _local(used, GLC) <= REFERENCE_GLC
    assert _local(used, K8S) <= REFERENCE_K8S
    assert _local(used, DCAT) <= KNOWN_DCAT
    assert _local(used, QUDT) <= KNOWN_QUDT
    assert {"AssignedTask", "Status", "startTime", "hasStatus"} <= _local(used, GLC)


def test_no_other_namespace_is_used(used: set[str]) -> None:
    known = (KGX, GLC, K8S, DCAT, QUDT, str(RDF), str(RDFS))
    assert sorted(t for t in used if not t.startswith(known)) == []


def test_every_declared_kgx_term_is_emitted_by_a_template(vocabulary: rdflib.Graph) -> None:
    # Templates, and the bundled kinds file, which names the class of each kind's workload node.
    sources = [*templates_dir().glob("*.j2"), BUNDLED]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    declared = {str(s)[len(KGX) :] for s in vocabulary.subjects(RDF.type, None)}
    declared.discard("")
    unused = sorted(n for n in declared if n and not re.search(rf"kgx:{n}\b", text))
    assert unused == [], "declared but never emitted; drop them or use them"


def test_terms_the_vocabulary_and_shapes_build_on_exist(
    vocabulary: rdflib.Graph, shapes: rdflib.Graph
) -> None:
    mentioned = {str(t) for g in (vocabulary, shapes) for triple in g for t in triple}
    assert _local(mentioned, GLC) <= REFERENCE_GLC
    assert _local(mentioned, K8S) <= REFERENCE_K8S
    declared = {str(s) for s in vocabulary.subjects(RDFS.label, None)}
    assert {KGX + name for name in _local(mentioned, KGX)} <= declared


def test_the_vocabulary_specialises_the_reused_ones(vocabulary: rdflib.Graph) -> None:
    def parents(name: str) -> set[str]:
        return {str(o) for o in vocabulary.objects(rdflib.URIRef(KGX + name), RDFS.subClassOf)}

    assert parents("GNode") == {GLC + "WorkProducingResource", K8S + "Cluster"}
    assert parents("MetricsDataset") == parents("LogsDataset") == {DCAT + "Dataset"}
    assert parents("Metric") == {GLC + "MeasurementProperty"}
    assert parents("PrometheusService") == {DCAT + "DataService"}
    assert parents("ResourceQuantity") == {QUDT + "QuantityValue"}
    ontology = rdflib.URIRef("https://w3id.org/kg-exporter/vocab")
    assert (ontology, RDF.type, OWL.Ontology) in vocabulary


def test_the_context_maps_the_prefixes_the_vocabulary_uses(vocabulary: rdflib.Graph) -> None:
    ctx = context()
    assert ctx["kgx"] == KGX and ctx["glc"] == GLC and ctx["k8s"] == K8S
    assert ctx["dcat"] == DCAT and ctx["qudt"] == QUDT
    shipped = json.loads((ontology_dir() / "context.jsonld").read_text(encoding="utf-8"))
    assert shipped["@context"] == ctx


def test_every_term_used_is_in_the_graph_model_doc(used: set[str]) -> None:
    doc = (ROOT / "docs" / "graph-model.md").read_text(encoding="utf-8")
    prefixes = {v: k for k, v in context().items() if isinstance(v, str) and k != "@version"}
    missing = []
    for term in sorted(used - {str(RDF.type)}):
        namespace = max((ns for ns in prefixes if term.startswith(ns)), key=len)
        curie = f"{prefixes[namespace]}:{term[len(namespace) :]}"
        if not re.search(rf"`{re.escape(curie)}`", doc):
            missing.append(curie)
    assert missing == [], "add them to the term tables of docs/graph-model.md"
