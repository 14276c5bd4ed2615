"""``python -m pyconfig check`` as a repository author runs it, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # every check is a process

SEED_LIKE = "# This file is for resource requests in CERIT-SC\n# Do not change\n"


def run(*args: str, cwd=None, module: str = "pyconfig") -> subprocess.CompletedProcess:
    """``python -m pyconfig ARGS`` (or another module's command line)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_version_and_the_name_it_was_started_by():
    from pyconfig import __version__

    result = run("--version")
    assert (result.returncode, result.stdout) == (0, f"pyconfig {__version__}\n")
    result = run("--help")
    assert result.stdout.startswith("usage: python -m pyconfig "), result.stdout


def test_valid_file_prints_table_with_sources(tmp_path):
    path = tmp_path / ".resources"
    path.write_text("gpu=1\ncpur=2\n")
    result = run("check", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{path}: valid"
    table = "\n".join(lines)
    assert "CPU request     2 cores  " in table and f"{path} line 2" in table
    assert "memory limit    16 GB    default" in table
    assert "GPUs            1" in table


def test_seed_example_gives_defaults(tmp_path):
    (tmp_path / ".resources").write_text(SEED_LIKE)
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0
    assert "CPU limit       8 cores  default" in result.stdout


def test_default_path_and_missing_file_mean_defaults(tmp_path):
    result = run("check", cwd=tmp_path)
    assert result.returncode == 0
    assert ".resources: not found, so the defaults apply" in result.stdout


def test_a_folder_without_the_file_means_defaults(tmp_path):
    result = run("check", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / '.resources'}: not found, so the defaults apply" in (
        result.stdout
    )


@pytest.mark.parametrize("name", ["typo/path", "typo/.resources", ".resources"])
def test_a_named_path_that_does_not_exist_is_a_usage_error(tmp_path, name):
    """A typo must not pass as a valid file that asks for the defaults."""
    good = tmp_path / "good"
    good.write_text("gpu=1\n")
    result = run("check", str(good), name, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {name}: no such file or directory; give a repository folder, "
        "a .resources file, or gh/OWNER/REPO/REF\n"
    )
    assert f"{good}: valid" in result.stdout
    assert "defaults apply" not in result.stdout


def test_a_repository_folder_is_looked_into(tmp_path):
    (tmp_path / ".resources").write_text("meml=32\n")
    result = run("check", str(tmp_path))
    assert result.returncode == 0
    assert "memory limit    32 GB" in result.stdout


def test_invalid_file_prints_every_problem_and_exits_1(tmp_path):
    path = tmp_path / ".resources"
    path.write_text("cpu=2\nmemr=4GB\ngpu=1\n")
    result = run("check", str(path))
    assert result.returncode == 1
    assert f"{path}:1: `cpu=2`: unknown key 'cpu'; did you mean cpur or cpul?" in (
        result.stdout
    )
    assert f"{path}:2: `memr=4GB`: memr is always in GB" in result.stdout


@pytest.mark.parametrize("text", ["cpul=abc\n", "cpur\n", "cpu=2\nmemr=4GB\n"])
def test_a_syntax_error_is_a_file_that_could_not_be_read_not_a_refusal(tmp_path, text):
    path = tmp_path / ".resources"
    path.write_text(text)
    result = run("check", str(path))
    assert result.returncode == 1
    first, *_, last = result.stdout.splitlines()
    assert first.startswith(f"{path}: could not be read as a .resources file (")
    assert last.startswith("Fix each line as its message says; docs/resources.md")
    assert "cannot give" not in result.stdout


def test_a_valid_request_over_a_cap_is_what_the_service_cannot_give(tmp_path):
    path = tmp_path / ".resources"
    path.write_text("cpur=1\ngpu=8\n")
    result = run("check", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}: asks for something this service cannot give (1 problem):",
        f"  {path}:2: `gpu=8`: gpu is over this service's cap of 2 GPUs "
        "(ResourcePolicy.max_gpu); ask for at most 2",
    ]


def test_amounts_of_one_are_singular_and_others_plural(tmp_path):
    path = tmp_path / ".resources"
    path.write_text("cpur=0.5\ncpul=1\n")
    result = run("check", str(path))
    assert result.returncode == 0, result.stderr
    assert "CPU request     0.5 cores  " in result.stdout
    assert "CPU limit       1 core     " in result.stdout
    assert "1 cores" not in result.stdout
    path.write_text("cpur=1\ncpul=2\n")
    result = run("check", str(path))
    assert "CPU request     1 core   " in result.stdout
    assert "CPU limit       2 cores  " in result.stdout


