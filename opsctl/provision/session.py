"""boto3 clients for one region/endpoint, and AWS errors turned into messages a person can act on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    WaiterError,
)

from opsctl.config.aws_models import AwsConfig
from opsctl.errors import OpsctlError
from opsctl.lab.names import lab_aws_credentials

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

_BOTO = BotoConfig(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60)


class Aws:
    """The clients of one `aws:` section, made on first use (so `plan` of one kind is cheap)."""

    def __init__(self, config: AwsConfig) -> None:
        self.region = config.region
        # boto3 reads AWS_ENDPOINT_URL itself; it is looked at here only to name it in errors.
        self.endpoint_url = config.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
        # The lab's moto endpoint takes the lab's credentials: nothing to export for `-e lab`.
        key_id, secret = lab_aws_credentials(self.endpoint_url)
        self._session = boto3.session.Session(
            region_name=config.region, aws_access_key_id=key_id, aws_secret_access_key=secret
        )
        self._endpoint = config.endpoint_url

    def client(self, service: str) -> Any:
        return self._session.client(  # type: ignore[call-overload]
            service, endpoint_url=self._endpoint, config=_BOTO
        )

    @cached_property
    def rds(self) -> RDSClient:
        client: RDSClient = self.client("rds")
        return client

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    @cached_property
    def sns(self) -> SNSClient:
        client: SNSClient = self.client("sns")
        return client

    @cached_property
    def ses(self) -> SESClient:
        client: SESClient = self.client("ses")
        return client

    @cached_property
    def sesv2(self) -> Any:
        # SES v1 cannot tag identities; v2 can (the same identities).
        return self.client("sesv2")

    @cached_property
    def route53(self) -> Route53Client:
        client: Route53Client = self.client("route53")
        return client

    @cached_property
    def elbv2(self) -> ElasticLoadBalancingv2Client:
        client: ElasticLoadBalancingv2Client = self.client("elbv2")
        return client

    @cached_property
    def ec2(self) -> EC2Client:
        client: EC2Client = self.client("ec2")
        return client

    @cached_property
    def account_id(self) -> str:
        with aws_errors("the AWS account", "identify"):
            return str(self.client("sts").get_caller_identity()["Account"])

    @cached_property
    def default_vpc(self) -> tuple[str, list[str]]:
        """The default VPC's id and subnet ids, used where config names no subnets."""
        with aws_errors("the default VPC", "describe"):
            vpcs = self.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                raise OpsctlError(
                    f"region {self.region} has no default VPC",
                    hint="name the subnets in opsctl.yml (aws.rds.subnet_ids, aws.load_balancer.subnet_ids)",
                )
            vpc_id = vpcs[0]["VpcId"]
            subnets = self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        return vpc_id, sorted(s["SubnetId"] for s in subnets)

    def vpc_of_subnet(self, subnet_id: str) -> str:
        with aws_errors(f"subnet {subnet_id}", "describe"):
            return self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
}


@contextmanager
def aws_errors(resource: str, doing: str) -> Iterator[None]:
    """Turn what boto3 raises into an OpsctlError naming the resource and what to do next."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code in _CREDENTIAL_CODES:
            hint = "check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        elif code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            hint = f"the credentials in use may not {doing} {resource}; grant that in IAM"
        elif "Throttl" in code or code == "RequestLimitExceeded":
            hint = "AWS is rate-limiting; wait a minute and run again (apply is safe to re-run)"
        else:
            hint = "fix the setting in the aws: section of opsctl.yml (or the resource in AWS), then run again; apply is safe to re-run"
        raise OpsctlError(f"AWS refused to {doing} {resource}: {code}: {message}", hint=hint) from exc
    except NoCredentialsError as exc:
        raise OpsctlError(
            f"no AWS credentials found to {doing} {resource}",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the standard boto3 chain)",
        ) from exc
    except NoRegionError as exc:
        raise OpsctlError("no AWS region", hint="set aws.region in opsctl.yml") from exc
    except EndpointConnectionError as exc:
        raise OpsctlError(
            f"cannot reach AWS to {doing} {resource}: {exc}",
            hint="check the network, aws.endpoint_url in opsctl.yml and AWS_ENDPOINT_URL",
        ) from exc
    except WaiterError as exc:
        raise OpsctlError(
            f"gave up waiting to {doing} {resource}: {exc}",
            hint="look at the resource in the AWS console; run apply again once it is settled",
        ) from exc
    except BotoCoreError as exc:
        raise OpsctlError(f"could not {doing} {resource}: {exc}") from exc
