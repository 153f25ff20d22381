"""The QuickDraw loader: local mirrors, the bucket over HTTP, its cache and command line."""
