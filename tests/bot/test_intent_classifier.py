"""bot_runtime/intent_classifier.py: the tf-idf logistic regression trains on Rasa's sparse sentence
features, comes back from the model storage as it was trained (Rasa's own loader would refuse the
idf matrix and quietly return an untrained classifier), and refuses a model file holding types it
never writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from bot_runtime.intent_classifier import TfidfLogisticRegressionClassifier

# Sentence features over a vocabulary of four terms: term 0 is in every sentence (like "了"),
# term 1 says report_outage, term 2 says query_bill, term 3 is noise.
EXAMPLES = [
    ([3, 2, 0, 0], "report_outage"),
    ([2, 1, 0, 1], "report_outage"),
    ([4, 3, 0, 0], "report_outage"),
    ([3, 0, 2, 0], "query_bill"),
    ([2, 0, 1, 1], "query_bill"),
    ([4, 0, 3, 0], "query_bill"),
]


def message(counts: list[int], intent: str | None = None) -> Message:
    data = {TEXT: "…"} | ({"intent": intent} if intent else {})
    msg = Message(data=data)
    msg.add_features(Features(csr_matrix(np.array([counts], dtype=float)), "sentence", TEXT, "counts"))
    return msg


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


CONTEXT = ExecutionContext(GraphSchema({}), "intent_classifier")
RESOURCE = Resource("intent_classifier")


def trained(storage: LocalModelStorage) -> TfidfLogisticRegressionClassifier:
    classifier = TfidfLogisticRegressionClassifier.create(
        TfidfLogisticRegressionClassifier.get_default_config(), storage, RESOURCE, CONTEXT
    )
    classifier.train(TrainingData([message(counts, intent) for counts, intent in EXAMPLES]))
    return classifier


def ranking(classifier: TfidfLogisticRegressionClassifier, counts: list[int]) -> list[tuple[str, float]]:
    [parsed] = classifier.process([message(counts)])
    return [(entry["name"], entry["confidence"]) for entry in parsed.get("intent_ranking")]


def test_it_tells_intents_apart_by_their_own_terms_not_the_common_one(storage: LocalModelStorage) -> None:
    classifier = trained(storage)
    assert ranking(classifier, [9, 1, 0, 0])[0][0] == "report_outage"
    assert ranking(classifier, [9, 0, 1, 0])[0][0] == "query_bill"


def test_a_loaded_classifier_ranks_as_the_trained_one(storage: LocalModelStorage) -> None:
    before = ranking(trained(storage), [1, 1, 0, 1])
    loaded = TfidfLogisticRegressionClassifier.load(
        TfidfLogisticRegressionClassifier.get_default_config(), storage, RESOURCE, CONTEXT
    )
    after = ranking(loaded, [1, 1, 0, 1])
    assert [name for name, _ in after] == [name for name, _ in before]
    assert [confidence for _, confidence in after] == pytest.approx([confidence for _, confidence in before])


def negate(features: np.ndarray) -> np.ndarray:
    return -features


def test_a_model_file_with_foreign_types_is_refused(storage: LocalModelStorage) -> None:
    trained(storage)
    with storage.write_to(RESOURCE) as model_dir:
        sio.dump(Pipeline([("log", FunctionTransformer(negate))]), model_dir / f"{RESOURCE.name}.skops")
    with pytest.raises(ValueError, match="never writes"):
        TfidfLogisticRegressionClassifier.load(
            TfidfLogisticRegressionClassifier.get_default_config(), storage, RESOURCE, CONTEXT
        )
