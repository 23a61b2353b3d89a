"""Free TCP ports on 127.0.0.1 for the servers the tests start (Tansu, the image's code server)."""

import socket


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it; bound and released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
