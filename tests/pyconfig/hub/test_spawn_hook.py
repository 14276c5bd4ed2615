"""The pre-spawn hook on a real KubeSpawner, run by the hub's own run_pre_spawn_hook().

Raw files come from a loopback server at the providers' real URL shapes and
Secrets from the loopback Kubernetes API (fakes/kube_api.py). Each
test asserts on KubeSpawner's own pod and PVC manifests.
"""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest
from kubernetes_asyncio.client import ApiClient

from offline.hub_setup import OTHER_SHA, SHA, gist, github, gitlab, zenodo
from pyconfig.hub.refusal import LaunchRefused
from pyconfig.hub.spawn_hook import SOURCE_VARIABLE, hook_for

GPU_FILE = b"# training\ngpu=1\ncpur=2\ncpul=4\nmemr=8\nmeml=16\n"
GIB = 1024**3


async def launch(make_spawner, config, options, username="alice", server="proj"):
    """Run the hub's pre-spawn step, then return the pod as the API would get it."""
    spawner = make_spawner(config, username=username, server=server)
    spawner.user_options = options
    await spawner.run_pre_spawn_hook()
    return spawner, as_sent(await spawner.get_pod_manifest())


# The client's serializer needs no connection: skip __init__, which opens one.
_SERIALIZER = ApiClient.__new__(ApiClient)


def as_sent(manifest) -> dict:
    """A manifest in Kubernetes API field names (camelCase), as sent to the server."""
    return _SERIALIZER.sanitize_for_serialization(manifest)


def container(pod: dict) -> dict:
    return pod["spec"]["containers"][0]


def env_of(pod: dict) -> dict[str, str]:
    return {item["name"]: item.get("value") for item in container(pod)["env"]}


def mounts_of(pod: dict) -> dict[str, tuple[str, str | None]]:
    return {
        m["mountPath"]: (m["name"], m.get("subPath"))
        for m in container(pod)["volumeMounts"]
    }


def resources_of(pod: dict) -> dict:
    return container(pod)["resources"]


async def test_github_launch_gets_its_resources_volume_and_key(
    make_spawner, raw, kube, config
):
    raw.files[f"/owner/repo/{SHA}/.resources"] = GPU_FILE

    spawner, pod = await launch(make_spawner, config, github("owner", "repo"))
    assert resources_of(pod)["requests"] == {
        "cpu": 2.0,
        "memory": 8 * GIB,
        "nvidia.com/gpu": 1,
    }
    assert resources_of(pod)["limits"] == {
        "cpu": 4.0,
        "memory": 16 * GIB,
        "nvidia.com/gpu": 1,
    }
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    keys = [t["key"] for t in pod["spec"]["tolerations"]]
    assert keys.count("nvidia.com/gpu") == 1
    env = env_of(pod)
    assert env[SOURCE_VARIABLE] == (
        f"from .resources of github.com/owner/repo at {SHA[:12]}"
    )
    assert env["PERSISTENT_HOME"] == "/home/alice-nfs-pvc"
    assert env["PERSISTENT_SERVER_DIR"] == "/home/alice-nfs-pvc/proj"
    assert env["GIT_SSH_COMMAND"] == (
        "ssh -i /home/jovyan/.ssh/ssh.priv -o IdentitiesOnly=yes"
    )
    assert "NVIDIA_VISIBLE_DEVICES" not in env
    # Volumes: the user's claim, the key Secret, the known hosts.
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["persistent-binderhub-home"]["persistentVolumeClaim"] == {
        "claimName": "alice-nfs-pvc"
    }
    assert volumes["persistent-binderhub-ssh-key"]["secret"] == {
        "secretName": "alice-ssh-key",
        "defaultMode": 0o440,
    }
    assert volumes["persistent-binderhub-known-hosts"]["configMap"] == {
        "name": "persistent-binderhub-known-hosts"
    }
    mounts = mounts_of(pod)
    assert mounts["/home/alice-nfs-pvc"] == ("persistent-binderhub-home", None)
    assert mounts["/home/jovyan/.ssh/ssh.priv"] == (
        "persistent-binderhub-ssh-key",
        "ssh.priv",
    )
    assert mounts["/home/jovyan/.ssh/ssh.pub"] == (
        "persistent-binderhub-ssh-key",
        "ssh.pub",
    )
    assert mounts["/etc/ssh/ssh_known_hosts"][1] == "ssh_known_hosts"
    # uid 1000 with fsGroup 100: the key files are group-readable for it.
    assert pod["spec"]["securityContext"]["fsGroup"] == 100
    assert container(pod)["securityContext"]["runAsUser"] == 1000
    # The claim KubeSpawner would create on first launch.
    pvc = as_sent(spawner.get_pvc_manifest())
    assert pvc["metadata"]["name"] == "alice-nfs-pvc"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["storageClassName"] == "nfs-csi"
    assert pvc["spec"]["resources"]["requests"] == {"storage": "20Gi"}  # cerit.yaml
    assert spawner.delete_pvc is False
    # The key Secret now exists, labelled with the user.
    stored = kube.get("secrets", "binderhub", "alice-ssh-key")  # z2jh: POD_NAMESPACE
    assert stored["metadata"]["labels"]["hub.jupyter.org/username"] == "alice"
    public = base64.b64decode(stored["data"]["ssh.pub"]).decode()
    assert public.startswith("ssh-ed25519 ")
    assert public.strip().endswith("alice@persistent-binderhub")


