"""The content rules (`content.*`): one detector over normalised text, dictionaries compiled into
one automaton, context decisions, structural checks of links and identifiers, evidence excerpts."""

from streams.content.detector import ContentDetector
from streams.content.dictionary import DictionaryError, load_lexicon
from streams.content.excerpt import excerpt, mask
from streams.content.identifiers import RULE
from streams.content.normalize import steps_needed

__all__ = ["RULE", "ContentDetector", "DictionaryError", "excerpt", "load_lexicon", "mask", "steps_needed"]