@pytest.mark.parametrize(
    ("command", "spec", "fix"),
    [
        ("check", "gh/owner/repo", "gh/owner/repo/HEAD"),
        ("check", "gh/owner/repo/", "gh/owner/repo/HEAD"),
        ("check", "gl/group%2Fproject", "gl/group%2Fproject/HEAD"),
        ("check", "gist/someone/0123abc", "gist/someone/0123abc/HEAD"),
        ("preview", "gh/owner/repo", "gh/owner/repo/HEAD"),
    ],
)
def test_a_spec_without_a_ref_says_the_ref_is_missing_and_how_to_write_it(
    command, spec, fix
):
    preview = ["--values", "values/minimal.yaml", "--launch"]
    args = preview if command == "preview" else []
    module = "offline" if command == "preview" else "pyconfig"  # clone only
    result = run(command, *args, spec, module=module)
    assert result.returncode == 2
    assert f"cannot read {spec!r}: the ref is missing: " in result.stderr
    assert f"write {fix} for the default branch, or put a branch, tag or " in (
        result.stderr
    )
    assert "use gh/OWNER/REPO/REF, gl/" not in result.stderr


def test_json_output(tmp_path):
    good = tmp_path / "good"
    good.write_text("gpu=1\nmemr=2\n")
    bad = tmp_path / "bad"
    bad.write_text("cpul=0\n")
    result = run("check", "--json", str(good), str(bad))
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    # Valid or not, a report has the same keys, so a script reads both alike.
    assert (
        list(first)
        == list(second)
        == ["file", "found", "valid", "problems", "resources", "kubespawner"]
    )
    assert (first["problems"], second["resources"], second["kubespawner"]) == (
        [],
        None,
        None,
    )
    # CPU and memory are floats whether from the file or a default; GPUs ints.
    assert first["resources"]["mem_guarantee"]["value"] == 2.0
    assert isinstance(first["resources"]["mem_guarantee"]["value"], float)
    assert isinstance(first["resources"]["cpu_limit"]["value"], float)
    assert first["valid"] is True
    assert first["resources"]["gpu"] == {
        "value": 1,
        "source": "file",
        "line": 1,
        "note": None,
    }
    assert first["kubespawner"]["extra_resource_limits"] == {"nvidia.com/gpu": 1}
    assert first["kubespawner"]["mem_guarantee"] == 2 * 1024**3
    assert second["valid"] is False
    assert second["problems"][0]["kind"] == "zero"
    assert second["problems"][0]["line"] == 1


def test_values_file_sets_defaults_and_caps(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text(
        "binderhub:\n  jupyterhub:\n    hub:\n      config:\n"
        "        ResourcePolicy:\n          default_cpu_limit: 2\n"
        "          max_gpu: 0\n"
    )
    path = tmp_path / ".resources"
    path.write_text("memr=2\n")
    result = run("check", "--values", str(values), str(path))
    assert result.returncode == 0
    assert "CPU limit       2 cores" in result.stdout
    path.write_text("gpu=1\n")
    result = run("check", "--values", str(values), str(path))
    assert result.returncode == 1
    assert "this service has no GPUs" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["check", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "the following arguments are required"),
        (["check", "--values", "/nonexistent/values.yaml"], "no such values file"),
    ],
)
def test_usage_errors_exit_2(args, fragment):
    result = run(*args)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_contradictory_values_are_a_usage_error(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("hub:\n  config:\n    ResourcePolicy:\n      max_cpu: 4\n")
    result = run("check", "--values", str(values), str(tmp_path))
    assert result.returncode == 2
    assert "ResourcePolicy.default_cpu_limit (8.0) is above" in result.stderr


def test_values_file_singleuser_amounts_give_the_defaults_as_in_the_hub(tmp_path):
    """The hub takes singleuser.cpu/.memory as ResourcePolicy's defaults."""
    values = tmp_path / "values.yaml"
    values.write_text(
        "jupyterhub:\n  singleuser:\n    cpu: {limit: 3}\n"
        "    memory: {guarantee: 512M}\n"
    )
    result = run("check", "--values", str(values), str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "CPU limit       3 cores" in result.stdout
    assert "memory request  0.5 GB" in result.stdout


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "singleuser:\n  memory: {limit: lots}\n",
            "values.yaml: singleuser.memory.limit: lots is not a valid memory "
            "specification",
        ),
        (
            "singleuser:\n  memory: {limit: 1024}\n",  # bytes: 1 KiB
            "ResourcePolicy.default_mem_limit must be at least 0.001, not "
            "9.5367431640625e-07; ResourcePolicy.default_mem_limit comes from "
            "singleuser.memory.limit (1024)",
        ),
        (
            "singleuser:\n  cpu: {guarantee: 2, limit: 1}\n",
            "values.yaml: singleuser.cpu.guarantee (2, taken as "
            "ResourcePolicy.default_cpu_guarantee) is above singleuser.cpu.limit "
            "(1, taken as ResourcePolicy.default_cpu_limit)",
        ),
    ],
)
def test_bad_singleuser_amounts_name_the_key(tmp_path, text, fragment):
    values = tmp_path / "values.yaml"
    values.write_text(text)
    result = run("check", "--values", str(values), str(tmp_path))
    assert result.returncode == 2
    assert fragment in result.stderr