@pytest.mark.parametrize(
    ("options", "path"),
    [
        (
            gitlab("group/sub/project"),
            f"/api/v4/projects/group%2Fsub%2Fproject/repository/files/.resources/raw"
            f"?ref={SHA}",
        ),
        (gist("someone", "a1b2c3d4e5"), f"/someone/a1b2c3d4e5/raw/{SHA}/.resources"),
        (
            github("team", "repo", host="github.example.org"),
            f"/ghe/raw/team/repo/{SHA}/.resources",
        ),
    ],
    ids=["gitlab-nested", "gist", "github-enterprise"],
)
async def test_other_providers_read_the_file_at_their_url_shape(
    make_spawner, raw, config, options, path
):
    raw.files[path] = b"meml=32\n"

    _, pod = await launch(make_spawner, config, options)
    assert resources_of(pod)["limits"]["memory"] == 32 * GIB
    assert env_of(pod)[SOURCE_VARIABLE].startswith("from .resources of ")
    assert [p for _, p, _ in raw.requests] == [path]


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (github("owner", "nofile"), "github.com/owner/nofile at 0123456789ab has no"),
        (zenodo("10.5281/zenodo.3242074"), "provider 'zenodo' cannot carry"),
        ({}, "not launched from a repository"),
    ],
    ids=["no-file", "zenodo", "not-binder"],
)
async def test_launches_without_a_file_get_defaults_and_say_why(
    make_spawner, config, options, reason
):
    _, pod = await launch(make_spawner, config, options)
    assert resources_of(pod)["requests"] == {"cpu": 1.0, "memory": 1 * GIB}
    assert resources_of(pod)["limits"] == {"cpu": 8.0, "memory": 16 * GIB}
    env = env_of(pod)
    assert env["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert env[SOURCE_VARIABLE].startswith("defaults: ")
    assert reason in env[SOURCE_VARIABLE]


async def test_invalid_file_refuses_the_launch_naming_repo_line_and_problem(
    make_spawner, raw, config
):
    raw.files[f"/owner/broken/{SHA}/.resources"] = b"gpu=1\ncpu=2\nmemr=4GB\n"

    with pytest.raises(LaunchRefused) as caught:
        await launch(make_spawner, config, github("owner", "broken"))
    refused = caught.value
    message = refused.log_message % refused.args
    assert refused.status_code == 400
    assert "github.com/owner/broken at 0123456789ab" in message
    assert ".resources:2: `cpu=2`: unknown key 'cpu'; did you mean cpur or cpul?" in (
        message
    )
    assert ".resources:3: `memr=4GB`" in message
    assert refused.jupyterhub_message == message
    # A syntax error is a file that could not be read, not a refused request.
    assert message.startswith(
        "Launch refused: the .resources of github.com/owner/broken at "
        "0123456789ab could not be read as a .resources file. Fix each line "
        "as its message says; docs/resources.md of Persistent BinderHub "
        "describes the format"
    )
    assert "`python -m pyconfig check`" in message
    assert "cannot give" not in message


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        (b"cpul=abc\n", "could not be read as a .resources file."),
        (b"cpur\n", "could not be read as a .resources file."),
        (b"cpur=4\ncpul=2\n", "is not a valid .resources file."),
        (
            b"oops\ngpu=8\n",
            "could not be read as a .resources file and asks for something "
            "this service cannot give.",
        ),
    ],
    ids=["not-a-number", "no-equals", "request-over-limit", "syntax-and-cap"],
)
async def test_a_file_that_is_not_valid_is_refused_as_unreadable_not_as_too_much(
    make_spawner, raw, config, text, verdict
):
    raw.files[f"/owner/broken/{SHA}/.resources"] = text

    with pytest.raises(LaunchRefused) as caught:
        await launch(make_spawner, config, github("owner", "broken"))
    refused = caught.value
    heading = refused.jupyterhub_message.splitlines()[0]
    assert heading.startswith(
        f"Launch refused: the .resources of github.com/owner/broken at "
        f"0123456789ab {verdict} Fix each line as its message says; "
        "docs/resources.md"
    )
    if "cannot give" not in verdict:
        assert "cannot give" not in refused.jupyterhub_message


