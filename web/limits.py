"""How much a request may carry: one statement of each bound, for the app and its servers."""

# A 4 MiB PNG is 5.6 MiB as base64; form encoding and the rest of the request fit in 6 MiB.
MAX_CONTENT_LENGTH = 6 * 1024 * 1024
ECHO_LIMIT = 512 * 1024  # show the user's own drawing on the results page up to this size
# The drawing travels in the body: an address or headers this long are not from our pages.
MAX_URL_LENGTH = 8 * 1024  # path + query string
MAX_HEADER_BYTES = 32 * 1024  # all request headers together (names and values)
CLIENT_TIMEOUT = 10.0  # seconds a connection may take to send its request (python app.py)
# After an early answer (a 413 before the body was read), what the server still reads and
# throws away so that the client, still sending, gets to read the answer (serve/forked.py).
LINGER_BYTES = 256 * 1024 * 1024
LINGER_SECONDS = 10.0  # in all
LINGER_IDLE = 2.0  # with nothing arriving: the client has stopped sending
