"""psa run plays bash scripts as ProActive's native shell engine does (psa_scripts.workflow.nativeshell,
hooked into the runner): variables, generic information and arguments in the environment, the
localspace as working directory, the exit status as the outcome; other languages refused first."""

import io

import pytest

from psa_scripts.workflow.runner import RunError, Runner

HEAD = ('<job xmlns="urn:proactive:jobdescriptor:3.14" name="Sh" onTaskError="continueJobExecution">\n'
        '  <variables><variable name="GREETING" value="hello-$PA_JOB_ID"/></variables>\n'
        '  <genericInformation><info name="pca.states" value="(VOID,RUNNING)"/></genericInformation>\n'
        "  <taskFlow>\n")


def workflow(tmp_path, tasks):
    path = tmp_path / "sh.xml"
    path.write_text(HEAD + tasks + "  </taskFlow>\n</job>\n")
    return path


def test_a_bash_task_gets_variables_gi_and_arguments_and_works_in_the_localspace(tmp_path):
    path = workflow(tmp_path, """    <task name="A">
      <genericInformation><info name="COLOUR" value="blue-$GREETING"/></genericInformation>
      <scriptExecutable><script><code language="bash"><![CDATA[
echo "$variables_GREETING $genericInformation_COLOUR [$1] [$2] $args_0"
echo "$variables_GREETING" > greeting.txt
]]></code><arguments><argument value="${GREETING} and more"/><argument value="$(touch x)"/></arguments></script></scriptExecutable>
      <post><script><code language="cpython"><![CDATA[
print("post reads", open("greeting.txt").read().strip(), "exit", variables.get("EXIT_VALUE"))
]]></code></script></post>
    </task>
""")
    out = io.StringIO()
    report = Runner(path, out=out).run()
    assert [(s.slot, s.ok, s.output) for s in report.scripts] == [
        ("executable", True, "hello-1 blue-hello-1 [hello-1 and more] [$(touch x)] hello-1 and more"),
        ("post", True, "post reads hello-1 exit 0")]
    assert "[Sh/A executable] hello-1 blue-hello-1" in out.getvalue() and report.workflows[0].ok


def test_a_bash_task_failing_fails_its_task_with_the_exit_status_and_its_last_line(tmp_path):
    path = workflow(tmp_path, """    <task name="A">
      <scriptExecutable><script><code language="bash">echo "cannot start: port taken" ; exit 3</code></script></scriptExecutable>
      <post><script><code language="cpython">print("never")</code></script></post>
    </task>
    <task name="B"><depends><task ref="A"/></depends>
      <scriptExecutable><script><code language="cpython">print("B sees EXIT_VALUE", variables.get("EXIT_VALUE"))</code></script></scriptExecutable>
    </task>
""")
    report = Runner(path).run()
    assert [(s.task, s.slot, s.ok) for s in report.scripts][0] == ("A", "executable", False)
    assert report.scripts[0].error == "Script failed with exit code 3: cannot start: port taken"
    assert report.workflows[0].reason == ("task A: executable script inline bash failed: Script failed with exit "
                                          "code 3: cannot start: port taken")
    assert "never" not in [s.output for s in report.scripts]


@pytest.mark.parametrize("language, slot, said", [
    ("groovy", "scriptExecutable", "of task T: inline groovy has language 'groovy'; psa run plays cpython and bash "
                                   "scripts"),
    ("javascript", "pre", "of task T: inline javascript has language 'javascript'"),
])
def test_a_language_psa_run_cannot_play_is_refused_before_any_effect_naming_task_and_language(
        tmp_path, language, slot, said):
    body = f'<{slot}><script><code language="{language}">x</code></script></{slot}>'
    if slot != "scriptExecutable":
        body += '<scriptExecutable><script><code language="cpython">print(1)</code></script></scriptExecutable>'
    path = workflow(tmp_path, f'    <task name="T">{body}</task>\n')
    with pytest.raises(RunError, match=said.replace("(", r"\(").replace(")", r"\)")):
        Runner(path)


def test_a_bash_selection_script_is_refused_it_cannot_hand_selected_back(tmp_path):
    path = workflow(tmp_path, '    <task name="T"><selection><script><code language="bash">exit 0</code></script>'
                              '</selection><scriptExecutable><script><code language="cpython">print(1)</code></script>'
                              "</scriptExecutable></task>\n")
    with pytest.raises(RunError, match=r"selection script of task T: a selection script must hand a value back "
                                       r"\(selected\), which a bash script cannot"):
        Runner(path)
