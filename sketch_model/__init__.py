"""Everything about the model, and nothing of the web: ``imaging`` turns pictures and strokes
into 28x28 bitmaps, ``inference`` answers for them, ``training`` learns and measures; ``facts``
and ``modelcard`` are what all three share. ``train``, ``evaluate`` and ``export`` are the
commands of a model's life."""
