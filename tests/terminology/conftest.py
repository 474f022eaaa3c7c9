import pytest

from terminology import registry
from terminology.normalize import Normalizer


@pytest.fixture(scope="session")
def terminology():
    return registry.load()


@pytest.fixture(scope="session")
def normalizer(terminology):
    return Normalizer(terminology)
