"""Route53: the hosted zone and the records opsctl keeps in it. Read current -> diff -> apply.

Records cannot be tagged: those in opsctl's (tagged) zone that opsctl computes from config are
its. Records are grouped per change: one record each, except the three SES DKIM CNAMEs, which
come and go together and whose names are only known once SES has made the DKIM tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsctl.errors import OpsctlError
from opsctl.provision import elb, ses
from opsctl.provision.plan import UNKNOWN, Action, Change, Observed, diff_resource
from opsctl.provision.session import Aws, aws_errors
from opsctl.provision.tags import Ownership, from_list
from opsctl.provision.target import Target, fqdn

if TYPE_CHECKING:
    from mypy_boto3_route53.type_defs import ChangeTypeDef, ResourceRecordSetTypeDef

ZONE = "route53.zone"
RECORD = "route53.record"
KINDS = (ZONE, RECORD)

SES_TXT_TTL = 1800
DKIM_TTL = 1800


@dataclass
class Route53State:
    zone: Observed | None = None
    # Record sets of the zone, names lower-case without the trailing dot.
    records: list[dict[str, Any]] = field(default_factory=list)
    load_balancer: Observed | None = None
    identity: Observed | None = None


def read(aws: Aws, target: Target) -> Route53State:
    state = Route53State()
    if target.zone_name is None:
        return state
    state.zone = read_zone(aws, target.zone_name)
    if state.zone is not None:
        state.records = read_records(aws, state.zone.ids["id"])
    if target.aws.load_balancer is not None:
        state.load_balancer = elb.read_load_balancer(aws, target.lb_name)
    if target.ses_domain:
        state.identity = ses.read_identity(aws, target.ses_domain, aws.account_id)
    return state


def read_zone(aws: Aws, name: str) -> Observed | None:
    with aws_errors(f"hosted zone {name}", "describe"):
        zones = aws.route53.list_hosted_zones_by_name(DNSName=name)["HostedZones"]
        found = []
        for zone in zones:
            if zone["Name"].rstrip(".").lower() != name or zone.get("Config", {}).get("PrivateZone"):
                continue
            zone_id = zone["Id"].rsplit("/", 1)[-1]
            tags = aws.route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)[
                "ResourceTagSet"
            ].get("Tags", [])
            found.append(Observed(attrs={}, tags=from_list(tags), ids={"id": zone_id}))  # type: ignore[arg-type]
    # Two public zones may share a name; the tagged one is opsctl's.
    for observed in found:
        if all(observed.tags.get(k) for k in ("app", "env", "managed-by")):
            return observed
    return found[0] if found else None


def read_records(aws: Aws, zone_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with aws_errors(f"records of hosted zone {zone_id}", "list"):
        for page in aws.route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
            for rr in page.get("ResourceRecordSets", []):
                record = dict(rr)
                record["Name"] = _unescape(rr["Name"]).rstrip(".").lower()
                out.append(record)
    return out


def _unescape(name: str) -> str:
    # Route53 returns '*' and some characters octal-escaped.
    return name.replace("\\052", "*")


def record_value(rr: dict[str, Any]) -> dict[str, Any]:
    """What opsctl compares of a record set."""
    if rr.get("AliasTarget"):
        return {"alias": str(rr["AliasTarget"]["DNSName"]).rstrip(".").lower()}
    return {"ttl": rr.get("TTL"), "values": sorted(v["Value"] for v in rr.get("ResourceRecords", []))}


def _quoted(value: str) -> str:
    return value if value.startswith('"') else f'"{value}"'


@dataclass
class RecordGroup:
    """The record sets one change covers, and what they should hold."""

    name: str
    # (name, type) -> desired value (record_value form), or UNKNOWN until apply.
    wanted: dict[tuple[str, str], dict[str, Any]] | None
    # Matches the current record sets of the group (also ones no longer wanted).
    matches: Callable[[dict[str, Any]], bool]


def record_groups(
    target: Target, lb: Observed | None, identity: Observed | None, pending: Iterable[str] = ()
) -> list[RecordGroup]:
    """Every record group the config asks for. `pending` holds the kinds this apply creates or
    replaces, whose DNS name or tokens are therefore not known yet."""
    dns = target.aws.dns
    if dns is None:
        return []
    zone = dns.zone
    waiting = set(pending)
    groups: list[RecordGroup] = []

    if target.aws.load_balancer is not None and target.alias_fqdn:
        name = target.alias_fqdn
        known = lb is not None and elb.LOAD_BALANCER not in waiting
        value = {"alias": lb.ids["dns_name"].rstrip(".").lower()} if known and lb else {"alias": UNKNOWN}
        groups.append(RecordGroup(f"{name} A", {(name, "A"): value}, _exact(name, "A")))
    domain = target.ses_domain
    if domain and (domain == zone or domain.endswith("." + zone)):
        known = identity is not None and ses.IDENTITY not in waiting
        groups += _ses_groups(domain, identity if known else None)
    for extra in dns.records:
        name = fqdn(extra.name, zone)
        values = [_quoted(v) if extra.type == "TXT" else v for v in extra.values]
        groups.append(
            RecordGroup(
                f"{name} {extra.type}",
                {(name, extra.type): {"ttl": extra.ttl, "values": sorted(values)}},
                _exact(name, extra.type),
            )
        )
    return groups


def _exact(name: str, rtype: str) -> Callable[[dict[str, Any]], bool]:
    return lambda rr: rr["Name"] == name and rr["Type"] == rtype


def _ses_groups(domain: str, identity: Observed | None) -> list[RecordGroup]:
    """SES's verification TXT record and its three DKIM CNAMEs; `identity` is None while the
    identity's token and DKIM tokens are not known."""
    txt = f"_amazonses.{domain}"
    token = identity.ids.get("verification_token") if identity else None
    txt_value = {"ttl": SES_TXT_TTL, "values": [_quoted(token)] if token else UNKNOWN}
    tokens = [t for t in (identity.ids.get("dkim_tokens", "") if identity else "").split(",") if t]
    suffix = f"._domainkey.{domain}"
    dkim: dict[tuple[str, str], dict[str, Any]] = (
        {(f"{t}{suffix}", "CNAME"): {"ttl": DKIM_TTL, "values": [f"{t}.dkim.amazonses.com"]} for t in tokens}
        if tokens
        else {("(3 DKIM records)" + suffix, "CNAME"): {"ttl": DKIM_TTL, "values": UNKNOWN}}
    )
    return [
        RecordGroup(f"{txt} TXT", {(txt, "TXT"): txt_value}, _exact(txt, "TXT")),
        RecordGroup(
            f"{domain} DKIM",
            dkim,
            lambda rr: (
                rr["Type"] == "CNAME"
                and rr["Name"].endswith(suffix)
                and any(
                    str(v["Value"]).rstrip(".").endswith(".dkim.amazonses.com")
                    for v in rr.get("ResourceRecords", [])
                )
            ),
        ),
    ]


