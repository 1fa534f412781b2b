"""The parts tests swap in through `signalkb.compose.Parts`: no model is loaded."""

from __future__ import annotations

from ingest.extract.scripted import ScriptedExtractor
from kb.embed import Embedder, HashEmbedder
from kb.settings import Settings
from signalkb.compose import Parts


def hash_embedder(settings: Settings) -> HashEmbedder:
    """The hash embedder, whatever the settings."""
    return HashEmbedder()


def echo_extractor(settings: Settings, embedder: Embedder) -> ScriptedExtractor:
    """The scripted echo extractor, whatever the settings."""
    return ScriptedExtractor()


FAKES = Parts(embedder=hash_embedder, server_embedder=hash_embedder, extractor=echo_extractor)
