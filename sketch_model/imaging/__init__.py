"""Pictures in, 28x28 bitmaps out: PNG checks and decoding (``png``), the canvas-to-dataset
preprocessing (``restroke``), the dataset's renderer for strokes (``render``) and canvas-like
pictures of strokes (``canvas``)."""
