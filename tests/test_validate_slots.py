"""PSA211 pinned slot by slot: each lifecycle script, placed in each of a task's six script slots, is
accepted exactly where it works (restated here, not read from the rule table: a change of the
table, like forbidding Clean_Trigger_Action in a <post> slot, fails this test)."""

import pytest

from psa_scripts.scripts import SCRIPTS
from psa_scripts.validate import LIFECYCLE_SLOTS, default_known, validate_file
from psa_scripts.workflow.model import SLOTS

OURS = "${PA_CATALOG_REST_URL}/buckets/service-automation-python/resources/%s/raw"
GROOVY = "${PA_CATALOG_REST_URL}/buckets/service-automation/resources/%s/raw"
# Where each lifecycle script works (the slot's bindings: a post script sees the task's files, a
# clean script has no localspace, a flow script sets loop, a selection script sets selected).
ALLOWED = {
    "Pre_Start_Service": {"pre", "executable"},
    "Post_Start_Service": {"post"},
    "Clean_Start_Service": {"cleaning"},
    "Check_Instance_Status": {"executable"},
    "Fetch_Logs": {"flow"},
    "Pre_Trigger_Action": {"executable", "pre"},
    "Post_Trigger_Action": {"post"},
    "Clean_Trigger_Action": {"cleaning", "post"},
    "Check_Not_Used_By_Other_Service": {"selection"},
    "Start_Docker_Service": {"executable"},
    "Finish_Docker_Service": {"executable"},
    "Pause_Docker_Service": {"executable"},
    "Resume_Docker_Service": {"executable"},
    "Finish_Action": {"executable"},
    "Pause_Action": {"executable"},
    "Resume_Action": {"executable"},
}
INLINE = '<script><code language="groovy">println "x"</code></script>'


def workflow_with(name, slot):
    url = (OURS if name in SCRIPTS else GROOVY) % name
    language = "cpython" if name in SCRIPTS else ("bash" if name.endswith("_Action") and "Trigger" not in name
                                                  else "groovy")
    script = f'<script><file url="{url}" language="{language}"/></script>'
    part = {slot_name: script if slot_name == slot else "" for slot_name in SLOTS}
    executable = part["executable"] or INLINE
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Slots">
  <taskFlow>
    <task name="T">
      {f"<selection>{part['selection']}</selection>" if part["selection"] else ""}
      {f"<pre>{part['pre']}</pre>" if part["pre"] else ""}
      <scriptExecutable>{executable}</scriptExecutable>
      {f'<controlFlow><loop target="T">{part["flow"]}</loop></controlFlow>' if part["flow"] else ""}
      {f"<post>{part['post']}</post>" if part["post"] else ""}
      {f"<cleaning>{part['cleaning']}</cleaning>" if part["cleaning"] else ""}
    </task>
  </taskFlow>
</job>
"""


@pytest.fixture(scope="module")
def known():
    return default_known()


def test_every_lifecycle_script_is_pinned():
    assert set(ALLOWED) == set(LIFECYCLE_SLOTS)


@pytest.mark.parametrize("slot", SLOTS)
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_a_lifecycle_script_in_each_slot(tmp_path, known, name, slot):
    path = tmp_path / "slots.xml"
    path.write_text(workflow_with(name, slot))
    wrong_slot = [f for f in validate_file(path, known) if f.code == "PSA211"]
    if slot in ALLOWED[name]:
        assert wrong_slot == []
    else:
        assert len(wrong_slot) == 1, wrong_slot
        assert wrong_slot[0].message.startswith(f"{slot} script of task T: {name} runs as a {slot} script but is a ")
