"""Every naming convention of Service Automation, in one place.

Variable names, sync-channel keys, file suffixes, generic-information keys and
status values are shared by the Groovy scripts, the portal and the services
users already have: change one here and every script follows.
"""

# --- Variables the scheduler or PSA provide -------------------------------------------
PCA_INSTANCE_ID = "PCA_INSTANCE_ID"
PA_JOB_ID = "PA_JOB_ID"
PA_TASK_ID = "PA_TASK_ID"
PA_TASK_SUCCESS = "PA_TASK_SUCCESS"
PA_NODE_URL = "PA_NODE_URL"
PA_NODE_NAME = "PA_NODE_NAME"
PA_NODE_HOST = "PA_NODE_HOST"
PA_NODE_SOURCE = "PA_NODE_SOURCE"
PA_SCHEDULER_REST_URL = "PA_SCHEDULER_REST_URL"
PA_CATALOG_REST_URL = "PA_CATALOG_REST_URL"
PA_CLOUD_AUTOMATION_REST_URL = "PA_CLOUD_AUTOMATION_REST_URL"
PA_CLOUD_AUTOMATION_REST_PUBLIC_URL = "PA_CLOUD_AUTOMATION_REST_PUBLIC_URL"

# --- Variables users set in their service workflows -------------------------------------
INSTANCE_NAME = "INSTANCE_NAME"
SERVICE_PORT = "SERVICE_PORT"
PROXYFIED = "PROXYFIED"
PROXYFIED_MISSPELT = "PROXIFIED"  # the misspelling that silently disables the proxy
ENDPOINT_ID = "ENDPOINT_ID"
HTTP_ENABLED = "HTTP_ENABLED"
HTTPS_ENABLED = "HTTPS_ENABLED"
ENGINE = "ENGINE"
CREDENTIALS_KEY = "CREDENTIALS_KEY"
DEPLOY_ERROR_MESSAGE = "DEPLOY_ERROR_MESSAGE"  # why a multi-deployment service has no deployment
# The Docker service scripts' variables (formats in psa_scripts.containers.spec).
DOCKER_IMAGE = "DOCKER_IMAGE"
CONTAINER_PORT = "CONTAINER_PORT"
DOCKER_ENV = "DOCKER_ENV"
DOCKER_VOLUMES = "DOCKER_VOLUMES"
DOCKER_COMMAND = "DOCKER_COMMAND"
DOCKER_OPTIONS = "DOCKER_OPTIONS"
DOCKER_STOP_TIMEOUT = "DOCKER_STOP_TIMEOUT"
STATUS_CHECK_CRON = "STATUS_CHECK_CRON"  # overrides the status loop's cron (Fetch_Logs)
LOG_MAX_LINES = "LOG_MAX_LINES"
LOG_MAX_BYTES = "LOG_MAX_BYTES"
# Starting and driving a service from a workflow task (Service_Start, Service_Action...).
SERVICE_ID = "SERVICE_ID"
SERVICE_ACTIVATION_WORKFLOW = "SERVICE_ACTIVATION_WORKFLOW"  # <bucket>/<workflow name>
INSTANCE_ID = "INSTANCE_ID"
ACTION = "ACTION"
SERVICE_ACTION_WORKFLOW = "SERVICE_ACTION_WORKFLOW"  # <bucket>/<workflow name>
SERVICE_START_TIMEOUT = "SERVICE_START_TIMEOUT"  # seconds Service_Start waits for RUNNING
SERVICE_ACTION_TIMEOUT = "SERVICE_ACTION_TIMEOUT"  # seconds Service_Action waits for a finish
SINGULARITY_BINARY = "SINGULARITY_BINARY"  # the singularity command, when not on PATH (a path or a name)

# --- Variables the scripts write ---------------------------------------------------------
PROXYFIED_URL = "PROXYFIED_URL"
WS_PROXYFIED_URL = "WS_PROXYFIED_URL"
HOSTNAME = "HOSTNAME"
PORT = "PORT"
IS_FINISHED = "IS_FINISHED"
LAST_TIME_MARKER = "LAST_TIME_MARKER"
LOG_CURSOR = "LOG_CURSOR"  # ours: the exactly-once log cursor (LAST_TIME_MARKER stays for compatibility)
SERVICE_JOB_ID = "SERVICE_JOB_ID"
# Service_Start writes INSTANCE_ID_<INSTANCE_NAME> and ENDPOINT_<INSTANCE_NAME>.
INSTANCE_ID_PREFIX = "INSTANCE_ID_"
ENDPOINT_PREFIX = "ENDPOINT_"
# Propagate_variables_to_current_service: this value stands for "the task's variable of that name".
VARIABLE_VALUE = "VARIABLE_VALUE"