async def test_invalid_file_may_launch_with_defaults_instead(make_spawner, raw, config):
    raw.files[f"/owner/broken/{SHA}/.resources"] = b"cpu=2\n"
    config.RepositoryResources.on_invalid_file = "defaults"

    _, pod = await launch(make_spawner, config, github("owner", "broken"))
    assert env_of(pod)[SOURCE_VARIABLE] == (
        "defaults: .resources of github.com/owner/broken at 0123456789ab "
        "could not be read as a .resources file"
    )


async def test_cap_exceeded_refuses_naming_the_cap(make_spawner, raw, config):
    raw.files[f"/owner/big/{SHA}/.resources"] = b"gpu=8\n"

    with pytest.raises(LaunchRefused, match=r"ResourcePolicy\.max_gpu") as caught:
        await launch(make_spawner, config, github("owner", "big"))
    message = caught.value.jupyterhub_message
    # A valid request over a cap is the one the service cannot give.
    assert message.splitlines()[0] == (
        "Launch refused: the .resources of github.com/owner/big at "
        "0123456789ab asks for something this service cannot give."
    )


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("slow", "Timeout"),
        ("error", "HTTP 500"),
        ("huge", "larger than 65536 bytes"),
        ("huge-chunked", "larger than 65536 bytes"),
        ("redirect-loop", "more than 3 redirects"),
    ],
)
async def test_fetch_faults_launch_with_defaults_and_say_why(
    make_spawner, raw, config, fault, reason
):
    raw.faults[f"/owner/repo/{SHA}/.resources"] = fault
    config.RepoFileFetcher.timeout = 0.5  # "slow" answers only at the end

    _, pod = await launch(make_spawner, config, github("owner", "repo"))
    source = env_of(pod)[SOURCE_VARIABLE]
    assert source.startswith("defaults: could not read .resources of ")
    assert reason in source
    assert resources_of(pod)["limits"]["cpu"] == 8.0


async def test_fetch_fault_may_refuse_instead(make_spawner, raw, config):
    raw.faults[f"/owner/repo/{SHA}/.resources"] = "error"
    config.RepositoryResources.on_fetch_error = "refuse"

    with pytest.raises(LaunchRefused, match="HTTP 500"):
        await launch(make_spawner, config, github("owner", "repo"))


@pytest.mark.slow  # a hundred launches
async def test_a_commit_is_fetched_once_however_often_it_is_launched(
    make_spawner, raw, config
):
    raw.files[f"/owner/repo/{SHA}/.resources"] = b"cpur=2\n"
    raw.files[f"/owner/repo/{OTHER_SHA}/.resources"] = b"cpur=3\n"
    config.ServerQuota.limit = 0  # 30 servers of one user at once: no quota here

    spawners = [make_spawner(config, server=f"s{i}") for i in range(30)]
    for spawner in spawners:
        spawner.user_options = github("owner", "repo")
    await asyncio.gather(*(s.run_pre_spawn_hook() for s in spawners))
    for _ in range(5):
        await launch(make_spawner, config, github("owner", "repo"))
    _, pod = await launch(make_spawner, config, github("owner", "repo", OTHER_SHA))
    assert resources_of(pod)["requests"]["cpu"] == 3.0
    assert all(s.cpu_guarantee == 2.0 for s in spawners)
    paths = [p for _, p, _ in raw.requests]
    assert sorted(paths) == sorted(
        [f"/owner/repo/{SHA}/.resources", f"/owner/repo/{OTHER_SHA}/.resources"]
    )
    hook = hook_for(config)
    assert hook.resources.cache.hits >= 5
    assert len(hook.resources.cache) == 2


async def test_token_is_sent_for_private_repositories_and_never_logged(
    make_spawner, raw, config, monkeypatch, caplog
):
    token = "ghp_secret_token_value_123"
    monkeypatch.setenv("TEST_GITHUB_TOKEN", token)
    config.RepoFileFetcher.token_env = {"github.com": "TEST_GITHUB_TOKEN"}
    raw.required_headers = {"Authorization": f"token {token}"}
    raw.files[f"/owner/private/{SHA}/.resources"] = b"cpul=2\n"

    with caplog.at_level(logging.DEBUG):
        _, pod = await launch(make_spawner, config, github("owner", "private"))
    assert resources_of(pod)["limits"]["cpu"] == 2.0
    assert token not in caplog.text


