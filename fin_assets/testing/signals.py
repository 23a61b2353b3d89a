"""Signal dispositions of the Dagster processes the tests start."""

import signal


def default_sigint() -> None:
    """SIGINT back to its default, as a Popen `preexec_fn` (runs in the child before exec).

    Dagster's CLIs (the code server, the daemon) give SIGTERM the handler SIGINT has, and Python
    leaves SIGINT alone when it starts ignored, as in a shell's background job (where a test
    run may be): the child would then ignore SIGTERM and only stop when killed.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
