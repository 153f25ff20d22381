"""Turning a PNG drawing into the 28x28 bitmap a model takes, whatever the PNG."""
