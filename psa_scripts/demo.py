"""``make demo``: a whole service lifecycle run through the harness, step by step.

A sample service (COCO Annotator) is deployed, checked twice, finished and cleaned,
with PSA played by the loopback emulator and the engine by the in-memory double.
Each step prints what the script did: variables written, calls made, PSA requests,
status changes, its output.
"""

from __future__ import annotations

import sys

from . import names
from .local.apis import ContainerState
from .testing.harness import Harness, Outcome, State, node_variables

NAME = "coco-annotator-42"


def _show(step: int, outcome: Outcome, out) -> None:
    print(f"\n== {step}. {outcome.script} {'ok' if outcome.ok else 'FAILED: ' + str(outcome.error)}", file=out)
    for key, value in outcome.variables_written.items():
        print(f"   variable  {key} = {value}", file=out)
    for key, value in outcome.writeback.items():
        print(f"   writeback {key} = {value!r}", file=out)
    for call in outcome.calls:
        if call.method not in ("connect", "getSession", "channelExists", "get", "is_running", "read_logs"):
            print(f"   call      {call.api}.{call.method}{call.args}", file=out)
    for request in outcome.psa_writes:
        print(f"   PSA       {request.method} {request.path}", file=out)
    if outcome.status_history:
        print(f"   status    {' -> '.join(outcome.status_history)}", file=out)
    for line in outcome.output.splitlines():
        print(f"   | {line}", file=out)


def main(out=sys.stdout) -> int:
    with Harness(clock=lambda: 1_764_000_000.0) as harness:
        state = State(
            variables=node_variables(**{
                names.PCA_INSTANCE_ID: "7",
                names.INSTANCE_NAME: NAME,
                names.SERVICE_PORT: "-1",
                names.PROXYFIED: "True",
                names.ENDPOINT_ID: "coco-annotator-gui-42",
                names.HTTP_ENABLED: "True",
            }),
            instance={"instance_id": 7, "service_id": "COCO_Annotator", "instance_status": "VOID -> RUNNING",
                      "variables": {}, "deployments": [], "groups": ["users"],
                      "job_submissions": [{"transition_state": "VOID -> RUNNING", "job_id": "42"}]},
        )
        steps = []

        def step(script: str, state: State, **changes) -> State:
            outcome = harness.run(script, state.replace(**changes) if changes else state)
            steps.append(outcome)
            _show(len(steps), outcome, out)
            return outcome.state

        state = step("Pre_Start_Service", state)
        # The deployment task: the container runs and its port and id are in the localspace.
        state = state.replace(
            files={f"{NAME}_port": "32768", f"{NAME}_containerID": "4f1c2a9e7b3d"},
            containers={NAME: ContainerState(running=True, logs=["loading model", "listening on :5000"])},
        )
        state = step("Post_Start_Service", state)
        state = step("Check_Instance_Status", state)
        state = step("Fetch_Logs", state)
        state.containers[NAME].logs.append("GET /api/images 200")
        state = step("Check_Instance_Status", state)
        state = step("Fetch_Logs", state)
        # The finish action: a new job on the same node.
        state = step("Pre_Trigger_Action", state, args=("FINISH_LAUNCHED",), files={})
        state = state.replace(files={f"{NAME}_status": NAME}, containers={})
        state = step("Post_Trigger_Action", state, args=("FINISHED",))
        state = step("Clean_Trigger_Action", state, args=())
        state = step("Check_Instance_Status", state)
        state = step("Fetch_Logs", state)
        print(f"\nFinal: instance {state.instance['instance_status']}, node tokens {dict(state.node_tokens) or 'none'}, "
              f"channels {list(state.channels) or 'none'}", file=out)
        return 0 if all(o.ok for o in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