def test_unreadable_path_is_a_usage_error(tmp_path):
    path = tmp_path / ".resources"
    path.mkdir()
    (path / ".resources").mkdir()
    result = run("check", str(path))
    assert result.returncode == 2
    assert "error:" in result.stderr


def remote_values(tmp_path, raw_url: str):
    values = tmp_path / "values.yaml"
    values.write_text(
        "binderhub:\n  jupyterhub:\n    hub:\n      config:\n"
        "        RepoFileFetcher:\n          github_raw_urls:\n"
        f"            github.com: '{raw_url}/{{repo}}/{{commit}}/{{path}}'\n"
    )
    return values


def test_check_reads_a_repository_the_way_the_hub_does(tmp_path):
    from fakes.standins import RawFileServer

    with RawFileServer() as raw:
        raw.files["/owner/repo/main/.resources"] = b"gpu=1\ncpu=2\n"
        raw.files["/owner/good/main/.resources"] = b"meml=32\n"
        values = remote_values(tmp_path, raw.url)
        bad = run("check", "--values", str(values), "gh/owner/repo/main")
        good = run(
            "check", "--values", str(values), "https://github.com/owner/good/tree/main"
        )
        missing = run("check", "--values", str(values), "gh/owner/none/main")
    assert bad.returncode == 1
    assert "unknown key 'cpu'" in bad.stdout
    assert f"{raw.url}/owner/repo/main/.resources" in bad.stdout
    assert good.returncode == 0, good.stderr
    assert "memory limit    32 GB" in good.stdout
    assert missing.returncode == 0
    assert "not found, so the defaults apply" in missing.stdout


def test_check_of_an_unreachable_repository_is_a_usage_error(tmp_path):
    from fakes.ports import free_port

    url = f"http://127.0.0.1:{free_port()}"  # reserved: nothing listens there
    result = run("check", "--values", str(remote_values(tmp_path, url)), "gh/o/r/main")
    assert result.returncode == 2
    assert "gh/o/r/main" in result.stderr


def test_a_missing_values_file_is_worded_as_every_command_words_it(tmp_path):
    result = run("check", "--values", "nope.yaml", str(tmp_path))
    assert (result.returncode, result.stderr) == (
        2,
        "error: nope.yaml: no such values file\n",
    )


@pytest.mark.parametrize(
    ("hidden", "package"), [("tornado", "tornado"), ("yaml", "pyyaml")]
)
def test_a_dependency_that_is_not_installed_is_one_line(hidden, package):
    """As where the command runs without its wheel's dependencies: the
    package cannot be imported (sys.modules holds None for it)."""
    code = (
        "import sys\n"
        f"sys.modules[{hidden!r}] = None\n"
        "from pyconfig.admin.command import main\n"
        "sys.exit(main(['check', 'gh/owner/repo/HEAD']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: pyconfig needs the Python package {package}, which is not "
        f"installed here: pip install {package} (installing the pyconfig wheel "
        "brings all it needs)\n"
    )
