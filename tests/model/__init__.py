"""Models: the classifier and its runtimes, and how a model is trained, tuned and exported."""
