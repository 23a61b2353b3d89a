"""One run of the code location's jobs in the test's own process (how runs are launched does not
change what they compute; the CLI launches them through the code location: fin_assets.runner)."""

from fin_assets.definitions import build_definitions
from fin_assets.instance import open_instance
from fin_assets.runner import QUIET_RUN_CONFIG, RunRequest
from fin_assets.settings import Settings


def execute_in_process(settings: Settings, request: RunRequest) -> bool:
    """Run `request` in this process, recorded in the instance under FIN_HOME; its success."""
    job = build_definitions(settings).resolve_job_def(request.job_name)
    result = job.execute_in_process(
        instance=open_instance(settings),
        tags=request.tags,
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
    )
    return result.success