# Where each variable normally comes from: quoted in the error when one is missing.
VARIABLE_SOURCES = {
    PCA_INSTANCE_ID: "PSA sets it when it launches a service action",
    PA_JOB_ID: "the scheduler sets it for every task",
    PA_NODE_URL: "the scheduler sets it for every task",
    PA_NODE_NAME: "the scheduler sets it for every task",
    PA_NODE_HOST: "the scheduler sets it for every task",
    PA_SCHEDULER_REST_URL: "the scheduler sets it for every task",
    PA_CATALOG_REST_URL: "the scheduler sets it for every task",
    PA_CLOUD_AUTOMATION_REST_URL: "the scheduler sets it for every task",
    PA_CLOUD_AUTOMATION_REST_PUBLIC_URL: "the scheduler sets it for every task",
    INSTANCE_NAME: "a workflow variable of the service, e.g. coco-annotator-$PA_JOB_ID; "
    "action workflows get it from the sync channel (Pre_Trigger_Action)",
    SERVICE_PORT: "a workflow variable of the service; -1 lets the engine pick a free port",
    ENDPOINT_ID: "a workflow variable of the service, e.g. coco-annotator-gui-$PA_JOB_ID",
    PROXYFIED: "a workflow variable of the service (true to reach the service through the PSA proxy)",
    SERVICE_ACTIVATION_WORKFLOW: "a task variable naming the service's deployment workflow as <bucket>/<name>",
    SERVICE_ID: "a task variable naming the service (its pca.service.id)",
}

# --- Container engines (the ENGINE variable) ------------------------------------------------
ENGINE_DOCKER = "docker"
ENGINE_SINGULARITY = "singularity"
ENGINES = (ENGINE_DOCKER, ENGINE_SINGULARITY)
# The binding through which a host that keeps its own container engine hands it to a script
# (``psa run --engine memory``: the runner's in-memory engine over its gateway). A ProActive
# node gives no such binding: the script then uses the engine ``ENGINE`` names.
ENGINE_BINDING = "psa_run_engine"


def engine_kind(value: object) -> str:
    """The engine an ``ENGINE`` value names (unset: docker); InputError for any other value."""
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return ENGINE_DOCKER
    if text not in ENGINES:
        from .errors import InputError

        raise InputError(f"{ENGINE} must be one of {', '.join(ENGINES)}, got {value!r}")
    return text


# --- Generic information -------------------------------------------------------------------
GI_SERVICE_ID = "pca.service.id"
GI_STATES = "pca.states"
GI_NODE_ACCESS_TOKEN = "NODE_ACCESS_TOKEN"
GI_PARENT_JOB_ID = "PARENT_JOB_ID"
GI_PYTHON_COMMAND = "PYTHON_COMMAND"

# --- Instance statuses ------------------------------------------------------------------------
RUNNING = "RUNNING"
ERROR = "ERROR"
FINISHED = "FINISHED"
PAUSED = "PAUSED"
VOID = "VOID"
KILLED = "KILLED"
# An instance in one of these will never reach another status by itself.
END_STATUSES = (ERROR, FINISHED, KILLED)
DEPLOYMENT_TRANSITION = "VOID -> RUNNING"

# --- Sync channel ---------------------------------------------------------------------------------
CHANNEL_PREFIX = "Service_Instance_"
KEY_INSTANCE_NAME = "INSTANCE_NAME"
KEY_CREDENTIALS_KEY = "CREDENTIALS_KEY"
KEY_RUNNING_STATE = "RUNNING_STATE"  # 1 running, 2 error
KEY_RUNNING_LEGACY = "RUNNING"  # older services: a boolean
KEY_FINISH_LAUNCHED = "FINISH_LAUNCHED"
KEY_PAUSE_LAUNCHED = "PAUSE_LAUNCHED"
KEY_RESUME_LAUNCHED = "RESUME_LAUNCHED"
KEY_RESUMED = "RESUMED"
KEY_FINISH_DONE = "FINISH_DONE"
KEY_DEPLOY_ERROR_MESSAGE = "DEPLOY_ERROR_MESSAGE"
# Ours: the job id of the action acting on the container (set by Pre_Trigger_Action, removed by
# Post_/Clean_Trigger_Action): while that job runs, a stopped container is the action's doing.
KEY_ACTION_JOB_ID = "ACTION_JOB_ID"
RUNNING_STATE_RUNNING = 1
RUNNING_STATE_ERROR = 2

