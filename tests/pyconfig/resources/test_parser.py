"""The `.resources` parser: the seed's format, every error, and robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyconfig.resources.parser import MAX_BYTES, parse
from pyconfig.resources.problems import MAX_SHOWN, ProblemKind, ResourcesError
from pyconfig.resources.schema import document_validator, resource_keys

# The example in the CERIT-SC user documentation (../shared/seed), verbatim.
SEED_EXAMPLE = "# This file is for resource requests in CERIT-SC\n# Do not change\n"


def problems_of(data: bytes | str) -> list:
    with pytest.raises(ResourcesError) as caught:
        parse(data)
    return caught.value.problems


# --- the seed's statements -------------------------------------------------


def test_seed_example_is_all_comments_and_sets_nothing():
    assert parse(SEED_EXAMPLE).values == {}


def test_seed_keys_each_parse_to_their_number():
    parsed = parse("gpu=1\ncpur=2\ncpul=4\nmemr=8\nmeml=16\n")
    assert parsed.values == {"gpu": 1, "cpur": 2, "cpul": 4, "memr": 8, "meml": 16}
    assert parsed.lines == {"gpu": 1, "cpur": 2, "cpul": 3, "memr": 4, "meml": 5}


def test_seed_lines_starting_with_hash_are_ignored():
    assert parse("#gpu=1\n   # cpur=2\n").values == {}


def test_seed_only_some_lines_given_sets_only_those():
    assert parse("# need memory\nmeml=32\n").values == {"meml": 32}


def test_seed_ram_without_units_is_gb_number():
    assert parse("memr=4").values == {"memr": 4}
    [problem] = problems_of("memr=4G")
    assert problem.kind is ProblemKind.UNIT_GIVEN
    assert "write 4, not 4G" in problem.message


# --- the format ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "cpur=2",
        "  cpur  =  2  ",
        "\tcpur\t=\t2\t",
        "cpur=2 # two cores",
        "cpur=2#no space",
        "\n\n# comment\n\ncpur=2\n\n",
        "cpur=2\r\n",
        "\ufeffcpur=2",
    ],
)
def test_whitespace_comments_and_line_ends_are_accepted(text):
    assert parse(text).values == {"cpur": 2}


def test_bom_and_crlf_in_bytes():
    assert parse(b"\xef\xbb\xbfcpur=2\r\nmeml=3\r\n").values == {"cpur": 2, "meml": 3}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.5", 0.5), (".5", 0.5), ("2.", 2.0), ("1.25", 1.25), ("007", 7)],
)
def test_decimals(value, expected):
    assert parse(f"cpul={value}").values["cpul"] == expected


def test_the_smallest_amounts_are_accepted():
    text = "cpur=0.001\ncpul=0.001\nmemr=0.001\nmeml=.001\ngpu=0\n"
    assert parse(text).values == {
        "cpur": 0.001,
        "cpul": 0.001,
        "memr": 0.001,
        "meml": 0.001,
        "gpu": 0,
    }


def test_gpu_is_an_int_even_when_written_with_a_decimal_point():
    value = parse("gpu=2.0").values["gpu"]
    assert value == 2 and isinstance(value, int)


# --- every error, with the message it must produce --------------------------

BAD_INPUTS = [
    ("cpu=2", ProblemKind.UNKNOWN_KEY, "did you mean cpur or cpul?"),
    ("memory=2", ProblemKind.UNKNOWN_KEY, "did you mean memr or meml?"),
    ("gpus=1", ProblemKind.UNKNOWN_KEY, "did you mean gpu?"),
    ("cpurr=1", ProblemKind.UNKNOWN_KEY, "did you mean cpur"),
    ("disk=10", ProblemKind.UNKNOWN_KEY, "the keys are gpu, cpur, cpul, memr, meml"),
    ("CPUR=2", ProblemKind.WRONG_CASE, "write cpur, not CPUR"),
    ("Meml=2", ProblemKind.WRONG_CASE, "write meml, not Meml"),
    ("cpur 2", ProblemKind.MISSING_EQUALS, "write cpur=2"),
    ("cpur: 2", ProblemKind.MISSING_EQUALS, "write cpur=2"),
    ("hello", ProblemKind.MISSING_EQUALS, "write key=value"),
    ("=2", ProblemKind.MISSING_KEY, "nothing before '='"),
    ("cpur=", ProblemKind.EMPTY_VALUE, "cpur has no value"),
    ("cpur=   # later", ProblemKind.EMPTY_VALUE, "delete the line to use the default"),
    ("cpur=two", ProblemKind.NOT_A_NUMBER, "'two' is not a number"),
    ("cpur=1 5", ProblemKind.NOT_A_NUMBER, "is not a number"),
    ("cpur=0,5", ProblemKind.NOT_A_NUMBER, "write 0.5, not 0,5"),
    ("cpur=+2", ProblemKind.NOT_A_NUMBER, "without the '+' sign"),
    ("cpur=" + "1" * 30, ProblemKind.NOT_A_NUMBER, "too many digits"),
    ("memr=4GB", ProblemKind.UNIT_GIVEN, "write 4, not 4GB"),
    ("meml=16 GiB", ProblemKind.UNIT_GIVEN, "write 16, not 16 GiB"),
    ("cpur=2 cores", ProblemKind.UNIT_GIVEN, "write 2, not 2 cores"),
    ("cpul=500 m", ProblemKind.UNIT_GIVEN, "write 0.5, not 500 m"),
    ("cpul=500m", ProblemKind.UNIT_GIVEN, "write 0.5, not 500m"),
    ("cpul=1500m", ProblemKind.UNIT_GIVEN, "write 1.5, not 1500m"),
    ("cpul=1m", ProblemKind.UNIT_GIVEN, "write 0.001, not 1m"),
    ("cpul=0.5m", ProblemKind.UNIT_GIVEN, "less than the smallest amount, 0.001"),
    ("meml=1e-12", ProblemKind.NOT_PLAIN, "write 0.000000000001, not 1e-12"),
    ("meml=1e-20", ProblemKind.NOT_PLAIN, "write the plain number, not 1e-20"),
    ("cpul=2cores", ProblemKind.UNIT_GIVEN, "write 2, not 2cores"),
    ("cpur=-1", ProblemKind.NEGATIVE, "cpur cannot be negative"),
    ("gpu=-1", ProblemKind.NEGATIVE, "write 0 or more"),
    ("cpul=0", ProblemKind.ZERO, "cpul must be more than 0"),
    ("memr=0.0", ProblemKind.ZERO, "write 0.001 or more"),
    ("cpur=-1", ProblemKind.NEGATIVE, "write 0.001 or more"),
    # Amounts Kubernetes would round to nothing: the pod would get no limit.
    ("memr=0.0000000001", ProblemKind.TOO_SMALL, "smallest amount of memr is 0.001 GB"),
    ("meml=0.0000000001", ProblemKind.TOO_SMALL, "smallest amount of meml is 0.001 GB"),
    ("meml=0.0009", ProblemKind.TOO_SMALL, "write 0.001 or more"),
    ("cpur=0.0000001", ProblemKind.TOO_SMALL, "is 0.001 CPU cores"),
    ("cpul=0.0009", ProblemKind.TOO_SMALL, "is 0.001 CPU cores"),
    ("meml=nan", ProblemKind.NOT_PLAIN, "'nan' is not an amount"),
    ("meml=inf", ProblemKind.NOT_PLAIN, "'inf' is not an amount"),
    ("meml=-Infinity", ProblemKind.NOT_PLAIN, "is not an amount"),
    ("meml=1e3", ProblemKind.NOT_PLAIN, "write 1000, not 1e3"),
    ("cpul=2.5E-1", ProblemKind.NOT_PLAIN, "write 0.25, not 2.5E-1"),
    ("meml=1e400", ProblemKind.NOT_PLAIN, "write the plain number"),
    ("meml=0x10", ProblemKind.NOT_PLAIN, "write digits 0-9 only"),
    ("gpu=0.5", ProblemKind.NOT_WHOLE, "write a whole number such as 1"),
    ("gpu=1.5", ProblemKind.NOT_WHOLE, "GPUs are whole devices"),
    ("meml=5000", ProblemKind.TOO_BIG, "at most 4096 GB"),
    ("cpul=1000", ProblemKind.TOO_BIG, "at most 512 CPU cores"),
    ("gpu=100", ProblemKind.TOO_BIG, "at most 64 GPUs"),
    ("cpur=2\ncpur=4", ProblemKind.DUPLICATE_KEY, "already set on line 1"),
]


@pytest.mark.parametrize(("text", "kind", "fragment"), BAD_INPUTS)
def test_bad_input_message(text, kind, fragment):
    problems = problems_of(text)
    assert [p.kind for p in problems] == [kind]
    [problem] = problems
    assert fragment in problem.message
    assert problem.line == text.count("\n") + 1
    # The offending text is quoted, so the author finds it.
    assert problem.text == text.splitlines()[-1].split("#")[0].strip()


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("cpur=" + "1" * 65531, ProblemKind.NOT_A_NUMBER, "too many digits"),
        ("cpur=1e" + "1" * 60 + "x", ProblemKind.NOT_A_NUMBER, "too long to be"),
        ("cpur " + " " * 100 + "2", ProblemKind.MISSING_EQUALS, "write cpur=2"),
        ("cpur: " + "9" * 100, ProblemKind.MISSING_EQUALS, "write cpur=999"),
        ("cpux" * 100 + "=1", ProblemKind.UNKNOWN_KEY, "the keys are gpu"),
    ],
)
def test_long_lines_get_short_messages(text, kind, fragment):
    """A long line is quoted and echoed cut short, never whole."""
    [problem] = problems_of(text)
    assert problem.kind is kind
    assert fragment in problem.message
    assert len(problem.text) <= 60
    assert len(problem.message) <= 200


def test_message_names_file_line_and_text():
    error = ResourcesError(problems_of("gpu=1\ncpu=2\n"), "repo/.resources")
    assert "repo/.resources:2: `cpu=2`: unknown key 'cpu'" in str(error)


def test_all_errors_are_reported_at_once():
    text = "cpu=2\nmemr=4GB\ngpu=1\ncpul=-3\nbad line\n"
    problems = problems_of(text)
    assert [(p.line, p.kind) for p in problems] == [
        (1, ProblemKind.UNKNOWN_KEY),
        (2, ProblemKind.UNIT_GIVEN),
        (4, ProblemKind.NEGATIVE),
        (5, ProblemKind.MISSING_EQUALS),
    ]


def test_a_repeated_key_with_a_bad_value_reports_both():
    problems = problems_of("meml=4\nmeml=lots\n")
    assert {p.kind for p in problems} == {
        ProblemKind.DUPLICATE_KEY,
        ProblemKind.NOT_A_NUMBER,
    }


def test_repeated_after_a_bad_first_value_is_still_a_duplicate():
    problems = problems_of("memr=4GB\nmemr=4\n")
    assert [p.kind for p in problems] == [
        ProblemKind.UNIT_GIVEN,
        ProblemKind.DUPLICATE_KEY,
    ]


def test_file_larger_than_64_kib_is_refused_whole():
    data = b"# padding\n" * (MAX_BYTES // 10 + 1)
    [problem] = problems_of(data)
    assert problem.kind is ProblemKind.TOO_LARGE
    assert problem.line is None
    assert f"{len(data)} bytes" in problem.message


def test_file_of_exactly_64_kib_is_read():
    line = b"cpur=2\n"
    data = line + b"#" * (MAX_BYTES - len(line))
    assert len(data) == MAX_BYTES
    assert parse(data).values == {"cpur": 2}


def test_not_utf8_names_the_line_and_other_lines_are_still_checked():
    problems = problems_of(b"cpur=2\nmeml=\xff\xfe\ncpu=1\n")
    assert [(p.line, p.kind) for p in problems] == [
        (2, ProblemKind.NOT_UTF8),
        (3, ProblemKind.UNKNOWN_KEY),
    ]
    assert "save the file as UTF-8" in problems[0].message
    assert "\\xff" in problems[0].text


def test_control_characters_are_shown_escaped():
    [problem] = problems_of("cp\x00u=1")
    assert "\\x00" in problem.text
    assert "\x00" not in str(problem)


def test_many_problems_are_counted_not_all_printed():
    text = "nonsense\n" * (MAX_SHOWN + 7)
    with pytest.raises(ResourcesError) as caught:
        parse(text)
    assert len(caught.value.problems) == MAX_SHOWN + 7
    assert "... and 7 more" in str(caught.value)


@pytest.mark.parametrize("kind", list(ProblemKind))
def test_every_problem_kind_has_an_example_that_makes_it(kind):
    """The docs show each kind's example and real message: keep them true."""
    from pyconfig.resources.effective import evaluate
    from pyconfig.resources.policy import ResourcePolicy

    example = kind.example
    if example is None:  # too large: built, not written out
        example = b"#" * (MAX_BYTES + 1)
    with pytest.raises(ResourcesError) as caught:
        evaluate(example, ResourcePolicy())
    assert kind in {p.kind for p in caught.value.problems}


