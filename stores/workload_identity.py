"""Workload identity: the ``identity:`` of a bucket connection, a model checked per kind against
the kinds table's ``IdentityRow`` (tier 1: pydantic).  The pod runs as a Kubernetes ServiceAccount
the cloud trusts and carries no key; rendering is ``k8s.identity``'s, the handles' credential
chains ``stores.credentials`` / ``stores.refresh``'s.  The clouds' own pages: AWS IRSA
(https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html), GKE
Workload Identity (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity),
Azure Workload Identity (https://azure.github.io/azure-workload-identity/docs/)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from .kinds import KINDS
from .modelbase import Flag, ResourceName, _Model

__all__ = ["Identity"]

_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
_GCP_SA = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9][a-z0-9.-]*[a-z0-9]$"
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Identity(_Model):
    """Workload identity: the pod runs as the Kubernetes ServiceAccount ``serviceAccount``, which
    the cloud trusts (AWS IRSA / EKS Pod Identity, GKE Workload Identity, Azure Workload
    Identity); no key is stored anywhere.  Which of the cloud fields a kind takes is the kinds
    table's (``stores.kinds.IdentityRow``): ``roleArn`` (s3), ``gcpServiceAccount`` (gcs),
    ``clientId`` / ``tenantId`` (wasb)."""

    #: the pod's ``serviceAccountName``
    service_account: ResourceName
    #: ``stores render --service-accounts`` emits the ServiceAccount (annotated for the cloud);
    #: ``false``: it exists already, made by the platform's own tooling
    create: Flag = True
    #: a webhook of the cloud (EKS Pod Identity webhook, Azure Workload Identity webhook) injects
    #: the token volume and the variables; ``false``: the renderer mounts a projected
    #: serviceAccountToken and sets them itself (clusters without the webhook)
    webhook: Flag = True
    #: the projected token's audience when the renderer mounts it (default: the cloud's)
    audience: Annotated[str, Field(min_length=1, max_length=253)] | None = None
    role_arn: Annotated[str, Field(pattern=_ROLE_ARN, max_length=2048)] | None = None
    gcp_service_account: Annotated[str, Field(pattern=_GCP_SA, max_length=254)] | None = None
    client_id: Annotated[str, Field(pattern=_UUID)] | None = None
    tenant_id: Annotated[str, Field(pattern=_UUID)] | None = None

    #: the cloud fields (the kinds table's ``IdentityRow.fields`` come from these)
    CLOUD_FIELDS: ClassVar[tuple[str, ...]] = ("role_arn", "gcp_service_account", "client_id", "tenant_id")

    def check_kind(self, kind: str) -> None:
        """Refuse a field the kind does not take, a missing required one; raises ValueError."""
        row = KINDS.get(kind)
        entry = row.identity if row is not None else None
        if entry is None:
            raise ValueError(f"a {kind} connection has no workload identity")

        def alias(f: str) -> str:
            return Identity.model_fields[f].alias or f

        for field_name in self.CLOUD_FIELDS:
            if getattr(self, field_name) is not None and field_name not in entry.fields:
                takes = ", ".join(alias(f) for f in entry.fields) or "no cloud field"
                raise ValueError(f"identity.{alias(field_name)} is not for a {kind} connection ({entry.provider} takes {takes})")
        needed = list(entry.required)
        if not self.webhook and entry.token_path:
            needed += [f for _, f in entry.field_env if f not in needed and f != "tenant_id"]
        for field_name in needed:
            if getattr(self, field_name) is None:
                why = "" if field_name in entry.required else " (webhook: false: the renderer sets the variables itself)"
                raise ValueError(f"identity.{alias(field_name)} is required for {entry.provider}{why}")

    def value(self, field_name: str) -> str | None:
        value: str | None = getattr(self, field_name)
        return value
