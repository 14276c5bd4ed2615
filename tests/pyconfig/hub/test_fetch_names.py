"""Owner, repository, gist id, namespace and ref are checked against the
provider's name rules before they go into a raw file URL, on both paths:
the hook (BinderHub's user_options, which any hub user can also send through
the hub API) and ``pyconfig check`` (a spec typed by a repository author).

The review's cases: ``gh/a#/b/c`` fetched ``/a``; ``check 'gh/o/x#/main'``
read ``/o/x`` and called it valid; ``gh/../../x`` sent ``/../../x/.resources``
with the token.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from traitlets.config import Config

from fakes.standins import RawFileServer
from offline.hub_setup import SHA, binder_options, cerit_api, cerit_config, github
from pyconfig.admin.launch_request import SpecError, user_options
from pyconfig.hub.repo_files import FetchError, RepoFileFetcher
from pyconfig.hub.repo_spec import (
    PROVIDERS,
    LaunchedRepo,
    NotFromRepository,
    launched_repo,
    spec_problem,
)
from pyconfig.hub.spawn_hook import SOURCE_VARIABLE
from tests.conftest import ROOT

#: (binder_persistent_request spec, the part the refusal names)
FORGED = [
    (f"a#/b/{SHA}", "GitHub owner 'a#'"),
    (f"o/x#/{SHA}", "GitHub repository 'x#'"),
    ("../../x", "GitHub owner '..'"),
    (f"o/../{SHA}", "GitHub repository '..'"),
    (f"o/%2e%2e/{SHA}", "GitHub repository '%2e%2e'"),
    (f"o/x?y=1/{SHA}", "GitHub repository 'x?y=1'"),
    (f"-o/x/{SHA}", "GitHub owner '-o'"),
    (f"o--o/x/{SHA}", "GitHub owner 'o--o'"),
    (f"{'o' * 40}/x/{SHA}", "GitHub owner 'oooo"),
    ("o/x/main#", "ref 'main#'"),
    ("o/x/..", "ref '..'"),
    ("o/x/a..b", "ref 'a..b'"),
]


def forged(provider: str, spec: str) -> dict:
    """user_options as a hub API caller may send them."""
    return binder_options(
        provider, spec, "https://github.com/o/x/tree/x", "https://github.com/o/x"
    )


@pytest.mark.parametrize(("spec", "named"), FORGED)
def test_forged_github_specs_are_not_read(spec, named):
    repo = launched_repo(forged("gh", spec))
    assert isinstance(repo, NotFromRepository)
    assert named in repo.reason


@pytest.mark.parametrize(
    ("provider", "spec", "named"),
    [
        ("gist", f"someone/not-hex/{SHA}", "gist id 'not-hex'"),
        ("gist", f"some_one/abc/{SHA}", "GitHub owner 'some_one'"),
        ("gl", f"group%2F..%2Fother/{SHA}", "GitLab namespace part '..'"),
        ("gl", f"group%2Fp%23x/{SHA}", "GitLab namespace part 'p#x'"),
        ("gl", f"project/{SHA}", "GROUP/PROJECT"),
        ("gl", "group%2Fproject/ma%in", "ref 'ma%in'"),
    ],
)
def test_forged_gist_and_gitlab_specs_are_not_read(provider, spec, named):
    repo = launched_repo(forged(provider, spec))
    assert isinstance(repo, NotFromRepository)
    assert named in repo.reason


@pytest.mark.parametrize(
    ("provider", "repo", "ref"),
    [
        ("gh", "jupyterhub/binderhub", SHA),
        ("gh", "a-b-c/x.y_z-1", "main"),
        ("gh", "o/.github", "v1.2.3"),
        ("gist", "someone/0123abcdef", SHA),
        ("gl", "group/sub.group/my_project-1", SHA),
        ("gl", "group/project", "HEAD"),
    ],
)
def test_real_names_pass(provider, repo, ref):
    assert spec_problem(provider, repo, ref) is None


def test_names_that_get_past_are_quoted_in_the_url():
    """Defence in depth: a LaunchedRepo made without launched_repo."""
    config = Config()
    config.RepoFileFetcher.github_raw_urls = {
        "github.com": "https://raw.example.org/{repo}/{commit}/{path}"
    }
    fetcher = RepoFileFetcher(config=config)
    url = fetcher.raw_url(
        LaunchedRepo("gh", "github.com", "o#/x?", "c/d"), ".resources"
    )
    assert url == "https://raw.example.org/o%23/x%3F/c%2Fd/.resources"


@pytest.mark.parametrize(
    "repo",
    [
        LaunchedRepo("gh", "github.com", "../..", "x"),
        LaunchedRepo("gh", "github.com", "o#/x", SHA),
        LaunchedRepo("gist", "gist.github.com", "u/../x", SHA),
        LaunchedRepo("gl", "gitlab.com", "g/..", SHA),
    ],
)
async def test_the_fetcher_refuses_names_that_get_past(repo):
    with pytest.raises(FetchError, match="is not valid"):
        await RepoFileFetcher().fetch(repo, ".resources")


@pytest.mark.parametrize(
    ("provider", "spec", "fix"),
    [
        ("gh", "owner/repo", "gh/owner/repo/HEAD"),
        ("gh", "owner/repo/", "gh/owner/repo/HEAD"),
        ("gl", "group%2Fsub%2Fproject", "gl/group%2Fsub%2Fproject/HEAD"),
        ("gist", "someone/0123abc", "gist/someone/0123abc/HEAD"),
    ],
)
def test_a_spec_without_a_ref_says_the_ref_is_missing_and_shows_one(
    provider, spec, fix
):
    repo = launched_repo(forged(provider, spec))
    assert isinstance(repo, NotFromRepository)
    assert f"the ref is missing: a {PROVIDERS[provider].name} spec is " in repo.reason
    assert f"write {fix} for the default branch" in repo.reason
    with pytest.raises(SpecError) as caught:
        user_options(f"{provider}/{spec}")
    assert str(caught.value).startswith(
        f"cannot read '{provider}/{spec}': the ref is missing"
    )
    assert fix in str(caught.value)


def test_spec_problem_names_a_missing_ref_after_the_names():
    assert spec_problem("gh", "owner/repo", "").startswith(
        "the ref is missing: a GitHub spec is gh/OWNER/REPO/REF, so write "
        "gh/owner/repo/HEAD for the default branch, or put a branch, tag or "
        "commit in place of HEAD"
    )
    # A bad name is named first: the suggested spec would not work either.
    assert spec_problem("gh", "o#/repo", "").startswith("GitHub owner 'o#'")
    assert spec_problem("gh", "owner/repo", "HEAD") is None


@pytest.mark.parametrize(("spec", "named"), FORGED[:4])
async def test_a_forged_launch_fetches_nothing_and_says_why(
    http_client, make_spawner, spec, named
):
    with RawFileServer() as raw, cerit_api() as kube:
        raw.any_path = b"gpu=1\n"  # whatever path it would reach
        config = cerit_config(raw.url, kube.url)

        spawner = make_spawner(config)
        spawner.user_options = forged("gh", spec)
        await spawner.run_pre_spawn_hook()
        source = spawner.environment[SOURCE_VARIABLE]
    assert raw.requests == []
    assert source.startswith("defaults: cannot read the launch spec")
    assert named in source


async def test_a_real_launch_still_reads_its_file(http_client, make_spawner):
    with RawFileServer() as raw, cerit_api() as kube:
        raw.files[f"/owner/re.po-1/{SHA}/.resources"] = b"cpul=2\n"
        config = cerit_config(raw.url, kube.url)

        spawner = make_spawner(config)
        spawner.user_options = github("owner", "re.po-1")
        await spawner.run_pre_spawn_hook()
        source = spawner.environment[SOURCE_VARIABLE]
        assert source.startswith("from .resources of ")


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("gh/o/x#/main", "GitHub repository 'x#'"),
        ("gh/a#/b/c", "GitHub owner 'a#'"),
        ("gh/../../x", "GitHub owner '..'"),
        ("gist/u/zz/HEAD", "gist id 'zz'"),
        ("gl/g%2F..%2Fp/main", "GitLab namespace part '..'"),
        ("https://github.com/o/%2e%2e/tree/main", "GitHub repository '%2e%2e'"),
    ],
)
def test_check_refuses_bad_names(spec, named):
    with pytest.raises(SpecError, match=f"cannot read .*: {named}"):
        user_options(spec)


def test_check_command_refuses_the_reviews_spec_without_fetching(tmp_path):
    with RawFileServer() as raw:
        raw.any_path = b"cpur=1\n"
        values = tmp_path / "values.yaml"
        values.write_text(
            "binderhub:\n  jupyterhub:\n    hub:\n      config:\n"
            "        RepoFileFetcher:\n          github_raw_urls:\n"
            f"            github.com: '{raw.url}/{{repo}}/{{commit}}/{{path}}'\n"
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pyconfig",
                "check",
                "--values",
                str(values),
                "gh/o/x#/main",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
    assert raw.requests == []
    assert result.returncode == 2, result.stdout
    assert "GitHub repository 'x#' is not valid" in result.stderr
