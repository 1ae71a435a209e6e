"""AWS errors become OpsctlErrors naming the resource and what to do."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from opsctl.errors import OpsctlError
from opsctl.provision.session import aws_errors


def _client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "CreateQueue")


@pytest.mark.parametrize(
    ("exc", "in_message", "in_hint"),
    [
        (_client_error("InvalidClientTokenId"), "InvalidClientTokenId", "credentials"),
        (_client_error("AccessDenied"), "AccessDenied", "IAM"),
        (_client_error("Throttling"), "Throttling", "re-run"),
        (_client_error("InvalidParameterValue", "bad size"), "bad size", "opsctl.yml"),
        (NoCredentialsError(), "no AWS credentials", "AWS_PROFILE"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "cannot reach AWS", "endpoint_url"),
    ],
)
def test_aws_errors_name_resource_and_next_step(exc: Exception, in_message: str, in_hint: str) -> None:
    with pytest.raises(OpsctlError) as err, aws_errors("SQS queue hello-lab-jobs", "create"):
        raise exc
    assert "hello-lab-jobs" in err.value.message
    assert in_message in err.value.message
    assert err.value.hint is not None and in_hint in err.value.hint


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), aws_errors("x", "create"):
        raise KeyError("bug")
