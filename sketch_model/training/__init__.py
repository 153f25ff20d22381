"""Learning and measuring a model: from a recipe to the files the app serves (TensorFlow is
imported only where a module needs it)."""