# --- Node tokens and groups -------------------------------------------------------------------------
TOKEN_PREFIX = "PSA_"
PROXY_GROUPS = ("scheduleradmins", "rmcoreadmins")

# --- Container labels: which service instance created a container ------------------------------
# Start_Docker_Service labels what it creates; it reuses or starts, and the actions stop, start or
# remove, only a container carrying the labels of their own instance: a container of the same name
# made by anything else is refused with an error naming it, and left untouched.
LABEL_INSTANCE_ID = "io.ow2.proactive.psa.instance-id"  # PCA_INSTANCE_ID
LABEL_SERVICE_ID = "io.ow2.proactive.psa.service-id"  # the generic information pca.service.id, when set
CONTAINER_LABELS = (LABEL_INSTANCE_ID, LABEL_SERVICE_ID)

# --- Files in the deployment task's localspace -----------------------------------------------------
PORT_FILE_SUFFIX = "_port"
CONTAINER_ID_FILE_SUFFIX = "_containerID"
STATUS_FILE_SUFFIX = "_status"
ALREADY_REMOVED_PREFIX = "Error: No such container: "
# Loop_over_service_instance_status reads its arguments from this file when a pre script wrote it.
ARGUMENTS_FILE = "arguments.txt"
ARGUMENTS_FILE_SEPARATOR = ","
# A clean-status file (Set_service_FINISHED_if_all_clean_OK): one entry per clean step, "|"-separated.
CLEAN_STATUS_SEPARATOR = "|"
CLEAN_OK = "ok"
CLEAN_KO = "ko"
# The status argument that means "leave the status as it is" (Update_service_and_remove_tokens).
NO_STATUS = "null"

# --- The service's name --------------------------------------------------------------------------
# INSTANCE_NAME names the container, the node token PSA_<name>, the localspace files and the
# sync channel's INSTANCE_NAME: every script checks it against the engine's name rule first.
INSTANCE_NAME_PATTERN = "[a-zA-Z0-9][a-zA-Z0-9_.-]*"
INSTANCE_NAME_MAX_LENGTH = 200  # the name is also a file name: <name>_containerID must fit in 255 bytes
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_REST = _NAME_FIRST | frozenset("_.-")


def check_instance_name(name: object) -> str:
    """``name`` if the engine would accept it as a container name; else InputError, before any effect.

    String tests rather than a regular expression: ``re`` would cost start-up time to
    every script, and the status loop starts one every minute.
    """
    text = "" if name is None else str(name)
    if (not text or text[0] not in _NAME_FIRST or len(text) > INSTANCE_NAME_MAX_LENGTH
            or not _NAME_REST.issuperset(text)):
        from .errors import InputError

        raise InputError(
            f"{INSTANCE_NAME} {text!r} is not a valid container name: it must match "
            f"{INSTANCE_NAME_PATTERN} (letters, digits, '_', '.', '-'; at most {INSTANCE_NAME_MAX_LENGTH} "
            "characters), so that no engine or shell can read it as anything but a name"
        )
    return text


_STATUS_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def check_status_name(value: object, what: str) -> str:
    """``value`` if it reads as an instance status (RUNNING, FINISHED, a service's own
    STOPPED...): upper-case letters, digits, '_'; else InputError naming ``what``."""
    text = "" if value is None else str(value).strip()
    if not text or not text[0].isalpha() or not _STATUS_CHARACTERS.issuperset(text):
        from .errors import InputError

        raise InputError(f"{what} must be an instance status in capitals (RUNNING, FINISHED, PAUSED, "
                         f"ERROR or a status of the service), got {value!r}")
    return text


# --- Loop control -----------------------------------------------------------------------------------
STATUS_LOOP_CRON = "*/1 * * * *"

# --- Catalog script kinds ----------------------------------------------------------------------------
# The catalog's kind of each script slot of a task (free strings by convention; these are ProActive's).
SCRIPT_KINDS = ("Script/pre", "Script/post", "Script/clean", "Script/task", "Script/flow", "Script/selection")
CLEAN_KIND = "Script/clean"
DEFAULT_SCRIPT_KIND = "Script/task"
