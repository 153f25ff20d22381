"""What the tests and the benchmarks share, so that no test module imports another and the
benchmarks import nothing of ``tests/``:

``paths``     the repository and the offline QuickDraw mirror beside it
``drawings``  hand-made stroke sets, the typical drawing, data URLs
``pngs``      PNGs made to measure (forged chunks, declared sizes) and a watch on the decoders
``models``    tiny Keras models saved with their card, a stand-in runtime
``pages``     reading the app's HTML pages, JSON answers and error sentences
``server``    the production server (``python app.py``) in a subprocess, and /proc
``hostile``   the battery of bad requests, and sending requests in-process or over a socket
``load``      many clients at once, valid and bad requests mixed
``browser``   the drawing page in Chromium, through Selenium
``bucket``    a loopback server imitating the QuickDraw bucket
``postgres``  a throwaway PostgreSQL cluster on a free loopback port
``taught``    what a feedback database holds

It imports the product (``quickdraw``, ``sketch_model``, ``web``) and is imported by ``tests/``
and ``benchmarks/``; the product never imports it. This package itself imports nothing, so
``import testkit.bucket`` stays as light as ``quickdraw``.
"""