def _group_attrs(wanted: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """One record's value is shown as its attributes; a group's as one 'records' attribute."""
    if len(wanted) == 1:
        return dict(next(iter(wanted.values())))
    return {"records": {f"{n} {t}": _flat(v) for (n, t), v in sorted(wanted.items())}}


def _flat(value: dict[str, Any]) -> Any:
    if "alias" in value:
        return f"ALIAS {value['alias']}"
    values = value["values"]
    return values if values is UNKNOWN else f"{value['ttl']} {' '.join(values)}"


def diff(
    target: Target, state: Route53State, *, destroy: bool = False, pending: Iterable[str] = ()
) -> list[Change]:
    if target.zone_name is None:
        return []
    owner = target.owner
    zone_owned = state.zone is None or owner.ownership(state.zone.tags) is Ownership.OURS
    changes = [
        diff_resource(
            ZONE,
            target.zone_name,
            desired=None if destroy else {},
            current=state.zone.attrs if state.zone else None,
            owned=zone_owned,
            foreign_reason=owner.describe_foreign(state.zone.tags) if state.zone else "",
            stateful=True,
            ids=state.zone.ids if state.zone else None,
        )
    ]
    for group in record_groups(target, state.load_balancer, state.identity, pending):
        current = [rr for rr in state.records if group.matches(rr)]
        have = (
            _group_attrs({(rr["Name"], rr["Type"]): record_value(rr) for rr in current}) if current else None
        )
        if state.zone is not None and not zone_owned:
            if not destroy:
                changes.append(
                    Change(
                        RECORD,
                        group.name,
                        Action.CONFLICT,
                        note="in a hosted zone opsctl does not manage",
                    )
                )
            continue
        want = None if destroy or group.wanted is None else _group_attrs(group.wanted)
        change = diff_resource(RECORD, group.name, desired=want, current=have)
        changes.append(change)
    return changes


def apply(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    if change.kind == ZONE:
        _apply_zone(aws, target, change, progress)
    elif change.kind == RECORD:
        _apply_record(aws, target, change)
    else:
        raise ValueError(change.kind)


def _apply_zone(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    r53 = aws.route53
    if change.action is Action.CREATE:
        with aws_errors(f"hosted zone {name}", "create"):
            created = r53.create_hosted_zone(
                Name=name,
                CallerReference=f"opsctl-{target.owner.prefix}-{time.time_ns()}",
                HostedZoneConfig={
                    "Comment": f"{target.owner.prefix}, managed by opsctl",
                    "PrivateZone": False,
                },
            )
            zone_id = created["HostedZone"]["Id"].rsplit("/", 1)[-1]
            r53.change_tags_for_resource(
                ResourceType="hostedzone", ResourceId=zone_id, AddTags=target.owner.tag_list()
            )
        servers = created.get("DelegationSet", {}).get("NameServers", [])
        if servers:
            progress(f"hosted zone {name}: point the domain's NS records at {', '.join(servers)}")
    elif change.action is Action.DELETE:
        zone_id = change.ids["id"]
        with aws_errors(f"hosted zone {name}", "delete"):
            # The zone must be empty; --allow-destroy for it covers everything in it.
            leftovers = [
                rr
                for rr in read_records(aws, zone_id)
                if not (rr["Name"] == name and rr["Type"] in ("NS", "SOA"))
            ]
            if leftovers:
                progress(f"hosted zone {name}: deleting {len(leftovers)} remaining record(s)")
                _change_records(aws, zone_id, [("DELETE", rr) for rr in leftovers])
            r53.delete_hosted_zone(Id=zone_id)


def _apply_record(aws: Aws, target: Target, change: Change) -> None:
    zone = read_zone(aws, target.zone_name) if target.zone_name else None
    if zone is None:
        raise OpsctlError(
            f"DNS record {change.name}: hosted zone {target.zone_name} is gone",
            hint="run 'opsctl provision apply' again; it will recreate the zone first",
        )
    zone_id = zone.ids["id"]
    records = read_records(aws, zone_id)
    # Re-derive the group now that earlier changes made the load balancer and SES tokens.
    lb = elb.read_load_balancer(aws, target.lb_name) if target.aws.load_balancer is not None else None
    identity = ses.read_identity(aws, target.ses_domain, aws.account_id) if target.ses_domain else None
    group = next((g for g in record_groups(target, lb, identity) if g.name == change.name), None)
    current = [rr for rr in records if group.matches(rr)] if group else []
    batch: list[tuple[str, dict[str, Any]]] = []
    if change.action is Action.DELETE or group is None or group.wanted is None:
        batch = [("DELETE", rr) for rr in current]
    else:
        for (name, rtype), value in group.wanted.items():
            if value.get("alias") is UNKNOWN or value.get("values") is UNKNOWN:
                raise ValueError(f"record {name} {rtype}: value still unknown after its dependencies")
            batch.append(("UPSERT", _record_set(name, rtype, value, lb)))
        stale = [rr for rr in current if (rr["Name"], rr["Type"]) not in group.wanted]
        batch += [("DELETE", rr) for rr in stale]
    if batch:
        with aws_errors(f"DNS record {change.name}", change.action.value):
            _change_records(aws, zone_id, batch)


def _record_set(name: str, rtype: str, value: dict[str, Any], lb: Observed | None) -> dict[str, Any]:
    if "alias" in value:
        if lb is None:
            raise OpsctlError(f"record {name}: the load balancer it aliases does not exist")
        return {
            "Name": name,
            "Type": rtype,
            "AliasTarget": {
                "HostedZoneId": lb.ids["zone_id"],
                "DNSName": lb.ids["dns_name"],
                "EvaluateTargetHealth": False,
            },
        }
    return {
        "Name": name,
        "Type": rtype,
        "TTL": value["ttl"],
        "ResourceRecords": [{"Value": v} for v in value["values"]],
    }


def _change_records(aws: Aws, zone_id: str, batch: list[tuple[str, dict[str, Any]]]) -> None:
    changes: list[ChangeTypeDef] = []
    for action, rr in batch:
        record: ResourceRecordSetTypeDef = dict(rr)  # type: ignore[assignment]
        changes.append({"Action": action, "ResourceRecordSet": record})  # type: ignore[typeddict-item]
    aws.route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
