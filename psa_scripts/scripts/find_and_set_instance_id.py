"""Find_and_set_Instance_Id — pre script: find a service instance by its service and name.

Reads: args[0] the service id (pca.service.id), args[1] the instance's INSTANCE_NAME; the
active service instances.
Decides: exactly one active instance of that service may carry that name (none, or several,
fails the task and says which).
Writes: variable INSTANCE_ID, for the scripts and tasks that act on the instance.
"""

from .. import names
from ..context import ScriptContext
from ..contract import Arg, Contract
from ..services import named_instances, one_instance

CONTRACT = Contract(
    writes=(names.INSTANCE_ID,),
    args=(Arg("the service id (its pca.service.id)"), Arg("the instance's INSTANCE_NAME")),
)


def main(ctx: ScriptContext) -> None:
    service_id = ctx.arg(0, "the service id")
    instance_name = names.check_instance_name(ctx.arg(1, "the instance's INSTANCE_NAME"))

    found = named_instances(ctx.psa.list_instances(active_only=True), instance_name, service_id)
    instance = one_instance(found, f"of service {service_id} named {instance_name}")
    ctx.variables.set(names.INSTANCE_ID, str(instance.instance_id))
    ctx.print(f"{names.INSTANCE_ID} = {instance.instance_id} ({service_id} {instance_name}, "
              f"{instance.instance_status})")
