"""The `aws:` section of opsctl.yml: where AWS is, and the resources `opsctl provision` keeps."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AwsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = "us-east-1"
    # One setting for moto or LocalStack; AWS_ENDPOINT_URL in the environment also works.
    endpoint_url: str | None = None