async def test_other_servers_of_the_user_keep_their_resources(
    make_spawner, raw, config
):
    raw.files[f"/owner/gpu/{SHA}/.resources"] = b"gpu=1\n"

    gpu_server = make_spawner(config, server="gpu")
    other = gpu_server.user.spawners["plain"]
    gpu_server.user_options = github("owner", "gpu")
    other.user_options = github("owner", "plain")
    await gpu_server.run_pre_spawn_hook()
    await other.run_pre_spawn_hook()
    gpu_pod = as_sent(await gpu_server.get_pod_manifest())
    plain_pod = as_sent(await other.get_pod_manifest())
    assert resources_of(gpu_pod)["limits"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in resources_of(plain_pod)["limits"]
    assert not plain_pod["spec"].get("nodeSelector")


async def test_a_file_of_many_errors_is_refused_with_the_first_ones_and_a_count(
    make_spawner, raw, config
):
    raw.files[f"/owner/many/{SHA}/.resources"] = b"cpu=2\n" * 100

    for _ in range(2):  # the second refusal comes from the cache
        with pytest.raises(LaunchRefused) as caught:
            await launch(make_spawner, config, github("owner", "many"))
        message = caught.value.log_message % caught.value.args
        assert ".resources: 100 problems:" in message
        assert ".resources:20: `cpu=2`" in message
        assert ".resources:21:" not in message
        assert "... and 80 more" in message
    assert len(raw.requests) == 1


def as_the_hub_sends(spawner, options) -> None:
    """What JupyterHub's User.spawn does with a request's user_options before
    the hook: save them over the server's stored ones, then hand them over."""
    spawner.orm_spawner.user_options = options
    spawner.user.db.commit()
    spawner.user_options = options


async def test_a_refused_relaunch_keeps_the_record_of_the_last_run(
    make_spawner, raw, config
):
    from jupyterhub import orm

    from pyconfig.hub.launch_record import RECORD_KEY

    raw.files[f"/owner/good/{SHA}/.resources"] = b"cpul=4\n"
    raw.files[f"/owner/broken/{SHA}/.resources"] = b"cpu=2\n"

    spawner = make_spawner(config, server="proj")
    as_the_hub_sends(spawner, github("owner", "good"))
    await spawner.run_pre_spawn_hook()
    spawner.orm_spawner.server = orm.Server()  # it ran, then stopped
    spawner.user.db.commit()
    ran_with = dict(spawner.orm_spawner.user_options)
    spawner.orm_spawner.server = None
    spawner.user.db.commit()
    forged = {"cpu_limit": 0, "gpu": 0, "origin": "file"}
    as_the_hub_sends(spawner, {**github("owner", "broken"), RECORD_KEY: forged})
    with pytest.raises(LaunchRefused, match="unknown key 'cpu'"):
        await spawner.run_pre_spawn_hook()
    assert ran_with[RECORD_KEY]["cpu_limit"] == 4
    assert spawner.orm_spawner.user_options == ran_with
    assert spawner.user_options == ran_with


async def test_a_refused_new_server_keeps_no_record_it_was_sent(
    make_spawner, raw, config
):
    from pyconfig.hub.launch_record import RECORD_KEY

    raw.files[f"/owner/broken/{SHA}/.resources"] = b"cpu=2\n"

    spawner = make_spawner(config, server="new")
    forged = {
        **dict.fromkeys(("cpu_guarantee", "cpu_limit", "gpu"), 0),
        **dict.fromkeys(("mem_guarantee_gb", "mem_limit_gb"), 0),
        "origin": "file",
        "explanation": "",
        "ssh_public_key": "ssh-ed25519 AAAA evil",
    }
    as_the_hub_sends(spawner, {**github("owner", "broken"), RECORD_KEY: forged})
    with pytest.raises(LaunchRefused):
        await spawner.run_pre_spawn_hook()
    assert RECORD_KEY not in spawner.orm_spawner.user_options
    assert spawner.orm_spawner.user_options["repo_url"].endswith("/owner/broken")


async def test_a_refused_start_without_new_options_keeps_the_stored_ones(
    make_spawner, raw, config
):
    """A start without a body (the hub reuses the stored options) that is
    refused, here for the quota, changes nothing stored."""
    from jupyterhub import orm

    from pyconfig.hub.launch_record import RECORD_KEY

    config.ServerQuota.limit = 1

    second = make_spawner(config, server="b")
    as_the_hub_sends(second, github("owner", "plain"))
    await second.run_pre_spawn_hook()  # it ran once; now it is stopped
    first = second.user.spawners["a"]
    as_the_hub_sends(first, github("owner", "plain"))
    await first.run_pre_spawn_hook()
    first.orm_spawner.server = orm.Server()  # running: the quota is full
    stored = dict(second.orm_spawner.user_options)
    second.user_options = stored  # what the hub loads when sent nothing
    with pytest.raises(LaunchRefused, match="the most allowed"):
        await second.run_pre_spawn_hook()
    assert RECORD_KEY in stored
    assert second.orm_spawner.user_options == stored
