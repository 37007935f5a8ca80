"""The team's tagging conventions."""


def standard_tags(owner: str, environment: str) -> dict[str, str]:
    return {"Owner": owner, "Environment": environment, "CostCenter": "cc-77", "ManagedBy": "pulumi"}
