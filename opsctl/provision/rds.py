"""RDS PostgreSQL: the DB subnet group and the instance. Read current -> diff -> apply."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from opsctl.errors import OpsctlError
from opsctl.provision.plan import Action, Change, Observed, diff_observed
from opsctl.provision.session import Aws, aws_errors, error_code
from opsctl.provision.tags import from_list
from opsctl.provision.target import Target

SUBNET_GROUP = "rds.subnet_group"
INSTANCE = "rds.instance"
KINDS = (SUBNET_GROUP, INSTANCE)

# Settings RDS cannot change on a running instance.
_REPLACE_ON = ("engine", "db_name", "master_username")

# Attribute -> modify_db_instance parameter.
_MODIFY = {
    "instance_class": "DBInstanceClass",
    "engine_version": "EngineVersion",
    "allocated_storage": "AllocatedStorage",
    "storage_type": "StorageType",
    "multi_az": "MultiAZ",
    "subnet_group": "DBSubnetGroupName",
    "backup_retention_days": "BackupRetentionPeriod",
    "deletion_protection": "DeletionProtection",
    "publicly_accessible": "PubliclyAccessible",
}
# A modification still pending is what the instance is becoming: comparing against the old value
# would show the same update again until AWS gets round to it.
_PENDING = {
    "DBInstanceClass": "instance_class",
    "EngineVersion": "engine_version",
    "AllocatedStorage": "allocated_storage",
    "StorageType": "storage_type",
    "MultiAZ": "multi_az",
    "BackupRetentionPeriod": "backup_retention_days",
    "DBSubnetGroupName": "subnet_group",
}


@dataclass
class RdsState:
    subnet_group: Observed | None
    instance: Observed | None
    default_subnets: list[str]


def read(aws: Aws, target: Target) -> RdsState:
    name = target.rds_identifier
    default_subnets: list[str] = []
    if target.aws.rds is not None and not target.aws.rds.subnet_ids:
        default_subnets = aws.default_vpc[1]
    return RdsState(
        subnet_group=_read_subnet_group(aws, target.subnet_group_name),
        instance=_read_instance(aws, name),
        default_subnets=default_subnets,
    )


def _read_subnet_group(aws: Aws, name: str) -> Observed | None:
    with aws_errors(f"DB subnet group {name}", "describe"):
        try:
            group = aws.rds.describe_db_subnet_groups(DBSubnetGroupName=name)["DBSubnetGroups"][0]
        except ClientError as exc:
            if error_code(exc) == "DBSubnetGroupNotFoundFault":
                return None
            raise
        tags = aws.rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])["TagList"]
    return Observed(
        attrs={"subnet_ids": sorted(s["SubnetIdentifier"] for s in group.get("Subnets", []))},
        tags=from_list(tags),  # type: ignore[arg-type]
        ids={"arn": group["DBSubnetGroupArn"]},
    )


def _read_instance(aws: Aws, identifier: str) -> Observed | None:
    with aws_errors(f"RDS instance {identifier}", "describe"):
        try:
            db = aws.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
        except ClientError as exc:
            if error_code(exc) == "DBInstanceNotFound":
                return None
            raise
    attrs: dict[str, Any] = {
        "engine": db.get("Engine"),
        "engine_version": db.get("EngineVersion"),
        "instance_class": db.get("DBInstanceClass"),
        "allocated_storage": db.get("AllocatedStorage"),
        "storage_type": db.get("StorageType"),
        "multi_az": db.get("MultiAZ"),
        "db_name": db.get("DBName"),
        "master_username": db.get("MasterUsername"),
        "subnet_group": db.get("DBSubnetGroup", {}).get("DBSubnetGroupName"),
        "backup_retention_days": db.get("BackupRetentionPeriod"),
        "deletion_protection": db.get("DeletionProtection"),
        "publicly_accessible": db.get("PubliclyAccessible"),
    }
    for aws_key, value in dict(db.get("PendingModifiedValues") or {}).items():
        if aws_key in _PENDING:
            attrs[_PENDING[aws_key]] = value
    return Observed(
        attrs=attrs,
        tags=from_list(db.get("TagList")),  # type: ignore[arg-type]
        ids={
            "arn": db["DBInstanceArn"],
            "status": db.get("DBInstanceStatus", ""),
            "endpoint": db.get("Endpoint", {}).get("Address", ""),
        },
    )


def desired_subnet_group(target: Target, default_subnets: list[str]) -> dict[str, Any] | None:
    rds = target.aws.rds
    if rds is None:
        return None
    return {"subnet_ids": sorted(rds.subnet_ids or default_subnets)}


def desired_instance(target: Target) -> dict[str, Any] | None:
    rds = target.aws.rds
    if rds is None:
        return None
    return {
        "engine": "postgres",
        "engine_version": rds.engine_version,
        "instance_class": rds.instance_class,
        "allocated_storage": rds.allocated_storage,
        "storage_type": rds.storage_type,
        "multi_az": target.production if rds.multi_az is None else rds.multi_az,
        "db_name": rds.db_name,
        "master_username": rds.master_username,
        "subnet_group": target.subnet_group_name,
        "backup_retention_days": rds.backup_retention_days,
        "deletion_protection": rds.deletion_protection,
        "publicly_accessible": rds.publicly_accessible,
    }


def diff(
    target: Target, state: RdsState, *, destroy: bool = False, pending: Iterable[str] = ()
) -> list[Change]:
    owner = target.owner
    group_want = None if destroy else desired_subnet_group(target, state.default_subnets)
    db_want = None if destroy else desired_instance(target)
    if db_want is not None and state.instance is not None:
        # "16" in config means "whatever 16.x AWS picked": not a change every plan.
        current_version = str(state.instance.attrs.get("engine_version") or "")
        if current_version.startswith(f"{db_want['engine_version']}."):
            db_want["engine_version"] = current_version
    return [
        diff_observed(
            SUBNET_GROUP,
            target.subnet_group_name,
            desired=group_want,
            observed=state.subnet_group,
            owner=owner,
        ),
        diff_observed(
            INSTANCE,
            target.rds_identifier,
            desired=db_want,
            observed=state.instance,
            owner=owner,
            replace_on=_REPLACE_ON,
            stateful=True,
        ),
    ]


def apply(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    if change.kind == SUBNET_GROUP:
        _apply_subnet_group(aws, target, change)
    elif change.kind == INSTANCE:
        _apply_instance(aws, target, change, progress)
    else:
        raise ValueError(change.kind)


def _apply_subnet_group(aws: Aws, target: Target, change: Change) -> None:
    name = change.name
    doing = {Action.CREATE: "create", Action.UPDATE: "update", Action.DELETE: "delete"}[change.action]
    with aws_errors(f"DB subnet group {name}", doing):
        if change.action is Action.CREATE:
            aws.rds.create_db_subnet_group(
                DBSubnetGroupName=name,
                DBSubnetGroupDescription=f"{target.owner.prefix} (managed by opsctl)",
                SubnetIds=change.desired["subnet_ids"],
                Tags=target.owner.tag_list(),
            )
        elif change.action is Action.UPDATE:
            aws.rds.modify_db_subnet_group(DBSubnetGroupName=name, SubnetIds=change.desired["subnet_ids"])
        else:
            aws.rds.delete_db_subnet_group(DBSubnetGroupName=name)


def _apply_instance(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    if change.action is Action.CREATE:
        _create_instance(aws, target, change, progress)
    elif change.action is Action.UPDATE:
        params: dict[str, Any] = {_MODIFY[a.name]: a.new for a in change.attrs if a.name in _MODIFY}
        if "EngineVersion" in params:
            # Major upgrades need the flag; RDS refuses them otherwise.
            params["AllowMajorVersionUpgrade"] = True
        with aws_errors(f"RDS instance {name}", "modify"):
            aws.rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=True, **params)
    elif change.action is Action.DELETE:
        _delete_instance(aws, target, change, progress)
    else:
        raise OpsctlError(
            f"opsctl does not {change.action.value} RDS instance {name}",
            hint="stateful resources are only replaced by hand",
        )


def _create_instance(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    want = change.desired
    if target.master_password is None:
        raise OpsctlError(f"no master password for RDS instance {name}")
    password = target.master_password()
    with aws_errors(f"RDS instance {name}", "create"):
        aws.rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            EngineVersion=want["engine_version"],
            DBInstanceClass=want["instance_class"],
            AllocatedStorage=want["allocated_storage"],
            StorageType=want["storage_type"],
            MultiAZ=want["multi_az"],
            DBName=want["db_name"],
            MasterUsername=want["master_username"],
            MasterUserPassword=password,
            DBSubnetGroupName=want["subnet_group"],
            BackupRetentionPeriod=want["backup_retention_days"],
            DeletionProtection=want["deletion_protection"],
            PubliclyAccessible=want["publicly_accessible"],
            StorageEncrypted=True,
            CopyTagsToSnapshot=True,
            Tags=target.owner.tag_list(),
        )
        progress(f"waiting for RDS instance {name} to be available (minutes on AWS)")
        aws.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=name, WaiterConfig={"Delay": 15, "MaxAttempts": 160}
        )


def _delete_instance(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    rds = target.aws.rds
    final_snapshot = rds.final_snapshot if rds is not None else True
    with aws_errors(f"RDS instance {name}", "delete"):
        if change.current.get("deletion_protection"):
            # Naming the instance with --allow-destroy is the consent deletion protection asks for.
            progress(f"turning off deletion protection of RDS instance {name}")
            aws.rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)
        if final_snapshot:
            snapshot = f"{name}-final-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
            progress(f"RDS instance {name}: final snapshot {snapshot}")
            aws.rds.delete_db_instance(
                DBInstanceIdentifier=name,
                SkipFinalSnapshot=False,
                FinalDBSnapshotIdentifier=snapshot,
            )
        else:
            aws.rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        progress(f"waiting for RDS instance {name} to be deleted")
        aws.rds.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier=name, WaiterConfig={"Delay": 15, "MaxAttempts": 160}
        )
