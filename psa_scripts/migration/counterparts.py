"""The Groovy bucket's objects and their counterparts in the Python bucket, for ``psa migrate``.

The one table of the 25 objects of the public Groovy bucket ``service-automation``
(ow2-proactive/proactive-examples, PcaScripts/METADATA.json) and the catalog script of ours each
becomes; docs/groovy-bucket.md shows it to users and a test keeps the two in step.

Argument conventions: every counterpart takes the Groovy object's arguments as they are, except
the true/false flags of Service_Start (arguments 1 and 2) and Loop_over_service_instance_status
(1 and 2). Groovy reads them with ``Boolean.parseBoolean`` (anything but ``true``, in any case,
is false: ``yes`` or `` true`` too); ours read true/yes/on/1 and false/no/off/0 and refuse the
rest. ``FLAG_ARGUMENTS`` lists them; ``groovy_flag`` gives the value that keeps the Groovy
meaning.
"""

from __future__ import annotations

from typing import Dict, Tuple

from ..validate import GROOVY_BUCKET

__all__ = ["COUNTERPARTS", "FLAG_ARGUMENTS", "GROOVY_BUCKET", "groovy_flag"]

# Groovy object -> our catalog script (same name unless said).
COUNTERPARTS: Dict[str, str] = {
    **{name: name for name in (
        "Pre_Start_Service", "Post_Start_Service", "Clean_Start_Service", "Check_Instance_Status",
        "Check_Instance_Status_Singularity", "Fetch_Logs", "Pre_Trigger_Action", "Post_Trigger_Action",
        "Clean_Trigger_Action", "Check_Not_Used_By_Other_Service", "Add_deployments_and_update_service",
        "Update_service_and_remove_tokens", "Set_service_FINISHED_if_all_clean_OK",
        "Loop_over_service_instance_status", "Service_Start", "Service_Action", "Find_and_set_Instance_Id",
        "Retrieve_variables_from_service_instance_id", "Propagate_variables_to_current_service")},
    # The bash Docker and Singularity actions.
    "Finish_Action": "Finish_Docker_Service",
    "Pause_Action": "Pause_Docker_Service",
    "Resume_Action": "Resume_Docker_Service",
    "Finish_Action_Singularity": "Finish_Singularity_Service",
    "Pause_Action_Singularity": "Pause_Singularity_Service",
    "Resume_Action_Singularity": "Resume_Singularity_Service",
}

# Script -> the positions (0-based) of its arguments that are true/false flags.
FLAG_ARGUMENTS: Dict[str, Tuple[int, ...]] = {
    "Service_Start": (0, 1),
    "Loop_over_service_instance_status": (0, 1),
}

# Our false spellings (psa_scripts.context reads them case-insensitively, trimmed; a blank value
# means the script's default, which is not always false).
_OUR_FALSE = ("false", "no", "off", "0")


def groovy_flag(value: str) -> str:
    """The value our scripts read as Groovy's ``Boolean.parseBoolean(value)``: ``value`` itself
    when both already agree, else ``false``. ``value`` is a literal: one holding a ``$`` variable
    is decided at run time (the caller reports it instead)."""
    if value.lower() == "true":  # Groovy's only true, which ours reads alike
        return value
    return value if value.strip().lower() in _OUR_FALSE else "false"
