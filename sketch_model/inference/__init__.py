"""Answering: a model's network run by LiteRT or Keras (``runtimes``), and its outputs turned
into a ranked, honest answer (``classifier``)."""