@pytest.mark.parametrize("kind", list(ProblemKind))
def test_only_a_request_over_a_cap_is_headed_as_one_the_service_cannot_give(kind):
    """A file the service cannot read is not a request it refuses."""
    from pyconfig.resources.effective import evaluate
    from pyconfig.resources.policy import ResourcePolicy

    example = kind.example
    if example is None:
        example = b"#" * (MAX_BYTES + 1)
    with pytest.raises(ResourcesError) as caught:
        evaluate(example, ResourcePolicy())
    error = caught.value
    if kind is ProblemKind.OVER_CAP:
        assert error.verdict == "asks for something this service cannot give"
        assert error.advice() == ""
    else:
        assert error.verdict in (
            "could not be read as a .resources file",
            "is not a valid .resources file",
        )
        assert "docs/resources.md" in error.advice()
    summary = error.report(summary=True)
    assert summary.startswith(f".resources: {error.verdict} (1 problem):")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("cpul=abc", "could not be read as a .resources file"),
        ("cpur", "could not be read as a .resources file"),
        ("memr=4GB", "could not be read as a .resources file"),
        ("cpur=-1", "is not a valid .resources file"),
        ("gpu=0.5", "is not a valid .resources file"),
        ("cpur=-1\ncpul=x", "could not be read as a .resources file"),
    ],
)
def test_a_file_that_cannot_be_parsed_says_so(text, verdict):
    with pytest.raises(ResourcesError) as caught:
        parse(text)
    assert caught.value.verdict == verdict
    assert "cannot give" not in caught.value.report(summary=True)


def test_problems_a_cache_did_not_keep_still_make_the_file_not_valid():
    [shown_one] = problems_of("gpu=0.5")
    error = ResourcesError([shown_one], total=30)
    assert error.verdict == "is not a valid .resources file"


# --- robustness --------------------------------------------------------------

VALID_LINE = st.builds(
    "{}{}={}{}".format,
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(list(resource_keys())),
    st.one_of(
        st.integers(min_value=0, max_value=600).map(str),
        st.decimals(min_value=0, max_value=600, places=3).map(str),
    ),
    st.sampled_from(["", " ", " # note", "\r"]),
)


def _check_outcome(data):
    try:
        parsed = parse(data)
    except ResourcesError as error:
        assert error.problems, "an error must carry at least one problem"
        str(error)
        return
    # A successful parse is a mapping the schema accepts, with known lines.
    assert document_validator().is_valid(parsed.values)
    assert set(parsed.lines) == set(parsed.values)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_parse_or_raise_own_error(data):
    _check_outcome(data)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=2048))
def test_any_text_parses_or_raises_own_error(text):
    _check_outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(VALID_LINE, st.text(max_size=40)), max_size=12))
def test_near_valid_files_parse_or_raise_own_error(lines):
    _check_outcome("\n".join(lines))
