"""Detectors as plain Python: no Kafka, Faust or Redis here. State comes in through small interfaces."""
