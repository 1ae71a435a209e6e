"""The top-level aws: settings and their per-environment overrides (Config.aws_for)."""

from __future__ import annotations

from tests.unit.config_samples import VALID, line_of, parse_ok, problems_of

WITH_OVERRIDES = VALID.replace(
    "    tag: latest\n",
    "    tag: latest\n"
    "    aws:\n"
    "      region: us-west-2\n"
    "      queues:\n"
    "        jobs:\n"
    "          visibility_timeout: 60\n",
).replace(
    "  endpoint_url: http://127.0.0.1:5000\n",
    "  endpoint_url: http://127.0.0.1:5000\n"
    "  queues:\n"
    "    jobs:\n"
    "      retention_seconds: 600\n"
    "    mail: {}\n",
)


def test_environment_without_overrides_gets_the_top_level_settings() -> None:
    config = parse_ok(WITH_OVERRIDES)
    production = config.aws_for("production")
    assert production is config.aws
    assert production.region == "eu-west-1"
    assert production.endpoint_url == "http://127.0.0.1:5000"
    assert set(production.queues) == {"jobs", "mail"}


def test_overrides_are_deep_merged_over_the_top_level() -> None:
    config = parse_ok(WITH_OVERRIDES)
    staging = config.aws_for("staging")
    assert staging.region == "us-west-2"
    assert staging.endpoint_url == "http://127.0.0.1:5000"  # inherited
    assert set(staging.queues) == {"jobs", "mail"}
    assert staging.queues["jobs"].visibility_timeout == 60  # overridden
    assert staging.queues["jobs"].retention_seconds == 600  # inherited from the same mapping
    assert config.aws.queues["jobs"].visibility_timeout == 30  # the top level is untouched


def test_a_mistake_in_an_override_names_the_environment_and_its_line() -> None:
    text = WITH_OVERRIDES.replace("      region: us-west-2\n", "      regon: us-west-2\n")
    (problem,) = problems_of(text)
    assert problem == (
        f"opsctl.yml:{line_of(text, 'regon')}: environments.staging.aws.regon: "
        "unknown key (did you mean 'region'?)"
    )


def test_override_mistakes_are_reported_together_with_other_mistakes() -> None:
    text = WITH_OVERRIDES.replace("      region: us-west-2\n", "      regon: us-west-2\n").replace(
        "port: 8080", "port: 80a"
    )
    problems = problems_of(text)
    assert [p.split(": ", 2)[1] for p in problems] == ["services.web.port", "environments.staging.aws.regon"]


def test_a_top_level_mistake_is_reported_once_at_its_own_line() -> None:
    text = WITH_OVERRIDES.replace("      retention_seconds: 600\n", "      retention_seconds: 1\n")
    (problem,) = problems_of(text)
    assert problem.startswith(f"opsctl.yml:{line_of(text, 'retention_seconds: 1')}: aws.queues.jobs.retention_seconds:")


def test_an_invalid_combination_is_reported_for_the_environment() -> None:
    # ses without a domain is fine only while dns names a zone; the override drops the zone.
    text = VALID.replace(
        "  region: eu-west-1\n", "  region: eu-west-1\n  dns:\n    zone: example.com\n  ses: {}\n"
    ).replace("    tag: latest\n", "    tag: latest\n    aws:\n      dns: null\n")
    problems = problems_of(text)
    assert len(problems) == 1 and "environments.staging.aws" in problems[0], problems
    assert "aws.ses needs a domain" in problems[0]
