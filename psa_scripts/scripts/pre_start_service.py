"""Pre_Start_Service — pre script of the deployment task.

Reads: PROXYFIED; when true also PCA_INSTANCE_ID, ENDPOINT_ID,
PA_CLOUD_AUTOMATION_REST_PUBLIC_URL (else PA_CLOUD_AUTOMATION_REST_URL).
Writes: PROXYFIED_URL and WS_PROXYFIED_URL (the proxy URLs, trailing slash), when proxied.
Warns when the variable is misspelt PROXIFIED (the proxy would be silently off).
"""

from .. import names
from ..context import ScriptContext
from ..proxy import misspelling_warning, proxy_urls
from ..contract import Contract, Var, flag_set


CONTRACT = Contract(
    reads=(
        Var(names.PROXYFIED, required=False),
        Var(names.PCA_INSTANCE_ID, required_if=flag_set(names.PROXYFIED), when="when PROXYFIED is true"),
        Var(names.ENDPOINT_ID, required_if=flag_set(names.PROXYFIED), when="when PROXYFIED is true"),
        Var(names.PA_CLOUD_AUTOMATION_REST_PUBLIC_URL, required=False),
        Var(names.PA_CLOUD_AUTOMATION_REST_URL, required_if=flag_set(names.PROXYFIED),
            when="when PROXYFIED is true and the public URL is not set"),
    ),
    writes=(names.PROXYFIED_URL, names.WS_PROXYFIED_URL),
)


def main(ctx: ScriptContext) -> None:
    variables = ctx.variables
    warning = misspelling_warning(variables)
    if warning:
        ctx.warn(warning)
    if not variables.flag(names.PROXYFIED):
        return

    instance_id = variables.require_int(names.PCA_INSTANCE_ID)
    endpoint_id = variables.require(names.ENDPOINT_ID)
    public_url = variables.text(names.PA_CLOUD_AUTOMATION_REST_PUBLIC_URL) or variables.require(
        names.PA_CLOUD_AUTOMATION_REST_URL
    )

    http_url, ws_url = proxy_urls(public_url, instance_id, endpoint_id)
    variables.set(names.PROXYFIED_URL, http_url)
    variables.set(names.WS_PROXYFIED_URL, ws_url)
    ctx.print(f"Proxy URL of endpoint {endpoint_id}: {http_url}")
